/*
 * The in-place swap (the engine's `swap` and `restore`, the same job as the
 * host's vm/<vm>/reload_swap.c) for a stock PUC Lua (5.1 to 5.4) that we did
 * not build, and on 5.1 the engine's `upvalueid`/`upvaluejoin` (the host's
 * vm/lua51/upvalues.c, included below).
 *
 * A stock VM exports only its public API: its internal functions (closure
 * allocation, GC barriers, upvalue reference counts) are hidden symbols. So
 * this file reads and writes exactly two things of the VM's insides: a Lua
 * closure's prototype pointer (and, on 5.1, its upvalue pointers), and the
 * GC colour bits of the objects it writes into. Everything else goes through
 * the public API: clones come from a Lua factory, cells are moved with
 * lua_upvaluejoin (5.2+), a 5.1 closure's environment with lua_setfenv.
 *
 * The GC: a write of a white object into a black one needs the VM's barrier,
 * which we cannot call. Every write here checks the colours instead. Such a
 * write is harmless as long as the white object stays reachable some other
 * way until the collector has marked it (incremental: the current cycle's
 * end) and, with 5.4's generational collector (the `lua5.4` interpreter's
 * mode), until it has grown old with what holds it (three minor
 * collections). So what the swap touched is kept in the registry until four
 * collections have ended since, each seen as a sentinel collected (a
 * sentinel made after the last one was seen gone). 5.2's generational mode
 * keeps its old objects black otherwise: there the swap ends with a full
 * collection instead (which first turns every object white, then marks from
 * the roots), while all it touched is still on the stack.
 *
 * The layout is compiled from the internal headers of one release (the
 * lua-src crate's) and trusted only after hr_stock_fast_reload_check: the
 * running VM must be a release whose closure and colour layout is that one,
 * and a self-test through the public API must read and swap probe closures
 * as expected. Otherwise the agent uses the pure-Lua walk (and 5.1 refuses
 * reloads, as before).
 */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lgc.h"
#include "lobject.h"
#include "lstate.h"

#include "hotreload_vm.h"

#if LUA_VERSION_NUM == 501
/* The host's upvalueid/upvaluejoin over 5.1's closures, under another name:
   the agent hands them out only once the layout is verified. */
#define hotreload_debug_extras hr_lua51_debug_extras
#include "lua51/upvalues.c"
#undef hotreload_debug_extras

/* upvalues.c's upvaluejoin uses the VM's barrier, a hidden symbol of a
   stock liblua5.1 (so dlopen would fail without a definition). In its place:
   a full collection, which whitens every object and marks again from the
   roots, so the black-to-white write that called it is harmless. */
void luaC_barrierf (lua_State *L, GCObject *o, GCObject *v) {
  (void)o;
  (void)v;
  lua_gc(L, LUA_GCCOLLECT, 0);
}
#endif

/* The releases whose Closure/LClosure, Proto header, UpVal header (5.1) and
   colour bits are those of the headers this file is compiled with (the
   structures did not change within each of these series). */
#if LUA_VERSION_NUM == 501
static const char *const known_releases[] = {"5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.1.5", NULL};
#elif LUA_VERSION_NUM == 502
static const char *const known_releases[] = {"5.2.0", "5.2.1", "5.2.2", "5.2.3", "5.2.4", NULL};
#elif LUA_VERSION_NUM == 503
static const char *const known_releases[] = {"5.3.0", "5.3.1", "5.3.2", "5.3.3",
                                             "5.3.4", "5.3.5", "5.3.6", NULL};
#elif LUA_VERSION_NUM == 504
static const char *const known_releases[] = {"5.4.0", "5.4.1", "5.4.2", "5.4.3", "5.4.4",
                                             "5.4.5", "5.4.6", "5.4.7", "5.4.8", "5.4.9", NULL};
#else
#error "fast_reload.c serves Lua 5.1 to 5.4"
#endif

#if LUA_VERSION_NUM == 501
#define HR_LCL_TAG LUA_TFUNCTION
#define hr_len(L, i) ((lua_Integer)lua_objlen(L, i))
#else
#define HR_LCL_TAG 6 /* LUA_TLCL (5.2, 5.3), LUA_VLCL (5.4) */
#define hr_len(L, i) ((lua_Integer)lua_rawlen(L, i))
#endif

/* Whether an object of these mark bits is old in 5.2's generational mode. */
#if LUA_VERSION_NUM == 502
#define hr_generational(marked) (((marked) & bitmask(OLDBIT)) != 0)
#else
#define hr_generational(marked) 0
#endif

/* 1 once the self-test passed (the swap refuses to run before). */
static int verified;
/* A write of this swap would have needed the VM's barrier: keep what it
   touched until a cycle ended (incremental), or collect in full now. */
static int needs_anchor, needs_collect;

/* parent now points at child: remember when the VM's barrier was due. */
static void note_write (lu_byte parent_marked, lu_byte child_marked) {
  if ((parent_marked & bitmask(BLACKBIT)) && (child_marked & WHITEBITS)) {
    if (hr_generational(parent_marked))
      needs_collect = 1;
    else
      needs_anchor = 1;
  }
}

/* The Lua closure at `idx`, or NULL for anything else (C functions too). */
static LClosure *lclosure_at (lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
#if LUA_VERSION_NUM == 501
  return &((Closure *)lua_topointer(L, idx))->l;
#else
  return (LClosure *)lua_topointer(L, idx);
#endif
}

/* Upvalue count through the public API. */
static int nups_of (lua_State *L, int idx) {
  lua_Debug ar;
  lua_pushvalue(L, idx);
  if (!lua_getinfo(L, ">u", &ar)) return -1;
  return ar.nups;
}

/* Pushes a fresh Lua closure with n upvalues of fresh cells (a factory per
   n, compiled once and kept in the registry). */
static const char factories_key = 'f';
static int push_fresh_closure (lua_State *L, int n) {
  char src[60 * 2 * 5 + 64];
  size_t at = 0;
  int k;
  if (n < 0 || n > 60) return 0;
  lua_pushlightuserdata(L, (void *)&factories_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)&factories_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(L, -1, n + 1);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    if (n > 0) {
      at += (size_t)snprintf(src + at, sizeof(src) - at, "local u1");
      for (k = 2; k <= n; k++) at += (size_t)snprintf(src + at, sizeof(src) - at, ",u%d", k);
    }
    at += (size_t)snprintf(src + at, sizeof(src) - at, " return function() return ");
    for (k = 1; k <= n; k++)
      at += (size_t)snprintf(src + at, sizeof(src) - at, k == 1 ? "u%d" : ",u%d", k);
    at += (size_t)snprintf(src + at, sizeof(src) - at, " end");
    if (at >= sizeof(src) || luaL_loadbuffer(L, src, at, "=[hotreload] clone") != 0) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, n + 1);
  }
  lua_remove(L, -2);
  if (lua_pcall(L, 0, 1, 0) != 0) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* Cell k (0-based) of Lua closure `dst` becomes cell j of Lua closure `src`. */
static void join_cell (lua_State *L, int dst, LClosure *d, int k, int src, LClosure *s, int j) {
#if LUA_VERSION_NUM == 501
  (void)L;
  (void)dst;
  (void)src;
  d->upvals[k] = s->upvals[j];
  note_write(d->marked, s->upvals[j]->marked);
#else
  (void)d;
  (void)s;
  lua_upvaluejoin(L, dst, k + 1, src, j + 1);
#endif
}

/* The prototype of `dst` becomes that of `src`. */
static void set_proto (LClosure *dst, LClosure *src) {
  dst->p = src->p;
  note_write(dst->marked, src->p->marked);
}

/* Pushes a clone of the Lua closure at `idx`: its prototype, cells and (5.1)
   environment, in a closure of our own. */
static int push_clone (lua_State *L, int idx) {
  LClosure *old = lclosure_at(L, idx), *clone;
  int k, top;
  if (old == NULL || !push_fresh_closure(L, old->nupvalues)) return 0;
  top = lua_gettop(L);
  clone = lclosure_at(L, top);
  if (clone == NULL || clone->nupvalues != old->nupvalues) {
    lua_pop(L, 1);
    return 0;
  }
  set_proto(clone, old);
  for (k = 0; k < old->nupvalues; k++) join_cell(L, top, clone, k, idx, old, k);
#if LUA_VERSION_NUM == 501
  lua_getfenv(L, idx);
  lua_setfenv(L, top);
#endif
  return 1;
}

/* registry[&anchors_key] = { buckets = { newest, ..., oldest }, alive =
   weak { sentinel } }: values anchored go to the newest bucket; each time
   the sentinel is seen collected, the oldest bucket is let go, the others
   move down, and a new sentinel is made. */
static const char anchors_key = 'a';
#define HR_ANCHOR_BUCKETS 4

static void new_sentinel (lua_State *L, int store) {
  lua_newtable(L); /* alive: weak values */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_newtable(L); /* the sentinel, held by nothing else */
  lua_rawseti(L, -2, 1);
  lua_setfield(L, store, "alive");
}

/* Keeps the value at `idx` alive until HR_ANCHOR_BUCKETS collections have
   ended after now. */
static void anchor (lua_State *L, int idx) {
  int store, k;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_pushlightuserdata(L, (void *)&anchors_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    store = lua_gettop(L);
    lua_createtable(L, HR_ANCHOR_BUCKETS, 0);
    for (k = 1; k <= HR_ANCHOR_BUCKETS; k++) {
      lua_newtable(L);
      lua_rawseti(L, -2, k);
    }
    lua_setfield(L, store, "buckets");
    new_sentinel(L, store);
    lua_pushlightuserdata(L, (void *)&anchors_key);
    lua_pushvalue(L, store);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  store = lua_gettop(L);
  lua_getfield(L, store, "buckets");
  lua_getfield(L, store, "alive");
  lua_rawgeti(L, -1, 1);
  if (lua_isnil(L, -1)) { /* a collection ended: age the buckets */
    for (k = HR_ANCHOR_BUCKETS; k > 1; k--) {
      lua_rawgeti(L, store + 1, k - 1);
      lua_rawseti(L, store + 1, k);
    }
    lua_newtable(L);
    lua_rawseti(L, store + 1, 1);
    new_sentinel(L, store);
  }
  lua_pop(L, 2);
  lua_rawgeti(L, store + 1, 1);
  lua_pushvalue(L, idx);
  lua_rawseti(L, -2, (int)hr_len(L, -2) + 1);
  lua_settop(L, store - 1);
}

/* Ends a swap or restore whose touched objects are reachable from the
   values at `keep` and `keep2` (0: none): stands in for the barriers it
   skipped. */
static void settle (lua_State *L, int keep, int keep2) {
  if (needs_collect) {
    lua_gc(L, LUA_GCCOLLECT, 0);
  }
  else if (needs_anchor) {
    if (keep != 0) anchor(L, keep);
    if (keep2 != 0) anchor(L, keep2);
  }
  needs_collect = needs_anchor = 0;
}

static int hr_swap (lua_State *L) {
  lua_Integer n, i;
  int holders, entry;
  if (!verified) return luaL_error(L, "hot reload: the fast path is not verified in this VM");
  luaL_checktype(L, 1, LUA_TTABLE);
  n = hr_len(L, 1);
  luaL_checkstack(L, 16, "hot reload");
  /* pass 1: check every entry and hold every source cell (in a closure of
     one upvalue per cell) before anything changes */
  lua_newtable(L);
  holders = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    LClosure *nw;
    lua_Integer s, ns;
    lua_rawgeti(L, 1, (int)i);
    luaL_checktype(L, -1, LUA_TTABLE);
    entry = lua_gettop(L);
    lua_rawgeti(L, entry, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, entry, 3);
    luaL_checktype(L, -1, LUA_TTABLE);
    ns = hr_len(L, -1) / 2;
    if (nw == NULL || ns != nw->nupvalues)
      return luaL_error(L, "hot reload: bad swap entry %d (%d cells for %d upvalues)", (int)i,
                        (int)ns, nw ? (int)nw->nupvalues : -1);
    lua_newtable(L); /* this entry's holders */
    for (s = 0; s < ns; s++) {
      LClosure *src;
      lua_Integer idx;
      int at = lua_gettop(L);
      lua_rawgeti(L, at - 1, (int)(2 * s + 1));
      src = lclosure_at(L, -1);
      lua_rawgeti(L, at - 1, (int)(2 * s + 2));
      idx = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (src == NULL || idx < 1 || idx > src->nupvalues || src->upvals[idx - 1] == NULL)
        return luaL_error(L, "hot reload: bad upvalue source %d.%d", (int)i, (int)s + 1);
      if (!push_fresh_closure(L, 1)) return luaL_error(L, "hot reload: cannot hold a cell");
      join_cell(L, at + 2, lclosure_at(L, at + 2), 0, at + 1, src, (int)idx - 1);
      lua_rawseti(L, at, (int)(s + 1));
      lua_pop(L, 1);
    }
    lua_rawseti(L, holders, (int)i);
    lua_pop(L, 2);
  }
  /* pass 2: write */
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    LClosure *old, *nw;
    int force, k, nup, base;
    lua_rawgeti(L, 1, (int)i);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    lua_rawgeti(L, -3, 4);
    force = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, holders, (int)i);
    base = lua_gettop(L); /* entry, old, new, holders */
    old = lclosure_at(L, base - 2);
    nw = lclosure_at(L, base - 1);
    nup = nw->nupvalues;
    if (old != NULL && old != nw && !force && old->nupvalues == nup) {
      if (!push_clone(L, base - 2)) {
        settle(L, 1, holders);
        return luaL_error(L, "hot reload: cannot clone a closure");
      }
      lua_rawseti(L, base - 4, (int)i);
      set_proto(old, nw);
      for (k = 0; k < nup; k++) {
        lua_rawgeti(L, base, k + 1);
        join_cell(L, base - 2, old, k, base + 1, lclosure_at(L, base + 1), 0);
        /* a stray reference to the new closure then behaves the same */
        join_cell(L, base - 1, nw, k, base + 1, lclosure_at(L, base + 1), 0);
        lua_pop(L, 1);
      }
    }
    else {
      for (k = 0; k < nup; k++) {
        lua_rawgeti(L, base, k + 1);
        join_cell(L, base - 1, nw, k, base + 1, lclosure_at(L, base + 1), 0);
        lua_pop(L, 1);
      }
      lua_pushboolean(L, 0);
      lua_rawseti(L, base - 4, (int)i);
    }
    lua_pop(L, 4);
  }
  settle(L, 1, holders);
  return 1;
}

/* hr_restore(old, clone): give `old` back the code and cells `clone` kept. */
static int hr_restore (lua_State *L) {
  LClosure *old = lclosure_at(L, 1), *clone = lclosure_at(L, 2);
  int k;
  if (!verified) return luaL_error(L, "hot reload: the fast path is not verified in this VM");
  if (old == NULL || clone == NULL || old->nupvalues != clone->nupvalues)
    return luaL_error(L, "hot reload: bad restore");
  set_proto(old, clone);
  for (k = 0; k < old->nupvalues; k++) join_cell(L, 1, old, k, 2, clone, k);
#if LUA_VERSION_NUM == 501
  lua_getfenv(L, 2);
  lua_setfenv(L, 1);
#endif
  settle(L, 2, 0);
  return 0;
}

int hotreload_inplace_swap (lua_State *L) {
  lua_createtable(L, 0, 2);
  if (verified) {
    lua_pushcfunction(L, hr_swap);
    lua_setfield(L, -2, "swap");
    lua_pushcfunction(L, hr_restore);
    lua_setfield(L, -2, "restore");
  }
  return 1;
}

#if LUA_VERSION_NUM == 501
/* The engine's upvalueid/upvaluejoin: only over a verified layout (else an
   empty table, and the engine says reloads are unavailable). */
int hotreload_debug_extras (lua_State *L) {
  if (verified) return hr_lua51_debug_extras(L);
  lua_newtable(L);
  return 1;
}
#endif

/* The running VM's release ("5.4.4"), from its lua_ident string; NULL when
   the VM does not export it. */
static const char *running_release (char *buf, size_t len) {
  const char *ident = (const char *)dlsym(RTLD_DEFAULT, "lua_ident");
  const char *at;
  size_t n = 0;
  if (ident == NULL) {
    Dl_info info;
    void *lib;
    if (dladdr((void *)lua_gettop, &info) == 0 || info.dli_fname == NULL) return NULL;
    lib = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (lib == NULL) return NULL;
    ident = (const char *)dlsym(lib, "lua_ident");
    dlclose(lib);
    if (ident == NULL) return NULL;
  }
  at = strstr(ident, "Lua 5.");
  if (at == NULL) return NULL;
  at += 4;
  while (n + 1 < len && (at[n] == '.' || (at[n] >= '0' && at[n] <= '9'))) {
    buf[n] = at[n];
    n++;
  }
  buf[n] = '\0';
  return buf;
}

static const char probe_lua[] =
  "local a, b, c = 1, 2, 3\n"
  "local function f1() return a + b + c end\n"
  "local function f2() return a * 100 + b * 10 + c end\n"
  "local function g() return a end\n"
  "local function setb(v) b = v end\n"
  "local function mk() return function() return a end end\n"
  "return f1, f2, g, setb, mk(), mk()\n";

/* What the internal view must read of the probe closures (at stack
   indices base+1..base+6: f1, f2, g, setb, m1, m2), checked against what
   the public API says. NULL when all matches, else what did not. */
static const char *probe_layout (lua_State *L, int base) {
  LClosure *cl[6];
  int i;
  for (i = 0; i < 6; i++) {
    cl[i] = lclosure_at(L, base + 1 + i);
    if (cl[i] == NULL) return "a probe is not a Lua function";
    if (cl[i]->tt != HR_LCL_TAG) return "the type tag of a Lua closure";
#if LUA_VERSION_NUM == 501
    if (cl[i]->isC) return "the C flag of a Lua closure";
#endif
    if (cl[i]->nupvalues != nups_of(L, base + 1 + i)) return "the upvalue count of a closure";
    if (cl[i]->p == NULL) return "the prototype of a closure";
#if LUA_VERSION_NUM == 501
    if (cl[i]->p->nups != cl[i]->nupvalues) return "the upvalue count of a prototype";
#else
    if (cl[i]->p->sizeupvalues != cl[i]->nupvalues) return "the upvalue count of a prototype";
#endif
    if (cl[i]->p->numparams != (i == 3 ? 1 : 0)) return "the parameter count of a prototype";
  }
  if (cl[4]->p != cl[5]->p || cl[0]->p == cl[1]->p) return "prototype identity";
  if (cl[0]->upvals[0] != cl[1]->upvals[0] || cl[0]->upvals[0] != cl[2]->upvals[0] ||
      cl[0]->upvals[1] != cl[3]->upvals[0] || cl[0]->upvals[0] == cl[0]->upvals[1])
    return "upvalue cell identity";
#if LUA_VERSION_NUM == 501
  if (!ttisnumber(cl[0]->upvals[0]->v) || nvalue(cl[0]->upvals[0]->v) != 1)
    return "the value of an upvalue cell";
#else
  for (i = 0; i < 3; i++)
    if (lua_upvalueid(L, base + 1, i + 1) != (void *)cl[0]->upvals[i])
      return "upvalue ids (lua_upvalueid)";
#endif
  return NULL;
}

/* Calls f at `idx` with no arguments; its number result, or -1. */
static lua_Number call_number (lua_State *L, int idx) {
  lua_Number n = -1;
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 0, 1, 0) == 0 && lua_type(L, -1) == LUA_TNUMBER) n = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return n;
}

/* Swaps probe f1 (base+1) to f2's code keeping its cells, checks it runs
   the new code on the old cells, restores it; NULL when all held. */
static const char *probe_swap (lua_State *L, int base) {
  int clone;
  lua_pushcfunction(L, hr_swap);
  lua_createtable(L, 1, 0);
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, base + 1);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, base + 2);
  lua_rawseti(L, -2, 2);
  lua_createtable(L, 6, 0);
  for (clone = 0; clone < 3; clone++) {
    lua_pushvalue(L, base + 1);
    lua_rawseti(L, -2, 2 * clone + 1);
    lua_pushinteger(L, clone + 1);
    lua_rawseti(L, -2, 2 * clone + 2);
  }
  lua_rawseti(L, -2, 3);
  lua_pushboolean(L, 0);
  lua_rawseti(L, -2, 4);
  lua_rawseti(L, -2, 1);
  if (lua_pcall(L, 1, 1, 0) != 0) return "the swap failed";
  lua_rawgeti(L, -1, 1);
  clone = lua_gettop(L);
  if (lclosure_at(L, clone) == NULL) return "the swap kept no clone";
  if (call_number(L, base + 1) != 123) return "a swapped closure does not run the new code";
  if (call_number(L, clone) != 6) return "the clone does not run the old code";
  lua_pushvalue(L, base + 4);
  lua_pushinteger(L, 5);
  if (lua_pcall(L, 1, 0, 0) != 0) return "the probe's setter failed";
  if (call_number(L, base + 1) != 153 || call_number(L, clone) != 9)
    return "a swapped closure lost its cells";
  lua_pushcfunction(L, hr_restore);
  lua_pushvalue(L, base + 1);
  lua_pushvalue(L, clone);
  if (lua_pcall(L, 2, 0, 0) != 0) return "the restore failed";
  if (call_number(L, base + 1) != 9) return "a restored closure does not run its old code";
  return NULL;
}

/* The attach-time check: 1 when the fast path may be used in this VM, else
   0 with the reason in `why`. */
int hr_stock_fast_reload_check (lua_State *L, char *why, size_t whylen) {
  char release[16];
  const char *failed;
  int i, known = 0, top = lua_gettop(L);
  verified = 0;
  if (running_release(release, sizeof(release)) == NULL) {
    snprintf(why, whylen, "the program's Lua does not say its release (lua_ident)");
    return 0;
  }
  for (i = 0; known_releases[i] != NULL; i++)
    if (strcmp(known_releases[i], release) == 0) known = 1;
  if (!known) {
    snprintf(why, whylen, "Lua %s is not a release whose closure layout the agent knows", release);
    return 0;
  }
  if (!lua_checkstack(L, 24) ||
      luaL_loadbuffer(L, probe_lua, sizeof(probe_lua) - 1, "=[hotreload] probe") != 0 ||
      lua_pcall(L, 0, 6, 0) != 0) {
    lua_settop(L, top);
    snprintf(why, whylen, "the layout probe did not run");
    return 0;
  }
  failed = probe_layout(L, top);
  if (failed == NULL) {
    verified = 1;
    failed = probe_swap(L, top);
    if (failed != NULL) verified = 0;
  }
  lua_settop(L, top);
  if (failed != NULL) {
    snprintf(why, whylen, "Lua %s's closures do not look as the agent expects (%s)", release, failed);
    return 0;
  }
  return 1;
}
