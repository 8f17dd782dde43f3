//! VM patches whose text is the same in several PUC releases (5.1 to 5.4),
//! written once: each `vm.rs` names them among its own edits (build.rs
//! includes this file before the VM files, as it includes those). Where
//! the releases differ by a word (a return type, a stack field), a macro
//! takes that word and the constants name the common cases.

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
/// ones over the program's slot. `lua_sethook` returns `$sethook` (`int`
/// up to 5.2, `void` from 5.3).
macro_rules! hook_api {
    ($sethook:literal) => {
        &[
            (
                concat!("LUA_API ", $sethook, " lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {\n"),
                concat!($sethook, " hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count) {  /* hotreload */\n"),
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
        ]
    };
}

/// `hook_api!` for 5.1 and 5.2, whose `lua_sethook` returns `int`.
pub const HOOK_API: &[(&str, &str)] = hook_api!("int");

/// `hook_api!` for 5.3 and 5.4, whose `lua_sethook` returns nothing.
pub const HOOK_API_VOID: &[(&str, &str)] = hook_api!("void");

/// ldo.c, `luaD_protectedparser`: counts the parser depth, so that errors
/// `load` catches are never taken for uncaught ones. `$top` is the stack
/// top as an expression (`L->top`; `L->top.p` on 5.4).
macro_rules! parser_depth {
    ($top:literal) => {
        &[(
            concat!(
                "  status = luaD_pcall(L, f_parser, &p, savestack(L, ",
                $top,
                "), L->errfunc);\n"
            ),
            concat!(
                "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n",
                "  status = luaD_pcall(L, f_parser, &p, savestack(L, ",
                $top,
                "), L->errfunc);\n",
                "  L->hr_parsing--;  /* hotreload */\n"
            ),
        )]
    };
}

/// `parser_depth!` for 5.1 to 5.3, whose stack top is `L->top`.
pub const PARSER_DEPTH: &[(&str, &str)] = parser_depth!("L->top");

/// ldo.c (5.2 to 5.4): `luaD_throw` unwinds to the interpreter run of the
/// frame the debugger restarts after an error (`shared/error_restart.c`);
/// `luaD_rawrunprotected` restores the runs an error leaves (`hr_exec`).
/// `$nccalls` is the type of the call counter it saves (`unsigned short`;
/// `l_uint32` on 5.4).
macro_rules! error_restart {
    ($nccalls:literal) => {
        &[
            (
                "l_noret luaD_throw (lua_State *L, int errcode) {\n",
                "int hr_error_restart_pending (lua_State *L);  /* hotreload: error_restart.c */\n\
                 void hr_error_restart_jump (lua_State *L, int errcode);\n\
                 l_noret luaD_throw (lua_State *L, int errcode) {\n\
                 \x20 if (hr_error_restart_pending(L))  /* hotreload */\n\
                 \x20   hr_error_restart_jump(L, errcode);\n",
            ),
            (
                concat!("  ", $nccalls, " oldnCcalls = L->nCcalls;\n  struct lua_longjmp lj;\n"),
                concat!(
                    "  ", $nccalls, " oldnCcalls = L->nCcalls;\n  struct lua_longjmp lj;\n",
                    "  struct HrExec *hr_exec = L->hr_exec;  /* hotreload: runs an error leaves */\n"
                ),
            ),
            (
                "  L->nCcalls = oldnCcalls;\n  return lj.status;\n",
                "  L->nCcalls = oldnCcalls;\n  L->hr_exec = hr_exec;  /* hotreload */\n  return lj.status;\n",
            ),
        ]
    };
}

/// ldebug.c (5.2 to 5.4): variable and function names are read from the
/// code as compiled (`hr_code_at`), not from the traps standing in it.
pub const NAMES_WITHOUT_TRAPS: &[(&str, &str)] = &[
    (
        "  for (pc = 0; pc < lastpc; pc++) {\n    Instruction i = p->code[pc];\n",
        "  for (pc = 0; pc < lastpc; pc++) {\n    Instruction i = hr_code_at(p, pc);  /* hotreload */\n",
    ),
    (
        "  if (pc != -1) {  /* could find instruction? */\n    Instruction i = p->code[pc];\n",
        "  if (pc != -1) {  /* could find instruction? */\n    Instruction i = hr_code_at(p, pc);  /* hotreload */\n",
    ),
    (
        "GETARG_Ax(p->code[pc + 1])",
        "GETARG_Ax(hr_code_at(p, pc + 1))",
    ),
    (
        "  Instruction i = p->code[pc];  /* calling instruction */\n",
        "  Instruction i = hr_code_at(p, pc);  /* calling instruction (hotreload) */\n",
    ),
];

/// ldebug.c, `luaG_errormsg` (5.2, 5.3; 5.4 declares the hook here too):
/// every raised error calls `hr_raise_hook` when set, before the message
/// handler runs and the stack unwinds.
pub const RAISE_HOOK: &[(&str, &str)] = &[(
    "l_noret luaG_errormsg (lua_State *L) {\n",
    "l_noret luaG_errormsg (lua_State *L) {\n\
     \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
)];
