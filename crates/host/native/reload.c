/*
** Native fast paths of the hot reload engine, for Lua 5.4 (uses the VM's
** internal headers; compiled together with the Lua sources by build.rs).
**
** The semantic layer (lua/engine.lua) decides WHAT to change; this file does
** the VM-level work it cannot do in Lua:
**   hr_swap     give old closures the new prototype in place (every
**               reference to the closure then runs the new code), keeping
**               chosen upvalue cells; or relink a new closure's cells
**   hr_restore  undo one swap
**   hr_walk     one pass over the VM's own object lists (allgc, finobj,
**               tobefnz): replace references to functions, and give closures
**               of changed nested functions (factory products) the new code,
**               nested functions paired by name (local, field, return slot)
**   hr_mark     where the engine's own frames start on the running stack
**   hr_active   the closures with a frame on the given threads' stacks
**   hr_gc_mark, hr_created_since   which tables a new top level created
**   hr_find_chunk  the live main-chunk closure of a file
**
** A closure whose frame is on some stack is never swapped: the interpreter
** re-reads cl->p when a call returns into it, so its pc must stay valid.
** The garbage collector is stopped by the caller; every write that can make a
** black object point to a white one goes through a barrier.
*/

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lobject.h"
#include "lstate.h"
#include "lfunc.h"
#include "lgc.h"
#include "ltable.h"
#include "lstring.h"
#include "lvm.h"
#include "lopcodes.h"

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

static size_t ptr_hash(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return (size_t)(x ^ (x >> 31));
}

static int pm_init(PtrMap *m, size_t hint) {
  size_t cap = 16;
  while (cap < hint * 2 + 2) cap <<= 1;
  m->slots = (Slot *)calloc(cap, sizeof(Slot));
  m->mask = cap - 1;
  m->count = 0;
  return m->slots != NULL;
}

static void pm_free(PtrMap *m) {
  free(m->slots);
  m->slots = NULL;
}

static void *pm_get(const PtrMap *m, const void *k) {
  size_t i;
  if (m->count == 0 || k == NULL) return NULL;
  for (i = ptr_hash(k) & m->mask;; i = (i + 1) & m->mask) {
    if (m->slots[i].k == k) return m->slots[i].v;
    if (m->slots[i].k == NULL) return NULL;
  }
}

static int pm_put(PtrMap *m, const void *k, void *v);

static int pm_grow(PtrMap *m) {
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
static int pm_put(PtrMap *m, const void *k, void *v) {
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

static int pv_push(PtrVec *v, void *p) {
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
static LClosure *lclosure_at(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
  return (LClosure *)lua_topointer(L, idx);
}

static void push_lclosure(lua_State *L, LClosure *cl) {
  setclLvalue2s(L, L->top.p, cl);
  L->top.p++;
}

static void push_table(lua_State *L, Table *h) {
  sethvalue2s(L, L->top.p, h);
  L->top.p++;
}

static int same_name(TString *a, TString *b) {
  if (a == b) return 1;
  if (a == NULL || b == NULL) return 0;
  return tsslen(a) == tsslen(b) && memcmp(getstr(a), getstr(b), tsslen(a)) == 0;
}

/*
** For each upvalue of `np`, the index of the upvalue of `op` with the same
** name; 0 when some name has no partner (or the counts differ).
*/
static int upvalue_permutation(const Proto *op, const Proto *np, int *perm) {
  int i, j;
  if (op->sizeupvalues != np->sizeupvalues) return 0;
  for (i = 0; i < np->sizeupvalues; i++) {
    TString *name = np->upvalues[i].name;
    if (name == NULL) {
      perm[i] = i; /* stripped: by position */
      continue;
    }
    for (j = 0; j < op->sizeupvalues; j++)
      if (same_name(op->upvalues[j].name, name)) break;
    if (j == op->sizeupvalues) return 0;
    perm[i] = j;
  }
  return 1;
}

/* Same code, constants, upvalues and nested functions. */
static int proto_same(const Proto *a, const Proto *b) {
  int i;
  if (a == b) return 1;
  if (a->numparams != b->numparams || a->is_vararg != b->is_vararg ||
      a->sizecode != b->sizecode || a->sizek != b->sizek ||
      a->sizep != b->sizep || a->sizeupvalues != b->sizeupvalues)
    return 0;
  if (memcmp(a->code, b->code, sizeof(Instruction) * (size_t)a->sizecode) != 0)
    return 0;
  for (i = 0; i < a->sizek; i++)
    if (!luaV_rawequalobj(&a->k[i], &b->k[i]) ||
        ttypetag(&a->k[i]) != ttypetag(&b->k[i]))
      return 0;
  for (i = 0; i < a->sizeupvalues; i++)
    if (a->upvalues[i].instack != b->upvalues[i].instack ||
        a->upvalues[i].idx != b->upvalues[i].idx ||
        !same_name(a->upvalues[i].name, b->upvalues[i].name))
      return 0;
  for (i = 0; i < a->sizep; i++)
    if (!proto_same(a->p[i], b->p[i])) return 0;
  return 1;
}

/* Could a closure of `a` run the code of `b`? Same parameters, same upvalues. */
static int proto_compatible(const Proto *a, const Proto *b) {
  int perm[MAXUPVAL + 1];
  return a->numparams == b->numparams && a->is_vararg == b->is_vararg &&
         upvalue_permutation(a, b, perm);
}

/* ------------------------------------------------------------------------
** hr_swap(entries) -> results
** entries[i] = { old, new, src, force }: src = { f1, i1, f2, i2, ... } names,
** for each upvalue slot of `new`, the closure and index whose cell it gets.
** results[i] = a clone of the old closure (the undo anchor) when swapped in
** place, false when not (then `new`'s cells were relinked instead).
*/

static int hr_swap(lua_State *L) {
  lua_Integer n, i, total = 0, at = 0;
  UpVal **cells;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = luaL_len(L, 1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_rawgeti(L, -1, 3);
    total += luaL_len(L, -1) / 2;
    lua_pop(L, 2);
  }
  cells = (UpVal **)malloc(sizeof(UpVal *) * (size_t)(total + 1));
  if (cells == NULL) return luaL_error(L, "hot reload: out of memory");
  /* pass 1: read every source cell before anything changes */
  for (i = 1; i <= n; i++) {
    LClosure *nw;
    lua_Integer s, ns;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 3);
    ns = luaL_len(L, -1) / 2;
    if (nw == NULL || ns != nw->nupvalues) {
      free(cells);
      return luaL_error(L, "hot reload: bad swap entry %d (%d cells for %d upvalues)", (int)i, (int)ns, nw ? (int)nw->nupvalues : -1);
    }
    for (s = 0; s < ns; s++) {
      LClosure *src;
      lua_Integer idx;
      lua_rawgeti(L, -1, 2 * s + 1);
      src = lclosure_at(L, -1);
      lua_rawgeti(L, -2, 2 * s + 2);
      idx = lua_tointeger(L, -1);
      lua_pop(L, 2);
      if (src == NULL || idx < 1 || idx > src->nupvalues) {
        free(cells);
        return luaL_error(L, "hot reload: bad upvalue source %d.%d", (int)i, (int)s + 1);
      }
      cells[at++] = src->upvals[idx - 1];
    }
    lua_pop(L, 2);
  }
  /* pass 2: write */
  lua_createtable(L, (int)n, 0);
  luaL_checkstack(L, 4, "hot reload");
  at = 0;
  for (i = 1; i <= n; i++) {
    LClosure *old, *nw;
    int force, k, nup;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 1);
    old = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_rawgeti(L, -3, 4);
    force = lua_toboolean(L, -1);
    lua_pop(L, 4);
    nup = nw->nupvalues;
    if (old != NULL && old != nw && !force && old->nupvalues == nw->p->sizeupvalues) {
      LClosure *clone = luaF_newLclosure(L, old->nupvalues);
      clone->p = old->p;
      for (k = 0; k < old->nupvalues; k++) clone->upvals[k] = old->upvals[k];
      push_lclosure(L, clone);
      lua_rawseti(L, -2, i);
      old->p = nw->p;
      luaC_objbarrier(L, old, nw->p);
      for (k = 0; k < nup; k++) {
        old->upvals[k] = cells[at + k];
        luaC_objbarrier(L, old, cells[at + k]);
        /* a stray reference to the new closure then behaves the same */
        nw->upvals[k] = cells[at + k];
        luaC_objbarrier(L, nw, cells[at + k]);
      }
    } else {
      for (k = 0; k < nup; k++) {
        nw->upvals[k] = cells[at + k];
        luaC_objbarrier(L, nw, cells[at + k]);
      }
      lua_pushboolean(L, 0);
      lua_rawseti(L, -2, i);
    }
    at += nup;
  }
  free(cells);
  return 1;
}

/* hr_restore(old, clone): give `old` back the code and cells `clone` kept. */
static int hr_restore(lua_State *L) {
  LClosure *old = lclosure_at(L, 1), *clone = lclosure_at(L, 2);
  int k;
  if (old == NULL || clone == NULL || old->nupvalues != clone->nupvalues)
    return luaL_error(L, "hot reload: bad restore");
  old->p = clone->p;
  luaC_objbarrier(L, old, clone->p);
  for (k = 0; k < old->nupvalues; k++) {
    old->upvals[k] = clone->upvals[k];
    luaC_objbarrier(L, old, clone->upvals[k]);
  }
  return 0;
}

/* hr_mark() -> offset of the caller's frame on this thread's stack. */
static int hr_mark(lua_State *L) {
  CallInfo *ci = L->ci->previous;
  lua_pushinteger(L, ci ? (lua_Integer)(ci->func.p - L->stack.p) : 0);
  return 1;
}

/*
** hr_gc_mark() -> a fresh table: the newest object, private to the caller.
** hr_created_since(mark) -> set of the tables created after that mark.
** New objects go to the head of 'allgc', and the caller keeps the collector
** stopped in between, so the objects before the mark are exactly the new
** ones (a table given a __gc metamethod moves to 'finobj' and is missed:
** it then counts as pre-existing, which only means it is not merged).
*/
static int hr_gc_mark(lua_State *L) {
  lua_newtable(L);
  return 1;
}

static int hr_created_since(lua_State *L) {
  const void *mark;
  GCObject *o;
  luaL_checktype(L, 1, LUA_TTABLE);
  mark = lua_topointer(L, 1);
  lua_newtable(L);
  luaL_checkstack(L, 4, "hot reload");
  for (o = G(L)->allgc; o != NULL && (const void *)o != mark; o = o->next) {
    if (o->tt == LUA_VTABLE) {
      push_table(L, gco2t(o));
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
  }
  return 1;
}

/* Adds the Lua closures of every frame of `th` to the table at `set`. */
static void add_frames(lua_State *L, lua_State *th, int set) {
  CallInfo *ci;
  for (ci = th->ci; ci != NULL && ci != &th->base_ci; ci = ci->previous) {
    TValue *f = s2v(ci->func.p);
    if (ttisLclosure(f)) {
      push_lclosure(L, clLvalue(f));
      lua_pushboolean(L, 1);
      lua_rawset(L, set);
    }
  }
}

/*
** hr_active(threads) -> set of the Lua closures with a frame on this thread,
** the main thread or any thread that is a key of `threads`.
*/
static int hr_active(lua_State *L) {
  int set;
  lua_State *main = G(L)->mainthread;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L);
  set = lua_gettop(L);
  luaL_checkstack(L, 6, "hot reload");
  add_frames(L, L, set);
  if (main != L) add_frames(L, main, set);
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_State *th = lua_tothread(L, -2);
    lua_pop(L, 1);
    if (th != NULL && th != L && th != main) add_frames(L, th, set);
  }
  /* Threads with open upvalues, tracked or not (a safety net for threads
     made from C, which the caller cannot see). */
  {
    lua_State *th;
    for (th = G(L)->twups; th != NULL && th->twups != th; th = th->twups)
      if (th != L && th != main) add_frames(L, th, set);
  }
  return 1;
}

/* hr_find_chunk(chunkname) -> the newest live main chunk of that file. */
static int hr_find_chunk(lua_State *L) {
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  GCObject *o;
  for (o = G(L)->allgc; o != NULL; o = o->next) {
    if (o->tt == LUA_VLCL) {
      LClosure *cl = gco2lcl(o);
      Proto *p = cl->p;
      if (p->linedefined == 0 && p->source != NULL && tsslen(p->source) == len &&
          memcmp(getstr(p->source), name, len) == 0) {
        push_lclosure(L, cl);
        return 1;
      }
    }
  }
  lua_pushnil(L);
  return 1;
}

/* ------------------------------------------------------------------------
** hr_walk(refmap, rootpairs, skip, active, boundary, internal, handled,
**         fallback) -> stats
** refmap: old closure -> new closure, references to replace;
** rootpairs: { old, new } closures whose nested functions are paired (the
**   roots themselves are handled by the caller);
** skip: closures never retargeted; active: closures known to be running;
** boundary: stack offset on this thread above which the engine's own frames
**   live; internal: metatable of tables to leave alone; handled: closures
**   whose prototypes the structural pairing must not map; fallback: a
**   closure of a changed nested function whose upvalues differ gets a new
**   closure (old cells by name, new ones from the enclosing new code) that
**   replaces it everywhere in a second pass. stats.fresh = { old = new } of
**   those (undo: walk again with new -> old).
*/

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
  PtrVec retarget; /* closures to give new protos after the pass */
  PtrVec moves;    /* (table, old key) pairs to rekey after the pass */
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

/* Marks "an old nested function with no partner in the new version". */
static char unmatched_mark;
#define UNMATCHED ((void *)&unmatched_mark)

static void mark_unmatched(Walk *w, Proto *po) {
  if (pm_get(&w->handled, po) != NULL || pm_get(&w->protos, po) != NULL) return;
  if (!pm_put(&w->protos, po, UNMATCHED)) w->oom = 1;
}

/*
** What identifies a nested function in its parent's code: the local it is
** stored in, the field, global or upvalue it is assigned to, or its place
** among the values returned right after it is made. NK_NONE when nothing
** does, or when two siblings share the same name (then it says nothing).
*/
enum { NK_NONE, NK_LOCAL, NK_FIELD, NK_GLOBAL, NK_UPVAL, NK_RETURN, NK_INDEX };

typedef struct {
  int kind;
  TString *s;
  lua_Integer n;
} ChildName;

/* Name of the `n`th local active at `pc` (luaF_getlocalname, as a TString). */
static TString *local_name(const Proto *f, int n, int pc) {
  int i;
  for (i = 0; i < f->sizelocvars && f->locvars[i].startpc <= pc; i++) {
    if (pc < f->locvars[i].endpc) {
      n--;
      if (n == 0) return f->locvars[i].varname;
    }
  }
  return NULL;
}

static TString *short_key(const Proto *f, int k) {
  if (k < 0 || k >= f->sizek || !ttisstring(&f->k[k])) return NULL;
  return tsvalue(&f->k[k]);
}

static void name_of_closure(const Proto *p, int pc, ChildName *out) {
  int a = GETARG_A(p->code[pc]);
  Instruction next;
  out->kind = NK_NONE;
  out->n = 0;
  out->s = local_name(p, a + 1, pc + 1);
  if (out->s != NULL) {
    out->kind = NK_LOCAL;
    return;
  }
  if (pc + 1 >= p->sizecode) return;
  next = p->code[pc + 1];
  switch (GET_OPCODE(next)) {
    case OP_SETFIELD:
    case OP_SETTABUP:
      if (!GETARG_k(next) && GETARG_C(next) == a) {
        out->s = short_key(p, GETARG_B(next));
        if (out->s != NULL) out->kind = GET_OPCODE(next) == OP_SETFIELD ? NK_FIELD : NK_GLOBAL;
      }
      break;
    case OP_SETUPVAL:
      if (GETARG_A(next) == a && GETARG_B(next) < p->sizeupvalues) {
        out->s = p->upvalues[GETARG_B(next)].name;
        if (out->s != NULL) out->kind = NK_UPVAL;
      }
      break;
    case OP_SETI:
      if (!GETARG_k(next) && GETARG_C(next) == a) {
        out->kind = NK_INDEX;
        out->n = GETARG_B(next);
      }
      break;
    case OP_RETURN1:
      if (GETARG_A(next) == a) {
        out->kind = NK_RETURN;
        out->n = 1;
      }
      break;
    case OP_RETURN:
      if (GETARG_A(next) <= a && (GETARG_B(next) == 0 || a <= GETARG_A(next) + GETARG_B(next) - 2)) {
        out->kind = NK_RETURN;
        out->n = a - GETARG_A(next) + 1;
      }
      break;
    default:
      break;
  }
}

static int name_eq(const ChildName *x, const ChildName *y) {
  return x->kind != NK_NONE && x->kind == y->kind && x->n == y->n &&
         (x->s == NULL ? y->s == NULL : y->s != NULL && same_name(x->s, y->s));
}

/* names[i] for each nested function p->p[i]; ambiguous names are dropped. */
static void child_names(const Proto *p, ChildName *names) {
  int pc, i, j;
  for (i = 0; i < p->sizep; i++) {
    names[i].kind = NK_NONE;
    names[i].s = NULL;
    names[i].n = 0;
  }
  for (pc = 0; pc < p->sizecode; pc++) {
    Instruction ins = p->code[pc];
    if (GET_OPCODE(ins) == OP_CLOSURE && GETARG_Bx(ins) < (unsigned int)p->sizep)
      name_of_closure(p, pc, &names[GETARG_Bx(ins)]);
  }
  for (i = 0; i < p->sizep; i++) {
    int dup = 0;
    if (names[i].kind == NK_NONE || names[i].kind == -1) continue;
    for (j = i + 1; j < p->sizep; j++) {
      if (name_eq(&names[i], &names[j])) {
        names[j].kind = -1;
        dup = 1;
      }
    }
    if (dup) names[i].kind = -1;
  }
  for (i = 0; i < p->sizep; i++)
    if (names[i].kind == -1) names[i].kind = NK_NONE;
}

/*
** Pairs the unnamed nested functions `uo` (old) and `un` (new) by the longest
** common subsequence of "compatible" ones (same parameters and upvalue
** names): a guess by place that is only taken when the closures could run
** the new code in place.
*/
static int pair_unnamed(Walk *w, Proto *po, Proto *pn, const int *uo, int no, const int *un,
                        int nn, int *match) {
  int *dp, i, j;
  if (no == 0 || nn == 0) return 1;
  if ((size_t)no * (size_t)nn > 1u << 20) return 1;
  dp = (int *)calloc((size_t)(no + 1) * (size_t)(nn + 1), sizeof(int));
  if (dp == NULL) {
    w->oom = 1;
    return 0;
  }
#define DP(a, b) dp[(size_t)(a) * (size_t)(nn + 1) + (size_t)(b)]
#define COMPAT(a, b) proto_compatible(po->p[uo[a]], pn->p[un[b]])
  for (i = no - 1; i >= 0; i--)
    for (j = nn - 1; j >= 0; j--)
      DP(i, j) = COMPAT(i, j) ? DP(i + 1, j + 1) + 1
                              : (DP(i + 1, j) > DP(i, j + 1) ? DP(i + 1, j) : DP(i, j + 1));
  i = j = 0;
  while (i < no && j < nn) {
    if (COMPAT(i, j) && DP(i, j) == DP(i + 1, j + 1) + 1) {
      match[uo[i++]] = un[j++];
    } else if (DP(i + 1, j) >= DP(i, j + 1)) {
      i++;
    } else {
      j++;
    }
  }
#undef COMPAT
#undef DP
  free(dp);
  return 1;
}

/*
** Pairs the nested functions of two versions: by name first (see
** ChildName), then the unnamed ones by place when compatible. An old nested
** function left without a partner is marked: its closures keep their code,
** with a warning.
*/
static void pair_protos(Walk *w, Proto *po, Proto *pn, int root, int depth) {
  int no = po->sizep, nn = pn->sizep, i, j, paired = 0, nuo = 0, nun = 0;
  ChildName *on, *nnm;
  int *match, *uo, *un;
  char *used;
  if (depth > 200 || proto_same(po, pn)) return;
  if (!root) {
    if (pm_get(&w->handled, po) != NULL || pm_get(&w->protos, po) != NULL) return;
    if (!pm_put(&w->protos, po, pn)) {
      w->oom = 1;
      return;
    }
  }
  if (no == 0 || nn == 0) {
    if (po->linedefined == 0) w->added += nn;
    return;
  }
  on = (ChildName *)malloc(sizeof(ChildName) * (size_t)no);
  nnm = (ChildName *)malloc(sizeof(ChildName) * (size_t)nn);
  match = (int *)malloc(sizeof(int) * (size_t)no);
  uo = (int *)malloc(sizeof(int) * (size_t)no);
  un = (int *)malloc(sizeof(int) * (size_t)nn);
  used = (char *)calloc((size_t)nn, 1);
  if (on == NULL || nnm == NULL || match == NULL || uo == NULL || un == NULL || used == NULL) {
    w->oom = 1;
    goto done;
  }
  child_names(po, on);
  child_names(pn, nnm);
  for (i = 0; i < no; i++) {
    match[i] = -1;
    if (on[i].kind == NK_NONE) continue;
    for (j = 0; j < nn; j++) {
      if (!used[j] && name_eq(&on[i], &nnm[j])) {
        match[i] = j;
        used[j] = 1;
        break;
      }
    }
  }
  for (i = 0; i < no; i++)
    if (on[i].kind == NK_NONE) uo[nuo++] = i;
  for (j = 0; j < nn; j++)
    if (!used[j] && nnm[j].kind == NK_NONE) un[nun++] = j;
  if (!pair_unnamed(w, po, pn, uo, nuo, un, nun, match)) goto done;
  for (i = 0; i < no; i++) {
    if (match[i] < 0) {
      mark_unmatched(w, po->p[i]);
      continue;
    }
    paired++;
    if (!pm_put(&w->parents, pn->p[match[i]], pn)) {
      w->oom = 1;
      break;
    }
    pair_protos(w, po->p[i], pn->p[match[i]], 0, depth + 1);
  }
  if (po->linedefined == 0 && nn > paired) w->added += nn - paired;
done:
  free(on);
  free(nnm);
  free(match);
  free(uo);
  free(un);
  free(used);
}

static int replace_value(Walk *w, TValue *v) {
  LClosure *nw;
  if (!ttisLclosure(v)) return 0;
  nw = (LClosure *)pm_get(&w->refs, clLvalue(v));
  if (nw == NULL) return 0;
  setclLvalue(w->L, v, nw);
  w->replaced++;
  return 1;
}

static void visit_table(Walk *w, Table *h) {
  int changed = 0;
  unsigned int i, asize;
  if (w->internal != NULL && h->metatable == w->internal) return;
  asize = luaH_realasize(h);
  for (i = 0; i < asize; i++) changed |= replace_value(w, &h->array[i]);
  if (!isdummy(h)) {
    Node *n = gnode(h, 0), *limit = gnode(h, sizenode(h));
    for (; n < limit; n++) {
      if (isempty(gval(n))) continue;
      changed |= replace_value(w, gval(n));
      if (keytt(n) == ctb(LUA_VLCL) && pm_get(&w->refs, keyval(n).gc) != NULL) {
        if (!pv_push(&w->moves, h) || !pv_push(&w->moves, gco2lcl(keyval(n).gc))) w->oom = 1;
      }
    }
  }
  if (changed && isblack(h)) luaC_barrierback_(w->L, obj2gco(h));
}

static void visit_thread(Walk *w, lua_State *th) {
  StkId s, lim = th->top.p;
  CallInfo *ci = &th->base_ci;
  int changed = 0;
  if (th == w->L && w->boundary > 0 && th->stack.p + w->boundary < lim)
    lim = th->stack.p + w->boundary;
  for (s = th->stack.p; s < th->top.p; s++) {
    /* frame functions (ascending with the CallInfo list) keep their code */
    while (ci != NULL && ci != th->ci->next && ci->func.p < s) ci = ci->next;
    if (ci != NULL && ci != th->ci->next && ci->func.p == s) {
      if (ttisLclosure(s2v(s)) && !pm_put(&w->active, clLvalue(s2v(s)), (void *)1)) w->oom = 1;
      continue;
    }
    if (s < lim && w->refs.count > 0) changed |= replace_value(w, s2v(s));
  }
  if (changed && isblack(th)) luaC_barrierback_(w->L, obj2gco(th));
}

static void visit(Walk *w, GCObject *o) {
  switch (o->tt) {
    case LUA_VLCL: {
      LClosure *cl = gco2lcl(o);
      if (!w->references && w->protos.count > 0 && pm_get(&w->protos, cl->p) != NULL &&
          pm_get(&w->skip, cl) == NULL) {
        if (!pv_push(&w->retarget, cl)) w->oom = 1;
      }
      break;
    }
    case LUA_VUPVAL: {
      UpVal *uv = gco2upv(o);
      if (w->refs.count > 0 && !upisopen(uv) && replace_value(w, uv->v.p))
        luaC_barrier(w->L, uv, uv->v.p);
      break;
    }
    case LUA_VTABLE:
      if (w->refs.count > 0) visit_table(w, gco2t(o));
      break;
    case LUA_VTHREAD:
      visit_thread(w, gco2th(o));
      break;
    default:
      break;
  }
}

static void note_line(int *lines, int *n, int line) {
  int i;
  for (i = 0; i < *n; i++)
    if (lines[i] == line) return;
  if (*n < NOTED_LINES) lines[(*n)++] = line;
}

static void set_lines(lua_State *L, const char *k, const int *lines, int n) {
  int i;
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, lines[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, k);
}

/*
** The live cell a new nested function's upvalue `i` would get from its
** enclosing functions: followed up through upvalues of upvalues to a root
** whose new closure is known. NULL when it is a local of an enclosing call
** (each call had its own; the one a closure was made in is gone).
*/
static UpVal *enclosing_cell(Walk *w, Proto *p, int i) {
  int depth;
  for (depth = 0; depth < 200; depth++) {
    LClosure *root = (LClosure *)pm_get(&w->roots, p);
    if (root != NULL) return i < root->nupvalues ? root->upvals[i] : NULL;
    if (p->upvalues[i].instack) return NULL;
    i = p->upvalues[i].idx;
    p = (Proto *)pm_get(&w->parents, p);
    if (p == NULL || i >= p->sizeupvalues) return NULL;
  }
  return NULL;
}

/*
** A new closure of `np` standing for `cl`: upvalues of the same name keep
** `cl`'s cells, new ones share the cells of the enclosing new code. NULL
** when some new upvalue has no known cell.
*/
static LClosure *fresh_closure(Walk *w, LClosure *cl, Proto *np) {
  UpVal *cells[MAXUPVAL + 1];
  LClosure *nc;
  int i, j;
  for (i = 0; i < np->sizeupvalues; i++) {
    TString *name = np->upvalues[i].name;
    cells[i] = NULL;
    if (name != NULL)
      for (j = 0; j < cl->nupvalues && j < cl->p->sizeupvalues; j++)
        if (cl->p->upvalues[j].name != NULL && same_name(cl->p->upvalues[j].name, name)) {
          cells[i] = cl->upvals[j];
          break;
        }
    if (cells[i] == NULL) cells[i] = enclosing_cell(w, np, i);
    if (cells[i] == NULL) return NULL;
  }
  nc = luaF_newLclosure(w->L, np->sizeupvalues);
  nc->p = np;
  luaC_objbarrier(w->L, nc, np);
  for (i = 0; i < np->sizeupvalues; i++) {
    nc->upvals[i] = cells[i];
    luaC_objbarrier(w->L, nc, cells[i]);
  }
  return nc;
}

static void retarget(Walk *w, LClosure *cl) {
  int perm[MAXUPVAL + 1];
  UpVal *tmp[MAXUPVAL + 1];
  Proto *np = (Proto *)pm_get(&w->protos, cl->p);
  int i;
  if (np == NULL) return;
  if (pm_get(&w->active, cl) != NULL) {
    w->running++;
    note_line(w->running_lines, &w->n_running_lines, cl->p->linedefined);
    return;
  }
  if ((void *)np == UNMATCHED) {
    w->unmatched++;
    note_line(w->unmatched_lines, &w->n_unmatched_lines, cl->p->linedefined);
    return;
  }
  if (cl->nupvalues != np->sizeupvalues || !upvalue_permutation(cl->p, np, perm)) {
    /* Another layout: a new closure replaces this one everywhere. */
    LClosure *nc = w->fallback ? fresh_closure(w, cl, np) : NULL;
    if (nc == NULL) {
      w->layout++;
      note_line(w->layout_lines, &w->n_layout_lines, cl->p->linedefined);
    } else if (!pm_put(&w->fresh, cl, nc)) {
      w->oom = 1;
    } else {
      w->made++;
    }
    return;
  }
  for (i = 0; i < cl->nupvalues; i++) tmp[i] = cl->upvals[perm[i]];
  cl->p = np;
  luaC_objbarrier(w->L, cl, np);
  for (i = 0; i < cl->nupvalues; i++) cl->upvals[i] = tmp[i];
  w->swapped++;
}

static void set_stat(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void walk_free(Walk *w) {
  pm_free(&w->refs);
  pm_free(&w->protos);
  pm_free(&w->handled);
  pm_free(&w->skip);
  pm_free(&w->active);
  pm_free(&w->parents);
  pm_free(&w->roots);
  pm_free(&w->fresh);
  free(w->retarget.items);
  free(w->moves.items);
}

static int fill_set(lua_State *L, int idx, PtrMap *m, int with_values) {
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    LClosure *k = lclosure_at(L, -2);
    if (k != NULL) {
      void *v = (void *)1;
      if (with_values) {
        v = lclosure_at(L, -1);
        if (v == NULL) {
          lua_pop(L, 1);
          continue;
        }
      }
      if (!pm_put(m, k, v)) return 0;
    }
    lua_pop(L, 1);
  }
  return 1;
}

static void visit_all(Walk *w) {
  global_State *g = G(w->L);
  GCObject *o;
  for (o = g->allgc; o != NULL; o = o->next) visit(w, o);
  for (o = g->finobj; o != NULL; o = o->next) visit(w, o);
  for (o = g->tobefnz; o != NULL; o = o->next) visit(w, o);
}

/* Rekeys the table entries whose key is a replaced closure. */
static void apply_moves(Walk *w) {
  lua_State *L = w->L;
  size_t k;
  luaL_checkstack(L, 4, "hot reload");
  for (k = 0; k + 1 < w->moves.n; k += 2) {
    Table *h = (Table *)w->moves.items[k];
    LClosure *key = (LClosure *)w->moves.items[k + 1];
    LClosure *nw = (LClosure *)pm_get(&w->refs, key);
    int t;
    push_table(L, h);
    t = lua_gettop(L);
    push_lclosure(L, key);
    lua_rawget(L, t);
    push_lclosure(L, nw);
    lua_insert(L, -2);
    lua_rawset(L, t);
    push_lclosure(L, key);
    lua_pushnil(L);
    lua_rawset(L, t);
    lua_pop(L, 1);
    w->replaced++;
  }
  w->moves.n = 0;
}

/* Pushes { old = new } for the closures made by the fallback. */
static void push_fresh(lua_State *L, Walk *w) {
  size_t i;
  lua_createtable(L, 0, (int)w->fresh.count);
  if (w->fresh.count == 0) return;
  luaL_checkstack(L, 4, "hot reload");
  for (i = 0; i <= w->fresh.mask; i++) {
    if (w->fresh.slots[i].k == NULL) continue;
    push_lclosure(L, (LClosure *)w->fresh.slots[i].k);
    push_lclosure(L, (LClosure *)w->fresh.slots[i].v);
    lua_rawset(L, -3);
  }
}

static int hr_walk(lua_State *L) {
  Walk w;
  lua_Integer i, n;
  int ok = 1;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  memset(&w, 0, sizeof w);
  w.L = L;
  w.boundary = (ptrdiff_t)luaL_optinteger(L, 5, 0);
  w.internal = lua_type(L, 6) == LUA_TTABLE ? (const Table *)lua_topointer(L, 6) : NULL;
  w.fallback = lua_toboolean(L, 8);
  lua_settop(L, 8);
  ok = pm_init(&w.refs, 16) && pm_init(&w.protos, 16) && pm_init(&w.handled, 16) &&
       pm_init(&w.skip, 16) && pm_init(&w.active, 16) && pm_init(&w.parents, 16) &&
       pm_init(&w.roots, 16) && pm_init(&w.fresh, 16);
  ok = ok && fill_set(L, 1, &w.refs, 1) && fill_set(L, 3, &w.skip, 0) &&
       fill_set(L, 4, &w.active, 0);
  if (ok && lua_type(L, 7) == LUA_TTABLE) {
    lua_pushnil(L);
    while (ok && lua_next(L, 7) != 0) {
      LClosure *h = lclosure_at(L, -2);
      if (h != NULL && !pm_put(&w.handled, h->p, (void *)1)) ok = 0;
      lua_pop(L, 1);
    }
  }
  n = luaL_len(L, 2);
  for (i = 1; ok && i <= n; i++) {
    LClosure *o, *nw;
    lua_rawgeti(L, 2, i);
    lua_rawgeti(L, -1, 1);
    o = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 3);
    if (o != NULL && !pm_put(&w.handled, o->p, (void *)1)) ok = 0;
    if (ok && nw != NULL && !pm_put(&w.roots, nw->p, nw)) ok = 0;
  }
  for (i = 1; ok && i <= n; i++) {
    LClosure *o, *nw;
    lua_rawgeti(L, 2, i);
    lua_rawgeti(L, -1, 1);
    o = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 3);
    if (o != NULL && nw != NULL) pair_protos(&w, o->p, nw->p, 1, 0);
  }
  if (!ok || w.oom) {
    walk_free(&w);
    return luaL_error(L, "hot reload: out of memory");
  }
  lua_createtable(L, 0, 12);
  if (w.refs.count > 0 || w.protos.count > 0) {
    size_t k;
    visit_all(&w);
    for (k = 0; k < w.retarget.n; k++) retarget(&w, (LClosure *)w.retarget.items[k]);
    apply_moves(&w);
    if (w.fresh.count > 0 && !w.oom) {
      /* Second pass: the closures made for another layout replace the old
         ones everywhere (the first pass could not know them). */
      PtrMap done = w.refs;
      w.refs = w.fresh;
      w.references = 1;
      visit_all(&w);
      apply_moves(&w);
      w.fresh = w.refs;
      w.refs = done;
    }
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "walked");
  }
  push_fresh(L, &w);
  if (w.internal != NULL) {
    lua_pushvalue(L, 6);
    lua_setmetatable(L, -2);
  }
  lua_setfield(L, -2, "fresh");
  set_stat(L, "replaced", w.replaced);
  set_stat(L, "swapped", w.swapped);
  set_stat(L, "running", w.running);
  set_stat(L, "layout", w.layout);
  set_stat(L, "unmatched", w.unmatched);
  set_stat(L, "made", w.made);
  set_stat(L, "added", w.added);
  set_lines(L, "running_lines", w.running_lines, w.n_running_lines);
  set_lines(L, "layout_lines", w.layout_lines, w.n_layout_lines);
  set_lines(L, "unmatched_lines", w.unmatched_lines, w.n_unmatched_lines);
  ok = !w.oom;
  walk_free(&w);
  if (!ok) return luaL_error(L, "hot reload: out of memory");
  return 1;
}

/* ------------------------------------------------------------------------
** luaopen-style entry: pushes the backend table.
*/

int hotreload_native_backend(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"swap", hr_swap},       {"restore", hr_restore},
      {"walk", hr_walk},       {"mark", hr_mark},
      {"find_chunk", hr_find_chunk}, {"active", hr_active},
      {"gc_mark", hr_gc_mark},       {"created_since", hr_created_since},
      {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "native");
  return 1;
}
