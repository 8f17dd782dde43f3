/*
 * LuaJIT's compiler and the debugger (issue: compiled code runs no hooks,
 * and a trace may hold an inlined copy of a function's old code):
 *
 * - Breakpoints. A function whose own bytecode sits on a line that holds a
 *   breakpoint (in any file: the line filter is one bitmap for all files)
 *   is never compiled nor inlined into a trace: the patched recorder
 *   (lj_trace.c, lj_record.c) asks `hr_jit_blocked` where it tests
 *   PROTO_NOJIT, so it is handled as `jit.off(f)` would be. Whenever the
 *   breakpoint lines change, every trace is flushed (one could hold an
 *   inlined line that now has a breakpoint) and loops that were blacklisted
 *   meanwhile are unblocked, so the JIT compiles again what no longer holds
 *   a breakpoint. Without breakpoints nothing is blocked.
 * - Events compiled code cannot give: while the debugger counts
 *   instructions (a pause, an interrupt), follows calls (a step) or needs
 *   every line (the line filter off), `hr_trace_stop` makes compiled loops
 *   leave their trace at the next iteration (the hook check of
 *   LUAJIT_ENABLE_CHECKHOOK, pointed at this flag).
 * - A reload: `hotreload_code_replaced` flushes every trace, which may have
 *   inlined a function the reload just replaced.
 */
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "luajit.h"
#include "lj_obj.h"
#include "lj_debug.h"
#include "lj_trace.h"

#include "hotreload_vm.h"

int hr_line_filter_on (void);

static global_State *vm_g = NULL;
static unsigned char *bp_bits = NULL;
static size_t bp_len = 0;
static int last_dmask = 0;

static void update_trace_stop (void) {
  int m = last_dmask;
  if (vm_g == NULL) return;
  vm_g->hr_trace_stop =
      (uint8_t)((m & (LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET)) != 0 ||
                ((m & LUA_MASKLINE) && !hr_line_filter_on()));
}

/* From hr_debug_sethook: the debugger's mask of the thread that runs. */
void hr_jit_trace_stop_update (global_State *g, int dmask) {
  vm_g = g;
  last_dmask = dmask;
  update_trace_stop();
}

static int line_has_bp (BCLine line) {
  size_t byte;
  if (line < 0) return 0;
  byte = (size_t)line / 8;
  return byte < bp_len && (bp_bits[byte] & (1u << (line % 8)));
}

/* The recorder's question: whether prototype pt must stay interpreted. */
int hr_jit_blocked (const GCproto *pt) {
  GCstr *name;
  BCPos pc;
  if (bp_len == 0) return 0;
  name = proto_chunkname(pt);
  if (name == NULL || strdata(name)[0] != '@') return 0;
  for (pc = 0; pc < pt->sizebc; pc++)
    if (line_has_bp(lj_debug_line((GCproto *)pt, pc))) return 1;
  return 0;
}

/* The running thread (the one whose stack a trace flush may report to). */
static lua_State *running (global_State *g) {
  GCobj *cur = gcref(g->cur_L);
  return cur != NULL ? &cur->th : mainthread(g);
}

/* Every trace gone; loops blacklisted while breakpoints blocked what they
 * call get their hot counting back. */
static void resync (global_State *g) {
  GCobj *o;
  lj_trace_flushall(running(g));
  for (o = gcref(g->gc.root); o != NULL; o = gcref(o->gch.nextgc)) {
    if (o->gch.gct == ~LJ_TPROTO) {
      GCproto *pt = gco2pt(o);
      if ((pt->flags & PROTO_ILOOP) && !(pt->flags & PROTO_NOJIT)) lj_trace_reenableproto(pt);
    }
  }
}

/* From hr_set_line_filter. The filter is on exactly while breakpoints are
 * all the debugger needs; off with lines (a step, data breakpoints) the
 * breakpoints are unchanged; off and empty, there are none. */
void hr_jit_breakpoint_lines (int on, const unsigned char *bits, size_t len) {
  if (!on && len > 0) {
    update_trace_stop();
    return;
  }
  if (!on) len = 0;
  if (len != bp_len || (len > 0 && memcmp(bits, bp_bits, len) != 0)) {
    unsigned char *copy = NULL;
    if (len > 0) {
      copy = (unsigned char *)malloc(len);
      if (copy == NULL) len = 0; else memcpy(copy, bits, len);
    }
    free(bp_bits);
    bp_bits = copy;
    bp_len = len;
    if (vm_g != NULL) resync(vm_g);
  }
  update_trace_stop();
}

/* Lua C function: after a reload, no trace may run a replaced function's
 * old code. */
int hotreload_code_replaced (lua_State *L) {
  vm_g = G(L);
  lj_trace_flushall(L);
  return 0;
}
