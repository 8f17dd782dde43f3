/*
** The native reload backend's part of restartFrame on LuaJIT: where a
** reload notes that a running closure has a new version (shared/reload.h).
** LuaJIT does not restart frames yet (restart.c refuses), so nothing is
** noted; weak, so that a restart.c that restarts frames provides its own.
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

__attribute__((weak)) const Table *hr_restart_map = NULL;

__attribute__((weak)) void hr_restart_note(lua_State *L, int old_idx, int new_idx) {
  (void)L;
  (void)old_idx;
  (void)new_idx;
}

#endif /* HR_NATIVE_BACKEND */
