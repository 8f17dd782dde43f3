/*
** Restarting a frame after an error stop: refused on the PUC VMs but 5.4
** (lua54/error_restart.c replaces this file): the error would unwind past
** the frame first, and only 5.4's patches make each interpreter run
** re-enterable. A restart from a breakpoint or step stop works
** (restart.c). LuaJIT refuses both (luajit/restart.c).
*/

#ifdef HR_NATIVE_BACKEND

#include <stdio.h>

#include "lua.h"

#include "hotreload_vm.h"

void hr_set_error_restarts(int on) {
  (void)on;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  (void)L;
  (void)level;
  snprintf(err, errlen,
           "restarting a frame after an error stop is not supported on %s: the error "
           "unwinds past the frame (restart it from a breakpoint or a step instead)",
           LUA_VERSION);
  return -1;
}

int hr_error_restart_pending(lua_State *L) {
  (void)L;
  return 0;
}

#endif /* HR_NATIVE_BACKEND */
