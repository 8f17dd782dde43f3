/*
 * How the reload engine learns what the program loaded, without wrapping
 * anything the program can see (see lua/engine/tracking.lua for the tables;
 * the coroutines come from vm/<vm>/threads.c):
 *
 * - hr_track_load: the patched lua_load (shared/vm_hooks.c) calls it after a
 *   chunk named '@file' loaded. When the function that called lua_load is
 *   the stock Lua-file searcher of `require`, the chunk is module
 *   <its first argument>; when it is the stock loadfile or dofile, a file
 *   the program ran. Recorded with both hooks off and protected: no hook of
 *   the program sees it, and a failure (out of memory) loses only the note.
 *
 * The registry field "hotreload.tracking" (set up by the host, filled by
 * tracking.lua) holds: [1] the Lua-file searcher, [2] loadfile, [3] dofile,
 * [4] modules (name -> record), [5] files run (path -> record), [6] the
 * metatable of file records.
 */
#include "lua.h"
#include "lauxlib.h"

#include "hotreload_vm.h"

#define TRACKING "hotreload.tracking"

static void set_field (lua_State *L, int rec, const char *k, int value) {
  lua_pushvalue(L, value);
  lua_setfield(L, rec, k);
}

/* Protected, hooks off; 1 = the loaded chunk. Level 1 called lua_load. */
static int record (lua_State *L) {
  lua_Debug caller, chunk;
  int module;
  lua_getfield(L, LUA_REGISTRYINDEX, TRACKING);  /* 2 */
  if (!lua_istable(L, 2)) return 0;
  if (!lua_getstack(L, 1, &caller) || !lua_getinfo(L, "f", &caller)) return 0;  /* 3 */
  lua_rawgeti(L, 2, 1);  /* 4: searcher */
  lua_rawgeti(L, 2, 2);  /* 5: loadfile */
  lua_rawgeti(L, 2, 3);  /* 6: dofile */
  if (lua_rawequal(L, 3, 4))
    module = 1;
  else if (lua_rawequal(L, 3, 5) || lua_rawequal(L, 3, 6))
    module = 0;
  else
    return 0;
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  if (!lua_getinfo(L, ">S", &chunk) || chunk.source[0] != '@') return 0;
  lua_pushstring(L, chunk.source + 1);  /* 3: path */
  lua_pushstring(L, chunk.source);  /* 4: chunk name */
  if (module) {
    if (lua_getlocal(L, &caller, 1) == NULL) return 0;  /* 5: module name */
    if (lua_type(L, 5) != LUA_TSTRING) return 0;
    lua_rawgeti(L, 2, 4);  /* 6: modules */
    if (!lua_istable(L, 6)) return 0;
    lua_pushvalue(L, 5);
    lua_rawget(L, 6);  /* 7: its record */
    if (!lua_istable(L, 7)) {
      lua_pop(L, 1);
      lua_createtable(L, 0, 4);
      lua_pushvalue(L, 5);
      lua_pushvalue(L, 7);
      lua_rawset(L, 6);
    }
    set_field(L, 7, "name", 5);
    set_field(L, 7, "path", 3);
    set_field(L, 7, "chunkname", 4);
    set_field(L, 7, "chunk", 1);
  }
  else {
    lua_rawgeti(L, 2, 5);  /* 5: files */
    if (!lua_istable(L, 5)) return 0;
    lua_createtable(L, 0, 4);  /* 6: the record */
    set_field(L, 6, "path", 3);
    set_field(L, 6, "chunkname", 4);
    set_field(L, 6, "chunk", 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, 6, "file");
    lua_rawgeti(L, 2, 6);
    if (lua_istable(L, -1)) lua_setmetatable(L, 6); else lua_pop(L, 1);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 6);
    lua_rawset(L, 5);
  }
  return 0;
}

/* The load notification: the chunk is on top; the stack is left as found. */
void hr_track_load (lua_State *L) {
  if (!lua_checkstack(L, 4)) return;
  lua_pushvalue(L, -1);
  hr_call_unhooked(L, record, 1);
}
