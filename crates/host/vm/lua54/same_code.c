/* The contract's same_code (hotreload_vm.h) on Lua 5.4: the native
 * backend's own comparison (reload_compare.c). */
#include "reload.h"

#include "hotreload_vm.h"

int hotreload_same_code (lua_State *L) {
  return hr_same_code(L);
}
