/*
 * VMs without a JIT compiler: nothing compiled can keep a replaced
 * function's old code (LuaJIT's folder replaces this file).
 */
#include "lua.h"

#include "hotreload_vm.h"

int hotreload_code_replaced (lua_State *L) {
  (void)L;
  return 0;
}
