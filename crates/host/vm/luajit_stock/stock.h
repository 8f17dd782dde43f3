/*
** Private to the in-place swap for a stock LuaJIT 2.1 (this folder): the
** one VM we do not build, whose internal layout is read through the
** `luajit-src` crate's headers only after `layout.c` checked, at first use,
** that the running VM agrees with them (objects made through the public API,
** compared field by field with what `jit.util`, `debug` and the C API say).
**
** A stock LuaJIT exports no internal function (`lj_*` are hidden), so what
** the host's `vm/luajit/reload_swap.c` calls is provided here from fields:
** the GC barrier (`hr_stock_barrier`, LuaJIT's `lj_gc_barrierf` without its
** static helpers) and the clone of a closure (`hr_stock_vessel`: a closure
** made through the public API with the same number of upvalues, then given
** the old prototype, environment and cells).
*/
#ifndef HOTRELOAD_LUAJIT_STOCK_H
#define HOTRELOAD_LUAJIT_STOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lj_obj.h"
#include "lj_gc.h"
#include "lj_func.h"
#include "lj_frame.h"
#include "lj_bc.h"
#include "lj_debug.h"

#if defined(__GNUC__) || defined(__clang__)
#define HR_STOCK_HIDDEN __attribute__((visibility("hidden")))
#else
#define HR_STOCK_HIDDEN
/* Adds every Lua function with a frame on any thread to `running` (see
   nested.c); 0 when out of memory. */
HR_STOCK_HIDDEN int hr_stock_collect_running(lua_State *L, HrMap *running);

/* flush(): drops every compiled trace (they may hold old code). */
HR_STOCK_HIDDEN int hr_stock_flush(lua_State *L);

#endif

/* The Lua closure at `idx`, or NULL for anything else. */
static inline GCfuncL *hr_stock_lclosure(lua_State *L, int idx) {
  GCfunc *fn;
  if (lua_type(L, idx) != LUA_TFUNCTION) return NULL;
  fn = (GCfunc *)lua_topointer(L, idx);
  return (fn != NULL && isluafunc(fn)) ? &fn->l : NULL;
}

/*
** The forward barrier after `o` (a function) was made to point to `v`:
** while the collector propagates, `o` turns gray again and is traversed
** once more in the atomic phase (its `grayagain` list); in the sweep phases
** `o` is made white, as LuaJIT's own barrier does.
*/
static inline void hr_stock_barrier(global_State *g, GCobj *o, GCobj *v) {
  if (!(isblack(o) && iswhite(v))) return;
  if (g->gc.state == GCSpropagate || g->gc.state == GCSatomic) {
    black2gray(o);
    setgcrefr(o->gch.gclist, g->gc.grayagain);
    setgcref(g->gc.grayagain, o);
  } else {
    makewhite(g, o);
  }
}

#define HR_STOCK_BARRIER(L, o, v) hr_stock_barrier(G(L), obj2gco(o), obj2gco(v))

/* A new closure of `pt`'s code with environment `env` and fresh cells, made
   through the public API (see above); NULL when that failed. */
HR_STOCK_HIDDEN GCfunc *hr_stock_vessel(lua_State *L, GCproto *pt, GCtab *env);

/* Why the running VM does not match the headers, or NULL when it does
   (cached after the first call). */
HR_STOCK_HIDDEN const char *hr_stock_layout_problem(lua_State *L);

/* { swap, restore } of vm/luajit/reload_swap.c over the helpers above. */
HR_STOCK_HIDDEN int hr_stock_swap_open(lua_State *L);

/* nested(rootpairs, skip, active, handled, chunkname) -> stats: the nested
   pass (nested.c). */
HR_STOCK_HIDDEN int hr_stock_nested(lua_State *L);

/* orphans(chunkname, new_chunk) -> lines (nested.c). */
HR_STOCK_HIDDEN int hr_stock_orphans(lua_State *L);

/* A small open-addressing set/map of pointers. */
typedef struct {
  const void *k;
  void *v;
} HrSlot;

typedef struct {
  HrSlot *slots;
  size_t mask;
  size_t count;
} HrMap;

static inline size_t hr_ptr_hash(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return (size_t)(x ^ (x >> 31));
}

static inline int hr_map_init(HrMap *m, size_t hint) {
  size_t cap = 16;
  while (cap < hint * 2 + 2) cap <<= 1;
  m->slots = (HrSlot *)calloc(cap, sizeof(HrSlot));
  m->mask = cap - 1;
  m->count = 0;
  return m->slots != NULL;
}

static inline void hr_map_free(HrMap *m) {
  free(m->slots);
  m->slots = NULL;
}

static inline void *hr_map_get(const HrMap *m, const void *k) {
  size_t i = hr_ptr_hash(k) & m->mask;
  while (m->slots[i].k != NULL) {
    if (m->slots[i].k == k) return m->slots[i].v;
    i = (i + 1) & m->mask;
  }
  return NULL;
}

static inline int hr_map_grow(HrMap *m) {
  HrMap bigger;
  size_t i;
  if (!hr_map_init(&bigger, (m->mask + 1))) return 0;
  for (i = 0; i <= m->mask; i++) {
    if (m->slots[i].k != NULL) {
      size_t j = hr_ptr_hash(m->slots[i].k) & bigger.mask;
      while (bigger.slots[j].k != NULL) j = (j + 1) & bigger.mask;
      bigger.slots[j] = m->slots[i];
      bigger.count++;
    }
  }
  free(m->slots);
  *m = bigger;
  return 1;
}

/* Sets `k` to `v` (non-NULL); 0 when out of memory. */
static inline int hr_map_put(HrMap *m, const void *k, void *v) {
  size_t i;
  if ((m->count + 1) * 2 > m->mask + 1 && !hr_map_grow(m)) return 0;
  i = hr_ptr_hash(k) & m->mask;
  while (m->slots[i].k != NULL) {
    if (m->slots[i].k == k) {
      m->slots[i].v = v;
      return 1;
    }
    i = (i + 1) & m->mask;
  }
  m->slots[i].k = k;
  m->slots[i].v = v;
  m->count++;
  return 1;
}

/* Adds every Lua function with a frame on any thread to `running` (see
   nested.c); 0 when out of memory. */
HR_STOCK_HIDDEN int hr_stock_collect_running(lua_State *L, HrMap *running);

/* flush(): drops every compiled trace (they may hold old code). */
HR_STOCK_HIDDEN int hr_stock_flush(lua_State *L);

#endif
