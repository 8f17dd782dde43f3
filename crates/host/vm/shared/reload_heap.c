/*
** The reference pass: one pass over the VM's own object lists (allgc,
** finobj, tobefnz; on Lua 5.1 rootgc) that replaces references to functions, and gives
** closures of changed nested functions (factory products, paired by
** reload_pair.c) the new code; a second pass when some of them needed a new
** closure.
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

static int replace_value(Walk *w, TValue *v) {
  LClosure *nw;
  if (!HR_IS_LCL(v)) return 0;
  nw = (LClosure *)pm_get(&w->refs, HR_LCL(v));
  if (nw == NULL) return 0;
  HR_SET_LCL(w->L, v, nw);
  w->replaced++;
  return 1;
}

static void visit_table(Walk *w, Table *h) {
  int changed = 0;
  unsigned int i, asize;
  if (w->internal != NULL && HR_METATABLE(h) == w->internal) return;
  if (h == hr_restart_map) return;  /* restart.c: old closures stay keys */
  asize = HR_ASIZE(h);
  for (i = 0; i < asize; i++) changed |= replace_value(w, &HR_ARRAY(h)[i]);
  if (HR_HAS_NODES(h)) {
    Node *n = gnode(h, 0), *limit = gnode(h, sizenode(h));
    for (; n < limit; n++) {
      LClosure *key;
      if (HR_NODE_EMPTY(n)) continue;
      changed |= replace_value(w, gval(n));
      key = HR_NODE_LCL_KEY(n);
      if (key != NULL && pm_get(&w->refs, key) != NULL) {
        if (!pv_push(&w->moves, h) || !pv_push(&w->moves, key)) w->oom = 1;
      }
    }
  }
  if (changed) HR_TABLE_BARRIER(w->L, h);
}

/* The slots of `th`'s frame functions, ascending, in w->frames (each
   frame's Lua closure noted as running). */
static void frame_slots(Walk *w, lua_State *th) {
  PtrVec *v = &w->frames;
  HR_CI_DECL(th, ci);
  v->n = 0;
  for (; HR_CI_VALID(th, ci); HR_CI_NEXT(ci)) {
    StkId f = HR_CI_FUNC(ci);
    if (HR_IS_LCL(HR_STK(f)) && !pm_put(&w->active, HR_LCL(HR_STK(f)), (void *)1)) w->oom = 1;
    if (!pv_push(v, (void *)f)) w->oom = 1;
  }
#ifdef HR_CI_DESCENDING /* frames listed newest first (LuaJIT) */
  {
    size_t i;
    for (i = 0; i < v->n / 2; i++) {
      void *t = v->items[i];
      v->items[i] = v->items[v->n - 1 - i];
      v->items[v->n - 1 - i] = t;
    }
  }
#endif
}

static void visit_thread(Walk *w, lua_State *th) {
  StkId s, lim = HR_TOP(th);
  int changed = 0;
  size_t f = 0;
  frame_slots(w, th);
  if (w->refs.count == 0) return;
  if (th == w->L && w->boundary > 0 && HR_STACK(th) + w->boundary < lim)
    lim = HR_STACK(th) + w->boundary;
  for (s = HR_STACK(th); s < lim; s++) {
    /* frame functions keep their code */
    while (f < w->frames.n && (StkId)w->frames.items[f] < s) f++;
    if (f < w->frames.n && (StkId)w->frames.items[f] == s) continue;
    changed |= replace_value(w, HR_STK(s));
  }
  if (changed) HR_THREAD_BARRIER(w->L, th);
}

/* A closed cell holding a replaced closure gets the new one. */
static void visit_cell(Walk *w, UpVal *uv) {
  if (HR_UPVAL_CLOSED(uv) && replace_value(w, HR_UPVAL_VALUE(uv))) HR_UPVAL_BARRIER(w->L, uv);
}

/* Closure `cl` of pt->p runs pt->np's code from now on (upvalues reordered
   by name); undone by take_back(). */
static void swap_in(Walk *w, LClosure *cl, const Partner *pt) {
  UpVal *tmp[HR_MAXUPVAL + 1];
  int i;
  if (pt->perm != NULL) {
    for (i = 0; i < cl->nupvalues; i++) tmp[i] = HR_CELL(cl, pt->perm[i]);
    for (i = 0; i < cl->nupvalues; i++) HR_PUT_CELL(cl, i, tmp[i]);
  }
  HR_SET_PROTO(w->L, cl, pt->np);
  HR_CODE_CHANGED(w->L, cl);
  w->swapped++;
}

static void take_back(Walk *w, LClosure *cl, const Partner *pt) {
  UpVal *tmp[HR_MAXUPVAL + 1];
  int i;
  if (pt->perm != NULL) {
    for (i = 0; i < cl->nupvalues; i++) tmp[pt->perm[i]] = HR_CELL(cl, i);
    for (i = 0; i < cl->nupvalues; i++) HR_PUT_CELL(cl, i, tmp[i]);
  }
  HR_SET_PROTO(w->L, cl, (Proto *)pt->p);
  HR_CODE_CHANGED(w->L, cl);
  w->swapped--;
}

/*
** The common case of retarget(), decided as the pass meets the closure
** (while it is in the cache): a closure of a changed nested function that
** can run the new code in place and is not known to be running gets it now
** (noted in `given`, in case a thread met later runs it). 0 when
** retarget() is to decide after the pass.
*/
static int give_new_code(Walk *w, LClosure *cl, const Partner *pt) {
  if (!pt->in_place || cl->nupvalues != pt->np->HR_NUPS_FIELD) return 0;
  if (pt->maybe_active && pm_get(&w->active, cl) != NULL) return 0;
  if (!pv_push(&w->given, cl) || !pv_push(&w->given, (void *)pt)) {
    w->oom = 1;
    return 1;
  }
  swap_in(w, cl, pt);
  return 1;
}

/* Closures given new code in the pass that a thread met later runs: their
   code goes back, and retarget() keeps them as running. */
static void take_back_running(Walk *w) {
  size_t k;
  for (k = 0; k + 1 < w->given.n; k += 2) {
    LClosure *cl = (LClosure *)w->given.items[k];
    if (pm_get(&w->active, cl) == NULL) continue;
    take_back(w, cl, (const Partner *)w->given.items[k + 1]);
    if (!pv_push(&w->retarget, cl)) w->oom = 1;
  }
}

static void visit(Walk *w, GCObject *o) {
  int tt = HR_GC_TT(o);
  if (HR_GC_IS_LCL(o)) {
    LClosure *cl = gco2lcl(o);
#ifdef HR_CELLS_IN_CLOSURES
    /* cells are not collectable objects: reached through their closures */
    if (w->refs.count > 0) {
      int i;
      for (i = 0; i < cl->nupvalues; i++)
        if (HR_CELL(cl, i) != NULL) visit_cell(w, HR_CELL(cl, i));
    }
#endif
    if (!w->references && w->partners.count > 0) {
      const Partner *pt = (const Partner *)pm_get(&w->partners, HR_PROTO(cl));
      if (pt != NULL && !(pt->maybe_skipped && pm_get(&w->skip, cl) != NULL) &&
          !give_new_code(w, cl, pt) && !pv_push(&w->retarget, cl))
        w->oom = 1;
    }
  }
#ifndef HR_CELLS_IN_CLOSURES
  else if (tt == HR_T_UPVAL) {
    if (w->refs.count > 0) visit_cell(w, HR_GCO2UPV(o));
  }
#endif
  else if (tt == HR_T_TABLE) {
    if (w->refs.count > 0) visit_table(w, gco2t(o));
  } else if (tt == HR_T_THREAD) {
    visit_thread(w, gco2th(o));
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
    Proto *parent;
    int instack, idx;
    if (root != NULL) return i < root->nupvalues ? HR_CELL(root, i) : NULL;
    parent = (Proto *)pm_get(&w->parents, p);
    if (!hr_upvalue_source(parent, p, i, &instack, &idx) || instack) return NULL;
    i = idx;
    p = parent;
    if (p == NULL || i >= p->HR_NUPS_FIELD) return NULL;
  }
  return NULL;
}

/*
** A new closure of `np` standing for `cl`: upvalues of the same name keep
** `cl`'s cells, new ones share the cells of the enclosing new code. NULL
** when some new upvalue has no known cell.
*/
static LClosure *fresh_closure(Walk *w, LClosure *cl, Proto *np) {
  UpVal *cells[HR_MAXUPVAL + 1];
  LClosure *nc;
  Proto *op = HR_PROTO(cl);
  int i, j;
  for (i = 0; i < np->HR_NUPS_FIELD; i++) {
    TString *name = HR_UPVAL_NAME(np, i);
    cells[i] = NULL;
    if (name != NULL)
      for (j = 0; j < cl->nupvalues && j < op->HR_NUPS_FIELD; j++)
        if (HR_UPVAL_NAME(op, j) != NULL && same_name(HR_UPVAL_NAME(op, j), name)) {
          cells[i] = HR_CELL(cl, j);
          break;
        }
    if (cells[i] == NULL) cells[i] = enclosing_cell(w, np, i);
    if (cells[i] == NULL) return NULL;
  }
  nc = HR_NEW_LCLOSURE_OF(w->L, np, cl);
  HR_SET_PROTO(w->L, nc, np);
  for (i = 0; i < np->HR_NUPS_FIELD; i++) HR_SET_NEW_CELL(w->L, nc, i, cells[i]);
  HR_CODE_CHANGED(w->L, nc);
  return nc;
}

static void retarget(Walk *w, LClosure *cl) {
  Proto *op = HR_PROTO(cl);
  const Partner *pt = (const Partner *)pm_get(&w->partners, op);
  Proto *np;
  if (pt == NULL) return;
  np = pt->np;
  if (pm_get(&w->active, cl) != NULL) {
    /* keeps its code; restart.c can move its frame to this closure */
    LClosure *nc = (void *)np == UNMATCHED ? NULL : fresh_closure(w, cl, np);
    if (nc != NULL && !pm_put(&w->restart, cl, nc)) w->oom = 1;
    w->running++;
    note_line(w->running_lines, &w->n_running_lines, HR_LINEDEFINED(op));
    return;
  }
  if ((void *)np == UNMATCHED) {
    w->unmatched++;
    note_line(w->unmatched_lines, &w->n_unmatched_lines, HR_LINEDEFINED(op));
    return;
  }
  if (cl->nupvalues != np->HR_NUPS_FIELD || !pt->in_place) {
    /* Another layout: a new closure replaces this one everywhere. */
    LClosure *nc = w->fallback ? fresh_closure(w, cl, np) : NULL;
    if (nc == NULL) {
      w->layout++;
      note_line(w->layout_lines, &w->n_layout_lines, HR_LINEDEFINED(op));
    } else if (!pm_put(&w->fresh, cl, nc)) {
      w->oom = 1;
    } else {
      w->made++;
    }
    return;
  }
  swap_in(w, cl, pt);
}

/* Sets of the prototypes of the closures keyed in `m`. */
static int protos_of(const PtrMap *m, PtrMap *out) {
  size_t i;
  if (!pm_init(out, m->count)) return 0;
  for (i = 0; m->count > 0 && i <= m->mask; i++) {
    LClosure *cl = (LClosure *)m->slots[i].k;
    if (cl != NULL && !pm_put(out, HR_PROTO(cl), (void *)1)) return 0;
  }
  return 1;
}

/* A Partner for each changed nested function the pairing found. */
static int make_partners(Walk *w) {
  PtrMap running, skipped;
  size_t i, n = 0, used = 0, room = 0;
  int perm[HR_MAXUPVAL + 1], ok;
  for (i = 0; i <= w->protos.mask; i++) {
    const Proto *np = (const Proto *)w->protos.slots[i].v;
    if (w->protos.slots[i].k != NULL && (void *)np != UNMATCHED) room += np->HR_NUPS_FIELD;
  }
  w->partner_list = (Partner *)calloc(w->protos.count + 1, sizeof(Partner));
  w->perm_pool = (int *)malloc((room + 1) * sizeof(int));
  running.slots = skipped.slots = NULL;
  ok = w->partner_list != NULL && w->perm_pool != NULL && pm_init(&w->partners, w->protos.count) &&
       protos_of(&w->active, &running) && protos_of(&w->skip, &skipped);
  for (i = 0; ok && i <= w->protos.mask; i++) {
    Partner *pt = &w->partner_list[n];
    int k, same = 1;
    if (w->protos.slots[i].k == NULL) continue;
    n++;
    pt->p = (const Proto *)w->protos.slots[i].k;
    pt->np = (Proto *)w->protos.slots[i].v;
    pt->in_place = (void *)pt->np != UNMATCHED && hr_upvalue_permutation(pt->p, pt->np, perm);
    pt->maybe_active = pm_get(&running, pt->p) != NULL;
    pt->maybe_skipped = pm_get(&skipped, pt->p) != NULL;
    for (k = 0; pt->in_place && k < pt->np->HR_NUPS_FIELD; k++) same &= perm[k] == k;
    if (!same) {
      memcpy(w->perm_pool + used, perm, (size_t)pt->np->HR_NUPS_FIELD * sizeof(int));
      pt->perm = w->perm_pool + used;
      used += (size_t)pt->np->HR_NUPS_FIELD;
    }
    ok = pm_put(&w->partners, pt->p, pt);
  }
  pm_free(&running);
  pm_free(&skipped);
  return ok;
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
  pm_free(&w->restart);
  pm_free(&w->partners);
  free(w->partner_list);
  free(w->perm_pool);
  free(w->given.items);
  free(w->retarget.items);
  free(w->moves.items);
  free(w->frames.items);
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
#ifdef HR_MAINTHREAD_UNLISTED
  visit_thread(w, g->mainthread);
#endif
  for (o = HR_ALLGC(g); o != NULL; o = HR_GC_NEXT(o)) {
    hr_prefetch_below(o);
    if (!HR_GC_DEAD(g, o)) visit(w, o);
  }
#ifdef HR_FINOBJ
  for (o = HR_FINOBJ(g); o != NULL; o = HR_GC_NEXT(o))
    if (!HR_GC_DEAD(g, o)) visit(w, o);
#endif
#ifdef HR_TOBEFNZ
  for (o = HR_TOBEFNZ(g); o != NULL; o = HR_GC_NEXT(o))
    if (!HR_GC_DEAD(g, o)) visit(w, o);
#endif
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

/* rootpairs[i] (argument 2) = { old, new }: its Lua closures, or NULL. */
static void root_pair(lua_State *L, lua_Integer i, LClosure **old, LClosure **nw) {
  lua_rawgeti(L, 2, i);
  lua_rawgeti(L, -1, 1);
  *old = lclosure_at(L, -1);
  lua_rawgeti(L, -2, 2);
  *nw = lclosure_at(L, -1);
  lua_pop(L, 3);
}

int hr_walk(lua_State *L) {
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
       pm_init(&w.roots, 16) && pm_init(&w.fresh, 16) && pm_init(&w.restart, 4);
  ok = ok && fill_set(L, 1, &w.refs, 1) && fill_set(L, 3, &w.skip, 0) &&
       fill_set(L, 4, &w.active, 0);
  if (ok && lua_type(L, 7) == LUA_TTABLE) {
    lua_pushnil(L);
    while (ok && lua_next(L, 7) != 0) {
      LClosure *h = lclosure_at(L, -2);
      if (h != NULL && !pm_put(&w.handled, HR_PROTO(h), (void *)1)) ok = 0;
      lua_pop(L, 1);
    }
  }
  n = HR_LEN(L, 2);
  for (i = 1; ok && i <= n; i++) {
    LClosure *o, *nw;
    root_pair(L, i, &o, &nw);
    if (o != NULL && !pm_put(&w.handled, HR_PROTO(o), (void *)1)) ok = 0;
    if (ok && nw != NULL && !pm_put(&w.roots, HR_PROTO(nw), nw)) ok = 0;
  }
  for (i = 1; ok && i <= n; i++) {
    LClosure *o, *nw;
    root_pair(L, i, &o, &nw);
    if (o != NULL && nw != NULL) hr_pair_protos(&w, HR_PROTO(o), HR_PROTO(nw), 1, 0);
  }
  if (ok && !w.oom && w.protos.count > 0) ok = make_partners(&w);
  if (!ok || w.oom) {
    walk_free(&w);
    return luaL_error(L, "hot reload: out of memory");
  }
  lua_createtable(L, 0, 12);
  if (w.refs.count > 0 || w.protos.count > 0) {
    size_t k, known_running = w.active.count;
    visit_all(&w);
    if (w.active.count > known_running) take_back_running(&w);
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
  if (!w.oom) {
    size_t k;
    luaL_checkstack(L, 6, "hot reload");
    for (k = 0; k <= w.restart.mask; k++) {
      if (w.restart.slots[k].k == NULL) continue;
      push_lclosure(L, (LClosure *)w.restart.slots[k].k);
      push_lclosure(L, (LClosure *)w.restart.slots[k].v);
      hr_restart_note(L, -2, -1);
      lua_pop(L, 2);
    }
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

#endif /* HR_NATIVE_BACKEND */
