/*
 * The VM side of the host's transparency (see patches.rs for the patches that
 * call into this file). The debugger never replaces a standard function and
 * never takes the program's hook slot:
 *
 * - Two hook slots per thread. The program's own hook (lua_sethook and
 *   friends, hence debug.sethook/gethook) lives in the fields `hr_hook`,
 *   `hr_hookmask`, `hr_basehookcount` that the patched lstate.h adds; the
 *   debugger's is one function for all threads (`hr_set_debug_hook`) with a
 *   mask per thread (`hr_dmask`, count always 1). The VM's own fields
 *   (`hook`, `hookmask`, `basehookcount`) hold their union: the program's
 *   hook alone, the debugger's alone, or `merged`, which calls the debugger
 *   then the program for the events each asked for. The program sees exactly
 *   its own hook, mask and count, and exactly the stock events.
 * - A resume notification (`hr_resume_hook`, from the patched lua_resume):
 *   the host follows which thread runs without wrapping coroutine.resume.
 * - A load notification (`hr_load_hook`, from the patched lua_load, for
 *   chunk names starting with '@'): the host learns which files the program
 *   loads without wrapping require's searchers, loadfile or dofile.
 * - A parser depth (`hr_parsing`, from the patched luaD_protectedparser): an
 *   error raised while a chunk is parsed (a reader that fails, "C stack
 *   overflow") is caught by lua_load, whatever message handler it meets.
 *
 * With no debugger hook set and no notification installed, Lua behaves as
 * stock: the program's hook goes straight into the VM's fields.
 */
#include "lua.h"
#include "lstate.h"

#include "hotreload_vm.h"
#ifdef HR_TRAPS
#include "traps.h"
#endif

/* lua_sethook returns int (always 1) up to Lua 5.2, nothing since 5.3. */
#if LUA_VERSION_NUM <= 502
#define SETHOOK_RESULT int
#define SETHOOK_DONE return 1
#else
#define SETHOOK_RESULT void
#define SETHOOK_DONE return
#endif

/* The stock lua_sethook & co. of ldebug.c, renamed by the patch. */
SETHOOK_RESULT hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);

static lua_Hook debug_hook = NULL;

static int event_bit (int event) {
  switch (event) {
#if LUA_VERSION_NUM <= 501  /* a tail call's event comes on return */
    case LUA_HOOKCALL: return LUA_MASKCALL;
    case LUA_HOOKRET: case LUA_HOOKTAILRET: return LUA_MASKRET;
#else
    case LUA_HOOKCALL: case LUA_HOOKTAILCALL: return LUA_MASKCALL;
    case LUA_HOOKRET: return LUA_MASKRET;
#endif
    case LUA_HOOKLINE: return LUA_MASKLINE;
    default: return LUA_MASKCOUNT;
  }
}

/* The debugger's line hook saw the instruction about to run: a breakpoint
 * trap there must not report the same line again (traps.c). */
static void note_line (lua_State *L, const lua_Debug *ar) {
#if defined(HR_TRAPS) && LUA_VERSION_NUM <= 501
  /* 5.1: frames are an array (i_ci an index); the running one's pc is
     L->savedpc */
  if (ar->event == LUA_HOOKLINE && ar->i_ci == (int)(L->ci - L->base_ci))
    L->hr_seenpc = L->savedpc;
#elif defined(HR_TRAPS)
  if (ar->event == LUA_HOOKLINE && ar->i_ci != NULL)
    L->hr_seenpc = ar->i_ci->u.l.savedpc;
#else  /* no traps in this VM (build.rs: Vm::traps) */
  (void)L; (void)ar;
#endif
}

/* The debugger alone hooks this thread. */
static void debugger (lua_State *L, lua_Debug *ar) {
  note_line(L, ar);
  if (debug_hook != NULL) debug_hook(L, ar);
}

/* Both parties hook this thread: each gets the events it asked for. While
 * the debugger counts (every instruction), the program's count is kept here. */
static void merged (lua_State *L, lua_Debug *ar) {
  int bit = event_bit(ar->event);
  if ((L->hr_dmask & bit) && debug_hook != NULL) {
    lua_Debug copy = *ar;  /* the program's hook gets a record untouched */
    note_line(L, ar);
    debug_hook(L, &copy);
  }
  if (!(L->hr_hookmask & bit) || L->hr_hook == NULL) return;
  if (bit == LUA_MASKCOUNT && (L->hr_dmask & LUA_MASKCOUNT)) {
    if (--L->hr_hookleft > 0) return;
    L->hr_hookleft = L->hr_basehookcount;
  }
  L->hr_hook(L, ar);
}

/* Whether the VM's count is the program's (not the debugger's 1). */
static int program_counts (lua_State *L) {
  return (L->hr_hookmask & LUA_MASKCOUNT) && !(L->hr_dmask & LUA_MASKCOUNT);
}

/* Puts the union of both slots into the VM's fields. `was_program_count`:
 * the VM's count before the change was the program's (its phase is kept). */
static void update (lua_State *L, int was_program_count) {
  int pm = L->hr_hookmask, dm = L->hr_dmask;
  if (was_program_count && L->hookcount > 0) L->hr_hookleft = L->hookcount;
  if (dm == 0)
    hr_vm_sethook(L, L->hr_hook, pm, L->hr_basehookcount);
  else if (pm == 0)
    hr_vm_sethook(L, debugger, dm, (dm & LUA_MASKCOUNT) ? 1 : 0);
  else
    hr_vm_sethook(L, merged, pm | dm,
                  (dm & LUA_MASKCOUNT) ? 1 : L->hr_basehookcount);
  if (program_counts(L) && L->hr_hookleft > 0) L->hookcount = L->hr_hookleft;
}

/* The public API: the program's slot, as stock lua_sethook documents it. */
LUA_API SETHOOK_RESULT lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {
  if (func == NULL || mask == 0) {
    mask = 0;
    func = NULL;
  }
  L->hr_hook = func;
  L->hr_basehookcount = count;
  L->hr_hookleft = count;
  L->hr_hookmask = mask;
  update(L, 0);
  SETHOOK_DONE;
}

LUA_API lua_Hook lua_gethook (lua_State *L) {
  return L->hr_hook;
}

LUA_API int lua_gethookmask (lua_State *L) {
  return L->hr_hookmask;
}

LUA_API int lua_gethookcount (lua_State *L) {
  return L->hr_basehookcount;
}

/* The debugger's slot. Like lua_sethook, callable from a signal handler. */
void hr_set_debug_hook (lua_Hook hook) {
  debug_hook = hook;
}

lua_Hook hr_debug_hook (void) {
  return debug_hook;
}

/* What `update` puts in L->hook for the slots as they are now. */
lua_Hook hr_union_hook (lua_State *L) {
  if (L->hr_dmask == 0) return L->hr_hookmask != 0 ? L->hr_hook : NULL;
  if (L->hr_hookmask == 0) return debugger;
  return merged;
}

void hr_debug_sethook (lua_State *L, int mask) {
  int was = program_counts(L);
  L->hr_dmask = mask;
  update(L, was);
}

int hr_debug_gethookmask (lua_State *L) {
  return L->hr_dmask;
}

/* Whether the program hooks lines on this thread (the debugger's line
 * filters must then leave every line alone). */
int hr_program_hooks_lines (lua_State *L) {
  return (L->hr_hookmask & LUA_MASKLINE) != 0;
}

/* Whether the program hooks anything on this thread. */
int hr_program_hooks (lua_State *L) {
  return L->hr_hookmask != 0;
}

/* New threads start with their creator's hooks, both slots (as stock). */
void hr_thread_init (lua_State *L1, lua_State *L) {
  if (L == NULL) {
    L1->hr_hook = NULL;
    L1->hr_hookmask = L1->hr_basehookcount = L1->hr_hookleft = 0;
    L1->hr_dmask = 0;
  }
  else {
    L1->hr_hook = L->hr_hook;
    L1->hr_hookmask = L->hr_hookmask;
    L1->hr_basehookcount = L1->hr_hookleft = L->hr_basehookcount;
    L1->hr_dmask = L->hr_dmask;
  }
  L1->hr_parsing = 0;
#ifdef HR_TRAPS
  L1->hr_seenpc = NULL;
#endif
}

/* Resume notification: `entering` 1 before coroutine L runs (resumed from
 * `from`, which may be NULL), 0 once lua_resume returns to `from`. */
void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering) = NULL;

void hr_set_resume_hook (void (*hook) (lua_State *, lua_State *, int)) {
  hr_resume_hook = hook;
}

/* Load notification: a chunk whose name starts with '@' was just loaded;
 * its closure is on top of L's stack, L's running function is the one that
 * called lua_load. The host must leave the stack as it found it. */
void (*hr_load_hook) (lua_State *L) = NULL;

void hr_set_load_hook (void (*hook) (lua_State *)) {
  hr_load_hook = hook;
}

/* Runs `f` protected with hooks off, so that neither party's hook sees the
 * host's bookkeeping (a C function: no Lua instruction is counted). */
int hr_call_unhooked (lua_State *L, lua_CFunction f, int nargs) {
  lu_byte old = L->allowhook;
  int status;
  L->allowhook = 0;
  lua_pushcfunction(L, f);
  lua_insert(L, -(nargs + 1));
  status = lua_pcall(L, nargs, 0, 0);
  L->allowhook = old;
  if (status != 0) lua_pop(L, 1);
  return status;
}

/* Parser depth of thread L (errors raised now are caught by lua_load). */
int hr_parsing (lua_State *L) {
  return L->hr_parsing;
}
