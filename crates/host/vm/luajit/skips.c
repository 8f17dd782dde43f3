/*
 * LuaJIT always has breakpoint traps (traps.c), so the host never asks it
 * for a skip policy or a line filter (hooks.rs, `traps_supported`): the
 * contract's calls for VMs without traps (hotreload_vm.h) do nothing here.
 * This file replaces shared/skips.c, which reads PUC Lua's state.
 */
#include "lua.h"

#include "hotreload_vm.h"

void hr_set_skip_policy (hr_skip_policy policy) {
  (void)policy;
}

void hr_forget_skips (void) {}

void hr_set_line_filter (int on, const unsigned char *bits, size_t len) {
  (void)on;
  (void)bits;
  (void)len;
}
