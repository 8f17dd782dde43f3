/*
** What names a nested function in its parent's code, for Lua 5.3 (and 5.2,
** which includes this file): the local the new closure is stored in, or
** the instruction right after OP_CLOSURE (SETTABLE with a constant key,
** SETTABUP, SETUPVAL, RETURN). See shared/reload_pair.c.
*/

#include "reload.h"

/* The constant RK operand `rk` names, or NULL when it is a register. */
static const TValue *rk_constant(const Proto *p, int rk) {
  if (!ISK(rk) || INDEXK(rk) >= p->sizek) return NULL;
  return &p->k[INDEXK(rk)];
}

void hr_closure_name(const Proto *p, int pc, ChildName *out) {
  int a = GETARG_A(hr_code_at(p, pc));
  Instruction next;
  const TValue *key;
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
    case OP_SETTABLE:
    case OP_SETTABUP:
      if (GETARG_C(next) != a) break;
      key = rk_constant(p, GETARG_B(next));
      if (key == NULL) break;
      if (ttisstring(key)) {
        out->s = HR_KSTRING(key);
        out->kind = GET_OPCODE(next) == OP_SETTABLE ? NK_FIELD : NK_GLOBAL;
      }
#if LUA_VERSION_NUM >= 503
      else if (ttisinteger(key) && GET_OPCODE(next) == OP_SETTABLE) {
        out->kind = NK_INDEX;
        out->n = ivalue(key);
      }
#else
      else if (ttisnumber(key) && GET_OPCODE(next) == OP_SETTABLE) {
        out->kind = NK_INDEX;
        out->n = (lua_Integer)nvalue(key);
      }
#endif
      break;
    case OP_SETUPVAL:
      if (GETARG_A(next) == a && GETARG_B(next) < p->sizeupvalues) {
        out->s = p->upvalues[GETARG_B(next)].name;
        if (out->s != NULL) out->kind = NK_UPVAL;
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
