/*
 * Lua 5.1: debugger helpers that need the VM's internal headers: the lines
 * that hold code in a chunk (all nested prototypes), the source of a
 * frame's function without formatting `short_src`, and a frame's stack
 * depth. The debugger calls these from hooks, so they allocate nothing in
 * the debuggee's VM. (5.2 and 5.3 share lua53/debuginfo.c; 5.1 keeps its
 * frames in an array, indexed by lua_Debug's `i_ci`, and has no `oldpc`.)
 */
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lobject.h"
#include "lstate.h"

#include "hotreload_vm.h"

static void collect_lines(const Proto *p, int *out, int cap, int *n) {
  int pc;
  for (pc = 0; p->lineinfo != NULL && pc < p->sizelineinfo; pc++) {
    int line = p->lineinfo[pc];
    if (line < 0) continue;
    if (*n < cap) out[*n] = line;
    (*n)++;
  }
  for (pc = 0; pc < p->sizep; pc++) collect_lines(p->p[pc], out, cap, n);
}

/*
 * Compiles `path` in a scratch VM (nothing runs) and writes the line of every
 * instruction of every prototype into `out` (unsorted, with repeats).
 * Returns how many lines exist (may exceed `cap`: call again with more room),
 * or -1 with the compiler's message in `err` when the file does not compile.
 */
int hr_code_lines(const char *path, int *out, int cap, char *err, size_t errlen) {
  int n = 0;
  const Closure *cl;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  if (luaL_loadfile(L, path) != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  cl = (const Closure *)lua_topointer(L, -1);
  collect_lines(cl->l.p, out, cap, &n);
  lua_close(L);
  return n;
}

/*
 * The `source` of the Lua function running in frame `ar` of thread L (from
 * a hook or lua_getstack), without the copying lua_getinfo("S") does. NULL
 * for C functions and for the frames a tail call dropped.
 */
const char *hr_frame_source(lua_State *L, const lua_Debug *ar, size_t *len) {
  const CallInfo *ci;
  const Proto *p;
  if (ar->i_ci <= 0 || ar->i_ci > L->ci - L->base_ci) return NULL;
  ci = L->base_ci + ar->i_ci;
  if (!isLua(ci)) return NULL;
  p = ci_func(ci)->l.p;
  if (p->source == NULL) return NULL;
  *len = p->source->tsv.len;
  return getstr(p->source);
}

/* Number of frames (Lua and C) on the thread's stack right now. */
int hr_stack_depth(lua_State *L) {
  return (int)(L->ci - L->base_ci);
}

/*
 * Makes the line hook, about to be switched on from a count hook, fire at
 * the next new line or backward jump only. Lua 5.1 compares with the pc
 * the last traced instruction left in L->savedpc, and the count hook that
 * calls this ran from exactly that point: nothing to correct.
 */
void hr_sync_oldpc(lua_State *L) {
  (void)L;
}

/*
 * Whether the debugger has room to evaluate a breakpoint condition on
 * thread L: call levels on it and on the main thread (where the host's
 * helpers run), and C levels to spare. A program that recursed to the
 * brink of "stack overflow" leaves none; the condition is then not
 * evaluated rather than failing (or overflowing) itself. Lua 5.1 limits
 * the number of frames (LUAI_MAXCALLS), not stack slots.
 */
#define HR_EVAL_CALLS 200
#define HR_EVAL_CCALLS 40

static ptrdiff_t calls_left(lua_State *L) {
  return (ptrdiff_t)LUAI_MAXCALLS - (L->ci - L->base_ci);
}

int hr_room_to_evaluate(lua_State *L) {
  lua_State *main = G(L)->mainthread;
  if (L->nCcalls + HR_EVAL_CCALLS >= LUAI_MAXCCALLS) return 0;
  if (calls_left(L) < HR_EVAL_CALLS) return 0;
  if (main != L && calls_left(main) < HR_EVAL_CALLS) return 0;
  return 1;
}
