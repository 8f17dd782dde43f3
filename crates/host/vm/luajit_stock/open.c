/*
** The entry points of the stock LuaJIT swap:
**   hr_stock_open (Neovim's process, through the cdylib): the checked
**     backend pieces, or why the running VM does not match;
**   hotreload_inplace_swap (the attach agent on LuaJIT, the contract of
**     vm/hotreload_vm.h): the checked swap, or, when the check fails, the
**     pure-Lua walk's relinking with one warning on stderr.
*/
#include <stdio.h>

#include "stock.h"

/* luajit.h's public API (the crate ships only its template). */
#define HR_LUAJIT_MODE_ENGINE 0
#define HR_LUAJIT_MODE_FLUSH 0x0200
LUA_API int luaJIT_setmode(lua_State *L, int idx, int mode);
#include "hotreload_vm.h"

int hr_stock_flush(lua_State *L) {
  luaJIT_setmode(L, 0, HR_LUAJIT_MODE_ENGINE | HR_LUAJIT_MODE_FLUSH);
  return 0;
}

/* swap(entries): reload_swap.c's swap (upvalue 1), with every entry whose
   old closure has a frame on some thread marked `force` (not swapped: its
   references are replaced by the walk instead); traces flushed after. */
static int checked_swap(lua_State *L) {
  HrMap running;
  int n, i;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!hr_map_init(&running, 64)) return luaL_error(L, "hot reload: out of memory");
  if (!hr_stock_collect_running(L, &running)) {
    hr_map_free(&running);
    return luaL_error(L, "hot reload: out of memory");
  }
  n = (int)lua_objlen(L, 1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, 1);
      if (lua_isfunction(L, -1) && hr_map_get(&running, lua_topointer(L, -1)) != NULL) {
        lua_pushboolean(L, 1);
        lua_rawseti(L, -3, 4);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  hr_map_free(&running);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  hr_stock_flush(L);
  return 1;
}

/* restore(old, clone), then traces flushed. */
static int checked_restore(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 0);
  hr_stock_flush(L);
  return 0;
}

/* Pushes { swap, restore } (checked) and `nested` into the table on top. */
static void push_swap(lua_State *L) {
  lua_pushcfunction(L, hr_stock_swap_open);
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "swap");
  lua_pushcclosure(L, checked_swap, 1);
  lua_setfield(L, -3, "swap");
  lua_getfield(L, -1, "restore");
  lua_pushcclosure(L, checked_restore, 1);
  lua_setfield(L, -3, "restore");
  lua_pop(L, 1);
  lua_pushcfunction(L, hr_stock_nested);
  lua_setfield(L, -2, "nested");
}

int hr_stock_open(lua_State *L) {
  const char *problem = hr_stock_layout_problem(L);
  lua_createtable(L, 0, 5);
  lua_getglobal(L, "jit");
  if (lua_istable(L, -1)) lua_getfield(L, -1, "version");
  else lua_pushnil(L);
  lua_setfield(L, -3, "version");
  lua_pop(L, 1);
  if (problem != NULL) {
    lua_pushstring(L, problem);
    lua_setfield(L, -2, "problem");
    return 1;
  }
  push_swap(L);
  lua_pushcfunction(L, hr_stock_orphans);
  lua_setfield(L, -2, "orphans");
  lua_pushcfunction(L, hr_stock_flush);
  lua_setfield(L, -2, "flush");
  return 1;
}

#ifdef HR_STOCK_AGENT
/* The stock walk's relinking: `new`'s cells taken with lua_upvaluejoin,
   nothing swapped (lua_backend.lua's swap, for when the check failed). */
static int walk_swap(lua_State *L) {
  int n, i, s, ns;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)lua_objlen(L, 1);
  lua_createtable(L, n, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 2);
    lua_rawgeti(L, -2, 3);
    ns = (int)lua_objlen(L, -1) / 2;
    for (s = 0; s < ns; s++) {
      lua_rawgeti(L, -1, 2 * s + 1);
      lua_rawgeti(L, -2, 2 * s + 2);
      if (lua_isfunction(L, -2) && !lua_rawequal(L, -2, -4))
        lua_upvaluejoin(L, -4, s + 1, -2, (int)lua_tointeger(L, -1));
      lua_pop(L, 2);
    }
    lua_pop(L, 3);
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

static int no_restore(lua_State *L) {
  (void)L;
  return 0;
}

int hotreload_inplace_swap(lua_State *L) {
  static int warned = 0;
  const char *problem = hr_stock_layout_problem(L);
  if (problem == NULL) {
    lua_createtable(L, 0, 3);
    push_swap(L);
    return 1;
  }
  if (!warned) {
    warned = 1;
    fprintf(stderr,
            "hotreload: no in-place swap in this LuaJIT (%s); reloads use the slower pure-Lua walk\n",
            problem);
  }
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, walk_swap);
  lua_setfield(L, -2, "swap");
  lua_pushcfunction(L, no_restore);
  lua_setfield(L, -2, "restore");
  return 1;
}
#endif
