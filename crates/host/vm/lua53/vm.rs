//! Lua 5.3: the host's VM patches and C files (included by build.rs).

use super::{shared_edits, Sources, Vm};

pub const VM: Vm = Vm {
    folder: "lua53",
    sources: Sources::LuaSrc("lua-5.3.6"),
    release: "5.3.6",
    defines: &["LUA_USE_LINUX"],
    // shared/reload_*.c over reload_vm.h, reload_names.c, reload_swap.c
    native_backend: true,
    inplace_swap: true,
    debug_extras: false,
    traps: true,
    edits,
};

/// Our changes to Lua 5.3's sources, each a few lines that call into
/// `vm/shared/` and this folder's C files. Without the host switching them
/// on, Lua behaves as stock.
///
/// Breakpoints are traps in the code (`shared/traps.c`, `traps.c`), as on
/// 5.4: code without one runs with no hook at all.
/// - lobject.h: a prototype gets `hr_traps`; lfunc.c starts it empty and
///   frees it with the prototype.
/// - lvm.c: OP_EXTRAARG, which stock Lua never executes, is the trap: it
///   calls `hr_trap_hit` (the debugger's hook with a line event), then
///   dispatches the original instruction (`hr_dispatch`).
/// - What reads code as data reads the original through `hr_code_at`:
///   lvm.c's `luaV_finishOp`, ldebug.c's variable and function names,
///   ldump.c's `string.dump`.
/// - lstate.h: `hr_seenpc`, the debugger's last line event, so a trap does
///   not report a line the line hook just reported.
/// - ldebug.c, `luaG_errormsg` (every raised error): calls `hr_raise_hook`
///   when set, before the message handler runs and the stack unwinds.
///
/// The program sees the stock VM (`shared/vm_hooks.c`), as on 5.4:
/// - lstate.h: each thread gets a second hook slot and a parser depth;
///   lstate.c initialises them and hands them to new threads.
/// - ldebug.c: the stock `lua_sethook` & co. become `hr_vm_*`.
/// - ldo.c, `lua_resume`: calls `hr_resume_hook` before the coroutine runs
///   and after it returns, yields or fails.
/// - ldo.c, `luaD_protectedparser`: counts the parser depth.
/// - lapi.c, `lua_load`: calls `hr_load_hook` after a chunk named `@file`
///   loaded, with its closure on top of the stack.
///
/// Restarting a frame (shared/restart.c, shared/error_restart.c):
/// - lvm.c, `vmfetch` and the trap: when the hook returns into the frame
///   the host asked to restart (`hr_restart_ci`), `hr_restart_apply` resets
///   it and the interpreter re-enters it at `newframe`.
/// - lvm.c, `luaV_execute` runs the interpreter through `hr_execute`, which
///   records where the run can be re-entered after an error (and marks
///   only a fresh run `CIST_FRESH`); ldo.c, `luaD_throw` unwinds to the run
///   of the frame to restart instead (`hr_error_restart_jump`), and
///   `luaD_rawrunprotected` restores the runs an error leaves (`hr_exec`,
///   a field of lstate.h, cleared in lstate.c).
///
/// The edits of source file `name`: (anchor, replacement), the replacement
/// keeping the anchor where needed; those whose text other releases share
/// are in `shared/edits.rs`.
pub fn edits(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "lstate.h" => &[(
            "  l_signalT hookmask;\n  lu_byte allowhook;\n};\n",
            "  l_signalT hookmask;\n  lu_byte allowhook;\n\
             \x20 /* hotreload (vm/shared/vm_hooks.c): the program's own hook slot */\n\
             \x20 lua_Hook hr_hook;\n\
             \x20 int hr_hookmask;\n\
             \x20 int hr_basehookcount;\n\
             \x20 int hr_hookleft;\n\
             \x20 int hr_dmask;  /* the debugger's mask */\n\
             \x20 int hr_parsing;  /* parser depth */\n\
             \x20 const Instruction *hr_seenpc;  /* the debugger's last line event (traps.c) */\n\
             \x20 struct HrExec *hr_exec;  /* interpreter runs to restart after an error (error_restart.c) */\n\
             };\n\
             void hr_thread_init (lua_State *L1, lua_State *L);  /* hotreload */\n\
             void hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);\n\
             extern void (*hr_raise_hook) (lua_State *L);\n\
             extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
             extern void (*hr_load_hook) (lua_State *L);\n",
        )],
        "lobject.h" => edits!(
            &[(
                "  GCObject *gclist;\n} Proto;\n",
                "  GCObject *gclist;\n\
                 \x20 struct HrTraps *hr_traps;  /* hotreload: breakpoint traps (traps.c) */\n\
                 } Proto;\n",
            )],
            shared_edits::TRAP_DECLARATIONS
        ),
        "lfunc.c" => shared_edits::PROTO_TRAPS,
        "ldump.c" => &[(
            "  DumpVector(f->code, f->sizecode, D);\n",
            "  if (f->hr_traps == NULL)\n    DumpVector(f->code, f->sizecode, D);\n\
             \x20 else {  /* hotreload: the code as compiled, without traps */\n\
             \x20   int pc;\n\
             \x20   for (pc = 0; pc < f->sizecode; pc++) {\n\
             \x20     Instruction i = hr_code_at(f, pc);\n\
             \x20     DumpVar(i, D);\n\
             \x20   }\n\
             \x20 }\n",
        )],
        "lvm.c" => &[
            (
                "  if (L->hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) \\\n    Protect(luaG_traceexec(L)); \\\n",
                "  if (L->hookmask & (LUA_MASKLINE | LUA_MASKCOUNT)) { \\\n\
                 \x20   Protect(luaG_traceexec(L)); \\\n\
                 \x20   if (hr_restart_ci == ci) {  /* hotreload: restart.c */ \\\n\
                 \x20     hr_restart_apply(L, ci); goto newframe; } } \\\n",
            ),
            (
                "void luaV_execute (lua_State *L) {\n",
                "extern CallInfo *hr_restart_ci;  /* hotreload: restart.c */\n\
                 void hr_restart_apply (lua_State *L, CallInfo *ci);\n\
                 /* hotreload (error_restart.c): each run can be re-entered after an error */\n\
                 void hr_execute (lua_State *L, CallInfo *ci, void (*run) (lua_State *, CallInfo *));\n\
                 static void hr_run (lua_State *L, CallInfo *hr_entry);\n\
                 void luaV_execute (lua_State *L) {\n\
                 \x20 L->ci->callstatus |= CIST_FRESH;  /* here: a restarted frame is not fresh */\n\
                 \x20 hr_execute(L, L->ci, hr_run);\n\
                 }\n\
                 static void hr_run (lua_State *L, CallInfo *hr_entry) {\n",
            ),
            (
                "  ci->callstatus |= CIST_FRESH;  /* fresh invocation of 'luaV_execute\" */\n",
                "  (void)hr_entry;  /* hotreload: CIST_FRESH is set by luaV_execute */\n",
            ),
            (
                "    vmfetch();\n    vmdispatch (GET_OPCODE(i)) {\n",
                "    vmfetch();\n\
                 \x20  hr_dispatch:  /* hotreload: a trap's original instruction */\n\
                 \x20   vmdispatch (GET_OPCODE(i)) {\n",
            ),
            (
                "      vmcase(OP_EXTRAARG) {\n        lua_assert(0);\n        vmbreak;\n      }\n",
                "      vmcase(OP_EXTRAARG) {\n\
                 \x20       /* hotreload: stock Lua never runs EXTRAARG; a breakpoint trap */\n\
                 \x20       Protect(i = hr_trap_hit(L, cl->p, ci->u.l.savedpc - 1));\n\
                 \x20       if (hr_restart_ci == ci) {  /* restart.c */\n\
                 \x20         hr_restart_apply(L, ci);\n\
                 \x20         goto newframe;\n\
                 \x20       }\n\
                 \x20       if (GET_OPCODE(i) == OP_EXTRAARG) vmbreak;  /* no trap */\n\
                 \x20       ra = RA(i);\n\
                 \x20       goto hr_dispatch;\n\
                 \x20     }\n",
            ),
            (
                "  Instruction inst = *(ci->u.l.savedpc - 1);  /* interrupted instruction */\n",
                "  Instruction inst = hr_code_at(clLvalue(ci->func)->p, pcRel(ci->u.l.savedpc, clLvalue(ci->func)->p));  /* interrupted instruction (hotreload) */\n",
            ),
        ],
        "lstate.c" => shared_edits::THREAD_INIT,
        "ldebug.c" => edits!(
            shared_edits::NAMES_WITHOUT_TRAPS,
            shared_edits::RAISE_HOOK,
            shared_edits::HOOK_API_VOID
        ),
        "ldo.c" => edits!(
            error_restart!("unsigned short"),
            &[
                (
                    "  status = luaD_rawrunprotected(L, resume, &nargs);\n",
                    "  if (hr_resume_hook) hr_resume_hook(L, from, 1);  /* hotreload */\n\
                     \x20 status = luaD_rawrunprotected(L, resume, &nargs);\n",
                ),
                (
                    "  L->nny = oldnny;  /* restore 'nny' */\n",
                    "  if (hr_resume_hook) hr_resume_hook(L, from, 0);  /* hotreload */\n\
                     \x20 L->nny = oldnny;  /* restore 'nny' */\n",
                ),
            ],
            shared_edits::PARSER_DEPTH
        ),
        "lapi.c" => &[(
            "      luaC_upvalbarrier(L, f->upvals[0]);\n    }\n",
            "      luaC_upvalbarrier(L, f->upvals[0]);\n    }\n\
             \x20   if (hr_load_hook && chunkname[0] == '@') hr_load_hook(L);  /* hotreload */\n",
        )],
        _ => &[],
    }
}
