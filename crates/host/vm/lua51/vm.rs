//! Lua 5.1: the host's VM patches and C files (included by build.rs).

use super::{Sources, Vm};

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
    traps: false,
    edits,
};

/// Our changes to Lua 5.1's sources, each a few lines that call into
/// `vm/shared/` and this folder's C files; the same contract as 5.2's (see
/// `lua52/vm.rs`). Without the host switching them on, Lua behaves as stock.
///
/// Breakpoints (`shared/skips.c`):
/// - lvm.c, `traceexec`: a new line that holds no breakpoint in any file
///   does not call the line hook (`hr_skip_line`), nor does a line of a
///   function whose file and lines hold none (`hr_skip_trace`), unless the
///   program hooks lines itself.
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
/// Restarting a frame (shared/restart.c): lvm.c, after the hook call: when
/// the hook returns into the frame the host asked to restart
/// (`hr_restart_ci`), `hr_restart_apply` resets it and the interpreter
/// re-enters it at `reentry`. (After an error stop 5.1 refuses.)
///
/// The edits of source file `name`: (anchor, replacement), the replacement
/// keeping the anchor where needed.
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
             };\n\
             void hr_thread_init (lua_State *L1, lua_State *L);  /* hotreload */\n\
             int hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);\n\
             int hr_skip_line (lua_State *L, int line);\n\
             int hr_skip_trace (lua_State *L, const struct Proto *p);\n\
             lua_State *hr_resume_enter (lua_State *L);\n\
             void hr_resume_leave (lua_State *L, lua_State *from);\n\
             extern void (*hr_raise_hook) (lua_State *L);\n\
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
                "void luaG_errormsg (lua_State *L) {\n",
                "void luaG_errormsg (lua_State *L) {\n\
                 \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
            ),
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
        ],
        "ldo.c" => &[
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
            (
                "  status = luaD_pcall(L, f_parser, &p, savestack(L, L->top), L->errfunc);\n",
                "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n\
                 \x20 status = luaD_pcall(L, f_parser, &p, savestack(L, L->top), L->errfunc);\n\
                 \x20 L->hr_parsing--;  /* hotreload */\n",
            ),
        ],
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
                 void luaV_execute (lua_State *L, int nexeccalls) {\n",
            ),
            (
            "      luaD_callhook(L, LUA_HOOKLINE, newline);\n",
            "      if (!hr_skip_line(L, newline) && !hr_skip_trace(L, p))  /* hotreload */\n\
             \x20     luaD_callhook(L, LUA_HOOKLINE, newline);\n",
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
