/*
** The native backend's note of "this new closure replaces that running
** one" (shared/reload_heap.c), for Lua 5.3, 5.2 and 5.1 (lua52 and lua51 include
** this file): kept in a weak registry table that the reference pass leaves
** alone. Lua 5.4's restart.c runs the noted closure on a restartFrame;
** this VM refuses restartFrame (restart.c), so the note only waits there.
*/

#include "reload.h"

#define HR_RESTART_TO "hotreload.restart_to" /* old closure -> reloaded */

const Table *hr_restart_map = NULL;

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
