/*
 * Lua 5.1 has no upvalue identity in its debug library; Lua 5.2 added
 * debug.upvalueid and debug.upvaluejoin, and the reload engine needs both
 * to keep an upvalue shared by two functions a shared cell after a reload.
 * 5.1's closures already share upvalues the same way (each LClosure points
 * at UpVal objects), so these are 5.2's two functions over 5.1's insides,
 * with the same argument checks and the same meaning. They go to the
 * engine's own copy of the debug library only: the program's `debug`
 * stays stock 5.1.
 */
#include "lua.h"
#include "lauxlib.h"
#include "lobject.h"
#include "lstate.h"
#include "lgc.h"

#include "hotreload_vm.h"

/* 5.2's checkupval: argument `argf` is a function, `argnup` one of its
 * upvalue indices. */
static int checkupval (lua_State *L, int argf, int argnup) {
  lua_Debug ar;
  int nup = luaL_checkint(L, argnup);
  luaL_checktype(L, argf, LUA_TFUNCTION);
  lua_pushvalue(L, argf);
  lua_getinfo(L, ">u", &ar);
  luaL_argcheck(L, 1 <= nup && nup <= ar.nups, argnup, "invalid upvalue index");
  return nup;
}

static Closure *closure_at (lua_State *L, int idx) {
  return (Closure *)lua_topointer(L, idx);
}

/* debug.upvalueid(f, n): a light userdata naming the cell of upvalue n
 * (the same for every closure sharing it). */
static int upvalueid (lua_State *L) {
  int n = checkupval(L, 1, 2);
  Closure *cl = closure_at(L, 1);
  if (cl->c.isC)
    lua_pushlightuserdata(L, &cl->c.upvalue[n - 1]);
  else
    lua_pushlightuserdata(L, cl->l.upvals[n - 1]);
  return 1;
}

/* debug.upvaluejoin(f1, n1, f2, n2): upvalue n1 of Lua function f1 becomes
 * the cell of upvalue n2 of Lua function f2. */
static int upvaluejoin (lua_State *L) {
  int n1 = checkupval(L, 1, 2);
  int n2 = checkupval(L, 3, 4);
  LClosure *f1, *f2;
  luaL_argcheck(L, !lua_iscfunction(L, 1), 1, "Lua function expected");
  luaL_argcheck(L, !lua_iscfunction(L, 3), 3, "Lua function expected");
  f1 = &closure_at(L, 1)->l;
  f2 = &closure_at(L, 3)->l;
  f1->upvals[n1 - 1] = f2->upvals[n2 - 1];
  luaC_objbarrier(L, f1, f1->upvals[n1 - 1]);
  return 0;
}

int hotreload_debug_extras (lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, upvalueid);
  lua_setfield(L, -2, "upvalueid");
  lua_pushcfunction(L, upvaluejoin);
  lua_setfield(L, -2, "upvaluejoin");
  return 1;
}
