/*
 * What every VM folder (vm/<name>/) gives the host: the C functions the
 * shared Rust code binds in src/native.rs and src/reload/mod.rs. Each
 * folder implements all of them over its own VM's insides; build.rs
 * compiles exactly one folder, chosen by the host's Cargo feature, with its
 * VM's sources. See vm/README.md.
 */
#ifndef HOTRELOAD_VM_H
#define HOTRELOAD_VM_H

#include <stddef.h>

#include "lua.h"

/* ---- Line information and breakpoints (debuginfo.c) ---- */

/* Writes the line of every instruction of the chunk in `path` (nested
   functions included) into out[0..cap); returns how many there are (may
   exceed cap), or -1 with the compiler's message in err. */
int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen);
/* The source of the function in frame `ar` of thread L, unformatted (L:
   5.1 and LuaJIT find a frame from its record only through its thread). */
const char *hr_frame_source (lua_State *L, const lua_Debug *ar, size_t *len);
/* How many frames thread L has. */
int hr_stack_depth (lua_State *L);
/* Before the line hook is switched on from a count hook: it then fires at
   the next new line, not mid-statement. */
void hr_sync_oldpc (lua_State *L);

/* ---- Breakpoint traps (shared/traps.c over vm/<vm>/trap_vm.c; LuaJIT:
   vm/luajit/traps.c) ----
   A breakpoint is a trap in the code of every prototype that holds its
   line: code without one runs with no hook at all. A trap reached calls
   the debugger's hook (hr_set_debug_hook) with a line event, unless the
   debugger's line hook runs on that thread (it sees the line itself). */

/* 1 where this VM runs breakpoint traps (every host VM); 0 (a VM built
   without: shared/no_traps.c; an agent in a stock VM): the other
   functions below do nothing, and breakpoints need the debugger's line
   hook. */
int hr_traps_supported (void);
/* Writes the breakpoint lines of the chunk named `source` into
   out[0..cap), and into conds[0..cap) each one's condition (NULL: none; the
   text stays valid until the next call); returns how many there are (0:
   none; may exceed cap). A condition in the subset cond.c compiles is
   checked at the trap: the hook is called only when it may be true. */
typedef int (*hr_trap_lines) (const char *source, size_t len, int *out,
                              const char **conds, int cap);
void hr_set_trap_lines (hr_trap_lines lines);
/* Removes every trap and makes, in L's VM, the strings that the
   conditions `conds[0..n)` name (the only allocation trap placement needs):
   call before hr_traps_sync whenever the conditions change. */
void hr_traps_prepare (lua_State *L, const char *const *conds, int n);
/* Removes every trap, then traps the breakpoint lines of every function
   of L's VM; returns how many traps are set. */
int hr_traps_sync (lua_State *L);
/* Traps the breakpoint lines of the function on top of L's stack (a chunk
   just loaded) and of the functions nested in it. */
void hr_traps_loaded (lua_State *L);
/* Removes every trap: the code is stock again. */
void hr_traps_clear (void);

/* ---- Without traps (shared/skips.c; hr_traps_supported() == 0) ----
   Breakpoints need the debugger's line hook; the patched VM narrows it to
   functions of files with breakpoints and to lines that hold one. A VM
   with traps (or a stock VM) ignores these. */

/* Whether a Lua function entered under a line-only hook may run untraced. */
typedef int (*hr_skip_policy) (lua_State *L, const char *source, size_t len);
void hr_set_skip_policy (hr_skip_policy policy);
void hr_forget_skips (void);
/* Lines (bit n: line n) that may call the line hook while `on`. */
void hr_set_line_filter (int on, const unsigned char *bits, size_t len);

/* Called where any error is raised, the error on top of L's stack. */
typedef void (*hr_raise_handler) (lua_State *L);
void hr_set_raise_handler (hr_raise_handler handler);
/* Whether L (and the main thread) have room to evaluate a condition. */
int hr_room_to_evaluate (lua_State *L);

/* ---- Restarting a frame (restart.c) ---- */

/* From the line hook: restart L's running frame from its first line (with
   the closure a hot reload gave it, if any) when the hook returns. Returns
   0, or -1 with the reason in err and nothing changed. */
int hr_restart_request (lua_State *L, char *err, size_t errlen);
/* Lua 5.1 to 5.4 (error_restart.c; LuaJIT: restart.c): while on, every
   interpreter run records where it can be re-entered, so a frame can be
   restarted after an error stop. */
void hr_set_error_restarts (int on);
/* From an error stop on L: when the error goes on, restart the frame at
   `level` (0: L's running frame) instead of unwinding past it. Returns 0,
   or -1 with the reason in err (nothing changed). */
int hr_error_restart_request (lua_State *L, int level, char *err,
                              size_t errlen);
/* Whether L's next error restarts a frame. */
int hr_error_restart_pending (lua_State *L);

/* ---- The debugger's own hook slot, notifications (vm_hooks.c) ---- */

void hr_set_debug_hook (lua_Hook hook);
void hr_debug_sethook (lua_State *L, int mask);
int hr_debug_gethookmask (lua_State *L);
void hr_set_resume_hook (void (*hook) (lua_State *co, lua_State *from,
                                       int entering));
void hr_set_load_hook (void (*hook) (lua_State *L));
/* Calls f with both hooks off, protected (an error is dropped); returns
   lua_pcall's status. */
int hr_call_unhooked (lua_State *L, lua_CFunction f, int nargs);
/* The parser depth of L: > 0 while lua_load parses a chunk. */
int hr_parsing (lua_State *L);

/* ---- What the program loaded, its threads (tracking.c) ---- */

void hr_track_load (lua_State *L);
int hr_all_threads (lua_State *L);

/* ---- The reload engine ---- */

/* Lua C function same_code(a, b): whether two Lua functions have the same
   code, line numbers aside (every folder; the pure-Lua backend uses it
   where the VM has no native backend). */
int hotreload_same_code (lua_State *L);

/* Lua C function: called after every reload; drops compiled code that may
   still run a replaced function's old code (LuaJIT: every trace; jit.c).
   Also after the debugger writes a local or an upvalue, whose old value a
   trace may hold as a constant. Nothing to do on VMs without a JIT
   (shared/jit.c). */
int hotreload_code_replaced (lua_State *L);

/* Pushes the native backend table the engine drives (lua/engine/); only in
   folders whose vm.rs says `native_backend: true`. */
int hotreload_native_backend (lua_State *L);

/* Pushes { swap, restore }, the in-place prototype swap of the backend
   contract (lua/engine/contract.lua), for a folder without the whole native
   backend: the pure-Lua walk then replaces only what could not be swapped;
   only in folders whose vm.rs says `inplace_swap: true`. */
int hotreload_inplace_swap (lua_State *L);

/* Pushes a table of the debug functions the engine needs that this VM's
   debug library lacks (Lua 5.1: upvalueid and upvaluejoin, with 5.2's
   meaning), for the engine's copy of the library; only in folders whose
   vm.rs says `debug_extras: true`. */
int hotreload_debug_extras (lua_State *L);

#endif
