//! Lua 5.4: the host's VM patches and C files (included by build.rs).

use super::{Sources, Vm};

pub const VM: Vm = Vm {
    folder: "lua54",
    sources: Sources::LuaSrc("lua-5.4.9"),
    release: "5.4.9",
    defines: &["LUA_USE_LINUX", "LUA_COMPAT_5_3"],
    native_backend: true,
    inplace_swap: false,
    debug_extras: false,
    edits,
};

/// Our changes to Lua 5.4's sources, each a few lines that call into this
/// folder's C files. Without
/// the host switching them on (no skip policy, no raise handler, no debugger
/// hook, no resume or load notification), Lua behaves as stock.
///
/// Breakpoints cost only where they are (debuginfo.c):
/// - ldebug.c, `luaG_tracecall` (function entry and return-to): a function
///   whose source holds no breakpoint runs with its frame's `trap` off
///   (`hr_skip_trace`) while the debugger's line hook is the thread's only
///   hook, so it pays nothing for breakpoints elsewhere.
/// - ldo.c, `rethook`: a returning frame hands `trap` on as set, so the
///   caller always passes through `luaG_tracecall` and decides for itself
///   (OP_RETURN copies the callee's `trap` before jumping to the caller).
/// - ldebug.c, `luaG_traceexec`: a new line that holds no breakpoint in any
///   file does not call the line hook (`hr_skip_line`, a bitmap), unless
///   the program hooks lines itself.
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
/// Restarting a frame (restart.c):
/// - lvm.c, `vmfetch`: when the hook just returned into the frame the host
///   asked to restart (`hr_restart_ci`), `hr_restart_apply` resets it and
///   the interpreter re-reads pc, base and constants as after a return
///   (`goto returning`): its local `pc` would otherwise ignore the change.
///
/// The edits of source file `name`: (anchor, replacement), the replacement
/// keeping the anchor where needed.
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
                 \x20 hr_thread_init(L, NULL);  /* hotreload */\n",
            ),
            (
                "  L1->hook = L->hook;\n  resethookcount(L1);\n",
                "  L1->hook = L->hook;\n  resethookcount(L1);\n\
                 \x20 hr_thread_init(L1, L);  /* hotreload: both hook slots */\n",
            ),
        ],
        "ldebug.c" => &[
            (
                "int luaG_tracecall (lua_State *L) {\n  CallInfo *ci = L->ci;\n  Proto *p = ci_func(ci)->p;\n",
                "int hr_skip_trace (lua_State *L, const Proto *p);  /* hotreload */\n\
                 int hr_skip_line (lua_State *L, int line);  /* hotreload */\n\
                 int luaG_tracecall (lua_State *L) {\n  CallInfo *ci = L->ci;\n  Proto *p = ci_func(ci)->p;\n\
                 \x20 if (hr_skip_trace(L, p)) { ci->u.l.trap = 0; return 0; }  /* hotreload */\n",
            ),
            (
                "      luaD_hook(L, LUA_HOOKLINE, newline, 0, 0);  /* call line hook */\n",
                "      if (!hr_skip_line(L, newline))  /* hotreload */\n\
                 \x20     luaD_hook(L, LUA_HOOKLINE, newline, 0, 0);  /* call line hook */\n",
            ),
            (
                "l_noret luaG_errormsg (lua_State *L) {\n",
                "extern void (*hr_raise_hook) (lua_State *L);  /* hotreload */\n\
                 l_noret luaG_errormsg (lua_State *L) {\n\
                 \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
            ),
            (
                "LUA_API void lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {\n",
                "void hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count) {  /* hotreload */\n",
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
        ],
        "ldo.c" => &[
            (
                "static void rethook (lua_State *L, CallInfo *ci, int nres) {\n",
                "static void rethook (lua_State *L, CallInfo *ci, int nres) {\n\
                 \x20 if (isLua(ci)) ci->u.l.trap = 1;  /* hotreload: caller re-decides */\n",
            ),
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
            (
                "  status = luaD_pcall(L, f_parser, &p, savestack(L, L->top.p), L->errfunc);\n",
                "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n\
                 \x20 status = luaD_pcall(L, f_parser, &p, savestack(L, L->top.p), L->errfunc);\n\
                 \x20 L->hr_parsing--;  /* hotreload */\n",
            ),
        ],
        "lvm.c" => &[(
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
        )],
        "lapi.c" => &[(
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n",
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n\
             \x20   if (hr_load_hook && chunkname[0] == '@') hr_load_hook(L);  /* hotreload */\n",
        )],
        _ => &[],
    }
}
