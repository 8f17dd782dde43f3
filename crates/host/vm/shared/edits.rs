//! VM patches whose text is the same in several PUC releases (5.1 and 5.2),
//! written once: each `vm.rs` names them among its own edits (build.rs
//! includes this file before the VM files, as it includes those).

/// One file's edits: the lists given, in order, joined into one at compile
/// time (`edits!(&[(anchor, replacement), ...], shared_edits::HOOK_API)`).
macro_rules! edits {
    ($($list:expr),+ $(,)?) => {{
        const ALL: [(&str, &str); 0 $(+ $list.len())+] = $crate::shared_edits::join(&[$($list),+]);
        &ALL
    }};
}

/// The lists in order as one array of `N` edits, `N` being their total.
pub const fn join<const N: usize>(
    lists: &[&[(&'static str, &'static str)]],
) -> [(&'static str, &'static str); N] {
    let mut all = [("", ""); N];
    let (mut list, mut n) = (0, 0);
    while list < lists.len() {
        let mut i = 0;
        while i < lists[list].len() {
            all[n] = lists[list][i];
            i += 1;
            n += 1;
        }
        list += 1;
    }
    assert!(n == N, "edits!: the lengths do not add up");
    all
}

/// lstate.c: every new thread gets both hook slots (`shared/vm_hooks.c`)
/// and no interpreter run to restart after an error yet (`hr_exec`).
pub const THREAD_INIT: &[(&str, &str)] = &[
    (
        "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n",
        "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n\
         \x20 hr_thread_init(L, NULL);  /* hotreload */\n\
         \x20 L->hr_exec = NULL;\n",
    ),
    (
        "  L1->hook = L->hook;\n  resethookcount(L1);\n",
        "  L1->hook = L->hook;\n  resethookcount(L1);\n\
         \x20 hr_thread_init(L1, L);  /* hotreload: both hook slots */\n",
    ),
];

/// lfunc.c: a prototype's breakpoint traps start empty and are freed with it.
pub const PROTO_TRAPS: &[(&str, &str)] = &[
    (
        "  f->source = NULL;\n",
        "  f->source = NULL;\n  f->hr_traps = NULL;  /* hotreload */\n",
    ),
    (
        "void luaF_freeproto (lua_State *L, Proto *f) {\n",
        "void luaF_freeproto (lua_State *L, Proto *f) {\n  hr_traps_free(f);  /* hotreload */\n",
    ),
];

/// lobject.h, after the prototype: the functions of `shared/traps.c` that
/// the VM's files call.
pub const TRAP_DECLARATIONS: &[(&str, &str)] = &[(
    "} Proto;\n",
    "} Proto;\n\
     Instruction hr_code_at (const Proto *p, int pc);  /* hotreload */\n\
     int hr_code_equal (const Proto *a, const Proto *b);\n\
     Instruction hr_trap_hit (lua_State *L, const Proto *p, const Instruction *at);\n\
     void hr_traps_free (Proto *p);\n",
)];

/// ldump.c: `string.dump` writes the code as compiled, without traps.
pub const DUMP_WITHOUT_TRAPS: &[(&str, &str)] = &[(
    "#define DumpCode(f,D)\t DumpVector(f->code,f->sizecode,sizeof(Instruction),D)\n",
    "static void DumpCode (const Proto *f, DumpState *D) {  /* hotreload */\n\
     \x20 int pc;\n\
     \x20 DumpInt(f->sizecode, D);\n\
     \x20 for (pc = 0; pc < f->sizecode; pc++) {  /* the code as compiled, without traps */\n\
     \x20   Instruction i = hr_code_at(f, pc);\n\
     \x20   DumpVar(i, D);\n\
     \x20 }\n\
     }\n",
)];

/// ldebug.c: the stock `lua_sethook` & co. become `hr_vm_*`, which
/// `shared/vm_hooks.c` calls for the debugger's slot; it defines the public
/// ones over the program's slot.
pub const HOOK_API: &[(&str, &str)] = &[
    (
        "LUA_API int lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {\n",
        "int hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count) {  /* hotreload */\n",
    ),
    (
        "LUA_API lua_Hook lua_gethook (lua_State *L) {\n",
        "lua_Hook hr_vm_gethook (lua_State *L) {  /* hotreload */\n",
    ),
    (
        "LUA_API int lua_gethookmask (lua_State *L) {\n",
        "int hr_vm_gethookmask (lua_State *L) {  /* hotreload */\n",
    ),
    (
        "LUA_API int lua_gethookcount (lua_State *L) {\n",
        "int hr_vm_gethookcount (lua_State *L) {  /* hotreload */\n",
    ),
];

/// ldo.c, `luaD_protectedparser`: counts the parser depth, so that errors
/// `load` catches are never taken for uncaught ones.
pub const PARSER_DEPTH: &[(&str, &str)] = &[(
    "  status = luaD_pcall(L, f_parser, &p, savestack(L, L->top), L->errfunc);\n",
    "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n\
     \x20 status = luaD_pcall(L, f_parser, &p, savestack(L, L->top), L->errfunc);\n\
     \x20 L->hr_parsing--;  /* hotreload */\n",
)];
