/*
 * The host's VM contract (crates/host/vm/hotreload_vm.h) served by a stock
 * VM that we did not build (Lua 5.4, or LuaJIT 2.1 with HR_STOCK_LUAJIT):
 * only the public C API, no internal header. The program's own library
 * provides every lua_* symbol at load time.
 *
 * What a stock VM cannot give is said here, once per function:
 * - one hook slot per thread: the debugger's hook is the VM's only hook, so a
 *   program's own debug.sethook and the debugger replace each other;
 * - no resume or load notification: coroutines are seen when a hook runs in
 *   them (and inherit the hook of the thread that creates them), files are
 *   found through package.loaded and package.path;
 * - no raise hook (the "all errors" filter), no breakpoint traps, skip
 *   policy or line filter (the line hook runs in every function while a
 *   breakpoint exists), no frame restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotreload_vm.h"
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* The debugger's hook (the host's `hooks::hook`). */
static lua_Hook debug_hook;
/* The thread the last hook ran in (VM thread only). */
static lua_State *last_thread;
/* Registry key of the weak set of threads seen running a hook. */
static const char threads_key = 't';

#ifdef HR_STOCK_LUAJIT
/* luajit.h's, declared here: the headers we build against are the 5.1 API
   ones LuaJIT ships (its luajit.h is generated at its own build). */
LUA_API int luaJIT_setmode (lua_State *L, int idx, int mode);
#define HR_LUAJIT_MODE_ENGINE 0
#define HR_LUAJIT_MODE_FLUSH 0x0200

/* Compiled traces run no hooks: drop them all and keep the compiler off,
   so every line is interpreted and breakpoints, steps and pause see it.
   Returns 0 when LuaJIT refused (a trace is being recorded). */
int hr_stock_jit_off (lua_State *L) {
  int flushed = luaJIT_setmode(L, 0, HR_LUAJIT_MODE_ENGINE | HR_LUAJIT_MODE_FLUSH);
  int off = luaJIT_setmode(L, 0, HR_LUAJIT_MODE_ENGINE);
  return flushed && off;
}
#else
int hr_stock_jit_off (lua_State *L) {
  (void)L;
  return 1;
}
#endif

/* Lua C function the engine calls after a reload (hotreload_vm.h): no
   compiled code may keep a replaced function's old code. The compiler is
   off (hr_stock_jit_off), so no trace holds any; without a JIT, nothing. */
int hotreload_code_replaced (lua_State *L) {
  (void)L;
  return 0;
}

/* The main thread: 5.2+ keep it in the registry; for 5.1's API the agent
   says which thread it is (hr_stock_set_main). */
static lua_State *main_thread_51;
void hr_stock_set_main (lua_State *L) { main_thread_51 = L; }

static lua_State *main_thread_of (lua_State *L) {
#if LUA_VERSION_NUM >= 502
  lua_State *main;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  main = lua_tothread(L, -1);
  lua_pop(L, 1);
  return main;
#else
  (void)L;
  return main_thread_51;
#endif
}

/* Pushes registry[&threads_key]; returns its type (5.1's API has neither
   lua_rawgetp nor a typed lua_rawget). */
static int push_threads (lua_State *L) {
  lua_pushlightuserdata(L, (void *)&threads_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  return lua_type(L, -1);
}

/* Remembers thread L in the registry's weak set (it ran a hook). */
static void note_thread (lua_State *L) {
  if (!lua_checkstack(L, 4)) return;
  if (push_threads(L) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, (void *)&threads_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  lua_pushthread(L);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

#ifdef HR_STOCK_LUAJIT
/*
 * LuaJIT finds the pc of a frame that has no frame above it from the
 * innermost C frame: once the debugger calls into the VM (every
 * evaluation does), the hooked function's locals would vanish. So the
 * debugger's hook runs one level down, in a C function called by a Lua
 * function of the debugger's own (hidden from stacks): the hooked frame
 * then has a frame above it and LuaJIT finds its pc from that.
 */
static const char wrapper_key = 'w';
static const char wrapper_lua[] = "local run, ar = ...\nrun(ar)\n";

static int run_hook (lua_State *L) {
  lua_Debug *ar = (lua_Debug *)lua_touserdata(L, 1);
  if (ar != NULL && debug_hook != NULL) debug_hook(L, ar);
  return 0;
}

static void call_hook (lua_State *L, lua_Debug *ar) {
  if (!lua_checkstack(L, 4)) return;
  lua_pushlightuserdata(L, (void *)&wrapper_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, wrapper_lua, sizeof(wrapper_lua) - 1,
                        "=[hotreload] hook") != 0) {
      lua_pop(L, 1);
      return;
    }
    lua_pushlightuserdata(L, (void *)&wrapper_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  lua_pushcfunction(L, run_hook);
  lua_pushlightuserdata(L, ar);
  if (lua_pcall(L, 2, 0, 0) != 0) lua_pop(L, 1);
}
#else
static void call_hook (lua_State *L, lua_Debug *ar) { debug_hook(L, ar); }
#endif

static void trampoline (lua_State *L, lua_Debug *ar) {
  if (L != last_thread) {
    last_thread = L;
    note_thread(L);
  }
  if (debug_hook != NULL) call_hook(L, ar);
}

void hr_set_debug_hook (lua_Hook hook) { debug_hook = hook; }

/* Safe from a signal handler on the VM thread: lua_sethook only stores. */
void hr_debug_sethook (lua_State *L, int mask) {
  if (mask == 0)
    lua_sethook(L, NULL, 0, 0);
  else
    lua_sethook(L, trampoline, mask, (mask & LUA_MASKCOUNT) ? 1 : 0);
}

int hr_debug_gethookmask (lua_State *L) {
  return lua_gethook(L) == trampoline ? lua_gethookmask(L) : 0;
}

/* No notifications on a stock VM: stored and never called. */
void hr_set_resume_hook (void (*hook) (lua_State *co, lua_State *from,
                                       int entering)) {
  (void)hook;
}
void hr_set_load_hook (void (*hook) (lua_State *L)) { (void)hook; }
void hr_track_load (lua_State *L) { (void)L; }
void hr_set_raise_handler (hr_raise_handler handler) { (void)handler; }
/* No breakpoint traps in a stock VM: breakpoints need the line hook. */
int hr_traps_supported (void) { return 0; }
void hr_set_trap_lines (hr_trap_lines lines) { (void)lines; }
void hr_traps_prepare (lua_State *L, const char *const *conds, int n) {
  (void)L; (void)conds; (void)n;
}
int hr_traps_sync (lua_State *L) { (void)L; return 0; }
void hr_traps_loaded (lua_State *L) { (void)L; }
void hr_traps_clear (void) {}
/* No patch narrows the line hook either: every line reaches it. */
void hr_set_skip_policy (hr_skip_policy policy) { (void)policy; }
void hr_forget_skips (void) {}
void hr_set_line_filter (int on, const unsigned char *bits, size_t len) {
  (void)on; (void)bits; (void)len;
}
/* A count hook switched to a line hook may fire once mid-statement. */
void hr_sync_oldpc (lua_State *L) { (void)L; }
int hr_parsing (lua_State *L) { (void)L; return 0; }

int hr_room_to_evaluate (lua_State *L) { return lua_checkstack(L, 200); }

int hr_restart_request (lua_State *L, char *err, size_t errlen) {
  (void)L;
  snprintf(err, errlen, "restartFrame needs hotreload's own Lua build; "
                        "the attached program runs a stock Lua VM");
  return -1;
}

void hr_set_error_restarts (int on) { (void)on; }
int hr_error_restart_request (lua_State *L, int level, char *err,
                              size_t errlen) {
  (void)level;
  return hr_restart_request(L, err, errlen);
}
int hr_error_restart_pending (lua_State *L) { (void)L; return 0; }

static int call_unhooked_body (lua_State *L) {
  lua_CFunction f = (lua_CFunction)lua_touserdata(L, lua_upvalueindex(1));
  return f(L);
}

int hr_call_unhooked (lua_State *L, lua_CFunction f, int nargs) {
  lua_Hook hook = lua_gethook(L);
  int mask = lua_gethookmask(L), count = lua_gethookcount(L), status;
  lua_sethook(L, NULL, 0, 0);
  lua_pushlightuserdata(L, (void *)f);
  lua_pushcclosure(L, call_unhooked_body, 1);
  lua_insert(L, -(nargs + 1));
  status = lua_pcall(L, nargs, 0, 0);
  if (status != LUA_OK) lua_pop(L, 1);
  lua_sethook(L, hook, mask, count);
  return status;
}

/* The source of the frame's function (its prototype's string, which
   outlives the frame). */
const char *hr_frame_source (lua_State *L, const lua_Debug *ar, size_t *len) {
  lua_Debug copy = *ar;
  if (L == NULL || !lua_getinfo(L, "S", &copy)) return NULL;
  if (copy.what != NULL && copy.what[0] == 'C') return NULL;
  if (copy.source == NULL) return NULL;
#if LUA_VERSION_NUM >= 504
  *len = copy.srclen;
#else
  *len = strlen(copy.source);
#endif
  return copy.source;
}

int hr_stack_depth (lua_State *L) {
  lua_Debug ar;
  int low = 0, high = 1;
  /* Double until past the end, then bisect: O(log n) lua_getstack calls. */
  while (lua_getstack(L, high, &ar)) {
    low = high;
    if (high > (1 << 28)) break;
    high *= 2;
  }
  if (low == 0 && !lua_getstack(L, 0, &ar)) return 0;
  while (high - low > 1) {
    int mid = low + (high - low) / 2;
    if (lua_getstack(L, mid, &ar))
      low = mid;
    else
      high = mid;
  }
  return low + 1;
}

/* Every thread but the main one that ran a hook and is still alive. */
int hr_all_threads (lua_State *L) {
  int n = 0;
  lua_State *main_thread = main_thread_of(L);
  lua_newtable(L);
  if (push_threads(L) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_tothread(L, -1) != main_thread) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, -4, ++n);
    }
  }
  lua_pop(L, 1);
  return 1;
}

/* ---- Chunk dumps: line information without the internal headers ---- */

#if LUA_VERSION_NUM >= 504

typedef struct {
  char *data;
  size_t len, cap;
} Buffer;

static int buffer_write (lua_State *L, const void *p, size_t sz, void *ud) {
  Buffer *b = (Buffer *)ud;
  (void)L;
  if (b->len + sz > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *grown;
    while (cap < b->len + sz) cap *= 2;
    grown = (char *)realloc(b->data, cap);
    if (grown == NULL) return 1;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, sz);
  b->len += sz;
  return 0;
}

/* Dumps the Lua function on top of L; 0 on success. */
static int dump_top (lua_State *L, int strip, Buffer *b) {
  b->data = NULL;
  b->len = b->cap = 0;
  if (lua_dump(L, buffer_write, b, strip) != 0) {
    free(b->data);
    b->data = NULL;
    return -1;
  }
  return 0;
}

typedef struct {
  const unsigned char *p, *end;
  int bad;
} Reader;

static unsigned char read_byte (Reader *r) {
  if (r->p >= r->end) {
    r->bad = 1;
    return 0;
  }
  return *r->p++;
}

static void skip (Reader *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->bad = 1;
    r->p = r->end;
  } else
    r->p += n;
}

/* ldump.c's dumpSize: 7 bits a byte, most significant first, 0x80 ends. */
static size_t read_size (Reader *r) {
  size_t x = 0;
  int b;
  do {
    b = read_byte(r);
    x = (x << 7) | (size_t)(b & 0x7f);
    if (x > (size_t)1 << 40) r->bad = 1;
  } while (!r->bad && (b & 0x80) == 0);
  return x;
}

static void skip_string (Reader *r) {
  size_t size = read_size(r);
  if (size > 0) skip(r, size - 1);
}

#define ABSLINEINFO (-0x80)

/* One function of a Lua 5.4 dump (ldump.c's dumpFunction): the line of every
   instruction, nested functions included. */
static void read_function (Reader *r, int *out, int cap, int *n, int depth) {
  size_t i, ncode, nk, nup, np, nline, nabs;
  int linedefined, vararg, line;
  const signed char *lineinfo;
  if (depth > 200) {
    r->bad = 1;
    return;
  }
  skip_string(r); /* source */
  linedefined = (int)read_size(r);
  (void)read_size(r); /* lastlinedefined */
  (void)read_byte(r); /* numparams */
  vararg = read_byte(r);
  (void)read_byte(r); /* maxstacksize */
  ncode = read_size(r);
  skip(r, ncode * 4);
  nk = read_size(r);
  for (i = 0; i < nk && !r->bad; i++) {
    int tag = read_byte(r);
    if (tag == 3 || tag == 19) /* integer, float */
      skip(r, 8);
    else if (tag == 4 || tag == 20) /* short, long string */
      skip_string(r);
  }
  nup = read_size(r);
  skip(r, nup * 3);
  np = read_size(r);
  for (i = 0; i < np && !r->bad; i++) read_function(r, out, cap, n, depth + 1);
  nline = read_size(r);
  lineinfo = (const signed char *)r->p;
  skip(r, nline);
  nabs = read_size(r);
  {
    /* Absolute entries: (pc, line) pairs in pc order. */
    const unsigned char *abs_start = r->p;
    Reader abs;
    for (i = 0; i < nabs && !r->bad; i++) {
      (void)read_size(r);
      (void)read_size(r);
    }
    if (r->bad) return;
    abs.p = abs_start;
    abs.end = r->p;
    abs.bad = 0;
    line = linedefined;
    for (i = 0; i < nline && i < ncode; i++) {
      if (lineinfo[i] == ABSLINEINFO) {
        (void)read_size(&abs);
        line = (int)read_size(&abs);
      } else
        line += lineinfo[i];
      /* VARARGPREP has no line a hook reports (see collectvalidlines). */
      if (vararg && i == 0) continue;
      if (*n < cap) out[*n] = line;
      (*n)++;
    }
  }
  {
    size_t nloc = read_size(r), nnames;
    for (i = 0; i < nloc && !r->bad; i++) {
      skip_string(r);
      (void)read_size(r);
      (void)read_size(r);
    }
    nnames = read_size(r);
    for (i = 0; i < nnames && !r->bad; i++) skip_string(r);
  }
}

/* The header of a 5.4 dump: signature, version, format, LUAC_DATA, three
   sizes, LUAC_INT, LUAC_NUM; then the main function's upvalue count. */
#define HEADER_SIZE (4 + 1 + 1 + 6 + 3 + 8 + 8 + 1)

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  int n = 0;
  Buffer b;
  Reader r;
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
  if (dump_top(L, 0, &b) != 0) {
    snprintf(err, errlen, "%s: cannot read its line information", path);
    lua_close(L);
    return -1;
  }
  lua_close(L);
  r.p = (const unsigned char *)b.data;
  r.end = r.p + b.len;
  r.bad = 0;
  if (b.len < HEADER_SIZE || b.data[4] != 0x54) r.bad = 1;
  skip(&r, HEADER_SIZE);
  if (!r.bad) read_function(&r, out, cap, &n, 0);
  free(b.data);
  if (r.bad) {
    snprintf(err, errlen, "%s: unexpected chunk format (not Lua 5.4?)", path);
    return -1;
  }
  return n;
}

/* same_code(a, b): both Lua functions with equal stripped dumps. Stripped
   dumps keep linedefined, so a function that only moved counts as changed
   (it is then replaced by an identical one: harmless). */
int hotreload_same_code (lua_State *L) {
  Buffer a, b;
  int same = 0;
  if (lua_type(L, 1) != LUA_TFUNCTION || lua_type(L, 2) != LUA_TFUNCTION ||
      lua_iscfunction(L, 1) || lua_iscfunction(L, 2)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  if (dump_top(L, 1, &a) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushvalue(L, 2);
  if (dump_top(L, 1, &b) == 0) {
    same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    free(b.data);
  }
  free(a.data);
  lua_pushboolean(L, same);
  return 1;
}

#else /* LuaJIT 2.1 (the 5.1 API) */

/* Collects the line of every bytecode of the chunk on top (nested
   prototypes too) through jit.util, in the scratch state. */
static const char lines_lua[] =
    "local f = ...\n"
    "local util = require('jit.util')\n"
    "local out, n = {}, 0\n"
    "local function walk(fn)\n"
    "  local info = util.funcinfo(fn)\n"
    "  for pc = 1, (info.bytecodes or 1) - 1 do\n"
    "    local line = util.funcinfo(fn, pc).currentline\n"
    "    if line and line > 0 then n = n + 1; out[n] = line end\n"
    "  end\n"
    "  for i = 1, info.gcconsts or 0 do\n"
    "    local k = util.funck(fn, -i)\n"
    "    if type(k) == 'proto' then walk(k) end\n"
    "  end\n"
    "end\n"
    "walk(f)\n"
    "return out\n";

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  int n = 0, i, total;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  luaL_openlibs(L);
  if (luaL_loadfile(L, path) != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  if (luaL_loadstring(L, lines_lua) != 0) {
    snprintf(err, errlen, "%s: cannot read its line information", path);
    lua_close(L);
    return -1;
  }
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 1, 0) != 0 || !lua_istable(L, -1)) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s: cannot read its line information (%s)", path,
             msg ? msg : "no table");
    lua_close(L);
    return -1;
  }
  total = (int)lua_objlen(L, -1);
  for (i = 1; i <= total; i++) {
    lua_rawgeti(L, -1, i);
    if (n < cap) out[n] = (int)lua_tointeger(L, -1);
    n++;
    lua_pop(L, 1);
  }
  lua_close(L);
  return n;
}

/* same_code(a, b): equal stripped dumps (string.dump(f, true): LuaJIT's
   dump takes `strip` only there). */
int hotreload_same_code (lua_State *L) {
  size_t la, lb;
  const char *a, *b;
  int same;
  if (lua_type(L, 1) != LUA_TFUNCTION || lua_type(L, 2) != LUA_TFUNCTION ||
      lua_iscfunction(L, 1) || lua_iscfunction(L, 2)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_settop(L, 2);
  lua_getglobal(L, "string");
  if (!lua_istable(L, -1)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_getfield(L, -1, "dump");
  lua_pushvalue(L, 1);
  lua_pushboolean(L, 1);
  if (lua_pcall(L, 2, 1, 0) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_getfield(L, 3, "dump");
  lua_pushvalue(L, 2);
  lua_pushboolean(L, 1);
  if (lua_pcall(L, 2, 1, 0) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  a = lua_tolstring(L, -2, &la);
  b = lua_tolstring(L, -1, &lb);
  same = a != NULL && b != NULL && la == lb && memcmp(a, b, la) == 0;
  lua_pushboolean(L, same);
  return 1;
}

#endif
