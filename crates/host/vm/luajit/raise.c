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

/* coroutine.wrap hands a coroutine's error to its resumer by raising it
 * again in the resumer (lj_ffh_coroutine_wrap_err, patched to tell us
 * first): the raise that follows on that thread is that one, which the
 * host tells apart (exceptions.rs: a wrapped coroutine's error stops once,
 * where it was raised). PUC Lua's is told by the raising C function. */
static lua_State *wrap_raising = NULL;
static int raising_by_wrap = 0;

void hr_wrap_reraise (lua_State *L) {
  wrap_raising = L;
}

/* During the raise handler: whether this raise is coroutine.wrap's. */
int hr_raise_by_wrap (void) {
  return raising_by_wrap;
}

/* A trace exit restores the interpreter's state in a protected call
 * (lj_trace.c, trace_exit_cp); an error raised there (a stack overflow
 * while restoring the frames) is raised again once the exit is done
 * (lj_err_trace), by then from a frame whose position is lost. So the
 * first raise is the one that stops (the stack is the program's, and the
 * exit returns at once after it), and its second raise is let through. */
static int trace_exiting = 0;
static int exit_raised = 0;
static int skip_rethrow = 0;

void hr_trace_exiting (int on) {
  trace_exiting += on ? 1 : -1;
  if (on) exit_raised = 0;
}

void hr_trace_rethrow (lua_State *L, int errcode) {
  (void)L;
  skip_rethrow = exit_raised && errcode == LUA_ERRRUN && hr_raise_hook != NULL;
  exit_raised = 0;
}

static void raised(lua_State *L) {
  int by_wrap = wrap_raising == L, outer;
  wrap_raising = NULL;
  if (skip_rethrow) {
    skip_rethrow = 0;
    return;
  }
  if (trace_exiting > 0) exit_raised = 1;
  if (hook_active(G(L)) || hr_eval_running() || raise_handler == NULL) return;
  outer = raising_by_wrap;
  raising_by_wrap = by_wrap;
  raise_handler(L);
  raising_by_wrap = outer;
}

void hr_set_raise_handler(hr_raise_handler handler) {
  raise_handler = handler;
  hr_raise_hook = handler != NULL ? raised : NULL;
}

