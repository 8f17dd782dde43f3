/*
** Restarting a stopped frame (DAP restartFrame), for Lua 5.4.
**
** The host asks from inside the debugger's line hook (hr_restart_request);
** the VM applies it when the hook returns (the lvm.c patch in vm.rs calls
** hr_restart_apply, then re-enters the frame like a callee's return does,
** re-reading pc, base and constants). A frame that is running keeps its old
** closure after a hot reload; hr_restart_note (reload_swap.c) remembers the
** reloaded closure that replaced it, and the restart runs that one.
**
** The arguments are the parameters' current values: capturing every call's
** arguments would cost every call, so a parameter the function assigned
** before the stop restarts with its new value.
*/

#define LUA_CORE  /* the VM's internal macros (l_unlikely) */

#include <stdio.h>

#include "reload.h"
#include "ldebug.h"
#include "ldo.h"

#define HR_RESTART_TO "hotreload.restart_to"   /* old closure -> reloaded */
#define HR_RESTART_NEXT "hotreload.restart_next" /* keeps hr_next alive */

/* The frame to restart when the hook returns, and the closure it runs. */
HR_HIDDEN CallInfo *hr_restart_ci = NULL;
/* The old -> reloaded map: the reference pass leaves it alone (it would
   rekey it to new -> new). */
HR_HIDDEN const Table *hr_restart_map = NULL;
static LClosure *hr_next = NULL;

/* Remembers (weakly) that `nw` replaces the running closure at the top. */
void hr_restart_note(lua_State *L, int old_idx, int new_idx) {
  old_idx = lua_absindex(L, old_idx);
  new_idx = lua_absindex(L, new_idx);
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, HR_RESTART_TO) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  hr_restart_map = (const Table *)lua_topointer(L, -1);
  lua_pushvalue(L, old_idx);
  lua_pushvalue(L, new_idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

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
  if (!isLua(ci))
    return refuse(err, errlen, "a C function cannot be restarted");
  cl = ci_func(ci);
  if (cl->p->linedefined == 0)
    return refuse(err, errlen, "a main chunk cannot be restarted");
  if (L != G(L)->mainthread && ci->previous == &L->base_ci)
    return refuse(err, errlen,
                  "the first function of a coroutine cannot be restarted");
  if (L->tbclist.p >= ci->func.p)
    return refuse(err, errlen,
                  "the function has to-be-closed variables open; it cannot be restarted");
  to = cl;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (lua_istable(L, -1)) {
    setclLvalue2s(L, L->top.p, cl);
    L->top.p++;
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TFUNCTION && !lua_iscfunction(L, -1))
      to = clLvalue(s2v(L->top.p - 1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  p = to->p;
  if (p->numparams != cl->p->numparams || p->is_vararg != cl->p->is_vararg)
    return refuse(err, errlen,
                  "the reloaded function takes other parameters; its arguments "
                  "can no longer be known");
  setclLvalue2s(L, L->top.p, to);
  L->top.p++;
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
** Called by luaV_execute when the hook returned into frame `ci` marked for
** restart: puts the (reloaded) closure in the frame, closes the upvalues
** the old run captured, clears its locals and points pc at the start (after
** VARARGPREP, which already ran). The caller then re-reads the frame.
*/
void hr_restart_apply(lua_State *L, CallInfo *ci) {
  Proto *p;
  StkId base, r;
  hr_restart_ci = NULL;
  if (hr_next != NULL) setclLvalue2s(L, ci->func.p, hr_next);
  hr_next = NULL;
  p = ci_func(ci)->p;
  base = ci->func.p + 1;
  luaF_closeupval(L, base);
  L->top.p = base + p->numparams;
  luaD_checkstack(L, p->maxstacksize);
  base = ci->func.p + 1;
  ci->top.p = base + p->maxstacksize;
  for (r = base + p->numparams; r < ci->top.p; r++) setnilvalue(s2v(r));
  L->top.p = ci->top.p;
  ci->u.l.savedpc = p->code + (p->is_vararg ? 1 : 0);
  ci->u.l.trap = 1;
  /* the first line calls the line hook (as after VARARGPREP) */
  L->oldpc = p->is_vararg ? 1 : 0;
}
