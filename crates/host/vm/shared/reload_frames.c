/*
** The running stacks: where the engine's own frames start on
** this thread, and which closures have a frame on some thread (they keep
** their code).
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/* hr_mark() -> offset of the caller's frame on this thread's stack. */
int hr_mark(lua_State *L) {
  HR_CI_CALLER(L, ci);
  lua_pushinteger(L, ci ? (lua_Integer)(HR_CI_FUNC(ci) - HR_STACK(L)) : 0);
  return 1;
}

/* Adds the Lua closures of every frame of `th` to the table at `set`. */
static void add_frames(lua_State *L, lua_State *th, int set) {
  HR_CI_DECL(th, ci);
  for (; HR_CI_VALID(th, ci); HR_CI_NEXT(ci)) {
    TValue *f = HR_STK(HR_CI_FUNC(ci));
    if (HR_IS_LCL(f)) {
      push_lclosure(L, HR_LCL(f));
      lua_pushboolean(L, 1);
      lua_rawset(L, set);
    }
  }
}

#ifndef HR_HAS_TWUPS
#ifndef HR_UV_NEXT
/* The list of open cells, and where each points. */
#define HR_UV_NEXT(uv) ((uv)->u.l.next)
#define HR_UV_SLOT(uv) ((uv)->v)
#endif

static int in_stack(lua_State *th, const TValue *v) {
  return v >= HR_STK(HR_STACK(th)) && v < HR_STK(HR_STACK(th) + th->stacksize);
}

/* Whether some open upvalue points outside the stacks of L, main and the
   threads keyed in the table at index 1. */
static int unknown_open_upvalue(lua_State *L, lua_State *main) {
  UpVal *head = HR_OPEN_UPVALS(G(L)), *uv;
  for (uv = HR_UV_NEXT(head); uv != head; uv = HR_UV_NEXT(uv)) {
    int known = 0;
    if (in_stack(L, HR_UV_SLOT(uv)) || in_stack(main, HR_UV_SLOT(uv))) continue;
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
      lua_State *th = lua_tothread(L, -2);
      lua_pop(L, 1); /* the key stays for lua_next */
      if (th != NULL && in_stack(th, HR_UV_SLOT(uv))) {
        lua_pop(L, 1); /* the key: the traversal stops here */
        known = 1;
        break;
      }
    }
    if (!known) return 1;
  }
  return 0;
}
#endif

/*
** hr_active(threads) -> set of the Lua closures with a frame on this thread,
** the main thread or any thread that is a key of `threads`.
*/
int hr_active(lua_State *L) {
  int set;
  lua_State *main = HR_MAINTHREAD(G(L));
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L);
  set = lua_gettop(L);
  luaL_checkstack(L, 6, "hot reload");
  add_frames(L, L, set);
  if (main != L) add_frames(L, main, set);
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_State *th = lua_tothread(L, -2);
    lua_pop(L, 1);
    if (th != NULL && th != L && th != main) add_frames(L, th, set);
  }
#ifdef HR_HAS_TWUPS
  /* Threads with open upvalues, tracked or not (a safety net for threads
     made from C, which the caller cannot see). */
  {
    lua_State *th;
    for (th = G(L)->twups; th != NULL && th->twups != th; th = th->twups)
      if (th != L && th != main) add_frames(L, th, set);
  }
#else
  /* No list of threads with open upvalues (5.2, 5.1), only one of the open
     upvalues: when one lies outside the stacks above (a thread made from
     C that the caller cannot see), every thread, from the collector's
     list (one pass over the heap). */
  if (unknown_open_upvalue(L, main)) {
    GCObject *o;
    for (o = HR_ALLGC(G(L)); o != NULL; o = HR_GC_NEXT(o))
      if (HR_GC_TT(o) == HR_T_THREAD && !HR_GC_DEAD(G(L), o) && gco2th(o) != L && gco2th(o) != main)
        add_frames(L, gco2th(o), set);
  }
#endif
  return 1;
}

#endif /* HR_NATIVE_BACKEND */
