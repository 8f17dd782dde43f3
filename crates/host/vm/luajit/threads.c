/*
 * hr_all_threads: every thread of the VM, found on the collector's list (no
 * wrapper of coroutine.create needed).
 */
#include "lua.h"
#include "lj_obj.h"
#include "lj_gc.h"

#include "hotreload_vm.h"

/* A thread that counts: not the main one, not dead awaiting its sweep. */
static int listed (global_State *g, GCobj *o) {
  return o->gch.gct == ~LJ_TTHREAD && &o->th != mainthread(g) && !isdead(g, o);
}

/* Lua C function: an array of every thread but the main one. */
int hr_all_threads (lua_State *L) {
  global_State *g = G(L);
  GCobj *o;
  int n = 0, i = 0;
  for (o = gcref(g->gc.root); o != NULL; o = gcref(o->gch.nextgc))
    if (listed(g, o)) n++;
  lua_createtable(L, n, 0);
  if (!lua_checkstack(L, 2)) return 1;
  /* No allocation below (the array part is sized): the list stays put. */
  for (o = gcref(g->gc.root); o != NULL && i < n; o = gcref(o->gch.nextgc)) {
    if (listed(g, o)) {
      setthreadV(L, L->top, &o->th);
      L->top++;
      lua_rawseti(L, -2, ++i);
    }
  }
  return 1;
}
