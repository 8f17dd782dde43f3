/*
** Restarting a stopped frame (DAP restartFrame): LuaJIT's interpreter keeps
** the pc in registers across the hook, with no patch that lets it re-read
** a frame, so it refuses.
*/

#include <stdio.h>

#include "lua.h"

#include "hotreload_vm.h"

#define WHY "restarting a frame is not supported on LuaJIT: its interpreter keeps the pc " \
            "in a register across the debugger's hook, so a frame cannot be re-entered " \
            "(Lua 5.1 to 5.4 hosts can)"

int hr_restart_request (lua_State *L, char *err, size_t errlen) {
  (void)L;
  snprintf(err, errlen, "%s", WHY);
  return -1;
}

/* Nor a frame an error stopped in. */
void hr_set_error_restarts (int on) {
  (void)on;
}

int hr_error_restart_request (lua_State *L, int level, char *err, size_t errlen) {
  (void)L;
  (void)level;
  snprintf(err, errlen, "%s", WHY);
  return -1;
}

int hr_error_restart_pending (lua_State *L) {
  (void)L;
  return 0;
}
