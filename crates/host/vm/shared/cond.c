/*
 * Breakpoint conditions evaluated at the trap, without calling the
 * debugger: a condition in a small subset of Lua expressions is compiled
 * once per trap (its names resolved to the frame's registers, the
 * function's upvalues or its _ENV's fields at that instruction; on 5.1 and
 * LuaJIT, the fields of the function's environment) and run on
 * the VM's values. It only filters: when it is surely false the trap goes
 * on at once; when it is true, or anything is uncertain (a metamethod
 * could run, a value of an unknown kind, a string order), the debugger's
 * hook is called and evaluates the condition in full, as before.
 *
 * The subset: nil, true, false, numbers, strings without escapes, names,
 * `.name` and `[expr]` on tables, `not`, unary `-`, `#`, `+ - *`,
 * `== ~= < <= > >=`, `and`, `or`, parentheses. Anything else (calls,
 * `..`, `/`, methods) leaves the condition to the debugger.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"

#include "traps.h"

#define MAX_OPS 64
#define MAX_DEPTH 16

struct HrCond {
  int n;
  /* `local <cmp> constant`, the commonest condition, as one step: its
     comparison (C_EQ .. C_GE), else 0. */
  int fused;
  HrOp ops[MAX_OPS];
};

/* ---- Compiling ---- */

typedef struct Parser {
  lua_State *L;
  const Proto *p;
  int pc;
  const char *s;
  int failed;
  struct HrCond *c;
  char tok[64];
  int toklen;
  int kind;  /* 'n' name, '1' number, 's' string, or the symbol's char */
  HrVal num;
} Parser;

/* Two-character symbols as one char. */
#define T_EQ 'E'
#define T_NE 'N'
#define T_LE 'L'
#define T_GE 'G'
#define T_END 0

static void next (Parser *P) {
  const char *s = P->s;
  while (*s == ' ' || *s == '\t') s++;
  P->toklen = 0;
  if (*s == '\0') { P->kind = T_END; P->s = s; return; }
  if (isalpha((unsigned char)*s) || *s == '_') {
    while (isalnum((unsigned char)*s) || *s == '_') {
      if (P->toklen >= (int)sizeof(P->tok) - 1) { P->failed = 1; break; }
      P->tok[P->toklen++] = *s++;
    }
    P->tok[P->toklen] = '\0';
    P->kind = 'n';
  }
  else if (isdigit((unsigned char)*s)) {
    char *end;
    const char *start = s;
    long long i;
    while (isalnum((unsigned char)*s) || *s == '.') s++;
    if (s - start >= (long)sizeof(P->tok)) { P->failed = 1; P->s = s; return; }
    memcpy(P->tok, start, (size_t)(s - start));
    P->tok[s - start] = '\0';
    i = strtoll(P->tok, &end, 10);
    if (*end == '\0' && strchr(P->tok, 'x') == NULL && strchr(P->tok, 'X') == NULL &&
        s - start < 18) {
      P->num.t = HV_INT; P->num.i = (lua_Integer)i;
    }
    else {
      double d = strtod(P->tok, &end);
      if (*end != '\0' || strchr(P->tok, 'x') || strchr(P->tok, 'X')) P->failed = 1;
      P->num.t = HV_FLT; P->num.n = (lua_Number)d;
    }
    P->kind = '1';
  }
  else if (*s == '"' || *s == '\'') {
    char q = *s++;
    while (*s != q) {
      if (*s == '\0' || *s == '\\' || *s == '\n' || P->toklen >= (int)sizeof(P->tok) - 1) {
        P->failed = 1; P->s = s; return;
      }
      P->tok[P->toklen++] = *s++;
    }
    s++;
    P->tok[P->toklen] = '\0';
    P->kind = 's';
  }
  else {
    char c = *s++;
    P->kind = c;
    if (c == '=' && *s == '=') { s++; P->kind = T_EQ; }
    else if (c == '~' && *s == '=') { s++; P->kind = T_NE; }
    else if (c == '<' && *s == '=') { s++; P->kind = T_LE; }
    else if (c == '>' && *s == '=') { s++; P->kind = T_GE; }
    else if (!strchr("<>+-*()[].#", c)) P->failed = 1;
    else if (c == '.' && *s == '.') P->failed = 1;  /* concatenation */
  }
  P->s = s;
}

static int is_word (Parser *P, const char *w) {
  return P->kind == 'n' && strcmp(P->tok, w) == 0;
}

static int emit (Parser *P, int op, int arg) {
  HrOp *o;
  if (P->c->n >= MAX_OPS) { P->failed = 1; return 0; }
  o = &P->c->ops[P->c->n];
  o->op = op;
  o->arg = arg;
  o->k.t = HV_NIL;
  return P->c->n++;
}

/* The strings the conditions name, made before traps are placed (placing
   them then allocates nothing in the VM: the collector's list it walks
   stays as it is). */
typedef struct Prepared {
  size_t len;
  const void *ts;
  char text[64];
} Prepared;

static Prepared *prepared = NULL;
static int nprepared = 0, prepared_cap = 0;

static const void *prepared_string (const char *s, size_t len) {
  int k;
  for (k = 0; k < nprepared; k++)
    if (prepared[k].len == len && memcmp(prepared[k].text, s, len) == 0)
      return prepared[k].ts;
  return NULL;
}

static void prepare_string (lua_State *L, const char *s, size_t len) {
  const void *ts;
  if (len >= sizeof(prepared[0].text) || prepared_string(s, len) != NULL) return;
  if (nprepared == prepared_cap) {
    int cap = prepared_cap ? prepared_cap * 2 : 32;
    Prepared *grown = (Prepared *)realloc(prepared, sizeof(Prepared) * (size_t)cap);
    if (grown == NULL) return;
    prepared = grown;
    prepared_cap = cap;
  }
  ts = hr_vm_keep_string(L, s, len);
  if (ts == NULL) return;
  prepared[nprepared].len = len;
  prepared[nprepared].ts = ts;
  memcpy(prepared[nprepared].text, s, len);
  nprepared++;
}

static void emit_string (Parser *P, int op) {
  int at = emit(P, op, 0);
  const void *ts;
  if (P->failed) return;
  ts = prepared_string(P->tok, (size_t)P->toklen);
  if (ts == NULL) { P->failed = 1; return; }
  P->c->ops[at].k.t = HV_STR;
  P->c->ops[at].k.p = ts;
}

/* The register of local `name` at the trap (the innermost), or -1. */
static int local_register (const Parser *P, const char *name) {
  int n, reg = -1;
  const char *local;
  for (n = 1; (local = hr_vm_local_name(P->p, n, P->pc)) != NULL; n++)
    if (strcmp(local, name) == 0) reg = n - 1;
  return reg;
}

static int upvalue_index (const Parser *P, const char *name) {
  int i;
  for (i = 0; i < hr_vm_upvalue_count(P->p); i++) {
    const char *up = hr_vm_upvalue_name(P->p, i);
    if (up != NULL && strcmp(up, name) == 0) return i;
  }
  return -1;
}

static void expr (Parser *P);

static void name (Parser *P) {
  int reg = local_register(P, P->tok), up;
  if (reg >= 0) { emit(P, C_LOCAL, reg); next(P); return; }
  up = upvalue_index(P, P->tok);
  if (up >= 0) { emit(P, C_UPVAL, up); next(P); return; }
#ifdef HR_FENV
  /* A global: a field of the function's environment (a local or upvalue
     named _ENV is an ordinary variable here). */
  emit(P, C_ENV, 0);
#else
  /* A global: a field of the function's _ENV. */
  reg = local_register(P, "_ENV");
  if (reg >= 0) emit(P, C_LOCAL, reg);
  else if ((up = upvalue_index(P, "_ENV")) >= 0) emit(P, C_UPVAL, up);
  else { P->failed = 1; return; }
#endif
  emit_string(P, C_FIELD);
  next(P);
}

static void primary (Parser *P) {
  if (P->failed) return;
  if (is_word(P, "nil")) { emit(P, C_K, 0); next(P); }
  else if (is_word(P, "true") || is_word(P, "false")) {
    int at = emit(P, C_K, 0);
    if (!P->failed) { P->c->ops[at].k.t = HV_BOOL; P->c->ops[at].k.i = P->tok[0] == 't'; }
    next(P);
  }
  else if (is_word(P, "and") || is_word(P, "or") || is_word(P, "not") ||
           is_word(P, "function") || is_word(P, "end"))
    P->failed = 1;
  else if (P->kind == 'n') name(P);
  else if (P->kind == '1') {
    int at = emit(P, C_K, 0);
    if (!P->failed) P->c->ops[at].k = P->num;
    next(P);
  }
  else if (P->kind == 's') { emit_string(P, C_K); next(P); }
  else if (P->kind == '(') {
    next(P);
    expr(P);
    if (P->kind != ')') P->failed = 1;
    next(P);
  }
  else P->failed = 1;
  /* Suffixes: fields and indexes (a call is not in the subset). */
  while (!P->failed) {
    if (P->kind == '.') {
      next(P);
      if (P->kind != 'n') { P->failed = 1; return; }
      emit_string(P, C_FIELD);
      next(P);
    }
    else if (P->kind == '[') {
      next(P);
      expr(P);
      if (P->kind != ']') { P->failed = 1; return; }
      emit(P, C_INDEX, 0);
      next(P);
    }
    else if (P->kind == '(' || P->kind == 's' || P->kind == ':') { P->failed = 1; return; }
    else return;
  }
}

static void unary (Parser *P) {
  if (is_word(P, "not")) { next(P); unary(P); emit(P, C_NOT, 0); }
  else if (P->kind == '-') { next(P); unary(P); emit(P, C_NEG, 0); }
  else if (P->kind == '#') { next(P); unary(P); emit(P, C_LEN, 0); }
  else primary(P);
}

static void product (Parser *P) {
  unary(P);
  while (!P->failed && P->kind == '*') { next(P); unary(P); emit(P, C_MUL, 0); }
}

static void sum (Parser *P) {
  product(P);
  while (!P->failed && (P->kind == '+' || P->kind == '-')) {
    int op = P->kind == '+' ? C_ADD : C_SUB;
    next(P);
    product(P);
    emit(P, op, 0);
  }
}

static void comparison (Parser *P) {
  sum(P);
  while (!P->failed) {
    int op;
    switch (P->kind) {
      case T_EQ: op = C_EQ; break;
      case T_NE: op = C_NE; break;
      case '<': op = C_LT; break;
      case T_LE: op = C_LE; break;
      case '>': op = C_GT; break;
      case T_GE: op = C_GE; break;
      default: return;
    }
    next(P);
    sum(P);
    emit(P, op, 0);
  }
}

static void conjunction (Parser *P) {
  comparison(P);
  while (!P->failed && is_word(P, "and")) {
    int jump = emit(P, C_JF, 0);
    next(P);
    comparison(P);
    if (!P->failed) P->c->ops[jump].arg = P->c->n;
  }
}

static void expr (Parser *P) {
  conjunction(P);
  while (!P->failed && is_word(P, "or")) {
    int jump = emit(P, C_JT, 0);
    next(P);
    conjunction(P);
    if (!P->failed) P->c->ops[jump].arg = P->c->n;
  }
}

void hr_cond_prepare (lua_State *L, const char *const *texts, int n) {
  int k;
  nprepared = 0;
  hr_vm_forget_strings(L);
  for (k = 0; k < n; k++) {
    Parser P;
    if (texts[k] == NULL) continue;
    P.L = L;
    P.s = texts[k];
    P.failed = 0;
    for (next(&P); !P.failed && P.kind != T_END; next(&P))
      if (P.kind == 'n' || P.kind == 's') prepare_string(L, P.tok, (size_t)P.toklen);
  }
  prepare_string(L, "_ENV", 4);
}

struct HrCond *hr_cond_compile (lua_State *L, const Proto *p, int pc, const char *text) {
  Parser P;
  P.L = L;
  P.p = p;
  P.pc = pc;
  P.s = text;
  P.failed = 0;
  P.c = (struct HrCond *)malloc(sizeof(struct HrCond));
  if (P.c == NULL) return NULL;
  P.c->n = 0;
  next(&P);
  expr(&P);
  if (P.failed || P.kind != T_END || P.c->n == 0) {
    free(P.c);
    return NULL;
  }
  P.c->fused = 0;
  if (P.c->n == 3 && P.c->ops[0].op == C_LOCAL && P.c->ops[1].op == C_K &&
      P.c->ops[2].op >= C_EQ && P.c->ops[2].op <= C_GE)
    P.c->fused = P.c->ops[2].op;
  return P.c;
}

void hr_cond_free (struct HrCond *c) {
  free(c);
}

int hr_cond_ops (const struct HrCond *c, const HrOp **ops) {
  *ops = c->ops;
  return c->n;
}

/* ---- Running ---- */

/* Not a value compare_numbers, equal or compare give (-1 is "less"). */
#define UNKNOWN (-9)

static int truthy (const HrVal *v) {
  return !(v->t == HV_NIL || (v->t == HV_BOOL && v->i == 0));
}

static int is_number (const HrVal *v) {
  return v->t == HV_INT || v->t == HV_FLT;
}

/* An integer as a float, when exactly (|i| <= 2^53). */
static int exact_float (lua_Integer i, lua_Number *out) {
  if (i < -((lua_Integer)1 << 53) || i > ((lua_Integer)1 << 53)) return 0;
  *out = (lua_Number)i;
  return 1;
}

/* -1 less, 0 equal, 1 greater, 2 unordered (NaN), UNKNOWN. */
static int compare_numbers (const HrVal *a, const HrVal *b) {
  lua_Number x, y;
  if (a->t == HV_INT && b->t == HV_INT)
    return a->i < b->i ? -1 : a->i > b->i;
  if (a->t == HV_FLT) x = a->n;
  else if (!exact_float(a->i, &x)) return UNKNOWN;
  if (b->t == HV_FLT) y = b->n;
  else if (!exact_float(b->i, &y)) return UNKNOWN;
  if (x < y) return -1;
  if (x > y) return 1;
  if (x == y) return 0;
  return 2;
}

/* 1 equal, 0 not, UNKNOWN (an __eq could answer). */
static int equal (const HrVal *a, const HrVal *b) {
  if (is_number(a) && is_number(b)) {
    int c = compare_numbers(a, b);
    return c == UNKNOWN ? UNKNOWN : c == 0;
  }
  if (a->t != b->t) return 0;
  switch (a->t) {
    case HV_NIL: return 1;
    case HV_BOOL: return a->i == b->i;
    case HV_STR: {
      size_t la, lb;
      const char *sa, *sb;
      if (a->p == b->p) return 1;
      sa = hr_vm_string(a->p, &la);
      sb = hr_vm_string(b->p, &lb);
      return la == lb && memcmp(sa, sb, la) == 0;
    }
    default: return a->p == b->p ? 1 : UNKNOWN;
  }
}

static int arith (int op, const HrVal *a, const HrVal *b, HrVal *out) {
  if (!is_number(a) || !is_number(b)) return 0;  /* strings coerce, tables have __add */
  if (a->t == HV_INT && b->t == HV_INT) {
    unsigned long long x = (unsigned long long)a->i, y = (unsigned long long)b->i;
    out->t = HV_INT;  /* integers wrap around, as in Lua */
    out->i = (lua_Integer)(op == C_ADD ? x + y : op == C_SUB ? x - y : x * y);
  }
  else {
    lua_Number x = a->t == HV_FLT ? a->n : (lua_Number)a->i;
    lua_Number y = b->t == HV_FLT ? b->n : (lua_Number)b->i;
    out->t = HV_FLT;
    out->n = op == C_ADD ? x + y : op == C_SUB ? x - y : x * y;
  }
  return 1;
}

/* a <op> b for a comparison op: 1 true, 0 false, UNKNOWN. */
static int compare (int op, const HrVal *a, const HrVal *b) {
  int r;
  if (op == C_EQ || op == C_NE) {
    r = equal(a, b);
    return r == UNKNOWN ? UNKNOWN : op == C_EQ ? r : !r;
  }
  if (!is_number(a) || !is_number(b)) return UNKNOWN;  /* strings: locale order */
  r = compare_numbers(a, b);
  if (r == UNKNOWN) return UNKNOWN;
  if (r == 2) return 0;  /* NaN */
  return op == C_LT ? r < 0 : op == C_LE ? r <= 0 : op == C_GT ? r > 0 : r >= 0;
}

int hr_cond_false (lua_State *L, const struct HrCond *c) {
  HrVal st[MAX_DEPTH];
  int sp = 0, at = 0;
  if (c->fused) {
    hr_vm_local(L, c->ops[0].arg, &st[0]);
    return compare(c->fused, &st[0], &c->ops[1].k) == 0;
  }
  while (at < c->n) {
    const HrOp *o = &c->ops[at++];
    HrVal *a;
    int r;
    switch (o->op) {
      case C_K: case C_LOCAL: case C_UPVAL:
        if (sp >= MAX_DEPTH) return 0;
        if (o->op == C_K) st[sp] = o->k;
        else if (o->op == C_LOCAL) { if (!hr_vm_local(L, o->arg, &st[sp])) return 0; }
        else if (!hr_vm_upvalue(L, o->arg, &st[sp])) return 0;
        sp++;
        break;
#ifdef HR_FENV
      case C_ENV:
        if (sp >= MAX_DEPTH || !hr_vm_env(L, &st[sp])) return 0;
        sp++;
        break;
#endif
      case C_FIELD:
        if (sp < 1 || !hr_vm_field(&st[sp - 1], &o->k, &st[sp - 1])) return 0;
        break;
      case C_INDEX:
        if (sp < 2 || !hr_vm_field(&st[sp - 2], &st[sp - 1], &st[sp - 2])) return 0;
        sp--;
        break;
      case C_LEN:
        if (sp < 1 || !hr_vm_len(&st[sp - 1], &st[sp - 1])) return 0;
        break;
      case C_NOT:
        if (sp < 1) return 0;
        st[sp - 1].i = !truthy(&st[sp - 1]);
        st[sp - 1].t = HV_BOOL;
        break;
      case C_NEG:
        if (sp < 1) return 0;
        a = &st[sp - 1];
        if (a->t == HV_INT) a->i = (lua_Integer)(0ull - (unsigned long long)a->i);
        else if (a->t == HV_FLT) a->n = -a->n;
        else return 0;
        break;
      case C_ADD: case C_SUB: case C_MUL:
        if (sp < 2 || !arith(o->op, &st[sp - 2], &st[sp - 1], &st[sp - 2])) return 0;
        sp--;
        break;
      case C_EQ: case C_NE: case C_LT: case C_LE: case C_GT: case C_GE:
        if (sp < 2) return 0;
        r = compare(o->op, &st[sp - 2], &st[sp - 1]);
        if (r == UNKNOWN) return 0;
        sp--;
        st[sp - 1].t = HV_BOOL;
        st[sp - 1].i = r;
        break;
      case C_JT: case C_JF:
        if (sp < 1) return 0;
        if (truthy(&st[sp - 1]) == (o->op == C_JT)) at = o->arg;
        else sp--;
        break;
      default:
        return 0;
    }
  }
  return sp == 1 && !truthy(&st[0]);
}
