/*
 * Private to the VM folders: the shared side of breakpoint skipping
 * (skips.c), called by each VM's patched sources and debuginfo.c.
 */
#ifndef HOTRELOAD_SKIPS_H
#define HOTRELOAD_SKIPS_H

#include <stddef.h>

#include "lua.h"

/* Whether the host installed a skip policy. */
int hr_has_skip_policy (void);
/* The policy's answer for a chunk source, cached by `key` (the source
   string object's address) and checked against the text. */
int hr_source_skips (lua_State *L, const void *key, const char *source,
                     size_t len);
/* Whether a line in [first, last] holds a breakpoint (always, filter off). */
int hr_lines_hold_breakpoint (int first, int last);
/* Called by the patched line event: non-zero skips the debugger's hook. */
int hr_skip_line (lua_State *L, int line);

#endif
