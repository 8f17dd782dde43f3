/*
** The nested pass for a stock LuaJIT: closures of functions nested in the
** changed ones (the keymaps, autocmds and commands a `setup()` made, the
** products of factories) get the new nested function's code in place,
** found by one pass over the collector's list of objects.
**
** nested(rootpairs, skip, active, handled) -> stats
**   rootpairs[i] = { old, new }: a function whose old code is `old`'s (the
**     clone of an in-place swap, or the old closure) and its new version;
**   skip, active: closures to leave (clones; closures the engine saw
**     running; those with a frame on any thread are found here too);
**   handled: old functions matched by path (their code is not paired again).
** stats: { replaced, running, running_lines, layout, layout_lines,
**   unmatched, unmatched_lines }, the walk statistics of the contract.
**
** Nested functions are paired by name first (the local, field, global or
** upvalue they are stored in, or their return slot), then the unnamed ones
** by place among those with the same parameters and upvalue names. A
** closure keeps its old code when it is running (its frame would return
** into the old bytecode), when its upvalues differ, or when its function
** has no partner; each is counted with its line for the warning.
*/
#include "stock.h"

#define MAX_DEPTH 200
#define UNMATCHED ((void *)&unmatched_mark)
static char unmatched_mark;

/* ---- names of nested functions --------------------------------------- */

/* What names a nested function: the host's reader of LuaJIT bytecode. */
#define HR_LJ_INS(pt, pc) (proto_bc(pt)[pc])
#include "bc_names.h"

/* LJ_NAME_* (bc_names.h), or a name two nested functions share. */
enum { NK_NONE = LJ_NAME_NONE, NK_DUP = LJ_NAME_INDEX + 1 };

typedef struct {
  int kind;
  const char *s;
  uint32_t n;
  GCproto *pt;
} ChildName;

static void name_at(const GCproto *pt, BCPos pc, ChildName *out) {
  hr_lj_fnew_name(pt, pc, &out->kind, &out->s, &out->n);
}

static int name_eq(const ChildName *x, const ChildName *y) {
  return x->kind != NK_NONE && x->kind != NK_DUP && x->kind == y->kind && x->n == y->n &&
         (x->s == NULL ? y->s == NULL : (y->s != NULL && strcmp(x->s, y->s) == 0));
}

/* The nested functions of `pt` in the order they are made, with names;
   ambiguous names are dropped. Returns the count (-1: out of memory). */
static int children(const GCproto *pt, ChildName **out) {
  int n = 0, i, j;
  BCPos pc;
  ChildName *c;
  *out = NULL;
  if (!(pt->flags & PROTO_CHILD)) return 0;
  for (pc = 0; pc < pt->sizebc; pc++)
    if (bc_op(proto_bc(pt)[pc]) == BC_FNEW) n++;
  if (n == 0) return 0;
  c = (ChildName *)calloc((size_t)n, sizeof(ChildName));
  if (c == NULL) return -1;
  i = 0;
  for (pc = 0; pc < pt->sizebc; pc++) {
    BCIns ins = proto_bc(pt)[pc];
    if (bc_op(ins) != BC_FNEW) continue;
    c[i].pt = &proto_kgc(pt, ~(ptrdiff_t)bc_d(ins))->pt;
    name_at(pt, pc, &c[i]);
    i++;
  }
  for (i = 0; i < n; i++) {
    int dup = 0;
    if (c[i].kind == NK_NONE || c[i].kind == NK_DUP) continue;
    for (j = i + 1; j < n; j++)
      if (name_eq(&c[i], &c[j])) c[j].kind = NK_DUP, dup = 1;
    if (dup) c[i].kind = NK_DUP;
  }
  for (i = 0; i < n; i++)
    if (c[i].kind == NK_DUP) c[i].kind = NK_NONE;
  *out = c;
  return n;
}

/* For each upvalue of `np`, the index of `op`'s upvalue of the same name
   (by position when stripped); 0 when they do not correspond. */
static int uv_permutation(const GCproto *op, const GCproto *np, int *perm) {
  int i, j;
  if (op->sizeuv != np->sizeuv) return 0;
  for (i = 0; i < np->sizeuv; i++) {
    const char *name = hr_lj_upvalue_name(np, i);
    if (name == NULL) {
      perm[i] = i;
      continue;
    }
    for (j = 0; j < op->sizeuv; j++) {
      const char *o = hr_lj_upvalue_name(op, j);
      if (o != NULL && strcmp(o, name) == 0) break;
    }
    if (j == op->sizeuv) return 0;
    perm[i] = j;
  }
  return 1;
}

static int compatible(const GCproto *a, const GCproto *b) {
  int perm[LJ_MAX_UPVAL + 1];
  return a->numparams == b->numparams &&
         (a->flags & PROTO_VARARG) == (b->flags & PROTO_VARARG) && uv_permutation(a, b, perm);
}

/* ---- pairing ---------------------------------------------------------- */

typedef struct {
  HrMap protos;  /* old nested proto -> new proto, or UNMATCHED */
  HrMap handled; /* protos of functions matched by path */
  int oom;
} Pairing;

static void mark_unmatched(Pairing *w, GCproto *po) {
  if (hr_map_get(&w->handled, po) != NULL || hr_map_get(&w->protos, po) != NULL) return;
  if (!hr_map_put(&w->protos, po, UNMATCHED)) w->oom = 1;
}

/* Pairs the unnamed ones by the longest common subsequence of compatible
   pairs: a guess by place, taken only where the closure could run it. */
static void pair_unnamed(Pairing *w, ChildName *oc, const int *uo, int no, ChildName *nc,
                         const int *un, int nn, int *match) {
  int *dp, i, j;
  if (no == 0 || nn == 0 || (size_t)no * (size_t)nn > (1u << 20)) return;
  dp = (int *)calloc((size_t)(no + 1) * (size_t)(nn + 1), sizeof(int));
  if (dp == NULL) {
    w->oom = 1;
    return;
  }
#define DP(x, y) dp[(size_t)(x) * (size_t)(nn + 1) + (size_t)(y)]
#define COMPAT(x, y) compatible(oc[uo[x]].pt, nc[un[y]].pt)
  for (i = no - 1; i >= 0; i--)
    for (j = nn - 1; j >= 0; j--)
      DP(i, j) = COMPAT(i, j) ? DP(i + 1, j + 1) + 1
                              : (DP(i + 1, j) > DP(i, j + 1) ? DP(i + 1, j) : DP(i, j + 1));
  i = j = 0;
  while (i < no && j < nn) {
    if (COMPAT(i, j) && DP(i, j) == DP(i + 1, j + 1) + 1)
      match[uo[i++]] = un[j++];
    else if (DP(i + 1, j) >= DP(i, j + 1))
      i++;
    else
      j++;
  }
#undef COMPAT
#undef DP
  free(dp);
}

static void pair(Pairing *w, GCproto *po, GCproto *pn, int root, int depth) {
  ChildName *oc = NULL, *nc = NULL;
  int no, nn, i, j, nuo = 0, nun = 0;
  int *match = NULL, *uo = NULL, *un = NULL;
  char *used = NULL;
  if (depth > MAX_DEPTH || po == pn) return;
  if (!root) {
    if (hr_map_get(&w->handled, po) != NULL || hr_map_get(&w->protos, po) != NULL) return;
    if (!hr_map_put(&w->protos, po, pn)) {
      w->oom = 1;
      return;
    }
  }
  no = children(po, &oc);
  nn = children(pn, &nc);
  if (no < 0 || nn < 0) {
    w->oom = 1;
    goto done;
  }
  if (no == 0) goto done;
  match = (int *)malloc(sizeof(int) * (size_t)no);
  uo = (int *)malloc(sizeof(int) * (size_t)no);
  un = (int *)malloc(sizeof(int) * (size_t)(nn + 1));
  used = (char *)calloc((size_t)nn + 1, 1);
  if (match == NULL || uo == NULL || un == NULL || used == NULL) {
    w->oom = 1;
    goto done;
  }
  for (i = 0; i < no; i++) {
    match[i] = -1;
    if (oc[i].kind == NK_NONE) continue;
    for (j = 0; j < nn; j++) {
      if (!used[j] && name_eq(&oc[i], &nc[j])) {
        match[i] = j;
        used[j] = 1;
        break;
      }
    }
  }
  for (i = 0; i < no; i++)
    if (oc[i].kind == NK_NONE) uo[nuo++] = i;
  for (j = 0; j < nn; j++)
    if (!used[j] && nc[j].kind == NK_NONE) un[nun++] = j;
  pair_unnamed(w, oc, uo, nuo, nc, un, nun, match);
  for (i = 0; i < no && !w->oom; i++) {
    if (match[i] < 0)
      mark_unmatched(w, oc[i].pt);
    else
      pair(w, oc[i].pt, nc[match[i]].pt, 0, depth + 1);
  }
done:
  free(oc);
  free(nc);
  free(match);
  free(uo);
  free(un);
  free(used);
}

/* ---- the pass over the heap ------------------------------------------- */

/* LuaJIT counts the closures made of each prototype (a saturating 3-bit
   counter in its flags, checked by layout.c). */
#define CLC_MAX 7
static int closures_made(const GCproto *pt) {
  return (pt->flags >> 5) & CLC_MAX;
}

static void count_closures(GCproto *pt, int more) {
  int c = closures_made(pt) + more;
  if (c > CLC_MAX) c = CLC_MAX;
  pt->flags = (uint8_t)((pt->flags & 0x1f) | (c << 5));
}

/* The opcode before the JIT patched it (hot loops and traces). */
static BCOp base_op(BCOp op) {
  switch (op) {
    case BC_JFORI: return BC_FORI;
    case BC_IFORL: case BC_JFORL: return BC_FORL;
    case BC_IITERL: case BC_JITERL: return BC_ITERL;
    case BC_ILOOP: case BC_JLOOP: return BC_LOOP;
    default: return op;
  }
}

/* Same code, constants and nested functions (line numbers aside): closures
   of such a pair need not be found for the code to be right. */
static int proto_same(const GCproto *a, const GCproto *b, int depth) {
  MSize i;
  if (a == b) return 1;
  if (depth > MAX_DEPTH || a->sizebc != b->sizebc || a->sizekgc != b->sizekgc ||
      a->sizekn != b->sizekn || a->sizeuv != b->sizeuv || a->numparams != b->numparams ||
      (a->flags & PROTO_VARARG) != (b->flags & PROTO_VARARG))
    return 0;
  /* from 1: the first instruction is the function header (JIT-patched) */
  for (i = 1; i < a->sizebc; i++) {
    BCIns x = proto_bc(a)[i], y = proto_bc(b)[i];
    if (x == y) continue;
    /* a patched loop keeps its base; its jump or trace number may differ */
    if (bc_op(x) == bc_op(y) || base_op(bc_op(x)) != base_op(bc_op(y)) || bc_a(x) != bc_a(y))
      return 0;
  }
  for (i = 0; i < a->sizeuv; i++)
    if (proto_uv(a)[i] != proto_uv(b)[i]) return 0;
  for (i = 0; i < a->sizekn; i++)
    if (memcmp(&mref(a->k, TValue)[i], &mref(b->k, TValue)[i], sizeof(TValue)) != 0) return 0;
  for (i = 1; i <= a->sizekgc; i++) {
    GCobj *x = proto_kgc(a, -(ptrdiff_t)i), *y = proto_kgc(b, -(ptrdiff_t)i);
    if (x->gch.gct != y->gch.gct) return 0;
    if (x->gch.gct == ~LJ_TPROTO) {
      if (!proto_same(&x->pt, &y->pt, depth + 1)) return 0;
    } else if (x != y) {
      return 0; /* strings are interned; tables and cdata are compared by identity */
    }
  }
  return 1;
}

/* Adds `fn` to the candidates once. */
static int add_candidate(GCfunc ***cand, size_t *ncand, size_t *cap, HrMap *seen, GCfunc *fn) {
  if (hr_map_get(seen, fn) != NULL) return 1;
  if (!hr_map_put(seen, fn, fn)) return 0;
  if (*ncand == *cap) {
    size_t ncap = *cap ? *cap * 2 : 64;
    GCfunc **bigger = (GCfunc **)realloc(*cand, ncap * sizeof(GCfunc *));
    if (bigger == NULL) return 0;
    *cand = bigger;
    *cap = ncap;
  }
  (*cand)[(*ncand)++] = fn;
  return 1;
}

/*
** The closures Neovim holds (keymaps, autocmds, commands, timers: its
** references live in the registry) are found without a pass over the heap
** when, for every paired prototype, as many are found there as LuaJIT
** counted made: then no other closure of them exists. Returns 1 when so.
*/
static int found_in_registry(lua_State *L, HrMap *protos, GCfunc ***cand, size_t *ncand,
                             size_t *cap, HrMap *seen, int *oom) {
  HrMap found;
  size_t i;
  int all = 1;
  if (!hr_map_init(&found, protos->count)) {
    *oom = 1;
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX)) {
    GCfuncL *fn = hr_stock_lclosure(L, -1);
    lua_pop(L, 1);
    if (fn != NULL) {
      GCproto *pt = funcproto((GCfunc *)fn);
      if (hr_map_get(protos, pt) != NULL && hr_map_get(seen, fn) == NULL) {
        uintptr_t n = (uintptr_t)hr_map_get(&found, pt);
        if (!hr_map_put(&found, pt, (void *)(n + 1)) ||
            !add_candidate(cand, ncand, cap, seen, (GCfunc *)fn)) {
          *oom = 1;
          lua_pop(L, 1);
          break;
        }
      }
    }
  }
  for (i = 0; i <= protos->mask && all && !*oom; i++) {
    const GCproto *pt = (const GCproto *)protos->slots[i].k;
    int made;
    if (pt == NULL) continue;
    if (protos->slots[i].v != UNMATCHED && proto_same(pt, (const GCproto *)protos->slots[i].v, 0))
      continue;
    made = closures_made(pt);
    if (made == CLC_MAX || (uintptr_t)hr_map_get(&found, pt) < (uintptr_t)made) all = 0;
  }
  hr_map_free(&found);
  return all && !*oom;
}

/* Every function with a frame on `th`'s stack (the frame walk of
   lj_debug_frame). */
static int note_frames(lua_State *th, HrMap *running) {
  TValue *frame = th->base - 1;
  TValue *bot = tvref(th->stack) + LJ_FR2;
  int guard = 0;
  if (th->base == NULL || tvref(th->stack) == NULL) return 1;
  while (frame > bot && guard++ < 1000000) {
    GCfunc *fn = frame_func(frame);
    if (fn != NULL && isluafunc(fn) && !hr_map_put(running, fn, fn)) return 0;
    frame = frame_islua(frame) ? frame_prevl(frame) : frame_prevd(frame);
  }
  return 1;
}

typedef struct {
  lua_Integer replaced, running, layout, unmatched;
  int heap_pass; /* the closures were searched in the whole heap */
  int running_lines, layout_lines, unmatched_lines; /* stack indexes of the line lists */
} Stats;

static void add_line(lua_State *L, int list, lua_Integer *count, const GCproto *pt) {
  size_t n = lua_objlen(L, list);
  (*count)++;
  if (n < 20) {
    lua_pushinteger(L, (lua_Integer)pt->firstline);
    lua_rawseti(L, list, (int)n + 1);
  }
}

/* In `set` (a Lua table at `idx`)? */
static int in_set(lua_State *L, int idx, GCfunc *fn) {
  int yes;
  if (lua_isnoneornil(L, idx)) return 0;
  setfuncV(L, L->top, fn);
  L->top++;
  lua_rawget(L, idx);
  yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

/*
** Every Lua function with a frame on some thread's stack, suspended
** coroutines included: such a closure must keep its code (a frame returning
** into it reloads its constants through the closure but resumes in the old
** bytecode). Threads are found on the collector's list, which LuaJIT only
** ever prepends to: each search stops at a marker object left at the head
** by the one before, and the threads found earlier are kept in a weak
** table, so a search costs the objects made since the last one.
*/
static const char MARK_KEY[] = "hotreload.luajit_stock.mark";
static const char THREADS_KEY[] = "hotreload.luajit_stock.threads";

int hr_stock_collect_running(lua_State *L, HrMap *running) {
  global_State *g = G(L);
  GCobj *o, *mark;
  int threads, ok = 1;
  luaL_checkstack(L, 8, "hot reload");
  lua_getfield(L, LUA_REGISTRYINDEX, THREADS_KEY);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, THREADS_KEY);
  }
  threads = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, MARK_KEY);
  mark = lua_istable(L, -1) ? (GCobj *)lua_topointer(L, -1) : NULL;
  lua_pop(L, 1);
  for (o = gcref(g->gc.root); o != NULL && o != mark; o = gcref(o->gch.nextgc)) {
    if (o->gch.gct == ~LJ_TTHREAD) {
      setthreadV(L, L->top, &o->th);
      L->top++;
      lua_pushboolean(L, 1);
      lua_rawset(L, threads);
    }
  }
  lua_pushnil(L);
  while (ok && lua_next(L, threads)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TTHREAD) ok = note_frames(lua_tothread(L, -1), running);
  }
  ok = ok && note_frames(L, running) && note_frames(mainthread(g), running);
  lua_pop(L, 1);
  /* The new head: what the next search stops at. */
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, MARK_KEY);
  return ok;
}

int hr_stock_nested(lua_State *L) {
  Pairing w;
  HrMap running;
  GCfunc **cand = NULL;
  size_t ncand = 0, capcand = 0, i;
  GCobj *o;
  Stats s;
  int n, k, result;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 16, "hot reload");
  memset(&s, 0, sizeof(s));
  lua_settop(L, 4);
  lua_createtable(L, 0, 7);
  result = lua_gettop(L);
  lua_newtable(L);
  s.running_lines = lua_gettop(L);
  lua_newtable(L);
  s.layout_lines = lua_gettop(L);
  lua_newtable(L);
  s.unmatched_lines = lua_gettop(L);
  if (!hr_map_init(&w.protos, 64) || !hr_map_init(&w.handled, 64) || !hr_map_init(&running, 64))
    return luaL_error(L, "hot reload: out of memory");
  w.oom = 0;
  if (lua_istable(L, 4)) {
    lua_pushnil(L);
    while (lua_next(L, 4)) {
      lua_pop(L, 1);
      GCfuncL *fn = hr_stock_lclosure(L, -1);
      if (fn != NULL && !hr_map_put(&w.handled, funcproto((GCfunc *)fn), fn)) w.oom = 1;
    }
  }
  n = (int)lua_objlen(L, 1);
  /* The old code of each pair is handled by its pair (a main chunk's
     pairing must not pair it again as a nested function). */
  for (k = 1; k <= n && !w.oom; k++) {
    GCfuncL *of;
    lua_rawgeti(L, 1, k);
    lua_rawgeti(L, -1, 1);
    of = hr_stock_lclosure(L, -1);
    if (of != NULL && !hr_map_put(&w.handled, funcproto((GCfunc *)of), of)) w.oom = 1;
    lua_pop(L, 2);
  }
  for (k = 1; k <= n && !w.oom; k++) {
    GCfuncL *of, *nf;
    lua_rawgeti(L, 1, k);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    of = hr_stock_lclosure(L, -2);
    nf = hr_stock_lclosure(L, -1);
    if (of != NULL && nf != NULL) pair(&w, funcproto((GCfunc *)of), funcproto((GCfunc *)nf), 1, 0);
    lua_pop(L, 3);
  }
  if (w.oom) goto oom;
  if (w.protos.count > 0) {
    global_State *g = G(L);
    HrMap seen;
    int oom = 0;
    if (!hr_map_init(&seen, 64)) goto oom;
    if (!found_in_registry(L, &w.protos, &cand, &ncand, &capcand, &seen, &oom)) {
      if (oom) {
        hr_map_free(&seen);
        goto oom;
      }
      /* One pass over every object for the candidates. */
      s.heap_pass = 1;
      for (o = gcref(g->gc.root); o != NULL; o = gcref(o->gch.nextgc)) {
        /* (a closure found dead may have cells the sweep already freed) */
        if (o->gch.gct == ~LJ_TFUNC && !isdead(g, o)) {
          GCfunc *fn = &o->fn;
          if (!isluafunc(fn) || hr_map_get(&w.protos, funcproto(fn)) == NULL) continue;
          if (!add_candidate(&cand, &ncand, &capcand, &seen, fn)) oom = 1;
        }
        if (oom) break;
      }
    }
    hr_map_free(&seen);
    if (oom || !hr_stock_collect_running(L, &running)) goto oom;
    for (i = 0; i < ncand; i++) {
      GCfunc *fn = cand[i];
      GCproto *op = funcproto(fn), *np;
      void *to = hr_map_get(&w.protos, op);
      int perm[LJ_MAX_UPVAL + 1], kk;
      GCRef cells[LJ_MAX_UPVAL + 1];
      if (in_set(L, 2, fn)) continue;
      if (to == UNMATCHED) {
        add_line(L, s.unmatched_lines, &s.unmatched, op);
        continue;
      }
      np = (GCproto *)to;
      if (hr_map_get(&running, fn) != NULL || in_set(L, 3, fn)) {
        add_line(L, s.running_lines, &s.running, op);
        continue;
      }
      if (fn->l.nupvalues != np->sizeuv || !uv_permutation(op, np, perm)) {
        add_line(L, s.layout_lines, &s.layout, op);
        continue;
      }
      for (kk = 0; kk < np->sizeuv; kk++) cells[kk] = fn->l.uvptr[perm[kk]];
      setmref(fn->l.pc, proto_bc(np));
      HR_STOCK_BARRIER(L, &fn->l, np);
      for (kk = 0; kk < np->sizeuv; kk++) {
        GCupval *uv = &gcref(cells[kk])->uv;
        setgcrefr(fn->l.uvptr[kk], cells[kk]);
        if (!(proto_uv(np)[kk] & PROTO_UV_IMMUTABLE)) uv->immutable = 0;
      }
      count_closures(np, 1);
      s.replaced++;
    }
  }
  free(cand);
  hr_map_free(&w.protos);
  hr_map_free(&w.handled);
  hr_map_free(&running);
  lua_pushinteger(L, s.replaced);
  lua_setfield(L, result, "replaced");
  lua_pushinteger(L, s.running);
  lua_setfield(L, result, "running");
  lua_pushboolean(L, s.heap_pass);
  lua_setfield(L, result, "heap_pass");
  lua_pushvalue(L, s.running_lines);
  lua_setfield(L, result, "running_lines");
  lua_pushinteger(L, s.layout);
  lua_setfield(L, result, "layout");
  lua_pushvalue(L, s.layout_lines);
  lua_setfield(L, result, "layout_lines");
  lua_pushinteger(L, s.unmatched);
  lua_setfield(L, result, "unmatched");
  lua_pushvalue(L, s.unmatched_lines);
  lua_setfield(L, result, "unmatched_lines");
  lua_settop(L, result);
  if (s.replaced > 0) hr_stock_flush(L);
  return 1;
oom:
  free(cand);
  hr_map_free(&w.protos);
  hr_map_free(&w.handled);
  hr_map_free(&running);
  return luaL_error(L, "hot reload: out of memory");
}

/* Adds `pt` and every function nested in it to `set`. */
static int add_tree(HrMap *set, GCproto *pt, int depth) {
  MSize i;
  if (depth > MAX_DEPTH || hr_map_get(set, pt) != NULL) return 1;
  if (!hr_map_put(set, pt, pt)) return 0;
  if (!(pt->flags & PROTO_CHILD)) return 1;
  for (i = 1; i <= pt->sizekgc; i++) {
    GCobj *o = proto_kgc(pt, -(ptrdiff_t)i);
    if (o->gch.gct == ~LJ_TPROTO && !add_tree(set, &o->pt, depth + 1)) return 0;
  }
  return 1;
}

/*
** orphans(chunkname, new_chunk) -> { line, ... }: the closures Neovim holds
** (in the registry) whose code is this file's but belongs to no function of
** the new version and differs from all of them: made by a top level that is
** gone (the one Neovim first ran), no pairing reaches them, they keep their
** old code. Their lines, for the warning.
*/
int hr_stock_orphans(lua_State *L) {
  size_t len, i, n = 0;
  const char *name = luaL_checklstring(L, 1, &len);
  GCfuncL *chunk = hr_stock_lclosure(L, 2);
  HrMap fresh, seen;
  int out;
  luaL_argcheck(L, chunk != NULL, 2, "a Lua function");
  if (!hr_map_init(&fresh, 64) || !hr_map_init(&seen, 16)) {
    hr_map_free(&fresh);
    return luaL_error(L, "hot reload: out of memory");
  }
  if (!add_tree(&fresh, funcproto((GCfunc *)chunk), 0)) {
    hr_map_free(&fresh);
    hr_map_free(&seen);
    return luaL_error(L, "hot reload: out of memory");
  }
  lua_settop(L, 2);
  lua_newtable(L);
  out = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX)) {
    GCfuncL *fn = hr_stock_lclosure(L, -1);
    lua_pop(L, 1);
    if (fn != NULL) {
      GCproto *pt = funcproto((GCfunc *)fn);
      GCstr *cn = proto_chunkname(pt);
      int twin = 0;
      if (pt->firstline == 0 || cn->len != len || memcmp(strdata(cn), name, len) != 0 ||
          hr_map_get(&fresh, pt) != NULL || hr_map_get(&seen, pt) != NULL)
        continue;
      if (!hr_map_put(&seen, pt, pt)) break;
      for (i = 0; i <= fresh.mask && !twin; i++)
        if (fresh.slots[i].k != NULL && proto_same(pt, (const GCproto *)fresh.slots[i].k, 0)) twin = 1;
      if (!twin) {
        lua_pushinteger(L, (lua_Integer)pt->firstline);
        lua_rawseti(L, out, (int)++n);
      }
    }
  }
  hr_map_free(&fresh);
  hr_map_free(&seen);
  lua_settop(L, out);
  return 1;
}
