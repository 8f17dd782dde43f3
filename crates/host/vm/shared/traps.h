/*
 * Private to the VM folders: breakpoint traps. shared/traps.c keeps the
 * traps (which instruction of which prototype, what it replaced); each
 * folder's traps.c gives what depends on its VM (where a line's events
 * fire, the collector's list, calling the hook). The patched VM sources
 * call hr_trap_hit and read code through hr_code_at (declared by the
 * lobject.h patch, see the folder's vm.rs).
 */
#ifndef HOTRELOAD_TRAPS_H
#define HOTRELOAD_TRAPS_H

#include <stddef.h>

#include "lua.h"
#include "lobject.h"

/* ---- Each VM (vm/<vm>/traps.c) ---- */

/* Writes to pcs[0..cap) the instructions of p where a line event for
   `line` fires (a new line or a backward jump) and a trap may stand (no
   instruction reads it as data); returns how many (may exceed cap). */
int hr_vm_line_events (const Proto *p, int line, int *pcs, int cap);
/* Calls f for every prototype of L's VM (the collector's list). */
void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud),
                       void *ud);
/* The chunk name of p, unformatted (NULL when stripped). */
const char *hr_vm_source (const Proto *p, size_t *len);
/* From a trap in L's running frame, before `orig` (the instruction the
   trap stands for) runs: calls `hook` as the VM calls a line hook. */
void hr_vm_line_event (lua_State *L, lua_Hook hook, Instruction orig,
                       int line);

/* ---- Shared (vm_hooks.c) ---- */

/* The debugger's hook function (NULL: none). */
lua_Hook hr_debug_hook (void);
/* The hook function L's VM fields should hold for its two slots. */
lua_Hook hr_union_hook (lua_State *L);

#endif
