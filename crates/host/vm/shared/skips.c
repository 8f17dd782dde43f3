/*
 * What a VM without breakpoint traps (hr_traps_supported() == 0: none of
 * the hosts today; LuaJIT has its own copy) asks before it calls the debugger's hook while
 * breakpoints need the line hook (vm/<vm>/debuginfo.c reads the VM's
 * insides and calls these through skips.h). VMs with traps never call
 * them; the host sets them up only where traps are unsupported. The
 * debugger calls these from hooks, so they allocate nothing in the
 * debuggee's VM.
 */
#include <string.h>

#include "lua.h"
#include "lstate.h"

#include "hotreload_vm.h"
#include "skips.h"

/*
 * Which functions need line events, decided by the host (hooks.rs): called
 * by the patched luaG_tracecall (see the VM's vm.rs) whenever a Lua function is
 * entered or returned to while a hook is set. Only when the debugger's line
 * hook is the thread's sole hook may a function run untraced: call, return
 * and count hooks (steps, interrupts) and any hook of the program itself
 * always see every function.
 */
static hr_skip_policy skip_policy = NULL;

void hr_set_skip_policy(hr_skip_policy policy) {
  skip_policy = policy;
}

int hr_has_skip_policy(void) {
  return skip_policy != NULL;
}

/*
 * The policy's answers, cached: it is asked on every call and return, and a
 * call into the host costs more than fib's whole body. Answers depend only on
 * the source text and on state the host changes rarely (breakpoints, steps,
 * deferred interrupts); the host starts a new generation whenever that state
 * changes (hr_forget_skips). A slot is picked by the string's address but
 * trusted only if the text matches, since a collected string's address can
 * come back holding another source.
 */
#define SKIP_SLOTS 64
#define SKIP_MAX_SOURCE 240
static struct {
  unsigned generation;
  int skip;
  size_t len;
  char source[SKIP_MAX_SOURCE];
} skip_cache[SKIP_SLOTS];
static unsigned skip_generation = 1;

void hr_forget_skips(void) {
  skip_generation++;
}

int hr_source_skips(lua_State *L, const void *key, const char *source, size_t len) {
  int skip;
  if (len <= SKIP_MAX_SOURCE) {
    size_t slot = ((size_t)key >> 4) % SKIP_SLOTS;
    if (skip_cache[slot].generation == skip_generation && skip_cache[slot].len == len &&
        memcmp(skip_cache[slot].source, source, len) == 0)
      return skip_cache[slot].skip;
    skip = skip_policy(L, source, len);
    skip_cache[slot].generation = skip_generation;
    skip_cache[slot].skip = skip;
    skip_cache[slot].len = len;
    memcpy(skip_cache[slot].source, source, len);
    return skip;
  }
  return skip_policy(L, source, len);
}

/*
 * Lines that hold a breakpoint in some file, as a bitmap the host keeps up
 * to date (hr_set_line_filter). While the filter is on (breakpoints only:
 * no step, no pending interrupt), the patched VM calls the line
 * hook only for these lines. Off, every line reaches the hook, as stock.
 */
static const unsigned char *line_bits = NULL;
static size_t line_bits_len = 0;
static int line_filter_on = 0;

void hr_set_line_filter(int on, const unsigned char *bits, size_t len) {
  line_bits = bits;
  line_bits_len = len;
  line_filter_on = on;
}

/* Whether any line in [first, last] is in the filter (always when off). */
int hr_lines_hold_breakpoint(int first, int last) {
  int line;
  if (!line_filter_on) return 1;
  for (line = first; line <= last; line++) {
    size_t byte = (size_t)line / 8;
    if (byte >= line_bits_len) return 0;
    if (line_bits[byte] & (1u << (line % 8))) return 1;
  }
  return 0;
}

int hr_skip_line(lua_State *L, int line) {
  size_t byte;
  if (!line_filter_on || line < 0 || (L->hr_hookmask & LUA_MASKLINE)) return 0;
  byte = (size_t)line / 8;
  if (byte >= line_bits_len) return 1;
  return !(line_bits[byte] & (1u << (line % 8)));
}
