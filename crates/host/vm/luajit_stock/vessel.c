/*
** A clone of a closure without LuaJIT's internal allocator: a closure with
** the same number of upvalues made by running a small generated chunk
** through the public API, then pointed at the prototype to clone (its own
** prototype is left to the collector). The caller sets its cells.
*/
#include <stdio.h>

#include "stock.h"

GCfunc *hr_stock_vessel(lua_State *L, GCproto *pt, GCtab *env) {
  char src[LJ_MAX_UPVAL * 8 + 64];
  size_t at = 0;
  int n = pt->sizeuv, i;
  GCfunc *fn;
  if (n > LJ_MAX_UPVAL) luaL_error(L, "hot reload: %d upvalues", n);
  /* "local u1,u2 return function() return u1,u2 end" */
  if (n > 0) {
    at += (size_t)snprintf(src + at, sizeof(src) - at, "local ");
    for (i = 1; i <= n; i++)
      at += (size_t)snprintf(src + at, sizeof(src) - at, i > 1 ? ",u%d" : "u%d", i);
  }
  at += (size_t)snprintf(src + at, sizeof(src) - at, " return function() return ");
  for (i = 1; i <= n; i++)
    at += (size_t)snprintf(src + at, sizeof(src) - at, i > 1 ? ",u%d" : "u%d", i);
  at += (size_t)snprintf(src + at, sizeof(src) - at, " end");
  if (luaL_loadbuffer(L, src, at, "=[hotreload] clone") != 0) lua_error(L);
  lua_call(L, 0, 1);
  fn = (GCfunc *)lua_topointer(L, -1);
  if (!isluafunc(fn) || fn->l.nupvalues != n) luaL_error(L, "hot reload: bad clone");
  setmref(fn->l.pc, proto_bc(pt));
  HR_STOCK_BARRIER(L, &fn->l, pt);
  setgcref(fn->l.env, obj2gco(env));
  HR_STOCK_BARRIER(L, &fn->l, env);
  /* No allocation happens before the caller anchors it again. */
  lua_pop(L, 1);
  return fn;
}
