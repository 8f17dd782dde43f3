/*
** A checked build of the engine for stress runs: Lua 5.4 compiled with its
** internal assertions (LUAI_ASSERT, LUA_USE_APICHECK) and the sanitizers,
** plus vm/lua54/reload_*.c, driving stress.lua. See ./run.
*/
#include <stdio.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int hotreload_native_backend(lua_State *L);

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  int status;
  if (argc < 3) {
    fprintf(stderr, "usage: stress <lua dir of the engine> <script> [args]\n");
    return 2;
  }
  luaL_openlibs(L);
  lua_pushcfunction(L, hotreload_native_backend);
  lua_setglobal(L, "native_backend");
  lua_pushstring(L, argv[1]);
  lua_setglobal(L, "ENGINE_DIR");
  lua_createtable(L, argc, 0);
  for (int i = 3; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 2);
  }
  lua_setglobal(L, "arg");
  status = luaL_dofile(L, argv[2]);
  if (status != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
  }
  lua_close(L);
  return status == LUA_OK ? 0 : 1;
}
