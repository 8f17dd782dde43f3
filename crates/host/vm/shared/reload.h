/*
** Private to the native backend of the hot reload engine (shared/reload_*.c
** over the VM folder's reload_vm.h): what its files share. Not an API:
** everything here is hidden from C modules the debuggee loads (HR_HIDDEN),
** and the small helpers are inline so that the reference pass's inner loops
** stay as fast as in one file.
**
** The files, one job each (shared/ unless said):
**   reload_backend.c  the backend table the semantic layer calls
**   <vm>/reload_swap.c  give old closures the new prototype in place; undo
**   reload_frames.c   where the engine's frames start; running closures
**   reload_lookup.c   tables a new top level created; a file's main chunk
**   reload_pair.c     pair the nested functions of two versions
**   <vm>/reload_names.c  what names a nested function in its parent's code
**   reload_heap.c     the reference pass over the VM's object lists
**   <vm>/reload_vm.h  the VM's object layout, as the macros below use it
**
** Built only for a VM whose folder has reload_vm.h (build.rs defines
** HR_NATIVE_BACKEND then). The garbage collector is stopped by the caller
** (lua/engine/engine.lua); every write that can make a black object point
** to a white one goes through a barrier.
*/

#ifndef HOTRELOAD_RELOAD_H
#define HOTRELOAD_RELOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

/* The VM's internal headers and the HR_* macros over its objects. */
#include "reload_vm.h"

/* What PUC Lua's objects spell alike; a reload_vm.h whose VM keeps them
   otherwise (LuaJIT: a closure points at its prototype's bytecode, nested
   prototypes are constants) defines its own. */
#ifndef HR_PROTO
/* A closure's prototype, and giving it another (with the GC barrier). */
#define HR_PROTO(cl) ((cl)->p)
#define HR_SET_PROTO(L, cl, np) \
  do { (cl)->p = (np); luaC_objbarrier(L, cl, np); } while (0)
#endif
#ifndef HR_CELL
/* Upvalue cell k of a closure; a raw write of one it already held. */
#define HR_CELL(cl, k) ((cl)->upvals[k])
#define HR_PUT_CELL(cl, k, uv) ((cl)->upvals[k] = (uv))
#endif
#ifndef HR_CODE_CHANGED
/* After `cl` got new code and cells (LuaJIT: what its compiler assumes). */
#define HR_CODE_CHANGED(L, cl) ((void)(L), (void)(cl))
#endif
#ifndef HR_NEW_LCLOSURE_OF
/* A new closure for prototype `np`, standing for `like`. */
#define HR_NEW_LCLOSURE_OF(L, np, like) HR_NEW_LCLOSURE(L, (np)->HR_NUPS_FIELD, like)
#endif
#ifndef HR_NESTED
/* The nested prototypes: how many slots, the one in slot i (NULL: none),
   the slot an instruction makes a closure of (-1: it makes none). */
#define HR_NESTED_N(p) ((p)->sizep)
#define HR_NESTED(f, i) ((f)->p[i])
#define HR_CLOSURE_SLOT(ins) (GET_OPCODE(ins) == OP_CLOSURE ? (int)GETARG_Bx(ins) : -1)
#endif
#ifndef HR_LINEDEFINED
#define HR_LINEDEFINED(p) ((p)->linedefined)
#define HR_SOURCE(p) ((p)->source)
#define HR_SIZECODE(p) ((p)->sizecode)
#define HR_IS_VARARG(p) ((p)->is_vararg)
#endif
#ifndef HR_GC_DEAD
/* An object the collector found unreachable, left on its list until the
   sweep frees it: never visited, never handed back to Lua (the collector
   may be stopped mid-cycle, in its sweep). */
#define HR_GC_DEAD(g, o) isdead(g, o)
#endif
#ifndef HR_MAINTHREAD
#define HR_MAINTHREAD(g) ((g)->mainthread)
#endif
#ifndef HR_METATABLE
#define HR_METATABLE(h) ((h)->metatable)
#define HR_ARRAY(h) ((h)->array)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HR_HIDDEN __attribute__((visibility("hidden")))
#else
#define HR_HIDDEN
#endif

/* restart.c: `new_idx` replaces the running closure at `old_idx`. */
HR_HIDDEN void hr_restart_note(lua_State *L, int old_idx, int new_idx);
HR_HIDDEN extern const Table *hr_restart_map;
/* The registry key of that map (restart_map.c). */
#define HR_RESTART_TO "hotreload.restart_to"

/* ------------------------------------------------------------------------
** A small open-addressing map from pointers to pointers.
*/

typedef struct {
  const void *k;
  void *v;
} Slot;

typedef struct {
  Slot *slots;
  size_t mask;
  size_t count;
} PtrMap;

static inline size_t ptr_hash(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return (size_t)(x ^ (x >> 31));
}

static inline int pm_init(PtrMap *m, size_t hint) {
  size_t cap = 16;
  while (cap < hint * 2 + 2) cap <<= 1;
  m->slots = (Slot *)calloc(cap, sizeof(Slot));
  m->mask = cap - 1;
  m->count = 0;
  return m->slots != NULL;
}

static inline void pm_free(PtrMap *m) {
  free(m->slots);
  m->slots = NULL;
}

static inline void *pm_get(const PtrMap *m, const void *k) {
  size_t i;
  if (m->count == 0 || k == NULL) return NULL;
  for (i = ptr_hash(k) & m->mask;; i = (i + 1) & m->mask) {
    if (m->slots[i].k == k) return m->slots[i].v;
    if (m->slots[i].k == NULL) return NULL;
  }
}

static inline int pm_put(PtrMap *m, const void *k, void *v);

static inline int pm_grow(PtrMap *m) {
  PtrMap bigger;
  size_t i;
  if (!pm_init(&bigger, (m->mask + 1))) return 0;
  for (i = 0; i <= m->mask; i++)
    if (m->slots[i].k != NULL) pm_put(&bigger, m->slots[i].k, m->slots[i].v);
  free(m->slots);
  *m = bigger;
  return 1;
}

/* Returns 0 only when out of memory. */
static inline int pm_put(PtrMap *m, const void *k, void *v) {
  size_t i;
  if ((m->count + 1) * 2 > m->mask + 1 && !pm_grow(m)) return 0;
  for (i = ptr_hash(k) & m->mask;; i = (i + 1) & m->mask) {
    if (m->slots[i].k == k) {
      m->slots[i].v = v;
      return 1;
    }
    if (m->slots[i].k == NULL) {
      m->slots[i].k = k;
      m->slots[i].v = v;
      m->count++;
      return 1;
    }
  }
}

/* A growable array of pointers. */
typedef struct {
  void **items;
  size_t n, cap;
} PtrVec;

static inline int pv_push(PtrVec *v, void *p) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void **items = (void **)realloc(v->items, cap * sizeof(void *));
    if (items == NULL) return 0;
    v->items = items;
    v->cap = cap;
  }
  v->items[v->n++] = p;
  return 1;
}

/* ------------------------------------------------------------------------
** Helpers.
*/

/* The Lua closure at `idx`, or NULL for anything else (C functions too). */
static inline LClosure *lclosure_at(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
  return (LClosure *)lua_topointer(L, idx);
}

static inline void push_lclosure(lua_State *L, LClosure *cl) {
  HR_SET_LCL(L, HR_STK(HR_TOP(L)), cl);
  HR_TOP(L)++;
}

static inline void push_table(lua_State *L, Table *h) {
  sethvalue(L, HR_STK(HR_TOP(L)), h);
  HR_TOP(L)++;
}

static inline int same_name(TString *a, TString *b) {
  if (a == b) return 1;
  if (a == NULL || b == NULL) return 0;
  return HR_STRLEN(a) == HR_STRLEN(b) && memcmp(getstr(a), getstr(b), HR_STRLEN(a)) == 0;
}

/*
** Walking the collector's list is a chain of dependent loads (each object
** names the next), so the pass waits on memory at every object. Objects
** made one after another lie together, and the list holds them newest
** first: the next ones mostly lie just below in memory. Fetching what lies
** a little further below ahead of time lets those waits overlap; a wrong
** guess costs only bandwidth (a prefetch never faults). Measured at 1M
** objects on Lua 5.1: 13-14 ms for the pass without, 8.5-10 ms with.
*/
#define HR_PREFETCH_BELOW 2048
static inline void hr_prefetch_below(const void *o) {
  uintptr_t a = (uintptr_t)o - HR_PREFETCH_BELOW;
  __builtin_prefetch((const void *)a);
  __builtin_prefetch((const void *)(a - 64));
}

/* ------------------------------------------------------------------------
** The state of one reference pass (reload_heap.c), which the pairing of
** nested functions (reload_pair.c) fills in first.
*/

/* A changed nested function as the pass retargets its closures: looked up
   once per prototype, not per closure (a factory's products are many
   closures of few prototypes). */
typedef struct {
  const Proto *p; /* old */
  Proto *np;      /* new, or UNMATCHED */
  int in_place;   /* a closure of p can run np's code (upvalues by name) */
  const int *perm; /* upvalue i of np is upvalue perm[i] of p; NULL: same order */
  int maybe_active;  /* some closure of p was running when the pass began */
  int maybe_skipped; /* some closure of p is never retargeted */
} Partner;

typedef struct {
  lua_State *L;
  PtrMap refs;    /* old LClosure -> new LClosure */
  PtrMap protos;  /* old Proto -> new Proto (changed nested functions) */
  PtrMap handled; /* root old protos: their closures are handled by name */
  PtrMap skip;    /* closures never retargeted */
  PtrMap active;  /* closures with a frame on some stack */
  PtrMap parents; /* new nested Proto -> the new Proto that encloses it */
  PtrMap roots;   /* new root Proto -> its new closure (whose cells are live) */
  PtrMap fresh;   /* old LClosure -> new LClosure made for it (fallback) */
  PtrMap restart; /* running LClosure -> new LClosure a restartFrame runs */
  PtrMap partners; /* old Proto -> its Partner (changed nested functions) */
  Partner *partner_list;
  int *perm_pool;
  PtrVec given;    /* (closure, Partner) pairs given new code in the pass */
  PtrVec retarget; /* closures left to retarget() after the pass */
  PtrVec moves;    /* (table, old key) pairs to rekey after the pass */
  PtrVec frames;   /* scratch: one thread's frame slots, ascending */
  const Table *internal;
  ptrdiff_t boundary;
  lua_Integer replaced, swapped, running, layout, unmatched, added, made;
  /* where the closures that kept their code were defined (a few, for warnings) */
#define NOTED_LINES 6
  int running_lines[NOTED_LINES], layout_lines[NOTED_LINES], unmatched_lines[NOTED_LINES];
  int n_running_lines, n_layout_lines, n_unmatched_lines;
  int fallback;    /* may make new closures when the upvalues differ */
  int references;  /* second pass: only replace references (no retargeting) */
  int oom;
} Walk;

/* Marks "an old nested function with no partner in the new version" in
   Walk.protos. */
extern HR_HIDDEN char hr_unmatched_mark;
#define UNMATCHED ((void *)&hr_unmatched_mark)

/*
** What identifies a nested function in its parent's code: the local it is
** stored in, the field, global or upvalue it is assigned to, its place
** among the values returned right after it is made, or the integer index
** it is stored at. NK_NONE when nothing does.
*/
enum { NK_NONE, NK_LOCAL, NK_FIELD, NK_GLOBAL, NK_UPVAL, NK_RETURN, NK_INDEX };

typedef struct {
  int kind;
  TString *s;
  lua_Integer n;
} ChildName;

/* <vm>/reload_names.c: the name of the closure that instruction `pc` of
   `p` (an OP_CLOSURE) makes, read from the instructions around it. */
HR_HIDDEN void hr_closure_name(const Proto *p, int pc, ChildName *out);
/* <vm>/reload_names.c: where upvalue `i` of `p` comes from when a closure
   of `p` is made in `parent` (NULL: unknown): a local of the enclosing
   call (*instack) or the enclosing closure's upvalue *idx. 0 when unknown. */
HR_HIDDEN int hr_upvalue_source(const Proto *parent, const Proto *p, int i, int *instack,
                                int *idx);
/* Name of the `n`th local active at `pc` (luaF_getlocalname, as a TString). */
HR_HIDDEN TString *hr_local_name(const Proto *f, int n, int pc);

/* reload_pair.c */
HR_HIDDEN int hr_upvalue_permutation(const Proto *op, const Proto *np, int *perm);
HR_HIDDEN void hr_pair_protos(Walk *w, Proto *po, Proto *pn, int root, int depth);

/* The backend's functions (see reload_backend.c). */
HR_HIDDEN int hr_swap(lua_State *L);
HR_HIDDEN int hr_restore(lua_State *L);
HR_HIDDEN int hr_mark(lua_State *L);
HR_HIDDEN int hr_active(lua_State *L);
HR_HIDDEN int hr_gc_mark(lua_State *L);
HR_HIDDEN int hr_created_since(lua_State *L);
HR_HIDDEN int hr_find_chunk(lua_State *L);
HR_HIDDEN int hr_walk(lua_State *L);
/* lua54/reload_compare.c */
HR_HIDDEN int hr_same_code(lua_State *L);
/* The contract's same_code (hotreload_vm.h; <vm>/compare.c). */
int hotreload_same_code(lua_State *L);

#endif
