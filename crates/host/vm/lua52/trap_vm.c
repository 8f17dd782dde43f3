/*
 * Lua 5.2: breakpoint traps are 5.3's (lua53/trap_vm.c) but for how a
 * string's length and the collector's list are read; the VM headers on the
 * include path are 5.2's.
 */
#define HR_SOURCE_LEN(ts) ((ts)->tsv.len)
#define HR_GC_NEXT(o) (gch(o)->next)
#define HR_GC_TYPE(o) (gch(o)->tt)
#include "../lua53/trap_vm.c"
