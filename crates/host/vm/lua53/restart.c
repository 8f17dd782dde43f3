/*
** Restarting a stopped frame (DAP restartFrame): this VM has no patch that
** lets the interpreter re-read a frame's pc after the hook, so it refuses.
*/

#include <stdio.h>

#include "lua.h"

int hr_restart_request(lua_State *L, char *err, size_t errlen) {
  (void)L;
  snprintf(err, errlen, "restarting a frame is not supported on this runtime (Lua 5.4 only)");
  return -1;
}
