//! Lua 5.4: the host's VM patches and C files (included by build.rs).

use super::{shared_edits, Sources, Vm};

pub const VM: Vm = Vm {
    folder: "lua54",
    sources: Sources::LuaSrc("lua-5.4.9"),
    release: "5.4.9",
    defines: &["LUA_USE_LINUX", "LUA_COMPAT_5_3"],
    native_backend: true,
    inplace_swap: false,
    debug_extras: false,
    traps: true,
    edits,
};

/// Our changes to Lua 5.4's sources, each a few lines that call into this
/// folder's C files. Without
/// the host switching them on (no trap, no raise handler, no debugger
/// hook, no resume or load notification), Lua behaves as stock.
///
/// Breakpoints are traps in the code (shared/traps.c, traps.c): code
/// without one runs with no hook and no check at all.
/// - lobject.h: a prototype gets `hr_traps` (its traps and the instructions
///   they stand for); lfunc.c starts it empty and frees it with the
///   prototype.
/// - lvm.c: OP_EXTRAARG, which stock Lua never executes, is the trap: it
///   calls `hr_trap_hit` (the debugger's hook with a line event), then
///   dispatches the original instruction (`hr_dispatch`), or restarts the
///   frame if the stop asked to.
/// - Everything that reads code as data reads the original through
///   `hr_code_at`: lvm.c's metamethod fallbacks (`OP_MMBIN*`), the
///   generic for's prologue, `luaV_finishOp`; ldebug.c's variable and
///   function names and `luaG_traceexec`'s top check; ldump.c's
///   `string.dump`.
/// - ldebug.c, `luaG_errormsg` (every raised error): calls `hr_raise_hook`
///   when set, before the message handler runs and the stack unwinds, so
///   the `all` exception filter stops where the error happens.
///
/// The program sees the stock VM (vm_hooks.c):
/// - lstate.h: each thread gets a second hook slot (the program's own hook,
///   mask and count; the debugger's mask) and a parser depth; lstate.c
///   initialises them and hands them to new threads as stock does its hook.
/// - ldebug.c: the stock `lua_sethook` becomes `hr_vm_sethook` (the VM's
///   fields, the union of both slots); vm_hooks.c defines the public
///   `lua_sethook`/`lua_gethook*` over the program's slot.
/// - ldo.c, `lua_resume`: calls `hr_resume_hook` before the coroutine runs
///   and after it returns, yields or fails.
/// - ldo.c, `luaD_protectedparser`: counts the parser depth, so the
///   outermost message handler knows an error is caught by `lua_load`.
/// - lapi.c, `lua_load`: calls `hr_load_hook` after a chunk named `@file`
///   loaded, with its closure on top of the stack.
///
/// Restarting a frame after an error stop (error_restart.c):
/// - lvm.c: `luaV_execute` runs the interpreter through `hr_execute`, which
///   (only while the debugger allows it) records where the run can be
///   re-entered; ldo.c's `luaD_rawrunprotected` drops the records an error
///   unwinds past; lstate.h/lstate.c give each thread its list.
/// - ldo.c, `luaD_throw`: an error the debugger chose to retry unwinds to
///   the run of the frame to restart instead (`hr_error_restart_jump`).
///
/// Restarting a frame (restart.c):
/// - lvm.c, `vmfetch`: when the hook just returned into the frame the host
///   asked to restart (`hr_restart_ci`), `hr_restart_apply` resets it and
///   the interpreter re-reads pc, base and constants as after a return
///   (`goto returning`): its local `pc` would otherwise ignore the change.
///
/// The edits of source file `name`: (anchor, replacement), the replacement
/// keeping the anchor where needed; those whose text other releases share
/// are in `shared/edits.rs`.
pub fn edits(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "lstate.h" => &[(
            "  volatile l_signalT hookmask;\n};\n",
            "  volatile l_signalT hookmask;\n\
             \x20 /* hotreload (vm_hooks.c): the program's own hook slot */\n\
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
             extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
             extern void (*hr_load_hook) (lua_State *L);\n",
        )],
        "lstate.c" => &[
            (
                "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n",
                "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n\
                 \x20 hr_thread_init(L, NULL);  /* hotreload */\n\
                 \x20 L->hr_exec = NULL;\n",
            ),
            (
                "  L1->hook = L->hook;\n  resethookcount(L1);\n",
                "  L1->hook = L->hook;\n  resethookcount(L1);\n\
                 \x20 hr_thread_init(L1, L);  /* hotreload: both hook slots */\n\
                 \x20 L1->hr_exec = NULL;\n",
            ),
        ],
        "lobject.h" => edits!(
            &[(
                "  TString  *source;  /* used for debug information */\n  GCObject *gclist;\n} Proto;\n",
                "  TString  *source;  /* used for debug information */\n  GCObject *gclist;\n\
                 \x20 struct HrTraps *hr_traps;  /* hotreload: breakpoint traps (traps.c) */\n\
                 } Proto;\n",
            )],
            shared_edits::TRAP_DECLARATIONS
        ),
        "lfunc.c" => shared_edits::PROTO_TRAPS,
        "ldump.c" => &[(
            "  dumpVector(D, f->code, f->sizecode);\n",
            "  if (f->hr_traps == NULL)\n    dumpVector(D, f->code, f->sizecode);\n\
             \x20 else {  /* hotreload: the code as compiled, without traps */\n\
             \x20   int pc;\n\
             \x20   for (pc = 0; pc < f->sizecode; pc++) {\n\
             \x20     Instruction i = hr_code_at(f, pc);\n\
             \x20     dumpVar(D, i);\n\
             \x20   }\n\
             \x20 }\n",
        )],
        "ldebug.c" => edits!(
            &[
                (
                    "  if (testMMMode(GET_OPCODE(p->code[lastpc])))\n",
                    "  if (testMMMode(GET_OPCODE(hr_code_at(p, lastpc))))  /* hotreload */\n",
                ),
                (
                    "  else if (lastpc != -1) {  /* could find instruction? */\n    Instruction i = p->code[lastpc];\n",
                    "  else if (lastpc != -1) {  /* could find instruction? */\n    Instruction i = hr_code_at(p, lastpc);  /* hotreload */\n",
                ),
                (
                    "  if (!isIT(*(ci->u.l.savedpc - 1)))  /* top not being used? */\n",
                    "  if (!isIT(hr_code_at(p, pcRel(ci->u.l.savedpc, p))))  /* top not being used? (hotreload) */\n",
                ),
                (
                    "l_noret luaG_errormsg (lua_State *L) {\n",
                    "extern void (*hr_raise_hook) (lua_State *L);  /* hotreload */\n\
                     l_noret luaG_errormsg (lua_State *L) {\n\
                     \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
                ),
            ],
            shared_edits::NAMES_WITHOUT_TRAPS,
            shared_edits::HOOK_API_VOID
        ),
        "ldo.c" => edits!(
            error_restart!("l_uint32"),
            &[
                (
                    "  status = luaD_rawrunprotected(L, resume, &nargs);\n",
                    "  if (hr_resume_hook) hr_resume_hook(L, from, 1);  /* hotreload */\n\
                     \x20 status = luaD_rawrunprotected(L, resume, &nargs);\n",
                ),
                (
                    "                                    : cast_int(L->top.p - (L->ci->func.p + 1));\n  lua_unlock(L);\n",
                    "                                    : cast_int(L->top.p - (L->ci->func.p + 1));\n\
                     \x20 if (hr_resume_hook) hr_resume_hook(L, from, 0);  /* hotreload */\n\
                     \x20 lua_unlock(L);\n",
                ),
            ],
            parser_depth!("L->top.p")
        ),
        "lvm.c" => &[
            (
                "void luaV_execute (lua_State *L, CallInfo *ci) {\n",
                "/* hotreload (error_restart.c): each run can be re-entered after an error */\n\
                 void hr_execute (lua_State *L, CallInfo *ci, void (*run) (lua_State *, CallInfo *));\n\
                 static void hr_run (lua_State *L, CallInfo *ci);\n\
                 void luaV_execute (lua_State *L, CallInfo *ci) {\n\
                 \x20 hr_execute(L, ci, hr_run);\n\
                 }\n\
                 static void hr_run (lua_State *L, CallInfo *ci) {\n",
            ),
            (
                "/* fetch an instruction and prepare its execution */\n\
                 #define vmfetch()\t{ \\\n\
                 \x20 if (l_unlikely(trap)) {  /* stack reallocation or hooks? */ \\\n\
                 \x20   trap = luaG_traceexec(L, pc);  /* handle hooks */ \\\n\
                 \x20   updatebase(ci);  /* correct stack */ \\\n",
                "extern CallInfo *hr_restart_ci;  /* hotreload: restart.c */\n\
                 void hr_restart_apply (lua_State *L, CallInfo *ci);\n\
                 /* fetch an instruction and prepare its execution */\n\
                 #define vmfetch()\t{ \\\n\
                 \x20 if (l_unlikely(trap)) {  /* stack reallocation or hooks? */ \\\n\
                 \x20   trap = luaG_traceexec(L, pc);  /* handle hooks */ \\\n\
                 \x20   updatebase(ci);  /* correct stack */ \\\n\
                 \x20   if (l_unlikely(hr_restart_ci == ci)) {  /* hotreload */ \\\n\
                 \x20     hr_restart_apply(L, ci); goto returning; } \\\n",
            ),
            (
                "    vmdispatch (GET_OPCODE(i)) {\n      vmcase(OP_MOVE) {\n",
                "   hr_dispatch:  /* hotreload: a trap's original instruction */\n\
                 \x20   vmdispatch (GET_OPCODE(i)) {\n      vmcase(OP_MOVE) {\n",
            ),
            (
                "      vmcase(OP_EXTRAARG) {\n        lua_assert(0);\n        vmbreak;\n      }\n",
                "      vmcase(OP_EXTRAARG) {\n\
                 \x20       /* hotreload: stock Lua never runs EXTRAARG; a breakpoint trap */\n\
                 \x20       savepc(L);\n\
                 \x20       i = hr_trap_hit(L, cl->p, pc - 1);\n\
                 \x20       updatetrap(ci);\n\
                 \x20       updatebase(ci);\n\
                 \x20       if (l_unlikely(hr_restart_ci == ci)) {\n\
                 \x20         hr_restart_apply(L, ci);\n\
                 \x20         trap = 1;\n\
                 \x20         goto returning;\n\
                 \x20       }\n\
                 \x20       if (GET_OPCODE(i) == OP_EXTRAARG) vmbreak;  /* no trap */\n\
                 \x20       goto hr_dispatch;\n\
                 \x20     }\n",
            ),
            (
                "      vmcase(OP_MMBIN) {\n        StkId ra = RA(i);\n        Instruction pi = *(pc - 2);",
                "      vmcase(OP_MMBIN) {\n        StkId ra = RA(i);\n        Instruction pi = hr_code_at(cl->p, pcRel(pc, cl->p) - 1);",
            ),
            (
                "      vmcase(OP_MMBINI) {\n        StkId ra = RA(i);\n        Instruction pi = *(pc - 2);",
                "      vmcase(OP_MMBINI) {\n        StkId ra = RA(i);\n        Instruction pi = hr_code_at(cl->p, pcRel(pc, cl->p) - 1);",
            ),
            (
                "      vmcase(OP_MMBINK) {\n        StkId ra = RA(i);\n        Instruction pi = *(pc - 2);",
                "      vmcase(OP_MMBINK) {\n        StkId ra = RA(i);\n        Instruction pi = hr_code_at(cl->p, pcRel(pc, cl->p) - 1);",
            ),
            (
                "        pc += GETARG_Bx(i);\n        i = *(pc++);  /* go to next instruction */\n",
                "        pc += GETARG_Bx(i);\n\
                 \x20       i = hr_code_at(cl->p, cast_int(pc - cl->p->code));  /* hotreload */\n\
                 \x20       pc++;  /* go to next instruction */\n",
            ),
            (
                "  Instruction inst = *(ci->u.l.savedpc - 1);  /* interrupted instruction */\n",
                "  const Proto *hr_p = ci_func(ci)->p;  /* hotreload: traps */\n\
                 \x20 Instruction inst = hr_code_at(hr_p, pcRel(ci->u.l.savedpc, hr_p));  /* interrupted instruction */\n",
            ),
            (
                "      setobjs2s(L, base + GETARG_A(*(ci->u.l.savedpc - 2)), --L->top.p);\n",
                "      setobjs2s(L, base + GETARG_A(hr_code_at(hr_p, pcRel(ci->u.l.savedpc, hr_p) - 1)), --L->top.p);\n",
            ),
        ],
        "lapi.c" => &[(
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n",
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n\
             \x20   if (hr_load_hook && chunkname[0] == '@') hr_load_hook(L);  /* hotreload */\n",
        )],
        _ => &[],
    }
}
