/*
 * LuaJIT's side of the host's transparency (replaces shared/vm_hooks.c; the
 * patches that call into this file are described in vm.rs).
 *
 * LuaJIT has one hook for the whole VM, not one per thread: the program's
 * debug.sethook sets it for every coroutine, and the stock events are the
 * VM's. So:
 *
 * - Two hook slots. The program's own hook (lua_sethook and friends, hence
 *   debug.sethook/gethook) lives in the `hr_hook*` fields the patched
 *   lj_obj.h adds to global_State. The debugger's is one function
 *   (`hr_set_debug_hook`) with a mask per thread (`hr_dmask` in lua_State);
 *   the mask of the thread the host set last applies, and the host sets it
 *   again whenever another thread starts running (resume notification).
 *   The VM's own fields (`hookf`, `hookmask`, `hookcstart`) hold the union:
 *   the program's hook alone, the debugger's alone, or `merged`.
 * - Compiled code runs no hooks. While the debugger needs every event of
 *   some kind (a count hook: pause, a step; lines without the breakpoint
 *   filter), `hr_trace_stop` makes compiled loops leave their trace at the
 *   next iteration (jit.c keeps functions holding breakpoints out of traces).
 * - A resume notification (`hr_resume_hook`, from the patched lua_resume).
 *   coroutine.resume and coroutine.wrap's functions resume in LuaJIT's
 *   assembler, not through lua_resume: while the notification is installed
 *   (`hr_resume_on`), they take their C fallback, which resumes through
 *   lua_resume (coroutines.c).
 * - A load notification and a parser depth, as on PUC Lua.
 *
 * With no debugger hook set and no notification installed, LuaJIT behaves
 * as stock: the program's hook goes straight into the VM's fields.
 */
#include "lua.h"
#include "lj_obj.h"
#include "lj_frame.h"
#include "lj_state.h"
#include "lj_dispatch.h"
#include "lj_trace.h"

#include "hotreload_vm.h"

/* The stock lua_sethook of lj_dispatch.c, renamed by the patch. */
int hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);

static lua_Hook debug_hook = NULL;

/* The thread whose debugger mask the VM's fields hold (the host sets the
 * mask of the thread that runs; hooks are global in LuaJIT, so a thread
 * that runs again must get its own mask back even when it did not change:
 * hr_debug_gethookmask). */
static lua_State *hooked = NULL;

/* An evaluation runs (hr_eval_hook_begin): the VM's fields hold its budget
 * hook alone, and both slots only record what is set meanwhile (`dirty`),
 * applied when the evaluation ends. */
#define HR_EVAL_NEST 4
typedef struct {
  lua_Hook hookf;
  uint8_t hookmask;  /* with the hook-active flag: off during the evaluation */
  int32_t hookcount, hookcstart;
  uint8_t trace_stop;
} EvalSaved;
static EvalSaved eval_saved[HR_EVAL_NEST];
static int eval_depth = 0;
static int eval_dirty = 0;

static int event_bit (int event) {
  switch (event) {
    case LUA_HOOKCALL: return LUA_MASKCALL;
    case LUA_HOOKRET: case LUA_HOOKTAILRET: return LUA_MASKRET;
    case LUA_HOOKLINE: return LUA_MASKLINE;
    default: return LUA_MASKCOUNT;
  }
}

/* The debugger's hook as the VM's (recognisable in the VM's field). */
static void debugger (lua_State *L, lua_Debug *ar) {
  /* The rest of a line after a call returned is no new line (as on PUC). */
  if (ar->event == LUA_HOOKLINE && G(L)->hr_line_again) return;
  /* The instruction about to run was seen: a breakpoint trap there does
     not report the same line again (traps.c). */
  if (ar->event == LUA_HOOKLINE) L->hr_seenpc = cframe_pc(cframe_raw(L->cframe));
  if (debug_hook != NULL) debug_hook(L, ar);
}

/* The debugger's hook, which breakpoint traps call (lj_dispatch.c). */
lua_Hook hr_debug_hook (void) {
  return eval_depth > 0 ? NULL : debug_hook;
}

/* Both parties hook: each gets the events it asked for. While the debugger
 * counts (every instruction), the program's count is kept here. */
static void merged (lua_State *L, lua_Debug *ar) {
  global_State *g = G(L);
  int bit = event_bit(ar->event);
  if (L->hr_dmask & bit) {
    lua_Debug copy = *ar;  /* the program's hook gets a record untouched */
    debugger(L, &copy);
  }
  if (!(g->hr_hookmask & bit) || g->hr_hook == NULL) return;
  if (bit == LUA_MASKCOUNT && (L->hr_dmask & LUA_MASKCOUNT)) {
    if (--g->hr_hookleft > 0) return;
    g->hr_hookleft = g->hr_basehookcount;
  }
  g->hr_hook(L, ar);
}

/* Whether the VM's count is the program's (not the debugger's 1). */
static int program_counts (global_State *g, int dmask) {
  return (g->hr_hookmask & LUA_MASKCOUNT) && !(dmask & LUA_MASKCOUNT);
}

/* Puts the union of both slots into the VM's fields, the debugger's mask
 * being `dm` (thread L's). */
static void update (lua_State *L, int dm, int was_program_count) {
  global_State *g = G(L);
  int pm = g->hr_hookmask;
  if (was_program_count && g->hookcount > 0) g->hr_hookleft = g->hookcount;
  if (dm == 0)
    hr_vm_sethook(L, g->hr_hook, pm, g->hr_basehookcount);
  else if (pm == 0)
    hr_vm_sethook(L, debugger, dm, (dm & LUA_MASKCOUNT) ? 1 : 0);
  else
    hr_vm_sethook(L, merged, pm | dm,
                  (dm & LUA_MASKCOUNT) ? 1 : g->hr_basehookcount);
  if (program_counts(g, dm) && g->hr_hookleft > 0) g->hookcount = g->hr_hookleft;
}

/* The public API: the program's slot, as stock lua_sethook documents it
   (one hook for all threads, as stock LuaJIT). */
LUA_API int lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {
  global_State *g = G(L);
  int dm = g->hookf == debugger || g->hookf == merged ? L->hr_dmask : 0;
  int was = program_counts(g, dm);
  mask &= HOOK_EVENTMASK;
  if (func == NULL || mask == 0) {
    mask = 0;
    func = NULL;
  }
  g->hr_hook = func;
  g->hr_basehookcount = count;
  g->hr_hookleft = count;
  g->hr_hookmask = mask;
  if (eval_depth > 0) eval_dirty = 1;
  else update(L, dm, was);
  return 1;
}

LUA_API lua_Hook lua_gethook (lua_State *L) {
  return G(L)->hr_hook;
}

LUA_API int lua_gethookmask (lua_State *L) {
  return G(L)->hr_hookmask;
}

LUA_API int lua_gethookcount (lua_State *L) {
  return G(L)->hr_basehookcount;
}

/* The debugger's slot. Like lua_sethook, callable from a signal handler. */
void hr_set_debug_hook (lua_Hook hook) {
  debug_hook = hook;
}

void hr_jit_trace_stop_update (global_State *g, int dmask);
void hr_resume_flag_update (global_State *g);

/* Sets thread L's mask and makes it the VM's: the host calls this for the
   thread that runs (or is about to). */
void hr_debug_sethook (lua_State *L, int mask) {
  global_State *g = G(L);
  int was = program_counts(g, g->hookf == debugger || g->hookf == merged ? L->hr_dmask : 0);
  L->hr_dmask = mask;
  hooked = L;
  if (eval_depth > 0) {
    eval_dirty = 1;
    return;
  }
  update(L, mask, was);
  hr_jit_trace_stop_update(g, mask);
  hr_resume_flag_update(g);
}

/* A thread is freed (patched lj_state_free): no pointer to it stays. */
void hr_thread_freed (lua_State *L) {
  if (hooked == L) hooked = NULL;
}

/* The host asks this before every mask change (hooks.rs, set_mask), so the
   VM's resume flag follows the notification from the first one on. It asks
   for the thread that runs (or is about to): when the VM holds another
   thread's mask (a coroutine yielded back), this thread's becomes the VM's
   again, or an unchanged mask would leave the other thread's in force (a
   step out of a coroutine would never see its resumer's lines). */
int hr_debug_gethookmask (lua_State *L) {
  hr_resume_flag_update(G(L));
  if (L != hooked && eval_depth == 0) hr_debug_sethook(L, L->hr_dmask);
  return L->hr_dmask;
}

/* Evaluations (evaluate.rs): `hook` counts every `count` instructions of
 * whatever Lua code the evaluation runs, in any coroutine, and may raise an
 * error to stop it. The evaluation runs inside the debugger's hook, where
 * LuaJIT's one hook-active flag would silence every hook (PUC Lua's is per
 * thread), and compiled loops run none: so the flag is cleared, compiled
 * loops leave their trace (`hr_trace_stop`), and the VM's fields hold the
 * budget hook alone until hr_eval_hook_end puts back what was there, or
 * what the program or the debugger set meanwhile. Returns 0 when nested
 * too deep. */
int hr_eval_hook_begin (lua_State *L, lua_Hook hook, int count) {
  global_State *g = G(L);
  EvalSaved *s;
  if (eval_depth >= HR_EVAL_NEST) return 0;
  s = &eval_saved[eval_depth++];
  s->hookf = g->hookf;
  s->hookmask = g->hookmask;
  s->hookcount = g->hookcount;
  s->hookcstart = g->hookcstart;
  s->trace_stop = g->hr_trace_stop;
  hr_vm_sethook(L, hook, LUA_MASKCOUNT, count > 0 ? count : 1);
  hook_leave(g);
  g->hr_trace_stop = 1;
  return 1;
}

void hr_eval_hook_end (lua_State *L) {
  global_State *g = G(L);
  EvalSaved *s;
  if (eval_depth == 0) return;
  s = &eval_saved[--eval_depth];
  g->hookf = s->hookf;
  g->hookmask = s->hookmask;
  g->hookcount = s->hookcount;
  g->hookcstart = s->hookcstart;
  g->hr_trace_stop = s->trace_stop;
  lj_trace_abort(g);
  lj_dispatch_update(g, 0);
  if (eval_depth > 0 || !eval_dirty) return;
  /* The slots changed meanwhile: the VM gets their union for the thread
     whose mask was set last (none if it was freed: the next mask the host
     sets, before the program runs on, puts it back). */
  eval_dirty = 0;
  if (hooked != NULL) {
    hr_debug_sethook(hooked, hooked->hr_dmask);
  } else {
    update(L, 0, 0);
  }
}

/* Whether an evaluation runs (the raise hook and traps stay out of it). */
int hr_eval_running (void) {
  return eval_depth > 0;
}

/* Whether the program hooks lines (the debugger's line filters must then
 * leave every line alone); hooks are global in LuaJIT. */
int hr_program_hooks_lines (lua_State *L) {
  return (G(L)->hr_hookmask & LUA_MASKLINE) != 0;
}

int hr_program_hooks (lua_State *L) {
  return G(L)->hr_hookmask != 0;
}

/* Resume notification: `entering` 1 before coroutine L runs (resumed from
 * `from`, which may be NULL), 0 once lua_resume returns. */
void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering) = NULL;
static int resume_wanted = 0;

void hr_set_resume_hook (void (*hook) (lua_State *, lua_State *, int)) {
  hr_resume_hook = hook;
  resume_wanted = hook != NULL;
}

/* The VM's flag follows the notification; set from the first thread the
   host hooks (the global state is not known before). */
void hr_resume_flag_update (global_State *g) {
  g->hr_resume_on = (uint8_t)resume_wanted;
}

/* Load notification, as on PUC Lua (see shared/vm_hooks.c). */
void (*hr_load_hook) (lua_State *L) = NULL;

void hr_set_load_hook (void (*hook) (lua_State *)) {
  hr_load_hook = hook;
}

/* Runs `f` protected with hooks off (LuaJIT: the hook-active flag, which is
 * what the VM tests before every hook). */
int hr_call_unhooked (lua_State *L, lua_CFunction f, int nargs) {
  global_State *g = G(L);
  int was_active = hook_active(g) != 0;
  int status;
  hook_enter(g);
  lua_pushcfunction(L, f);
  lua_insert(L, -(nargs + 1));
  status = lua_pcall(L, nargs, 0, 0);
  if (!was_active) hook_leave(g);
  if (status != 0) lua_pop(L, 1);
  return status;
}

int hr_parsing (lua_State *L) {
  return L->hr_parsing;
}
