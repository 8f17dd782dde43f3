/*
 * hr_all_threads: every thread of the VM, found on the collector's list (no
 * wrapper of coroutine.create needed). Lua 5.1 calls that list `rootgc`.
 */
#include "lua.h"
#include "lstate.h"
#include "lgc.h"
#include "lobject.h"

#include "hotreload_vm.h"

/* A thread that counts: not the main one, not dead awaiting its sweep
 * (handing that out would resurrect it). */
static int listed (global_State *g, GCObject *o) {
  return o->gch.tt == LUA_TTHREAD && gco2th(o) != g->mainthread && !isdead(g, o);
}

/* Lua C function: an array of every thread but the main one. */
int hr_all_threads (lua_State *L) {
  global_State *g = G(L);
  GCObject *o;
  int n = 0, i = 0;
  for (o = g->rootgc; o != NULL; o = o->gch.next)
    if (listed(g, o)) n++;
  lua_createtable(L, n, 0);
  /* No allocation below (the array part is sized): the list stays put. */
  for (o = g->rootgc; o != NULL && i < n; o = o->gch.next) {
    if (listed(g, o)) {
      setthvalue(L, L->top, gco2th(o));
      L->top++;
      lua_rawseti(L, -2, ++i);
    }
  }
  return 1;
}
