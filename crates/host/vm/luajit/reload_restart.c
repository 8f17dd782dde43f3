/*
** The native reload backend's part of restartFrame on LuaJIT: where a
** reload notes that a running closure has a new version (shared/reload.h).
** Weak stand-ins: restart.c, which restarts frames, defines the real ones
** (a folder without it would note nothing).
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
