/*
 * The trap contract's answers for a VM without breakpoint traps (build.rs
 * compiles this instead of traps.c and cond.c where `Vm::traps` is false;
 * every host VM has traps today). Breakpoints then run on the debugger's
 * line hook, narrowed by skips.c.
 */
#include "hotreload_vm.h"

int hr_traps_supported (void) { return 0; }
void hr_set_trap_lines (hr_trap_lines lines) { (void)lines; }
void hr_traps_prepare (lua_State *L, const char *const *conds, int n) {
  (void)L; (void)conds; (void)n;
}
int hr_traps_sync (lua_State *L) { (void)L; return 0; }
void hr_traps_loaded (lua_State *L) { (void)L; }
void hr_traps_clear (void) {}
