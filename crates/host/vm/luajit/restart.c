/*
** Restarting a stopped frame (DAP restartFrame): LuaJIT's interpreter keeps
** the pc in registers across the hook, with no patch that lets it re-read
** a frame, so it refuses.
*/

#include <stdio.h>

#include "lua.h"

#include "hotreload_vm.h"

int hr_restart_request (lua_State *L, char *err, size_t errlen) {
  (void)L;
  snprintf(err, errlen, "restarting a frame is not supported on this runtime (Lua 5.4 only)");
  return -1;
}
