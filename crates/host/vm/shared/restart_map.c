/*
** Which reloaded closure replaces a running one, for restartFrame (the
** restart.c of each VM reads it): the swap and the reference pass note it
** (hr_restart_note), the engine's walk too. Lua API only, so every VM
** shares it; the map is weak in its keys, old closures.
*/

#define LUA_CORE /* the VM's internal macros */

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/* The old -> reloaded map, which the native reference pass leaves alone
   (it would rekey it to new -> new). */
HR_HIDDEN const Table *hr_restart_map = NULL;

/* Remembers (weakly) that the closure at `new_idx` replaces the running
   one at `old_idx`. */
void hr_restart_note(lua_State *L, int old_idx, int new_idx) {
  int top = lua_gettop(L);
  /* absolute indices (lua_absindex is 5.2+) */
  if (old_idx < 0) old_idx = top + old_idx + 1;
  if (new_idx < 0) new_idx = top + new_idx + 1;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  }
  hr_restart_map = (const Table *)lua_topointer(L, -1);
  lua_pushvalue(L, old_idx);
  lua_pushvalue(L, new_idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

#endif /* HR_NATIVE_BACKEND */
