/*
** Lookups in the VM's list of objects, for Lua 5.4: which tables a new top
** level created (so that only those are merged), and the live main chunk of
** a file (to reload the main program).
*/

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
  for (o = G(L)->allgc; o != NULL && (const void *)o != mark; o = o->next) {
    if (o->tt == LUA_VTABLE) {
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
  for (o = G(L)->allgc; o != NULL; o = o->next) {
    if (o->tt == LUA_VLCL) {
      LClosure *cl = gco2lcl(o);
      Proto *p = cl->p;
      if (p->linedefined == 0 && p->source != NULL && tsslen(p->source) == len &&
          memcmp(getstr(p->source), name, len) == 0) {
        push_lclosure(L, cl);
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}
