/*
** The native backend's note of "this new closure replaces that running
** one" (shared/reload_heap.c), for Lua 5.3 and 5.2 (lua52 includes this
** file): kept in a weak registry table that the reference pass leaves
** alone. Lua 5.4's restart.c runs the noted closure on a restartFrame;
** this VM refuses restartFrame (restart.c), so the note only waits there.
*/

#include "reload.h"

#define HR_RESTART_TO "hotreload.restart_to" /* old closure -> reloaded */

const Table *hr_restart_map = NULL;

void hr_restart_note(lua_State *L, int old_idx, int new_idx) {
  old_idx = lua_absindex(L, old_idx);
  new_idx = lua_absindex(L, new_idx);
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, HR_RESTART_TO) == 0) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  hr_restart_map = (const Table *)lua_topointer(L, -1);
  lua_pushvalue(L, old_idx);
  lua_pushvalue(L, new_idx);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}
