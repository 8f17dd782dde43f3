/*
** Restarting a stopped frame (DAP restartFrame), for Lua 5.3 (and 5.2,
** which includes this file): the same design as lua54/restart.c.
**
** The host asks from inside the debugger's line hook or a breakpoint trap
** (hr_restart_request); the VM applies it when the hook returns (the lvm.c
** patch in vm.rs calls hr_restart_apply, then re-enters the frame at
** `newframe` as a call or return does, re-reading the closure, constants
** and base). A frame that is running keeps its old closure after a hot
** reload; hr_restart_note (reload_restart.c) remembers the reloaded closure
** that replaced it, and the restart runs that one.
**
** The arguments are the parameters' current values: a parameter the
** function assigned before the stop restarts with its new value. A vararg
** function keeps its extra arguments (they live below its base).
**
** After an error stop this VM refuses: the error would unwind past the
** frame first, and only lua54/error_restart.c makes each interpreter run
** re-enterable (its patches to luaD_throw and luaV_execute).
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

/* Whether frame ci of L can be restarted, and with which closure: 0 with
   that closure noted for hr_restart_apply, or -1 with the reason in err
   (nothing changed). */
static int restart_target(lua_State *L, CallInfo *ci, char *err, size_t errlen) {
  LClosure *cl, *to;
  Proto *p;
  if (!isLua(ci))
    return refuse(err, errlen, "a C function cannot be restarted");
  cl = clLvalue(ci->func);
  if (cl->p->linedefined == 0)
    return refuse(err, errlen, "a main chunk cannot be restarted");
  if (L != G(L)->mainthread && ci->previous == &L->base_ci)
    return refuse(err, errlen, "the first function of a coroutine cannot be restarted");
  to = cl;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (lua_istable(L, -1)) {
    setclLvalue(L, L->top, cl);
    L->top++;
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TFUNCTION && !lua_iscfunction(L, -1))
      to = clLvalue(L->top - 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  p = to->p;
  if (p->numparams != cl->p->numparams || p->is_vararg != cl->p->is_vararg)
    return refuse(err, errlen,
                  "the reloaded function takes other parameters; its arguments "
                  "can no longer be known");
  setclLvalue(L, L->top, to);
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
** Called by luaV_execute when the hook returned into frame `ci` marked for
** restart: puts the (reloaded) closure in the frame, closes the upvalues
** the old run captured, clears its locals and points pc at the start. The
** caller then re-reads the frame (`goto newframe`); the first instruction
** reports the first line, as a call does.
*/
void hr_restart_apply(lua_State *L, CallInfo *ci) {
  Proto *p;
  StkId base, r;
  hr_restart_ci = NULL;
  if (hr_next != NULL) setclLvalue(L, ci->func, hr_next);
  hr_next = NULL;
  p = clLvalue(ci->func)->p;
  base = ci->u.l.base;
  luaF_close(L, base);
  L->top = base + p->numparams;
  luaD_checkstack(L, p->maxstacksize);
  base = ci->u.l.base;
  ci->top = base + p->maxstacksize;
  for (r = base + p->numparams; r < ci->top; r++) setnilvalue(r);
  L->top = ci->top;
  ci->u.l.savedpc = p->code;
}

void hr_set_error_restarts(int on) {
  (void)on;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  (void)L;
  (void)level;
  snprintf(err, errlen,
           "restarting a frame after an error stop is not supported on Lua %s: the error "
           "unwinds past the frame (restart it from a breakpoint or a step instead)",
           LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
  return -1;
}

int hr_error_restart_pending(lua_State *L) {
  (void)L;
  return 0;
}
