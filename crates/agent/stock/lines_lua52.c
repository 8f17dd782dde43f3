/* Lua 5.2: 5.1's dump reader reads 5.2's dumps too (the differences are in
   lines_lua51.c, by LUA_VERSION_NUM). */
#include "lines_lua51.c"
