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
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
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
/*
 * OpenResty's LuaJIT keeps per-thread data for its host ("exdata": nginx's
 * current request), which a new thread copies from the thread it is made
 * in. The debugger runs Lua (evaluations, the reload engine) in the main
 * thread and in threads of its own: while a hook serves it, those get the
 * data of the thread the hook runs in, else `ngx.var` and the like would
 * follow a request that is gone. Other LuaJIT builds have no such data.
 */
typedef void *(*hr_getexdata_fn) (lua_State *L);
typedef void (*hr_setexdata_fn) (lua_State *L, void *exdata);
static hr_getexdata_fn get_exdata[2];
static hr_setexdata_fn set_exdata[2];
static int exdata_looked_up;

static void *lookup (const char *name) {
  void *sym = dlsym(RTLD_DEFAULT, name);
  Dl_info info;
  void *lib;
  if (sym != NULL) return sym;
  if (dladdr((void *)lua_gettop, &info) == 0 || info.dli_fname == NULL) return NULL;
  lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (lib == NULL) return NULL;
  sym = dlsym(lib, name);
  dlclose(lib);
  return sym;
}

int hr_stock_has_exdata (void) {
  if (!exdata_looked_up) {
    exdata_looked_up = 1;
    *(void **)&get_exdata[0] = lookup("lua_getexdata");
    *(void **)&set_exdata[0] = lookup("lua_setexdata");
    *(void **)&get_exdata[1] = lookup("lua_getexdata2");
    *(void **)&set_exdata[1] = lookup("lua_setexdata2");
  }
  return get_exdata[0] != NULL && set_exdata[0] != NULL;
}

/* Thread `to` gets the data of thread `from`; `saved` (2 slots) keeps what
   `to` had, for exdata_restore. */
static void exdata_copy (lua_State *to, lua_State *from, void **saved) {
  int i;
  for (i = 0; i < 2; i++)
    if (get_exdata[i] != NULL && set_exdata[i] != NULL) {
      if (saved != NULL) saved[i] = get_exdata[i](to);
      set_exdata[i](to, get_exdata[i](from));
    }
}

static void exdata_restore (lua_State *to, void **saved) {
  int i;
  for (i = 0; i < 2; i++)
    if (get_exdata[i] != NULL && set_exdata[i] != NULL) set_exdata[i](to, saved[i]);
}

void hr_stock_inherit_exdata (lua_State *co) {
  if (last_thread != NULL && hr_stock_has_exdata()) exdata_copy(co, last_thread, NULL);
}
#else
int hr_stock_has_exdata (void) { return 0; }
void hr_stock_inherit_exdata (lua_State *co) { (void)co; }
int hr_stock_jit_off (lua_State *L) {
  (void)L;
  return 1;
}
#endif

/* Lua C function, after every reload: no compiled trace may keep running
   a replaced function's old code (LuaJIT, where `jit = true` kept the
   compiler on: flush them all; elsewhere nothing is compiled). */
int hotreload_code_replaced (lua_State *L) {
#ifdef HR_STOCK_LUAJIT
  (void)luaJIT_setmode(L, 0, HR_LUAJIT_MODE_ENGINE | HR_LUAJIT_MODE_FLUSH);
#else
  (void)L;
#endif
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
  {
    lua_State *main = main_thread_51;
    void *saved[2] = {NULL, NULL};
    int swap = main != NULL && main != L && hr_stock_has_exdata();
    if (swap) exdata_copy(main, L, saved);
    if (lua_pcall(L, 2, 0, 0) != 0) lua_pop(L, 1);
    if (swap) exdata_restore(main, saved);
  }
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
  if (status != 0) lua_pop(L, 1);
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

/* hr_code_lines and hotreload_same_code are per VM: lines_<vm>.c, the one
   build.rs compiles for the agent's ABI. */
