/*
 * Lua 5.2 to 5.4 (each folder's vm_compat.h says how its VM spells what
 * differs; 5.1 and LuaJIT have their own debuginfo.c):
 * debugger helpers that need the VM's internal headers: the lines that hold
 * code in a chunk (all nested prototypes), the source of a frame's function
 * without formatting `short_src`, and a frame's stack depth. The debugger
 * calls these from hooks, so they allocate nothing in the debuggee's VM.
 */
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lobject.h"
#include "lstate.h"
#include "ldebug.h"

#include "hotreload_vm.h"
#include "vm_compat.h"

static void collect_lines(const Proto *p, int *out, int cap, int *n) {
  int pc;
  for (pc = HR_FIRST_LINE_PC(p); pc < HR_LINE_COUNT(p); pc++) {
    int line = HR_FUNCLINE(p, pc);
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
  const LClosure *cl;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  if (luaL_loadfilex(L, path, "t") != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  cl = (const LClosure *)lua_topointer(L, -1);
  collect_lines(cl->p, out, cap, &n);
  lua_close(L);
  return n;
}

/*
 * The `source` of the Lua function running in the frame `ar` (from a hook or
 * lua_getstack), without the copying lua_getinfo("S") does. NULL for C
 * functions.
 */
const char *hr_frame_source(lua_State *L, const lua_Debug *ar, size_t *len) {
  const CallInfo *ci = ar->i_ci;
  const TValue *fn;
  const Proto *p;
  (void)L;  /* ar->i_ci finds the frame on this VM */
  if (ci == NULL) return NULL;
  fn = HR_CI_FUNC(ci);
  if (!ttisLclosure(fn)) return NULL;
  p = clLvalue(fn)->p;
  if (p->source == NULL) return NULL;
  *len = HR_SOURCE_LEN(p->source);
  return getstr(p->source);
}

/* Number of frames (Lua and C) on the thread's stack right now. */
int hr_stack_depth(lua_State *L) {
  int n = 0;
  const CallInfo *ci;
  for (ci = L->ci; ci != NULL && ci != &L->base_ci; ci = ci->previous) n++;
  return n;
}

/*
 * Makes the line hook, about to be switched on from a count hook, fire at
 * the next new line or backward jump only: Lua compares with 'oldpc', which
 * is stale when no line hook ran lately and would fire mid-statement.
 */
void hr_sync_oldpc(lua_State *L) {
  CallInfo *ci = L->ci;
  /* The program's own line hook keeps 'oldpc' right; moving it would make
     that hook miss the current line. */
  if (isLua(ci) && !(L->hr_hookmask & LUA_MASKLINE))
    L->oldpc = HR_OLDPC_OF(ci);
}

/*
 * Whether the debugger has room to evaluate a breakpoint condition on
 * thread L: room on its Lua stack and on the main thread's (where the
 * host's helpers run), and C levels to spare. A program that recursed to
 * the brink of "stack overflow" leaves none; the condition is then not
 * evaluated rather than failing (or overflowing) itself.
 */
#define HR_EVAL_SLOTS 1000
#define HR_EVAL_CCALLS 40

/* Slots thread L may still grow to, measured without growing it (growing
 * it here would move the point where the program overflows). */
static ptrdiff_t stack_room(lua_State *L) {
  return (ptrdiff_t)LUAI_MAXSTACK - HR_STACK_USED(L);
}

int hr_room_to_evaluate(lua_State *L) {
  lua_State *main = G(L)->mainthread;
  if (HR_CCALLS(L) + HR_EVAL_CCALLS >= LUAI_MAXCCALLS) return 0;
  if (stack_room(L) < HR_EVAL_SLOTS) return 0;
  if (main != L && stack_room(main) < HR_EVAL_SLOTS) return 0;
  return 1;
}
