/* LuaJIT 2.1: code lines through jit.util, same_code from stripped dumps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* Collects the line of every bytecode of the chunk on top (nested
   prototypes too) through jit.util, in the scratch state. */
static const char lines_lua[] =
    "local f = ...\n"
    "local util = require('jit.util')\n"
    "local out, n = {}, 0\n"
    "local function walk(fn)\n"
    "  local info = util.funcinfo(fn)\n"
    "  for pc = 1, (info.bytecodes or 1) - 1 do\n"
    "    local line = util.funcinfo(fn, pc).currentline\n"
    "    if line and line > 0 then n = n + 1; out[n] = line end\n"
    "  end\n"
    "  for i = 1, info.gcconsts or 0 do\n"
    "    local k = util.funck(fn, -i)\n"
    "    if type(k) == 'proto' then walk(k) end\n"
    "  end\n"
    "end\n"
    "walk(f)\n"
    "return out\n";

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  int n = 0, i, total;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  luaL_openlibs(L);
  if (luaL_loadfile(L, path) != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  if (luaL_loadstring(L, lines_lua) != 0) {
    snprintf(err, errlen, "%s: cannot read its line information", path);
    lua_close(L);
    return -1;
  }
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != 0 || !lua_istable(L, -1)) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s: cannot read its line information (%s)", path,
             msg ? msg : "no table");
    lua_close(L);
    return -1;
  }
  total = (int)lua_objlen(L, -1);
  for (i = 1; i <= total; i++) {
    lua_rawgeti(L, -1, i);
    if (n < cap) out[n] = (int)lua_tointeger(L, -1);
    n++;
    lua_pop(L, 1);
  }
  lua_close(L);
  return n;
}

/* same_code(a, b): equal stripped dumps (string.dump(f, true): LuaJIT's
   dump takes `strip` only there). */
int hotreload_same_code (lua_State *L) {
  size_t la, lb;
  const char *a, *b;
  int same;
  if (lua_type(L, 1) != LUA_TFUNCTION || lua_type(L, 2) != LUA_TFUNCTION ||
      lua_iscfunction(L, 1) || lua_iscfunction(L, 2)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_settop(L, 2);
  lua_getglobal(L, "string");
  if (!lua_istable(L, -1)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_getfield(L, -1, "dump");
  lua_pushvalue(L, 1);
  lua_pushboolean(L, 1);
  if (lua_pcall(L, 2, 1, 0) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_getfield(L, 3, "dump");
  lua_pushvalue(L, 2);
  lua_pushboolean(L, 1);
  if (lua_pcall(L, 2, 1, 0) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  a = lua_tolstring(L, -2, &la);
  b = lua_tolstring(L, -1, &lb);
  same = a != NULL && b != NULL && la == lb && memcmp(a, b, la) == 0;
  lua_pushboolean(L, same);
  return 1;
}
