/*
 * The raise hook, the same for every VM: stopping where an error is raised
 * (the `all` exception filter). The patched luaG_errormsg (see the VM's
 * vm.rs) calls hr_raise_hook, when set, with the error object on top of the
 * stack, before the message handler runs and before the stack unwinds.
 * NULL (the filter is off) keeps the VM stock. Errors raised inside a hook
 * (allowhook off) never reach the host.
 */
#include "lua.h"
#include "lstate.h"

#include "hotreload_vm.h"

static hr_raise_handler raise_handler = NULL;
void (*hr_raise_hook)(lua_State *L) = NULL;

static void raised(lua_State *L) {
  if (L->allowhook && raise_handler != NULL) raise_handler(L);
}

void hr_set_raise_handler(hr_raise_handler handler) {
  raise_handler = handler;
  hr_raise_hook = handler != NULL ? raised : NULL;
}
