/*
** Restarting a stopped frame (DAP restartFrame), for every PUC VM (over
** its reload_vm.h; LuaJIT has its own: luajit/restart.c).
**
** The host asks from inside the debugger's line hook or a breakpoint trap
** (hr_restart_request); the VM applies it when the hook returns (the lvm.c
** patch in each vm.rs calls hr_restart_apply, then re-enters the frame as a
** call or return does, re-reading pc, base, closure and constants: 5.4
** `returning`, 5.3 and 5.2 `newframe`, 5.1 `reentry`). A frame that is
** running keeps its old closure after a hot reload; hr_restart_note (the
** swap and the reference pass call it) remembers the reloaded closure that
** replaced it, and the restart runs that one.
**
** The arguments are the parameters' current values: capturing every call's
** arguments would cost every call, so a parameter the function assigned
** before the stop restarts with its new value. Extra arguments of a vararg
** function stay where they are (below its base); Lua 5.1's `arg` table
** of them is kept or made as the new code needs it (HR_RESTART_ARG).
**
** After an error stop, error_restart.c makes each interpreter run
** re-enterable and unwinds the error to the frame's run first.
*/

#define LUA_CORE /* the VM's internal macros */

#ifdef HR_NATIVE_BACKEND

#include <stdio.h>

#include "reload.h"
#include "ldebug.h"
#include "ldo.h"

#include "hotreload_vm.h"

#define HR_RESTART_NEXT "hotreload.restart_next" /* keeps hr_next alive */

#ifndef HR_PROTO_VARARG
/* Whether a prototype is vararg: what fixes the frame's layout, which a
   restart keeps (5.1's flags say more: its reload_vm.h). */
#define HR_PROTO_VARARG(p) ((p)->is_vararg)
/* How many registers after the parameters a restart from prototype `was`
   to `p` keeps, and what it makes there afterwards (5.1's `arg`). */
#define HR_RESTART_KEPT(was, p) ((void)(was), (void)(p), 0)
#define HR_RESTART_ARG(L, ci, was, p) ((void)(L), (void)(ci), (void)(was), (void)(p))
#endif

/* The frame to restart when the hook returns, and the closure it runs
   (the map of reloaded closures: restart_map.c). */
CallInfo *hr_restart_ci = NULL;
static LClosure *hr_next = NULL;

static int refuse(char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

/*
** Whether frame ci of L can be restarted, and with which closure (the one a
** hot reload gave it, if any): 0 with that closure noted for
** hr_restart_apply, or -1 with the reason in err (nothing changed).
*/
int hr_restart_target(lua_State *L, CallInfo *ci, char *err, size_t errlen) {
  LClosure *cl, *to;
  Proto *p;
  if (!isLua(ci)) return refuse(err, errlen, "a C function cannot be restarted");
  cl = HR_LCL(HR_STK(HR_CI_FUNC(ci)));
  if (cl->p->linedefined == 0) return refuse(err, errlen, "a main chunk cannot be restarted");
  if (L != G(L)->mainthread && HR_CI_FIRST(L, ci))
    return refuse(err, errlen, "the first function of a coroutine cannot be restarted");
  if (HR_CI_HAS_TBC(L, ci))
    return refuse(err, errlen,
                  "the function has to-be-closed variables open; it cannot be restarted");
  to = cl;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (lua_istable(L, -1)) {
    push_lclosure(L, cl);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TFUNCTION && !lua_iscfunction(L, -1)) to = lclosure_at(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  p = to->p;
  if (p->numparams != cl->p->numparams || HR_PROTO_VARARG(p) != HR_PROTO_VARARG(cl->p))
    return refuse(err, errlen,
                  "the reloaded function takes other parameters; its arguments "
                  "can no longer be known");
  push_lclosure(L, to);
  lua_setfield(L, LUA_REGISTRYINDEX, HR_RESTART_NEXT);
  hr_next = to;
  return 0;
}

/*
** Asks to restart L's running frame (the one the hook stopped in).
** Returns 0, or -1 with the reason in err (nothing changed).
*/
int hr_restart_request(lua_State *L, char *err, size_t errlen) {
  if (hr_restart_target(L, L->ci, err, errlen) != 0) return -1;
  hr_restart_ci = L->ci;
  return 0;
}

/*
** Called by the interpreter when the hook returned into frame `ci` marked
** for restart: puts the (reloaded) closure in the frame, closes the upvalues
** the old run captured, clears its locals and points pc at the start
** (HR_RESTART_PC: after 5.4's VARARGPREP, which already ran). The caller
** then re-reads the frame; the first instruction reports the first line.
*/
void hr_restart_apply(lua_State *L, CallInfo *ci) {
  Proto *p, *was;
  StkId base, r;
  int kept;
  hr_restart_ci = NULL;
  was = HR_LCL(HR_STK(HR_CI_FUNC(ci)))->p;
  if (hr_next != NULL) HR_SET_LCL(L, HR_STK(HR_CI_FUNC(ci)), hr_next);
  hr_next = NULL;
  p = HR_LCL(HR_STK(HR_CI_FUNC(ci)))->p;
  kept = p->numparams + HR_RESTART_KEPT(was, p);
  base = HR_CI_BASE(ci);
  HR_CLOSE_UPVALS(L, base);
  HR_TOP(L) = base + kept;
  luaD_checkstack(L, p->maxstacksize);
  base = HR_CI_BASE(ci);
  HR_CI_TOP(ci) = base + p->maxstacksize;
  for (r = base + kept; r < HR_CI_TOP(ci); r++) setnilvalue(HR_STK(r));
  HR_TOP(L) = HR_CI_TOP(ci);
  HR_RESTART_ARG(L, ci, was, p);
  HR_RESTART_PC(L, ci, p);
}

#endif /* HR_NATIVE_BACKEND */
