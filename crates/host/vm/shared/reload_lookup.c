/*
** Lookups in the VM's list of objects: which tables a new top
** level created (so that only those are merged), and the live main chunk of
** a file (to reload the main program).
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/*
** hr_gc_mark() -> a fresh table: the newest object, private to the caller.
** hr_created_since(mark) -> set of the tables created after that mark.
** New objects go to the head of 'allgc', and the caller keeps the collector
** stopped in between, so the objects before the mark are exactly the new
** ones (a table given a __gc metamethod moves to 'finobj' and is missed:
** it then counts as pre-existing, which only means it is not merged).
*/
int hr_gc_mark(lua_State *L) {
  lua_newtable(L);
  return 1;
}

int hr_created_since(lua_State *L) {
  const void *mark;
  GCObject *o;
  luaL_checktype(L, 1, LUA_TTABLE);
  mark = lua_topointer(L, 1);
  lua_newtable(L);
  luaL_checkstack(L, 4, "hot reload");
  for (o = HR_ALLGC(G(L)); o != NULL && (const void *)o != mark; o = HR_GC_NEXT(o)) {
    if (HR_GC_TT(o) == HR_T_TABLE) {
      push_table(L, gco2t(o));
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
  }
  return 1;
}

/* hr_find_chunk(chunkname) -> the newest live main chunk of that file. */
int hr_find_chunk(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  GCObject *o;
  for (o = HR_ALLGC(G(L)); o != NULL; o = HR_GC_NEXT(o)) {
    if (HR_GC_IS_LCL(o) && !HR_GC_DEAD(G(L), o)) {
      LClosure *cl = gco2lcl(o);
      Proto *p = HR_PROTO(cl);
      if (HR_LINEDEFINED(p) == 0 && HR_SOURCE(p) != NULL && HR_STRLEN(HR_SOURCE(p)) == len &&
          memcmp(getstr(HR_SOURCE(p)), name, len) == 0) {
        push_lclosure(L, cl);
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

#endif /* HR_NATIVE_BACKEND */
