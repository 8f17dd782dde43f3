/*
 * LuaJIT: debugger helpers that need the VM's insides: the lines that hold
 * code in a chunk (nested prototypes too), the source of a frame's function
 * without formatting `short_src`, a thread's stack depth. The debugger calls
 * these from hooks, so they allocate nothing in the debuggee's VM.
 */
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lj_obj.h"
#include "lj_frame.h"
#include "lj_debug.h"

#include "hotreload_vm.h"

static void collect_lines (GCproto *pt, int *out, int cap, int *n) {
  BCPos pc;
  ptrdiff_t i;
  for (pc = 0; pc < pt->sizebc; pc++) {
    BCLine line = lj_debug_line(pt, pc);
    if (line < 0) continue;
    if (*n < cap) out[*n] = (int)line;
    (*n)++;
  }
  if (!(pt->flags & PROTO_CHILD)) return;
  for (i = -(ptrdiff_t)pt->sizekgc; i < 0; i++) {
    GCobj *o = proto_kgc(pt, i);
    if (o->gch.gct == ~LJ_TPROTO) collect_lines(gco2pt(o), out, cap, n);
  }
}

/* Compiles `path` in a scratch VM (nothing runs) and writes the line of every
 * bytecode of every prototype into `out` (unsorted, with repeats). Returns
 * how many lines exist (may exceed `cap`), or -1 with the compiler's message
 * in `err`. */
int hr_code_lines (const char *path, int *out, int cap, char *err, size_t errlen) {
  int n = 0;
  const GCfunc *fn;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  if (luaL_loadfilex(L, path, "t") != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  fn = (const GCfunc *)lua_topointer(L, -1);
  collect_lines(funcproto(fn), out, cap, &n);
  lua_close(L);
  return n;
}

/* The frame slot a lua_Debug of thread L names (from a hook or
 * lua_getstack). */
static cTValue *frame_of (lua_State *L, const lua_Debug *ar) {
  uint32_t offset = (uint32_t)ar->i_ci & 0xffff;
  cTValue *frame = tvref(L->stack) + offset;
  if (offset == 0 || frame >= L->top + 1) return NULL;
  return frame;
}

/* The `source` of the Lua function running in the frame `ar` of thread L,
 * without the copying lua_getinfo("S") does. NULL for C functions. */
const char *hr_frame_source (lua_State *L, const lua_Debug *ar, size_t *len) {
  cTValue *frame;
  GCfunc *fn;
  GCstr *name;
  if ((frame = frame_of(L, ar)) == NULL) return NULL;
  fn = frame_func(frame);
  if (!isluafunc(fn)) return NULL;
  name = proto_chunkname(funcproto(fn));
  if (name == NULL) return NULL;
  *len = name->len;
  return strdata(name);
}

/* Number of frames on the thread's stack, counted as lua_getstack counts
 * levels (dummy frames and vararg pseudo-frames skipped). */
int hr_stack_depth (lua_State *L) {
  int n = 0;
  cTValue *frame = L->base - 1, *bot = tvref(L->stack) + LJ_FR2;
  while (frame > bot) {
    if (frame_gc(frame) != obj2gco(L)) n++;
    if (frame_islua(frame)) {
      frame = frame_prevl(frame);
    } else {
      if (frame_isvarg(frame)) n--;
      frame = frame_prevd(frame);
    }
  }
  return n;
}

/* Makes the line hook, about to be switched on from a count hook, fire at
 * the next new line only (the patched lj_dispatch_ins reads the flag right
 * after the count hook returns). */
void hr_sync_oldpc (lua_State *L) {
  global_State *g = G(L);
  if (!(g->hr_hookmask & LUA_MASKLINE)) g->hr_sync_pc = 1;
}

/* Whether the debugger has room to evaluate a breakpoint condition on
 * thread L (and the main thread, where the host's helpers run), measured
 * without growing any stack. */
#define HR_EVAL_SLOTS 1000

static ptrdiff_t stack_room (lua_State *L) {
  return (ptrdiff_t)LUAI_MAXSTACK - (L->top - tvref(L->stack));
}

int hr_room_to_evaluate (lua_State *L) {
  lua_State *main = mainthread(G(L));
  if (stack_room(L) < HR_EVAL_SLOTS) return 0;
  if (main != L && stack_room(main) < HR_EVAL_SLOTS) return 0;
  return 1;
}

/* The frame right above `frame` on thread L (NULL when `frame` is the top
 * one, or not on the stack): what a lua_Debug record of `frame` taken while
 * it was on top (size 0) means once more frames were pushed above it (the
 * patched lj_debug.c asks). */
TValue *hr_frame_above (lua_State *L, const TValue *frame) {
  TValue *f = L->base - 1, *above = NULL, *bot = tvref(L->stack) + LJ_FR2;
  while (f > bot && f > frame) {
    above = f;
    f = frame_islua(f) ? frame_prevl(f) : frame_prevd(f);
  }
  return f == frame ? above : NULL;
}
