//! LuaJIT: the host's VM patches and C files (included by build.rs).
//!
//! LuaJIT builds with its own Makefile (it generates its interpreter with
//! DynASM from `vm_x64.dasc` through its own host tools), run by build.rs on
//! a patched copy of the `luajit-src` crate's tree in `OUT_DIR`.

use super::{Sources, Vm};

pub const VM: Vm = Vm {
    folder: "luajit",
    sources: Sources::LuaJitMake {
        crate_name: "luajit-src",
        tree: "luajit2",
        relver: "luajit_relver.txt",
    },
    release: "LuaJIT 2.1",
    // LUAJIT_NO_UNWIND: errors unwind with LuaJIT's own longjmp-like
    // unwinder, as PUC Lua's do, never as foreign exceptions through the
    // host's Rust frames. LUAJIT_ENABLE_CHECKHOOK: compiled loops test one
    // byte per iteration (the patch below points it at `hr_trace_stop`), so
    // a pause or a step reaches code running in a trace.
    defines: &["LUAJIT_NO_UNWIND", "LUAJIT_ENABLE_CHECKHOOK"],
    // shared/reload_*.c over reload_vm.h, reload_names.c, reload_swap.c
    // (also alone, for `Backend::Swap`).
    native_backend: true,
    inplace_swap: true,
    // LuaJIT has upvalueid and upvaluejoin.
    debug_extras: false,
    traps: true,
    edits,
};

/// Our changes to LuaJIT's sources, each a few lines that call into this
/// folder's C files. Without the host switching them on, LuaJIT behaves as
/// stock (the one exception: compiled loops read one byte per iteration).
///
/// Restarting a frame (`restart.c`; the interpreter keeps pc, base and
/// constants in registers across a hook, so the frame is re-entered from C
/// as the VM's own unwinder re-enters an interpreter after a pcall):
/// - vm_x64.dasc: `lj_vm_hr_restart(cframe, pc)` cuts the C stack to the
///   frame's interpreter, reloads base, dispatch table and the frame
///   function's constants and runs from `pc`.
/// - lj_dispatch.c: once a line event's hooks (`lj_dispatch_ins`) or a
///   trap's (`hr_dispatch_trap`) returned, a restart asked from them
///   (`hr_restart_L`) resets the frame and jumps (`hr_restart_take`).
/// - lj_err.c, `lj_err_throw`: the error an error stop asked to restart a
///   frame for unwinds to that frame instead (`hr_error_restart_throw`).
/// - lj_obj.h: their declarations.
///
/// Breakpoints are traps in the bytecode (`traps.c`, `trap_vm.c`): code
/// without one runs with no hook at all.
/// - lj_bc.h: BC_HRTRAP, a bytecode the parser never emits; a trap writes it
///   over an instruction's opcode byte, its operands stay (BC_HRTRAPG over
///   a GGET or GSET: the table fallbacks of vm_x64.dasc tell those from
///   TGETS/TSETS by the opcode in memory, and test for it too).
/// - vm_x64.dasc: BC_HRTRAP's handler calls `hr_dispatch_trap` and jumps
///   to the original opcode's handler through the static dispatch table
///   (as `vm_inshook` does), the operands read again from the instruction.
/// - lj_dispatch.c: `hr_dispatch_trap` calls the debugger's hook with a
///   line event, as `lj_dispatch_ins` does (top of the frame, hook-active
///   flag), when `hr_trap_take` (`traps.c`: the line hook did not just
///   report it, a compiled condition is not surely false) says so; the
///   frame's top (`cur_topslot`) reads the original instruction.
/// - lj_obj.h: `lua_State` gets `hr_seenpc`, the debugger's last line
///   event; lj_state.c starts it empty.
/// - lj_func.c: a prototype's traps die with it (`hr_traps_free`).
/// - What reads bytecode as data reads the original (`hr_bc_at`):
///   lj_debug.c (variable and function names), lj_bcwrite.c
///   (`string.dump`), lib_jit.c (`jit.util.funcbc`), the line event's test
///   for a call (lj_dispatch.c); lj_debug.c also exports `debug_varname`
///   for conditions (`hr_debug_varname`); the metamethod fallbacks that
///   take the opcode from memory (lj_meta.c: arithmetic, comparison, cdata
///   equality).
/// - lj_trace.c: blacklisting a loop never writes over a trap (a trapped
///   loop's original becomes its I-variant).
///
/// Functions holding traps are compiled (`trap_record.c`, `jit.c`):
/// - lj_record.c: `lj_record_ins` hands a trap to `hr_record_trap`, which
///   records guards keeping its condition false and then the original
///   instruction, or ends the trace before the trap (linked to the
///   interpreter); `hr_rec_slot`, `hr_rec_upvalue` and `hr_rec_currf` lend
///   it the recorder's static slot, upvalue and current-function loads. The hook check of compiled
///   loops reads `hr_trace_stop`.
/// - Every reader of code around the instruction it records reads the
///   original where a trap stands (`hr_bc_orig`, by address): lj_record.c
///   (`find_kinit`, a root trace's start and loop range, an ITERL's
///   operands, the return-to-interpreter test), lj_snap.c (a
///   snapshot's pc and top when a trace exits), lj_trace.c (MULTRES at an
///   exit, the start event), lj_asm.c (MULTRES of a trace that ends at a
///   trap), lj_ffrecord.c (the instruction after a call, for stitching).
/// - lj_snap.c: no slot is dead at a trap (its condition and the debugger
///   stopped there may read any), so exits restore them all.
/// - lj_trace.c: the FORI of a compiled loop becomes JFORI and back in the
///   trap's original when a trap stands on it (`hr_bc_setop`); so does a
///   trapped loop instruction (hot-counted when its trap has a condition):
///   JFORL and its trace number when compiled (`hr_bc_setd` writes the
///   operand both share), the original back when the trace goes
///   (`trace_unpatch`, `hr_bc_set`), IFORL under `jit.off`.
///
/// Hooks are global in LuaJIT (one hook for every coroutine), so:
/// - lj_obj.h: `global_State` gets the program's own hook slot, the flag
///   that stops compiled code (`hr_trace_stop`) and the one that routes
///   `coroutine.resume` through C (`hr_resume_on`); `lua_State` gets the
///   debugger's mask for that thread and the parser depth.
/// - lj_dispatch.c: the stock `lua_sethook` & co. become `hr_vm_*`
///   (`vm_hooks.c` defines the public ones); a count hook that switches the line hook on makes it fire at the next
///   new line (`hr_sync_pc`); the event LuaJIT sends again for the rest of
///   a line once a call on it returned is marked (`hr_line_again`) and the
///   debugger's hook does not get it (the program's own hook still does).
/// - lj_state.c: a new thread starts with its creator's debugger mask.
/// - lj_api.c, `lua_resume`: the resume notification around the resume.
/// - lib_base.c and vm_x64.dasc: while the notification is installed,
///   `coroutine.resume` and `coroutine.wrap`'s functions leave their
///   assembler fast path for C (`hr_resume_in_c`, through `lua_resume`).
/// - lj_load.c, `lua_loadx`: the parser depth, and the load notification
///   for chunks named `@file`.
/// - lj_debug.c: a record of the frame that was on top when it was taken
///   (`lua_getstack` level 0, a hook's) stays valid once more frames are
///   pushed above it (the host reads a stopped frame's locals from a call
///   it makes on the same thread): its frame above is found by walking
///   (`hr_frame_above`), where stock LuaJIT would take the thread's
///   newest C frame for it.
/// - lj_err.c, `lj_err_run` (every runtime error, before the message
///   handler): the raise hook, outside compiled code.
/// - lj_trace.c, `lj_trace_exit`, and lj_err.c, `lj_err_trace`: an error
///   while a trace exit restores the interpreter's state (a stack
///   overflow) is raised again after the exit; the raise hook stops at the
///   first only, which still knows the line (`hr_trace_exiting`,
///   `hr_trace_rethrow`).
/// - lib_base.c, `lj_ffh_coroutine_wrap_err`: coroutine.wrap raising a
///   coroutine's error again in the resumer says so first
///   (`hr_wrap_reraise`, raise.c), so the `all` filter stops once.
pub fn edits(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "lj_obj.h" => &[
            (
                "  GCRef gcroot[GCROOT_MAX];  /* GC roots. */\n} global_State;\n",
                "  GCRef gcroot[GCROOT_MAX];  /* GC roots. */\n\
                 \x20 /* hotreload (vm/luajit/vm_hooks.c): the program's own hook slot */\n\
                 \x20 lua_Hook hr_hook;\n\
                 \x20 int32_t hr_hookmask;\n\
                 \x20 int32_t hr_basehookcount;\n\
                 \x20 int32_t hr_hookleft;\n\
                 \x20 uint8_t hr_trace_stop;  /* compiled loops exit when non-zero */\n\
                 \x20 uint8_t hr_resume_on;  /* coroutine.resume goes through C */\n\
                 \x20 uint8_t hr_sync_pc;  /* next line event only at a new line */\n\
                 \x20 uint8_t hr_line_again;  /* this line event continues a line after a call */\n\
                 } global_State;\n",
            ),
            (
                "  MSize stacksize;\t/* True stack size (incl. LJ_STACK_EXTRA). */\n};\n",
                "  MSize stacksize;\t/* True stack size (incl. LJ_STACK_EXTRA). */\n\
                 \x20 int hr_dmask;  /* hotreload: the debugger's mask for this thread */\n\
                 \x20 int hr_parsing;  /* hotreload: parser depth */\n\
                 \x20 const BCIns *hr_seenpc;  /* hotreload: the debugger's last line event (traps.c) */\n\
                 };\n\
                 uint32_t LJ_FASTCALL hr_dispatch_trap (lua_State *L, const BCIns *pc);  /* hotreload */\n\
                 int hr_trap_take (lua_State *L, const struct GCproto *pt, const BCIns *pc, BCIns *orig, BCLine *line);\n\
                 BCIns hr_bc_at (const struct GCproto *pt, const BCIns *ip);\n\
                 int hr_has_traps (const struct GCproto *pt);\n\
                 void hr_traps_free (struct GCproto *pt);\n\
                 lua_Hook hr_debug_hook (void);\n\
                 BCIns hr_bc_orig (const BCIns *ip);  /* hotreload: the code as compiled, by address */\n\
                 void hr_bc_setop (BCIns *ip, int op);\n\
                 void hr_bc_setd (BCIns *ip, int d);\n\
                 void hr_bc_set (BCIns *ip, BCIns ins);\n\
                 int hr_resume_in_c (lua_State *L, lua_State *co, int wrap);\n\
                 TValue *hr_frame_above (lua_State *L, const TValue *frame);\n\
                 extern void (*hr_raise_hook) (lua_State *L);\n\
                 void hr_wrap_reraise (lua_State *L);\n\
                 void hr_thread_freed (lua_State *L);\n\
                 void hr_trace_exiting (int on);\n\
                 void hr_trace_rethrow (lua_State *L, int errcode);\n\
                 extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
                 extern void (*hr_load_hook) (lua_State *L);\n",
            ),
            (
                // restartFrame (restart.c), called by the lj_dispatch.c and
                // lj_err.c patches below.
                "#define G(L)\t\t\t(mref(L->glref, global_State))\n",
                "#define G(L)\t\t\t(mref(L->glref, global_State))\n\
                 /* hotreload: restartFrame (vm/luajit/restart.c) */\n\
                 extern lua_State *hr_restart_L;\n\
                 extern lua_State *hr_error_restart_L;\n\
                 void hr_restart_take (lua_State *L);\n\
                 void hr_error_restart_throw (lua_State *L, int errcode);\n",
            ),
        ],
        "lj_dispatch.c" => &[
            (
                "LUA_API int lua_sethook(lua_State *L, lua_Hook func, int mask, int count)\n",
                "int hr_vm_sethook(lua_State *L, lua_Hook func, int mask, int count)  /* hotreload */\n",
            ),
            (
                "LUA_API lua_Hook lua_gethook(lua_State *L)\n",
                "lua_Hook hr_vm_gethook(lua_State *L)  /* hotreload */\n",
            ),
            (
                "LUA_API int lua_gethookmask(lua_State *L)\n",
                "int hr_vm_gethookmask(lua_State *L)  /* hotreload */\n",
            ),
            (
                "LUA_API int lua_gethookcount(lua_State *L)\n",
                "int hr_vm_gethookcount(lua_State *L)  /* hotreload */\n",
            ),
            (
                "    callhook(L, LUA_HOOKCOUNT, -1);\n    L->top = L->base + slots;  /* Fix top again. */\n  }\n",
                "    callhook(L, LUA_HOOKCOUNT, -1);\n    L->top = L->base + slots;  /* Fix top again. */\n\
                 \x20   if (g->hr_sync_pc) { g->hr_sync_pc = 0; oldpc = pc; }  /* hotreload */\n\
                 \x20 }\n",
            ),
            (
                "      callhook(L, LUA_HOOKLINE, line);\n",
                "      /* hotreload: the rest of a line whose call just returned: stock\n\
                 \x20        LuaJIT reports it again, PUC Lua (and the debugger) does not */\n\
                 \x20     g->hr_line_again = opc >= pt->sizebc && npc > 0 &&\n\
                 \x20       (bc_op(hr_bc_at(pt, &proto_bc(pt)[npc-1])) == BC_CALL || bc_op(hr_bc_at(pt, &proto_bc(pt)[npc-1])) == BC_CALLM) &&\n\
                 \x20       lj_debug_line(pt, npc-1) == line;\n\
                 \x20     callhook(L, LUA_HOOKLINE, line);\n\
                 \x20     g->hr_line_again = 0;\n",
            ),
            (
                "  BCIns ins = pc[-1];\n  if (bc_op(ins) == BC_UCLO)\n    ins = pc[bc_j(ins)];\n",
                "  BCIns ins = hr_bc_at(pt, pc - 1);  /* hotreload: the original code */\n\
                 \x20 if (bc_op(ins) == BC_UCLO)\n\
                 \x20   ins = hr_bc_at(pt, pc + bc_j(ins));\n",
            ),
            (
                "  if ((g->hookmask & LUA_MASKRET) && bc_isret(bc_op(pc[-1])))\n",
                "  if ((g->hookmask & LUA_MASKRET) && bc_isret(bc_op(hr_bc_at(pt, pc - 1))))  /* hotreload */\n",
            ),
            (
                "/* Initialize call. Ensure stack space and return # of missing parameters. */\n",
                "/* hotreload: the BC_HRTRAP handler's call (vm/luajit/traps.c). Reports\n\
                 ** the breakpoint to the debugger's hook as lj_dispatch_ins reports a\n\
                 ** line, and returns the opcode to dispatch in the trap's place.\n\
                 */\n\
                 uint32_t LJ_FASTCALL hr_dispatch_trap(lua_State *L, const BCIns *pc)\n\
                 {\n\
                 \x20 ERRNO_SAVE\n\
                 \x20 GCproto *pt = funcproto(curr_func(L));\n\
                 \x20 global_State *g = G(L);\n\
                 \x20 lua_Hook hook = hr_debug_hook();\n\
                 \x20 BCIns ins;\n\
                 \x20 BCLine line;\n\
                 \x20 if (hr_trap_take(L, pt, pc, &ins, &line) && hook && !hook_active(g)) {\n\
                 \x20   void *cf = cframe_raw(L->cframe);\n\
                 \x20   lua_Debug ar;\n\
                 \x20   setcframe_pc(cf, pc);\n\
                 \x20   L->top = L->base + cur_topslot(pt, pc, cframe_multres_n(cf));\n\
                 \x20   lj_trace_abort(g);\n\
                 \x20   ar.event = LUA_HOOKLINE;\n\
                 \x20   ar.currentline = line;\n\
                 \x20   ar.i_ci = (int)((L->base-1) - tvref(L->stack));\n\
                 \x20   lj_state_checkstack(L, 1+LUA_MINSTACK);\n\
                 #if LJ_HASPROFILE && !LJ_PROFILE_SIGPROF\n\
                 \x20   lj_profile_hook_enter(g);\n\
                 #else\n\
                 \x20   hook_enter(g);\n\
                 #endif\n\
                 \x20   hook(L, &ar);\n\
                 \x20   setgcref(g->cur_L, obj2gco(L));\n\
                 #if LJ_HASPROFILE && !LJ_PROFILE_SIGPROF\n\
                 \x20   lj_profile_hook_leave(g);\n\
                 #else\n\
                 \x20   hook_leave(g);\n\
                 #endif\n\
                 \x20 }\n\
                 \x20 /* A trapped return: the return hook, which the trap's dispatch\n\
                 \x20    bypassed (vm_rethook), unless the instruction hook ran it. */\n\
                 \x20 if ((g->hookmask & LUA_MASKRET) && !(g->hookmask & (LUA_MASKLINE|LUA_MASKCOUNT)) &&\n\
                 \x20     bc_isret(bc_op(ins))) {\n\
                 \x20   void *cf = cframe_raw(L->cframe);\n\
                 \x20   setcframe_pc(cf, pc);\n\
                 \x20   L->top = L->base + cur_topslot(pt, pc, cframe_multres_n(cf));\n\
                 \x20   callhook(L, LUA_HOOKRET, -1);\n\
                 \x20 }\n\
                 \x20 ERRNO_RESTORE\n\
                 \x20 return bc_op(ins);\n\
                 }\n\
                 \n\
                 /* Initialize call. Ensure stack space and return # of missing parameters. */\n",
            ),
            (
                // restartFrame (restart.c): once the hooks of a line event
                // returned, a restart asked from them re-enters the frame.
                "      L->top = L->base + slots;  /* Fix top again. */\n    }\n  }\n",
                "      L->top = L->base + slots;  /* Fix top again. */\n\
                 \x20     if (hr_restart_L == L) hr_restart_take(L);  /* hotreload: restart.c */\n\
                 \x20   }\n  }\n",
            ),
            (
                // restartFrame (restart.c): likewise once a trap's hook
                // returned (in hr_dispatch_trap above).
                "    hook_leave(g);\n#endif\n  }\n  /* A trapped return:",
                "    hook_leave(g);\n#endif\n\
                 \x20   if (hr_restart_L == L) hr_restart_take(L);  /* hotreload: restart.c */\n\
                 \x20 }\n  /* A trapped return:",
            ),
        ],
        // The metamethod fallbacks take the opcode from the instruction in
        // memory: a trapped one gives the original.
        "lj_meta.c" => &[
            (
                "TValue *lj_meta_arith(lua_State *L, TValue *ra, cTValue *rb, cTValue *rc,\n\t\t      BCReg op)\n{\n",
                "TValue *lj_meta_arith(lua_State *L, TValue *ra, cTValue *rb, cTValue *rc,\n\t\t      BCReg op)\n{\n\
                 \x20 if (op == BC_HRTRAP || op == BC_HRTRAPG)  /* hotreload: a trapped instruction */\n\
                 \x20   op = bc_op(hr_bc_at(curr_proto(L), cframe_Lpc(L) - 1));\n",
            ),
            (
                "TValue * LJ_FASTCALL lj_meta_equal_cd(lua_State *L, BCIns ins)\n{\n",
                "TValue * LJ_FASTCALL lj_meta_equal_cd(lua_State *L, BCIns ins)\n{\n\
                 \x20 if (bc_op(ins) == BC_HRTRAP || bc_op(ins) == BC_HRTRAPG)  /* hotreload: a trapped instruction */\n\
                 \x20   ins = hr_bc_at(curr_proto(L), cframe_Lpc(L) - 1);\n",
            ),
            (
                "TValue *lj_meta_comp(lua_State *L, cTValue *o1, cTValue *o2, int op)\n{\n",
                "TValue *lj_meta_comp(lua_State *L, cTValue *o1, cTValue *o2, int op)\n{\n\
                 \x20 if (op == BC_HRTRAP || op == BC_HRTRAPG)  /* hotreload: a trapped instruction */\n\
                 \x20   op = bc_op(hr_bc_at(curr_proto(L), cframe_Lpc(L) - 1));\n",
            ),
        ],
        "lj_bc.h" => &[(
            "  _(BSAR,\tdst,\tvar,\tvar,\t___) \\\n  \\\n",
            "  _(BSAR,\tdst,\tvar,\tvar,\t___) \\\n  \\\n\
             \x20 /* hotreload: a breakpoint trap (vm/luajit/traps.c) */ \\\n\
             \x20 _(HRTRAP,\t___,\t___,\t___,\t___) \\\n\
             \x20 _(HRTRAPG,\t___,\t___,\t___,\t___)  /* ...over a GGET or GSET */ \\\n  \\\n",
        )],
        "lj_func.c" => &[(
            "void LJ_FASTCALL lj_func_freeproto(global_State *g, GCproto *pt)\n{\n",
            "void LJ_FASTCALL lj_func_freeproto(global_State *g, GCproto *pt)\n{\n\
             \x20 hr_traps_free(pt);  /* hotreload */\n",
        )],
        "lj_bcwrite.c" => &[(
            "  p = lj_buf_wmem(p, proto_bc(pt)+1, nbc*(MSize)sizeof(BCIns));\n  UNUSED(ctx);\n",
            "  p = lj_buf_wmem(p, proto_bc(pt)+1, nbc*(MSize)sizeof(BCIns));\n  UNUSED(ctx);\n\
             \x20 if (hr_has_traps(pt)) {  /* hotreload: the code as compiled, without traps */\n\
             \x20   char *w = p - nbc*(MSize)sizeof(BCIns);\n\
             \x20   MSize i;\n\
             \x20   for (i = 0; i < nbc; i++) {  /* (a trap's JFORI is unpatched below) */\n\
             \x20     BCIns ins = hr_bc_at(pt, proto_bc(pt)+1+i);\n\
             \x20     memcpy(w + i*sizeof(BCIns), &ins, sizeof(BCIns));\n\
             \x20   }\n\
             \x20 }\n",
        )],
        "lib_jit.c" => &[(
            "    BCIns ins = proto_bc(pt)[pc];\n    BCOp op = bc_op(ins);\n    lj_assertL(op < BC__MAX",
            "    BCIns ins = hr_bc_at(pt, &proto_bc(pt)[pc]);  /* hotreload: without traps */\n    BCOp op = bc_op(ins);\n    lj_assertL(op < BC__MAX",
        )],
        "lj_state.c" => &[(
            "  stack_init(L1, L);  /* init stack */\n",
            "  stack_init(L1, L);  /* init stack */\n\
             \x20 L1->hr_dmask = L->hr_dmask;  /* hotreload: as the creator */\n\
             \x20 L1->hr_parsing = 0;\n\
             \x20 L1->hr_seenpc = NULL;\n",
        ), (
            // The thread whose debugger mask the VM holds is forgotten when
            // it goes (vm_hooks.c keeps a pointer to it).
            "  if (obj2gco(L) == gcref(g->cur_L))\n    setgcrefnull(g->cur_L);\n",
            "  hr_thread_freed(L);  /* hotreload */\n\
             \x20 if (obj2gco(L) == gcref(g->cur_L))\n    setgcrefnull(g->cur_L);\n",
        )],
        "lj_api.c" => &[(
            "  if (L->cframe == NULL && L->status <= LUA_YIELD)\n    return lj_vm_resume(L,\n      L->status == LUA_OK ? api_call_base(L, nargs) : L->top - nargs,\n      0, 0);\n",
            "  if (L->cframe == NULL && L->status <= LUA_YIELD) {\n\
             \x20   /* hotreload: the resume notification around the resume */\n\
             \x20   GCobj *cur = gcref(G(L)->cur_L);\n\
             \x20   lua_State *from = cur != NULL && &cur->th != L ? &cur->th : NULL;\n\
             \x20   int status;\n\
             \x20   if (hr_resume_hook) hr_resume_hook(L, from, 1);\n\
             \x20   status = lj_vm_resume(L,\n\
             \x20     L->status == LUA_OK ? api_call_base(L, nargs) : L->top - nargs,\n\
             \x20     0, 0);\n\
             \x20   if (hr_resume_hook) hr_resume_hook(L, from, 0);\n\
             \x20   return status;\n\
             \x20 }\n",
        )],
        "lib_base.c" => &[
            (
                // The assembler comes here when the coroutine's stack lacks
                // room, and then always grows it; the C path comes every time.
                "  if (lj_state_cpgrowstack(co, (MSize)(L->top - L->base)) != LUA_OK) {\n",
                "  if ((!G(L)->hr_resume_on ||  /* hotreload: grow only when short */\n\
                 \x20      tvref(co->maxstack) - co->top <= (L->top - L->base) + 2) &&\n\
                 \x20     lj_state_cpgrowstack(co, (MSize)(L->top - L->base)) != LUA_OK) {\n",
            ),
            (
                "    lj_err_callermsg(L, strVdata(msg));\n  }\n  return FFH_RETRY;\n",
                "    lj_err_callermsg(L, strVdata(msg));\n  }\n\
                 \x20 if (G(L)->hr_resume_on) return hr_resume_in_c(L, co, wrap);  /* hotreload */\n\
                 \x20 return FFH_RETRY;\n",
            ),
            (
                // coroutine.wrap hands a coroutine's error to its resumer
                // (the assembler's path and the C one): the raise hook
                // learns it is that error again (raise.c).
                "void LJ_FASTCALL lj_ffh_coroutine_wrap_err(lua_State *L, lua_State *co)\n{\n",
                "void LJ_FASTCALL lj_ffh_coroutine_wrap_err(lua_State *L, lua_State *co)\n{\n\
                 \x20 hr_wrap_reraise(L);  /* hotreload */\n",
            ),
        ],
        "vm_x64.dasc" => &[
            (
                "  |  cmp aword L:RB->cframe, 0; jne ->fff_fallback\n",
                "  |  cmp aword L:RB->cframe, 0; jne ->fff_fallback\n\
                 \x20 |  cmp byte [DISPATCH+DISPATCH_GL(hr_resume_on)], 0; jne ->fff_fallback  // hotreload\n",
            ),
            (
                // The fallback of a table access tells GGET from TGETS (GSET
                // from TSETS) by the opcode in memory: a trapped GGET or
                // GSET is BC_HRTRAPG (traps.c).
                "  |  cmp PC_OP, BC_GGET\n  |  jne >1\n",
                "  |  cmp PC_OP, BC_GGET\n\
                 \x20 |  je >9\n\
                 \x20 |  cmp PC_OP, BC_HRTRAPG\t\t// hotreload: a trapped GGET\n\
                 \x20 |  jne >1\n\
                 \x20 |9:\n",
            ),
            (
                "  |  cmp PC_OP, BC_GSET\n  |  jne >1\n",
                "  |  cmp PC_OP, BC_GSET\n\
                 \x20 |  je >9\n\
                 \x20 |  cmp PC_OP, BC_HRTRAPG\t\t// hotreload: a trapped GSET\n\
                 \x20 |  jne >1\n\
                 \x20 |9:\n",
            ),
            (
                "  case BC_JMP:\n    |  ins_AJ\t// RA = unused, RD = target\n    |  branchPC RD\n    |  ins_next\n    break;\n",
                "  case BC_JMP:\n    |  ins_AJ\t// RA = unused, RD = target\n    |  branchPC RD\n    |  ins_next\n    break;\n\
                 \n\
                 \x20 case BC_HRTRAP: case BC_HRTRAPG:  // hotreload: a breakpoint trap (vm/luajit/traps.c)\n\
                 \x20   |  mov L:RB, SAVE_L\n\
                 \x20   |  mov L:RB->base, BASE\n\
                 \x20   |  mov CARG2, PC\n\
                 \x20   |  mov CARG1, L:RB\n\
                 \x20   |  call extern hr_dispatch_trap\t// (lua_State *L, const BCIns *pc)\n\
                 \x20   |  mov BASE, L:RB->base\n\
                 \x20   |  movzx OP, RCL\t\t\t// The original opcode.\n\
                 \x20   |  movzx RAd, PC_RA\n\
                 \x20   |  movzx RDd, PC_RD\n\
                 \x20   |  jmp aword [DISPATCH+OP*8+GG_DISP2STATIC]\t// As the instruction hook does.\n\
                 \x20   break;\n",
            ),
            (
                // restartFrame (restart.c): re-enters a frame from C, as
                // vm_unwind_ff re-enters an interpreter after a pcall.
                "  |  jmp ->vm_returnc\t\t\t// Increments RD/MULTRES and returns.\n  |\n",
                "  |  jmp ->vm_returnc\t\t\t// Increments RD/MULTRES and returns.\n  |\n\
                 \x20 |->vm_hr_restart:\t\t\t// hotreload: restart a frame (vm/luajit/restart.c)\n\
                 \x20 |  // (void *cframe, const BCIns *pc): L->base is the frame's, reset.\n\
                 \x20 |  endbr\n\
                 \x20 |  and CARG1, CFRAME_RAWMASK\n\
                 \x20 |  mov rsp, CARG1\t\t\t// Cut the C stack to the frame's interpreter.\n\
                 \x20 |  mov PC, CARG2\n\
                 \x20 |  mov L:RB, SAVE_L\n\
                 \x20 |  mov BASE, L:RB->base\n\
                 \x20 |  mov DISPATCH, L:RB->glref\t\t// Setup pointer to dispatch table.\n\
                 \x20 |  add DISPATCH, GG_G2DISP\n\
                 \x20 |  mov LFUNC:KBASE, [BASE-16]\t\t// The frame's (new) constants.\n\
                 \x20 |  cleartp LFUNC:KBASE\n\
                 \x20 |  mov KBASE, LFUNC:KBASE->pc\n\
                 \x20 |  mov KBASE, [KBASE+PC2PROTO(k)]\n\
                 \x20 |  set_vmstate INTERP\n\
                 \x20 |  ins_next\n\
                 \x20 |\n",
            ),
        ],
        "lj_load.c" => &[(
            "  status = lj_vm_cpcall(L, NULL, &ls, cpparser);\n  lj_lex_cleanup(L, &ls);\n  lj_gc_check(L);\n",
            "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n\
             \x20 status = lj_vm_cpcall(L, NULL, &ls, cpparser);\n\
             \x20 L->hr_parsing--;\n\
             \x20 lj_lex_cleanup(L, &ls);\n  lj_gc_check(L);\n\
             \x20 if (status == 0 && hr_load_hook && chunkname && chunkname[0] == '@')\n\
             \x20   hr_load_hook(L);  /* hotreload */\n",
        )],
        "lj_debug.c" => &[
            (
                "  TValue *nextframe = size ? frame + size : NULL;\n",
                "  TValue *nextframe = size ? frame + size : hr_frame_above(L, frame);  /* hotreload */\n",
            ),
            (
                "    if (size) nextframe = frame + size;\n",
                "    nextframe = size ? frame + size : hr_frame_above(L, frame);  /* hotreload */\n",
            ),
            (
                "/* Get name of local variable from 1-based slot number and function/frame. */\n",
                "/* hotreload: for breakpoint conditions (vm/luajit/trap_vm.c) */\n\
                 const char *hr_debug_varname(const GCproto *pt, BCPos pc, BCReg slot)\n\
                 {\n\
                 \x20 return debug_varname(pt, pc, slot);\n\
                 }\n\
                 \n\
                 /* Get name of local variable from 1-based slot number and function/frame. */\n",
            ),
            (
                "    BCIns ins = *ip;\n    BCOp op = bc_op(ins);\n",
                "    BCIns ins = hr_bc_at(pt, ip);  /* hotreload: the original code */\n    BCOp op = bc_op(ins);\n",
            ),
            (
                "\t  BCIns insp = ip[-1];\n",
                "\t  BCIns insp = hr_bc_at(pt, ip - 1);  /* hotreload */\n",
            ),
            (
                "    MMS mm = bcmode_mm(bc_op(*ip));\n    if (mm == MM_call) {\n      BCReg slot = bc_a(*ip);\n      if (bc_op(*ip) == BC_ITERC) slot -= 3;\n",
                "    BCIns hr_ins = hr_bc_at(pt, ip);  /* hotreload: the original code */\n\
                 \x20   MMS mm = bcmode_mm(bc_op(hr_ins));\n\
                 \x20   if (mm == MM_call) {\n\
                 \x20     BCReg slot = bc_a(hr_ins);\n\
                 \x20     if (bc_op(hr_ins) == BC_ITERC) slot -= 3;\n",
            ),
        ],
        "lj_err.c" => &[(
            "LJ_NOINLINE void LJ_FASTCALL lj_err_run(lua_State *L)\n{\n",
            "LJ_NOINLINE void LJ_FASTCALL lj_err_run(lua_State *L)\n{\n\
             \x20 /* hotreload: stop on raise, never from compiled code (the error is\n\
             \x20    raised again once the trace exited) */\n\
             \x20 if (hr_raise_hook && !tvref(G(L)->jit_base)) hr_raise_hook(L);\n",
        ), (
            // restartFrame after an error stop (restart.c): the error the
            // stop was for unwinds to the frame to restart instead.
            "  L->status = LUA_OK;\n#if LJ_UNWIND_EXT\n",
            "  L->status = LUA_OK;\n\
             \x20 if (hr_error_restart_L == L) hr_error_restart_throw(L, errcode);  /* hotreload */\n\
             #if LJ_UNWIND_EXT\n",
        ), (
            "LJ_NOINLINE void LJ_FASTCALL lj_err_trace(lua_State *L, int errcode)\n{\n",
            "LJ_NOINLINE void LJ_FASTCALL lj_err_trace(lua_State *L, int errcode)\n{\n\
             \x20 hr_trace_rethrow(L, errcode);  /* hotreload: raised before (raise.c) */\n",
        )],
        "lj_trace.c" => &[
            (
                // Blacklisting never writes over a trap: a trapped loop's
                // original becomes its interpreted variant.
                "static void blacklist_pc(GCproto *pt, BCIns *pc)\n{\n",
                "static void blacklist_pc(GCproto *pt, BCIns *pc)\n{\n\
                 \x20 if (bc_op(*pc) == BC_HRTRAP || bc_op(*pc) == BC_HRTRAPG) {  /* hotreload: a trap stays (traps.c) */\n\
                 \x20   BCOp hr_op = bc_op(hr_bc_orig(pc));\n\
                 \x20   if (hr_op == BC_FORL || hr_op == BC_ITERL || hr_op == BC_LOOP) {\n\
                 \x20     hr_bc_setop(pc, (int)hr_op+(int)BC_ILOOP-(int)BC_LOOP);\n\
                 \x20     pt->flags |= PROTO_ILOOP;\n\
                 \x20   }\n\
                 \x20   return;\n\
                 \x20 }\n",
            ),
            // A trapped loop with a condition is hot-counted (traps.c):
            // the compiler's patches of it go to the trap's original (and
            // the trace number to the operand both share).
            (
                "      setbc_op(J->pc, (int)bc_op(*J->pc)+(int)BC_ILOOP-(int)BC_LOOP);\n",
                "      hr_bc_setop(J->pc, (int)bc_op(hr_bc_orig(J->pc))+(int)BC_ILOOP-(int)BC_LOOP);  /* hotreload */\n",
            ),
            (
                "    setbc_op(pc, (int)op+(int)BC_JLOOP-(int)BC_LOOP);\n    setbc_d(pc, traceno);\n",
                "    hr_bc_setop(pc, (int)op+(int)BC_JLOOP-(int)BC_LOOP);  /* hotreload */\n    hr_bc_setd(pc, traceno);\n",
            ),
            (
                "  switch (bc_op(*pc)) {\n  case BC_JFORL:\n    lj_assertJ(traceref(J, bc_d(*pc)) == T, \"JFORL references other trace\");\n    *pc = T->startins;\n",
                "  switch (bc_op(hr_bc_orig(pc))) {  /* hotreload: or the trap's original */\n  case BC_JFORL:\n    lj_assertJ(traceref(J, bc_d(*pc)) == T, \"JFORL references other trace\");\n    hr_bc_set(pc, T->startins);\n",
            ),
            (
                "\t       bc_isret(op), \"bad original bytecode %d\", op);\n    *pc = T->startins;\n",
                "\t       bc_isret(op), \"bad original bytecode %d\", op);\n    hr_bc_set(pc, T->startins);  /* hotreload */\n",
            ),
            // The compiler's patches of a loop's FORI (JFORI while its
            // loop is compiled) go to the original of a trap standing there.
            (
                "    setbc_op(pc+bc_j(J->cur.startins), BC_JFORI);  /* Patch FORI, too. */\n",
                "    hr_bc_setop(pc+bc_j(J->cur.startins), BC_JFORI);  /* Patch FORI, too (hotreload: or its trap's original). */\n",
            ),
            (
                "    setbc_op(pc, BC_FORI);\n    break;\n",
                "    hr_bc_setop(pc, BC_FORI);  /* hotreload: or its trap's original */\n    break;\n",
            ),
            (
                "      BCOp op = bc_op(*J->pc);\n      if (op == BC_CALLM || op == BC_CALL || op == BC_ITERC) {\n",
                "      BCOp op = bc_op(hr_bc_orig(J->pc));  /* hotreload */\n      if (op == BC_CALLM || op == BC_CALL || op == BC_ITERC) {\n",
            ),
            // A trace exits at a trap: MULTRES as for the original (a
            // trapped CALLM, RETM, TSETM).
            (
                "  ERRNO_RESTORE\n  switch (bc_op(*pc)) {\n  case BC_CALLM: case BC_CALLMT:\n",
                "  ERRNO_RESTORE\n\
                 \x20 if (bc_op(*pc) == BC_HRTRAP || bc_op(*pc) == BC_HRTRAPG) {  /* hotreload */\n\
                 \x20   BCIns ins = hr_bc_orig(pc);\n\
                 \x20   switch (bc_op(ins)) {\n\
                 \x20   case BC_CALLM: case BC_CALLMT:\n\
                 \x20     return (int)((BCReg)(L->top - L->base) - bc_a(ins) - bc_c(ins) - LJ_FR2);\n\
                 \x20   case BC_RETM:\n\
                 \x20     return (int)((BCReg)(L->top - L->base) + 1 - bc_a(ins) - bc_d(ins));\n\
                 \x20   case BC_TSETM:\n\
                 \x20     return (int)((BCReg)(L->top - L->base) + 1 - bc_a(ins));\n\
                 \x20   default:\n\
                 \x20     return 0;\n\
                 \x20   }\n\
                 \x20 }\n\
                 \x20 switch (bc_op(*pc)) {\n  case BC_CALLM: case BC_CALLMT:\n",
            ),
            // An error while a trace exit restores the interpreter's state
            // is raised again after the exit: the raise hook stops at the
            // first (raise.c).
            (
                "  errcode = lj_vm_cpcall(L, NULL, &exd, trace_exit_cp);\n",
                "  hr_trace_exiting(1);  /* hotreload */\n\
                 \x20 errcode = lj_vm_cpcall(L, NULL, &exd, trace_exit_cp);\n\
                 \x20 hr_trace_exiting(0);  /* hotreload */\n",
            ),
        ],
        "lj_record.c" => &[
            // The recorder at a trap (trap_record.c): guards keeping its
            // condition false, then the original instruction; or the
            // trace ends before it.
            (
                "  ins = *pc;\n  op = bc_op(ins);\n",
                "  ins = *pc;\n\
                 \x20 if (LJ_UNLIKELY(bc_op(ins) == BC_HRTRAP || bc_op(ins) == BC_HRTRAPG)) {  /* hotreload */\n\
                 \x20   if (!hr_record_trap(J, pc, &ins)) return;  /* the trace ended before it */\n\
                 \x20 }\n\
                 \x20 op = bc_op(ins);\n",
            ),
            (
                "/* -- Record calls to Lua functions --------------------------------------- */\n",
                "/* hotreload: for trap_record.c (vm/luajit) */\n\
                 TRef hr_rec_slot(jit_State *J, BCReg slot)\n\
                 {\n\
                 \x20 return getslot(J, slot);\n\
                 }\n\
                 \n\
                 TRef hr_rec_upvalue(jit_State *J, uint32_t uv)\n\
                 {\n\
                 \x20 return rec_upvalue(J, uv, 0);\n\
                 }\n\
                 \n\
                 TRef hr_rec_currf(jit_State *J)\n\
                 {\n\
                 \x20 return getcurrf(J);\n\
                 }\n\
                 \n\
                 int hr_record_trap(jit_State *J, const BCIns *pc, BCIns *ins);\n\
                 \n\
                 /* -- Record calls to Lua functions --------------------------------------- */\n",
            ),
            // Code read ahead or behind: the original where a trap stands.
            (
                "    BCIns ins = *pc;\n    BCOp op = bc_op(ins);\n    /* First try to find the last instruction that stores to this slot. */\n",
                "    BCIns ins = hr_bc_orig(pc);  /* hotreload */\n    BCOp op = bc_op(ins);\n    /* First try to find the last instruction that stores to this slot. */\n",
            ),
            (
                "    rec_loop_interp(J, pc, rec_iterl(J, *pc));\n",
                "    rec_loop_interp(J, pc, rec_iterl(J, ins));  /* hotreload: the original */\n",
            ),
            (
                "  if (J->framedepth == 0 && J->pt && bc_isret(bc_op(*J->pc)) &&\n",
                "  if (J->framedepth == 0 && J->pt && bc_isret(bc_op(hr_bc_orig(J->pc))) &&  /* hotreload */\n",
            ),
            (
                "\t  if (bc_op(*pc) == BC_JMP) {\n",
                "\t  if (bc_op(hr_bc_orig(pc)) == BC_JMP) {  /* hotreload */\n",
            ),
            (
                "  const BCIns *pcj, *pc = J->pc;\n  BCIns ins = *pc;\n",
                "  const BCIns *pcj, *pc = J->pc;\n  BCIns ins = hr_bc_orig(pc);  /* hotreload */\n",
            ),
            (
                "    pcj = pc + bc_j(ins);\n    ins = *pcj;\n",
                "    pcj = pc + bc_j(ins);\n    ins = hr_bc_orig(pcj);  /* hotreload */\n",
            ),
            (
                "    J->cur.startins = *J->pc;\n",
                "    J->cur.startins = hr_bc_orig(J->pc);  /* hotreload: a stitched trace after a trapped call */\n",
            ),
            (
                "\t\t     lj_ir_kptr(J, &J2G(J)->hookmask), IRXLOAD_VOLATILE);\n    tr = emitir(IRTI(IR_BAND), tr, lj_ir_kint(J, (LUA_MASKLINE|LUA_MASKCOUNT)));\n",
                "\t\t     lj_ir_kptr(J, &J2G(J)->hr_trace_stop), IRXLOAD_VOLATILE);  /* hotreload */\n\
                 \x20   tr = emitir(IRTI(IR_BAND), tr, lj_ir_kint(J, 0xff));\n",
            ),
        ],
        "lj_snap.c" => &[
            // A breakpoint's condition, and the debugger once stopped
            // there, may read any slot: none is dead at a trap.
            (
                "    BCIns ins = *pc++;\n    BCOp op = bc_op(ins);\n",
                "    BCIns ins = *pc++;\n    BCOp op = bc_op(ins);\n\
                 \x20   if (op == BC_HRTRAP || op == BC_HRTRAPG) return maxslot;  /* hotreload */\n",
            ),
            (
                "  setcframe_pc(L->cframe, bc_isret_or_tail(bc_op(*pc)) ? pc : pc+1);\n",
                "  setcframe_pc(L->cframe, bc_isret_or_tail(bc_op(hr_bc_orig(pc))) ? pc : pc+1);  /* hotreload */\n",
            ),
            (
                "  switch (bc_op(*pc)) {\n  default:\n    if (bc_op(*pc) < BC_FUNCF) {\n",
                "  switch (bc_op(hr_bc_orig(pc))) {  /* hotreload: a trapped CALLM's top */\n  default:\n    if (bc_op(*pc) < BC_FUNCF) {\n",
            ),
        ],
        "lj_asm.c" => &[(
            "    switch (bc_op(*pc)) {\n    case BC_CALLM: case BC_CALLMT:\n",
            "    switch (bc_op(hr_bc_orig(pc))) {  /* hotreload: MULTRES at a trap */\n    case BC_CALLM: case BC_CALLMT:\n",
        )],
        "lj_ffrecord.c" => &[(
            "      BCOp op = bc_op(*frame_pc(J->L->base-1));\n",
            "      BCOp op = bc_op(hr_bc_orig(frame_pc(J->L->base-1)));  /* hotreload */\n",
        )],
        _ => &[],
    }
}
