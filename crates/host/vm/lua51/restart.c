/*
** Restarting a stopped frame (DAP restartFrame), for Lua 5.1: the design of
** lua54/restart.c over 5.1's frames (an array of CallInfo; the running
** frame's pc is L->savedpc).
**
** The host asks from inside the debugger's line hook (hr_restart_request);
** the VM applies it when the hook returns (the lvm.c patch in vm.rs calls
** hr_restart_apply, then re-enters the frame at `reentry`, re-reading pc,
** base, closure and constants). A frame that is running keeps its old
** closure after a hot reload; hr_restart_note (reload_restart.c) remembers
** the reloaded closure that replaced it, and the restart runs that one.
**
** The arguments are the parameters' current values: a parameter the
** function assigned before the stop restarts with its new value.
**
** After an error stop this VM refuses: the error would unwind past the
** frame first (only lua54/error_restart.c makes an interpreter run
** re-enterable).
*/

#define LUA_CORE

#include <stdio.h>

#include "reload.h"
#include "ldebug.h"
#include "ldo.h"

#include "hotreload_vm.h"

#define HR_RESTART_TO "hotreload.restart_to"   /* old closure -> reloaded */
#define HR_RESTART_NEXT "hotreload.restart_next" /* keeps hr_next alive */

/* The frame to restart when the hook returns, and the closure it runs. */
CallInfo *hr_restart_ci = NULL;
static LClosure *hr_next = NULL;

static int refuse(char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

/* Whether the running frame of L can be restarted, and with which closure:
   0 with that closure noted for hr_restart_apply, or -1 with the reason in
   err (nothing changed). */
static int restart_target(lua_State *L, CallInfo *ci, char *err, size_t errlen) {
  LClosure *cl, *to;
  Proto *p;
  if (!isLua(ci))
    return refuse(err, errlen, "a C function cannot be restarted");
  cl = &clvalue(ci->func)->l;
  if (cl->p->linedefined == 0)
    return refuse(err, errlen, "a main chunk cannot be restarted");
  if (L != G(L)->mainthread && ci == L->base_ci + 1)
    return refuse(err, errlen, "the first function of a coroutine cannot be restarted");
  to = cl;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (lua_istable(L, -1)) {
    HR_SET_LCL(L, L->top, cl);
    L->top++;
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TFUNCTION && !lua_iscfunction(L, -1))
      to = HR_LCL(L->top - 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  p = to->p;
  if (p->numparams != cl->p->numparams || p->is_vararg != cl->p->is_vararg)
    return refuse(err, errlen,
                  "the reloaded function takes other parameters; its arguments "
                  "can no longer be known");
  HR_SET_LCL(L, L->top, to);
  L->top++;
  lua_setfield(L, LUA_REGISTRYINDEX, HR_RESTART_NEXT);
  hr_next = to;
  return 0;
}

int hr_restart_request(lua_State *L, char *err, size_t errlen) {
  if (restart_target(L, L->ci, err, errlen) != 0) return -1;
  hr_restart_ci = L->ci;
  return 0;
}

/*
** Called by luaV_execute when the hook returned into frame `ci` (L's
** running one) marked for restart: puts the (reloaded) closure in the
** frame, closes the upvalues the old run captured, clears its locals and
** points pc at the start. The caller then re-reads the frame (`goto
** reentry`); the first instruction reports the first line, as a call does.
*/
void hr_restart_apply(lua_State *L, CallInfo *ci) {
  Proto *p;
  StkId base, r;
  hr_restart_ci = NULL;
  if (hr_next != NULL) HR_SET_LCL(L, ci->func, hr_next);
  hr_next = NULL;
  p = clvalue(ci->func)->l.p;
  base = ci->base;
  luaF_close(L, base);
  L->top = base + p->numparams;
  luaD_checkstack(L, p->maxstacksize);
  base = L->ci->base;
  L->base = base;
  ci = L->ci;
  ci->top = base + p->maxstacksize;
  for (r = base + p->numparams; r < ci->top; r++) setnilvalue(r);
  L->top = ci->top;
  L->savedpc = p->code;
}

void hr_set_error_restarts(int on) {
  (void)on;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  (void)L;
  (void)level;
  snprintf(err, errlen,
           "restarting a frame after an error stop is not supported on Lua 5.1: the error "
           "unwinds past the frame (restart it from a breakpoint or a step instead)");
  return -1;
}

int hr_error_restart_pending(lua_State *L) {
  (void)L;
  return 0;
}
