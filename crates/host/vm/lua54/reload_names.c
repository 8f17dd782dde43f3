/*
** What names a nested function in its parent's code, for Lua 5.4 (the
** pairing of shared/reload_pair.c): the local the new closure is stored
** in, or the instruction right after OP_CLOSURE (SETFIELD, SETTABUP,
** SETUPVAL, SETI, RETURN1, RETURN).
*/

#include "reload.h"

static TString *short_key(const Proto *f, int k) {
  if (k < 0 || k >= f->sizek || !ttisstring(&f->k[k])) return NULL;
  return tsvalue(&f->k[k]);
}

void hr_closure_name(const Proto *p, int pc, ChildName *out) {
  int a = GETARG_A(hr_code_at(p, pc));
  Instruction next;
  out->kind = NK_NONE;
  out->n = 0;
  out->s = hr_local_name(p, a + 1, pc + 1);
  if (out->s != NULL) {
    out->kind = NK_LOCAL;
    return;
  }
  if (pc + 1 >= p->sizecode) return;
  next = hr_code_at(p, pc + 1);
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

int hr_upvalue_source(const Proto *parent, const Proto *p, int i, int *instack, int *idx) {
  (void)parent; /* the prototype says it */
  if (i < 0 || i >= p->sizeupvalues) return 0;
  *instack = p->upvalues[i].instack;
  *idx = p->upvalues[i].idx;
  return 1;
}
