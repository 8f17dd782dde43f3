/*
 * LuaJIT's compiler and the debugger (issue: compiled code runs no hooks,
 * and a trace may hold an inlined copy of a function's old code):
 *
 * - Breakpoints are traps in the bytecode (traps.c), and functions holding
 *   them are compiled like any other: the recorder never compiles a trap
 *   away (trap_record.c: the trace ends before it, or guards keep its
 *   condition false), and every reader of bytecode in the compiler reads
 *   the original where a trap stands (the patches in vm.rs). Whenever the
 *   traps change, every trace is flushed (one could hold an inlined line
 *   that now has a breakpoint) and loops blacklisted meanwhile get their
 *   hot counting back, so removing a breakpoint gives back full speed.
 * - Events compiled code cannot give: while the debugger counts
 *   instructions (a pause, an interrupt), follows calls (a step) or needs
 *   every line, `hr_trace_stop` makes compiled loops leave their trace at
 *   the next iteration (the hook check of LUAJIT_ENABLE_CHECKHOOK, pointed
 *   at this flag).
 * - A reload: `hotreload_code_replaced` flushes every trace, which may have
 *   inlined a function the reload just replaced.
 */
#include "lua.h"
#include "luajit.h"
#include "lj_obj.h"
#include "lj_trace.h"

#include "hotreload_vm.h"

static global_State *vm_g = NULL;
static int last_dmask = 0;

static void update_trace_stop (void) {
  int m = last_dmask;
  if (vm_g == NULL) return;
  vm_g->hr_trace_stop =
      (uint8_t)((m & (LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE)) != 0);
}

/* From hr_debug_sethook: the debugger's mask of the thread that runs. */
void hr_jit_trace_stop_update (global_State *g, int dmask) {
  vm_g = g;
  last_dmask = dmask;
  update_trace_stop();
}

/* The running thread (the one whose stack a trace flush may report to). */
static lua_State *running (global_State *g) {
  GCobj *cur = gcref(g->cur_L);
  return cur != NULL ? &cur->th : mainthread(g);
}

/* Every trace gone; loops blacklisted while traps blocked their function
 * get their hot counting back. */
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

/* From traps.c, with no trap in the code: before placing new ones, and
 * after removing the last ones. */
void hr_jit_traps_changed (lua_State *L) {
  vm_g = G(L);
  resync(vm_g);
}

void hr_jit_traps_cleared (void) {
  if (vm_g != NULL) resync(vm_g);
}

/* Lua C function: after a reload, no trace may run a replaced function's
 * old code. */
int hotreload_code_replaced (lua_State *L) {
  vm_g = G(L);
  lj_trace_flushall(L);
  return 0;
}
