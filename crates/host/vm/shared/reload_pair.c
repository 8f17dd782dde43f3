/*
** Pairing the nested functions of two versions of a function, before a reference pass (reload_heap.c): by name first (the local, field,
** global or upvalue they are stored in, or their return slot), then the
** unnamed ones by place when their closures could run the new code.
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/*
** For each upvalue of `np`, the index of the upvalue of `op` with the same
** name; 0 when some name has no partner (or the counts differ).
*/
int hr_upvalue_permutation(const Proto *op, const Proto *np, int *perm) {
  int i, j;
  if (op->HR_NUPS_FIELD != np->HR_NUPS_FIELD) return 0;
  for (i = 0; i < np->HR_NUPS_FIELD; i++) {
    TString *name = HR_UPVAL_NAME(np, i);
    if (name == NULL) {
      perm[i] = i; /* stripped: by position */
      continue;
    }
    for (j = 0; j < op->HR_NUPS_FIELD; j++)
      if (same_name(HR_UPVAL_NAME(op, j), name)) break;
    if (j == op->HR_NUPS_FIELD) return 0;
    perm[i] = j;
  }
  return 1;
}

#ifndef HR_OWN_LOCAL_NAMES /* else in <vm>/reload_names.c */
/* Name of the `n`th local active at `pc` (luaF_getlocalname, as a TString). */
TString *hr_local_name(const Proto *f, int n, int pc) {
  int i;
  for (i = 0; i < f->sizelocvars && f->locvars[i].startpc <= pc; i++) {
    if (pc < f->locvars[i].endpc) {
      n--;
      if (n == 0) return f->locvars[i].varname;
    }
  }
  return NULL;
}
#endif

#ifndef HR_PROTO_SAME /* else the VM's own (reload_vm.h) */
/* Same code, constants, upvalues and nested functions. */
static int proto_same(const Proto *a, const Proto *b) {
  int i;
  if (a == b) return 1;
  if (a->numparams != b->numparams || a->is_vararg != b->is_vararg ||
      a->sizecode != b->sizecode || a->sizek != b->sizek ||
      a->sizep != b->sizep || a->HR_NUPS_FIELD != b->HR_NUPS_FIELD)
    return 0;
  if (!HR_CODE_EQUAL(a, b)) return 0; /* without breakpoint traps */
  for (i = 0; i < a->sizek; i++)
    if (!HR_RAWEQUAL(&a->k[i], &b->k[i]) ||
        HR_TTAG(&a->k[i]) != HR_TTAG(&b->k[i]))
      return 0;
  for (i = 0; i < a->HR_NUPS_FIELD; i++)
    if (!HR_PROTO_SAME_UPVAL(a, b, i) || !same_name(HR_UPVAL_NAME(a, i), HR_UPVAL_NAME(b, i)))
      return 0;
  for (i = 0; i < a->sizep; i++)
    if (!proto_same(a->p[i], b->p[i])) return 0;
  return 1;
}
#define HR_PROTO_SAME(L, a, b) proto_same(a, b)
#endif

/* Could a closure of `a` run the code of `b`? Same parameters, same upvalues. */
static int proto_compatible(const Proto *a, const Proto *b) {
  int perm[HR_MAXUPVAL + 1];
  return a->numparams == b->numparams && HR_IS_VARARG(a) == HR_IS_VARARG(b) &&
         hr_upvalue_permutation(a, b, perm);
}

/* Marks "an old nested function with no partner in the new version". */
char hr_unmatched_mark;

static void mark_unmatched(Walk *w, Proto *po) {
  if (pm_get(&w->handled, po) != NULL || pm_get(&w->protos, po) != NULL) return;
  if (!pm_put(&w->protos, po, UNMATCHED)) w->oom = 1;
}

static int name_eq(const ChildName *x, const ChildName *y) {
  return x->kind != NK_NONE && x->kind == y->kind && x->n == y->n &&
         (x->s == NULL ? y->s == NULL : y->s != NULL && same_name(x->s, y->s));
}

/* How many functions are nested in `p`. */
static int nested_count(const Proto *p) {
  int i, n = 0;
  for (i = 0; i < HR_NESTED_N(p); i++)
    if (HR_NESTED(p, i) != NULL) n++;
  return n;
}

/* names[i] for each nested function HR_NESTED(p, i); ambiguous names are
   dropped. */
static void child_names(const Proto *p, ChildName *names) {
  int pc, i, j, np = HR_NESTED_N(p);
  for (i = 0; i < np; i++) {
    names[i].kind = NK_NONE;
    names[i].s = NULL;
    names[i].n = 0;
  }
  for (pc = 0; pc < HR_SIZECODE(p); pc++) {
    int slot = HR_CLOSURE_SLOT(HR_CODE_AT(p, pc));
    if (slot >= 0 && slot < np) hr_closure_name(p, pc, &names[slot]);
  }
  for (i = 0; i < np; i++) {
    int dup = 0;
    if (names[i].kind == NK_NONE || names[i].kind == -1) continue;
    for (j = i + 1; j < np; j++) {
      if (name_eq(&names[i], &names[j])) {
        names[j].kind = -1;
        dup = 1;
      }
    }
    if (dup) names[i].kind = -1;
  }
  for (i = 0; i < np; i++)
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
#define COMPAT(a, b) proto_compatible(HR_NESTED(po, uo[a]), HR_NESTED(pn, un[b]))
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
void hr_pair_protos(Walk *w, Proto *po, Proto *pn, int root, int depth) {
  int no = HR_NESTED_N(po), nn = HR_NESTED_N(pn), i, j, paired = 0, nuo = 0, nun = 0;
  ChildName *on, *nnm;
  int *match, *uo, *un;
  char *used;
  if (depth > 200 || HR_PROTO_SAME(w->L, po, pn)) return;
  if (!root) {
    if (pm_get(&w->handled, po) != NULL || pm_get(&w->protos, po) != NULL) return;
    if (!pm_put(&w->protos, po, pn)) {
      w->oom = 1;
      return;
    }
  }
  if (no == 0 || nn == 0) {
    if (HR_LINEDEFINED(po) == 0) w->added += nested_count(pn);
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
  /* Left to pairing by place: the unnamed, and the named ones whose name
     the other version does not give (a name that became ambiguous there,
     e.g. a second method of the same name added or removed). */
  for (i = 0; i < no; i++)
    if (match[i] < 0 && HR_NESTED(po, i) != NULL) uo[nuo++] = i;
  for (j = 0; j < nn; j++)
    if (!used[j] && HR_NESTED(pn, j) != NULL) un[nun++] = j;
  if (!pair_unnamed(w, po, pn, uo, nuo, un, nun, match)) goto done;
  for (i = 0; i < no; i++) {
    if (HR_NESTED(po, i) == NULL) continue; /* a slot that holds no function */
    if (match[i] < 0) {
      mark_unmatched(w, HR_NESTED(po, i));
      continue;
    }
    paired++;
    if (!pm_put(&w->parents, HR_NESTED(pn, match[i]), pn)) {
      w->oom = 1;
      break;
    }
    hr_pair_protos(w, HR_NESTED(po, i), HR_NESTED(pn, match[i]), 0, depth + 1);
  }
  if (HR_LINEDEFINED(po) == 0 && nested_count(pn) > paired) w->added += nested_count(pn) - paired;
done:
  free(on);
  free(nnm);
  free(match);
  free(uo);
  free(un);
  free(used);
}

#endif /* HR_NATIVE_BACKEND */
