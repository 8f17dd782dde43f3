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
    native_backend: false,
    // reload_swap.c: prototypes swapped in place, the walk for the rest.
    inplace_swap: true,
    // LuaJIT has upvalueid and upvaluejoin.
    debug_extras: false,
    edits,
};

/// Our changes to LuaJIT's sources, each a few lines that call into this
/// folder's C files. Without the host switching them on, LuaJIT behaves as
/// stock (the one exception: compiled loops read one byte per iteration).
///
/// Hooks are global in LuaJIT (one hook for every coroutine), so:
/// - lj_obj.h: `global_State` gets the program's own hook slot, the flag
///   that stops compiled code (`hr_trace_stop`) and the one that routes
///   `coroutine.resume` through C (`hr_resume_on`); `lua_State` gets the
///   debugger's mask for that thread and the parser depth.
/// - lj_dispatch.c: the stock `lua_sethook` & co. become `hr_vm_*`
///   (`vm_hooks.c` defines the public ones); the line event skips lines and
///   functions without breakpoints (`hr_skip_line`, `hr_skip_trace`); a
///   count hook that switches the line hook on makes it fire at the next
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
/// - lj_trace.c and lj_record.c: a function whose own lines hold a
///   breakpoint is never compiled nor inlined into a trace (`jit.c`,
///   `hr_jit_blocked`), as if `jit.off(f)`; the hook check of compiled loops
///   reads `hr_trace_stop`.
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
                 };\n\
                 int hr_skip_line (lua_State *L, int line);  /* hotreload */\n\
                 int hr_skip_trace (lua_State *L, const struct GCproto *pt);\n\
                 int hr_jit_blocked (const struct GCproto *pt);\n\
                 int hr_resume_in_c (lua_State *L, lua_State *co, int wrap);\n\
                 TValue *hr_frame_above (lua_State *L, const TValue *frame);\n\
                 extern void (*hr_raise_hook) (lua_State *L);\n\
                 extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
                 extern void (*hr_load_hook) (lua_State *L);\n",
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
                "      if (!hr_skip_line(L, (int)line) && !hr_skip_trace(L, pt)) {  /* hotreload */\n\
                 \x20       /* the rest of a line whose call just returned: stock LuaJIT\n\
                 \x20          reports it again, PUC Lua (and the debugger) does not */\n\
                 \x20       g->hr_line_again = opc >= pt->sizebc && npc > 0 &&\n\
                 \x20         (bc_op(proto_bc(pt)[npc-1]) == BC_CALL || bc_op(proto_bc(pt)[npc-1]) == BC_CALLM) &&\n\
                 \x20         lj_debug_line(pt, npc-1) == line;\n\
                 \x20       callhook(L, LUA_HOOKLINE, line);\n\
                 \x20       g->hr_line_again = 0;\n\
                 \x20     }\n",
            ),
        ],
        "lj_state.c" => &[(
            "  stack_init(L1, L);  /* init stack */\n",
            "  stack_init(L1, L);  /* init stack */\n\
             \x20 L1->hr_dmask = L->hr_dmask;  /* hotreload: as the creator */\n\
             \x20 L1->hr_parsing = 0;\n",
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
        ],
        "vm_x64.dasc" => &[(
            "  |  cmp aword L:RB->cframe, 0; jne ->fff_fallback\n",
            "  |  cmp aword L:RB->cframe, 0; jne ->fff_fallback\n\
             \x20 |  cmp byte [DISPATCH+DISPATCH_GL(hr_resume_on)], 0; jne ->fff_fallback  // hotreload\n",
        )],
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
        ],
        "lj_err.c" => &[(
            "LJ_NOINLINE void LJ_FASTCALL lj_err_run(lua_State *L)\n{\n",
            "LJ_NOINLINE void LJ_FASTCALL lj_err_run(lua_State *L)\n{\n\
             \x20 /* hotreload: stop on raise, never from compiled code (the error is\n\
             \x20    raised again once the trace exited) */\n\
             \x20 if (hr_raise_hook && !tvref(G(L)->jit_base)) hr_raise_hook(L);\n",
        )],
        "lj_trace.c" => &[(
            "  if ((J->pt->flags & PROTO_NOJIT)) {  /* JIT disabled for this proto? */\n",
            "  if ((J->pt->flags & PROTO_NOJIT) || hr_jit_blocked(J->pt)) {  /* hotreload */\n",
        )],
        "lj_record.c" => &[
            (
                "    GCproto *pt = funcproto(frame_func(frame - (cbase+1+LJ_FR2)));\n    if ((pt->flags & PROTO_NOJIT))\n",
                "    GCproto *pt = funcproto(frame_func(frame - (cbase+1+LJ_FR2)));\n\
                 \x20   if ((pt->flags & PROTO_NOJIT) || hr_jit_blocked(pt))  /* hotreload */\n",
            ),
            (
                "  BCReg s, numparams = pt->numparams;\n  if ((pt->flags & PROTO_NOJIT))\n",
                "  BCReg s, numparams = pt->numparams;\n\
                 \x20 if ((pt->flags & PROTO_NOJIT) || hr_jit_blocked(pt))  /* hotreload */\n",
            ),
            (
                "\t\t     lj_ir_kptr(J, &J2G(J)->hookmask), IRXLOAD_VOLATILE);\n    tr = emitir(IRTI(IR_BAND), tr, lj_ir_kint(J, (LUA_MASKLINE|LUA_MASKCOUNT)));\n",
                "\t\t     lj_ir_kptr(J, &J2G(J)->hr_trace_stop), IRXLOAD_VOLATILE);  /* hotreload */\n\
                 \x20   tr = emitir(IRTI(IR_BAND), tr, lj_ir_kint(J, 0xff));\n",
            ),
        ],
        _ => &[],
    }
}
