//! Lua 5.1: the host's VM patches and C files (included by build.rs).

use super::{shared_edits, Sources, Vm};

pub const VM: Vm = Vm {
    folder: "lua51",
    sources: Sources::LuaSrc("lua-5.1.5"),
    release: "5.1.5",
    defines: &["LUA_USE_LINUX"],
    // shared/reload_*.c over reload_vm.h, reload_names.c, reload_swap.c
    native_backend: true,
    inplace_swap: true,
    // 5.1's debug library has no upvalueid/upvaluejoin: upvalues.c.
    debug_extras: true,
    traps: true,
    edits,
};

/// Our changes to Lua 5.1's sources, each a few lines that call into
/// `vm/shared/` and this folder's C files; the same contract as 5.2's (see
/// `lua52/vm.rs`). Without the host switching them on, Lua behaves as stock.
///
/// Breakpoints are traps in the code (`shared/traps.c`, `trap_vm.c`), as on
/// 5.2: code without one runs with no hook at all.
/// - lopcodes.h: `OP_HRTRAP`, an opcode stock Lua never emits (5.1 has no
///   OP_EXTRAARG to reuse), its Bx the index in the prototype's trap list.
/// - lobject.h: a prototype gets `hr_traps`; lfunc.c starts it empty and
///   frees it with the prototype.
/// - lvm.c: OP_HRTRAP calls `hr_trap_hit` (the debugger's hook with a line
///   event), then dispatches the original instruction (`hr_dispatch`).
/// - What reads code as data reads the original through `hr_code_at`:
///   ldebug.c's code checker and symbolic execution (variable and function
///   names in messages), ldump.c's `string.dump`.
/// - lstate.h: `hr_seenpc`, the debugger's last line event, so a trap does
///   not report a line the line hook just reported.
/// - ldebug.c, `luaG_errormsg` (every raised error): calls `hr_raise_hook`
///   when set, before the message handler runs and the stack unwinds.
///
/// The program sees the stock VM (`shared/vm_hooks.c`):
/// - lstate.h: each thread gets a second hook slot and a parser depth;
///   lstate.c initialises them and hands them to new threads.
/// - ldebug.c: the stock `lua_sethook` & co. become `hr_vm_*`.
/// - ldo.c, `lua_resume`: notifies before the coroutine runs and after it
///   returns, yields or fails; 5.1's `lua_resume` has no `from`, so
///   `resume.c` keeps which thread resumes.
/// - ldo.c, `luaD_protectedparser`: counts the parser depth.
/// - lapi.c, `lua_load`: calls `hr_load_hook` after a chunk named `@file`
///   loaded, with its closure on top of the stack.
///
/// Restarting a frame (shared/restart.c, shared/error_restart.c):
/// - lvm.c, after the hook call and the trap: when the hook returns into
///   the frame the host asked to restart (`hr_restart_ci`),
///   `hr_restart_apply` resets it and the interpreter re-enters it at
///   `reentry`.
/// - lvm.c, `luaV_execute` runs the interpreter through `hr_execute`, which
///   records where the run can be re-entered after an error (the run's
///   first frame as an index: 5.1's frames are an array that may move);
///   ldo.c, `luaD_throw` unwinds to the run of the frame to restart
///   instead (`hr_error_restart_jump`), and `luaD_rawrunprotected`
///   restores the runs an error leaves (`hr_exec`, a field of lstate.h,
///   cleared in lstate.c).
///
/// The edits of source file `name`: (anchor, replacement), the replacement
/// keeping the anchor where needed; those whose text 5.1 and 5.2 share are
/// in `shared/edits.rs`.
pub fn edits(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "lstate.h" => &[(
            "  ptrdiff_t errfunc;  /* current error handling function (stack index) */\n};\n",
            "  ptrdiff_t errfunc;  /* current error handling function (stack index) */\n\
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
             int hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);\n\
             lua_State *hr_resume_enter (lua_State *L);\n\
             void hr_resume_leave (lua_State *L, lua_State *from);\n\
             extern void (*hr_raise_hook) (lua_State *L);\n\
             extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
             extern void (*hr_load_hook) (lua_State *L);\n",
        )],
        "lstate.c" => shared_edits::THREAD_INIT,
        "ldebug.c" => edits!(
            &[
                // The code checker and symbolic execution read the original code.
                (
                    "  check(pt->sizecode > 0 && GET_OPCODE(pt->code[pt->sizecode-1]) == OP_RETURN);\n",
                    "  check(pt->sizecode > 0 && GET_OPCODE(hr_code_at(pt, pt->sizecode-1)) == OP_RETURN);\n",
                ),
                (
                    "#define checkopenop(pt,pc)\tluaG_checkopenop((pt)->code[(pc)+1])\n",
                    "#define checkopenop(pt,pc)\tluaG_checkopenop(hr_code_at(pt, (pc)+1))\n",
                ),
                (
                    "    Instruction i = pt->code[pc];\n",
                    "    Instruction i = hr_code_at(pt, pc);  /* hotreload */\n",
                ),
                (
                    "              Instruction d = pt->code[dest-1-j];\n",
                    "              Instruction d = hr_code_at(pt, dest-1-j);  /* hotreload */\n",
                ),
                (
                    "      check(GET_OPCODE(pt->code[pc+1]) == OP_JMP);\n",
                    "      check(GET_OPCODE(hr_code_at(pt, pc+1)) == OP_JMP);  /* hotreload */\n",
                ),
                (
                    "          check(GET_OPCODE(pt->code[pc+1]) != OP_SETLIST ||\n                GETARG_C(pt->code[pc+1]) != 0);\n",
                    "          check(GET_OPCODE(hr_code_at(pt, pc+1)) != OP_SETLIST ||\n                GETARG_C(hr_code_at(pt, pc+1)) != 0);  /* hotreload */\n",
                ),
                (
                    "          OpCode op1 = GET_OPCODE(pt->code[pc + j]);\n",
                    "          OpCode op1 = GET_OPCODE(hr_code_at(pt, pc + j));  /* hotreload */\n",
                ),
                (
                    "  return pt->code[last];\n",
                    "  return hr_code_at(pt, last);  /* hotreload */\n",
                ),
                (
                    "  i = ci_func(ci)->l.p->code[currentpc(L, ci)];\n",
                    "  i = hr_code_at(ci_func(ci)->l.p, currentpc(L, ci));  /* hotreload */\n",
                ),
                (
                    "void luaG_errormsg (lua_State *L) {\n",
                    "void luaG_errormsg (lua_State *L) {\n\
                     \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
                ),
            ],
            shared_edits::HOOK_API
        ),
        "ldo.c" => edits!(
            &[
                (
                    "void luaD_throw (lua_State *L, int errcode) {\n",
                    "int hr_error_restart_pending (lua_State *L);  /* hotreload: error_restart.c */\n\
                     void hr_error_restart_jump (lua_State *L, int errcode);\n\
                     void luaD_throw (lua_State *L, int errcode) {\n\
                     \x20 if (hr_error_restart_pending(L))  /* hotreload */\n\
                     \x20   hr_error_restart_jump(L, errcode);\n",
                ),
                (
                    "int luaD_rawrunprotected (lua_State *L, Pfunc f, void *ud) {\n  struct lua_longjmp lj;\n",
                    "int luaD_rawrunprotected (lua_State *L, Pfunc f, void *ud) {\n  struct lua_longjmp lj;\n\
                     \x20 struct HrExec *hr_exec = L->hr_exec;  /* hotreload: runs an error leaves */\n",
                ),
                (
                    "  L->errorJmp = lj.previous;  /* restore old error handler */\n  return lj.status;\n",
                    "  L->errorJmp = lj.previous;  /* restore old error handler */\n\
                     \x20 L->hr_exec = hr_exec;  /* hotreload */\n  return lj.status;\n",
                ),
                (
                    "  L->baseCcalls = ++L->nCcalls;\n  status = luaD_rawrunprotected(L, resume, L->top - nargs);\n",
                    "  L->baseCcalls = ++L->nCcalls;\n\
                     \x20 hr_from = hr_resume_enter(L);  /* hotreload */\n\
                     \x20 status = luaD_rawrunprotected(L, resume, L->top - nargs);\n",
                ),
                (
                    "LUA_API int lua_resume (lua_State *L, int nargs) {\n  int status;\n",
                    "LUA_API int lua_resume (lua_State *L, int nargs) {\n  int status;\n\
                     \x20 lua_State *hr_from;  /* hotreload: who resumes */\n",
                ),
                (
                    "  --L->nCcalls;\n  lua_unlock(L);\n  return status;\n}\n",
                    "  hr_resume_leave(L, hr_from);  /* hotreload */\n\
                     \x20 --L->nCcalls;\n  lua_unlock(L);\n  return status;\n}\n",
                ),
            ],
            shared_edits::PARSER_DEPTH
        ),
        "lopcodes.h" => &[(
            "#define NUM_OPCODES\t(cast(int, OP_VARARG) + 1)\n",
            "#define NUM_OPCODES\t(cast(int, OP_VARARG) + 1)\n\
             /* hotreload: a breakpoint trap (traps.c), never emitted by the compiler */\n\
             #define OP_HRTRAP\t((OpCode)((1 << SIZE_OP) - 1))\n",
        )],
        "lobject.h" => edits!(
            &[(
            "  GCObject *gclist;\n  lu_byte nups;  /* number of upvalues */\n",
            "  GCObject *gclist;\n\
             \x20 struct HrTraps *hr_traps;  /* hotreload: breakpoint traps (traps.c) */\n\
             \x20 lu_byte nups;  /* number of upvalues */\n",
        )],
            shared_edits::TRAP_DECLARATIONS
        ),
        "lfunc.c" => shared_edits::PROTO_TRAPS,
        "ldump.c" => shared_edits::DUMP_WITHOUT_TRAPS,
        "lvm.c" => &[
            (
                "      base = L->base;\n    }\n    /* warning!! several calls",
                "      base = L->base;\n\
                 \x20     if (hr_restart_ci == L->ci) {  /* hotreload: restart.c */\n\
                 \x20       hr_restart_apply(L, L->ci);\n\
                 \x20       goto reentry;\n\
                 \x20     }\n\
                 \x20   }\n\
                 \x20   /* warning!! several calls",
            ),
            (
                "void luaV_execute (lua_State *L, int nexeccalls) {\n",
                "extern CallInfo *hr_restart_ci;  /* hotreload: restart.c */\n\
                 void hr_restart_apply (lua_State *L, CallInfo *ci);\n\
                 /* hotreload (error_restart.c): each run can be re-entered after an error */\n\
                 void hr_execute (lua_State *L, int nexeccalls, void (*run) (lua_State *, int));\n\
                 static void hr_run (lua_State *L, int nexeccalls);\n\
                 void luaV_execute (lua_State *L, int nexeccalls) {\n\
                 \x20 hr_execute(L, nexeccalls, hr_run);\n\
                 }\n\
                 static void hr_run (lua_State *L, int nexeccalls) {\n",
            ),
            (
                "    const Instruction i = *pc++;\n",
                "    Instruction i = *pc++;  /* hotreload: a trap dispatches its original */\n",
            ),
            (
                "    lua_assert(L->top == L->ci->top || luaG_checkopenop(i));\n    switch (GET_OPCODE(i)) {\n",
                "    lua_assert(L->top == L->ci->top || luaG_checkopenop(i));\n\
                 \x20  hr_dispatch:  /* hotreload: a trap's original instruction */\n\
                 \x20   switch (GET_OPCODE(i)) {\n\
                 \x20     case OP_HRTRAP: {  /* hotreload: a breakpoint trap */\n\
                 \x20       Protect(i = hr_trap_hit(L, cl->p, pc - 1));\n\
                 \x20       if (hr_restart_ci == L->ci) {  /* restart.c */\n\
                 \x20         hr_restart_apply(L, L->ci);\n\
                 \x20         goto reentry;\n\
                 \x20       }\n\
                 \x20       if (GET_OPCODE(i) == OP_HRTRAP) continue;  /* none: as stock, nothing */\n\
                 \x20       ra = RA(i);\n\
                 \x20       goto hr_dispatch;\n\
                 \x20     }\n",
            ),
        ],
        "lapi.c" => &[(
            "  status = luaD_protectedparser(L, &z, chunkname);\n  lua_unlock(L);\n",
            "  status = luaD_protectedparser(L, &z, chunkname);\n  lua_unlock(L);\n\
             \x20 if (status == 0 && hr_load_hook && chunkname[0] == '@') hr_load_hook(L);  /* hotreload */\n",
        )],
        _ => &[],
    }
}
