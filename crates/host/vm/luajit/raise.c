/*
 * LuaJIT's copy of shared/raise.c (replacing it): the raise hook over
 * LuaJIT's state, where "inside a hook" is the VM's hook-active flag.
 */
#include "lua.h"
#include "lj_obj.h"

#include "hotreload_vm.h"

/*
 * Stopping where an error is raised (the `all` exception filter): the
 * patched lj_err_run (see vm.rs) calls hr_raise_hook, when set, with the
 * error object on top of the stack, before the message handler runs and
 * before the stack unwinds. NULL (the filter is off) keeps the VM stock.
 * Errors raised inside a hook (hook-active flag) or an evaluation (which
 * runs with that flag off: vm_hooks.c) never reach the host.
 */
static hr_raise_handler raise_handler = NULL;
void (*hr_raise_hook)(lua_State *L) = NULL;

int hr_eval_running (void);

static void raised(lua_State *L) {
  if (!hook_active(G(L)) && !hr_eval_running() && raise_handler != NULL) raise_handler(L);
}

void hr_set_raise_handler(hr_raise_handler handler) {
  raise_handler = handler;
  hr_raise_hook = handler != NULL ? raised : NULL;
}

