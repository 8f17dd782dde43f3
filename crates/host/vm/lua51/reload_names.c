/*
** What names a nested function in its parent's code, for Lua 5.1 (the
** pairing of shared/reload_pair.c): OP_CLOSURE is followed by one
** pseudo-instruction per upvalue (MOVE: a local of the enclosing call;
** GETUPVAL: one of its upvalues), then the local the closure is stored in
** becomes active, or the instruction that stores it comes (SETTABLE with a
** constant key, SETGLOBAL, SETUPVAL, RETURN).
*/

#include "reload.h"

/* The constant RK operand `rk` names, or NULL when it is a register. */
static const TValue *rk_constant(const Proto *p, int rk) {
  if (!ISK(rk) || INDEXK(rk) >= p->sizek) return NULL;
  return &p->k[INDEXK(rk)];
}

/* The pc of the instruction after the OP_CLOSURE at `pc` and its
   pseudo-instructions. */
static int after_closure(const Proto *p, int pc) {
  Instruction ins = HR_CODE_AT(p, pc);
  int bx = GETARG_Bx(ins);
  return pc + 1 + (bx < p->sizep ? p->p[bx]->nups : 0);
}

void hr_closure_name(const Proto *p, int pc, ChildName *out) {
  int a = GETARG_A(HR_CODE_AT(p, pc)), at = after_closure(p, pc);
  Instruction next;
  const TValue *key;
  out->kind = NK_NONE;
  out->n = 0;
  out->s = hr_local_name(p, a + 1, at);
  if (out->s != NULL) {
    out->kind = NK_LOCAL;
    return;
  }
  if (at >= p->sizecode) return;
  next = HR_CODE_AT(p, at);
  switch (GET_OPCODE(next)) {
    case OP_SETTABLE:
      if (GETARG_C(next) != a) break;
      key = rk_constant(p, GETARG_B(next));
      if (key == NULL) break;
      if (ttisstring(key)) {
        out->s = HR_KSTRING(key);
        out->kind = NK_FIELD;
      } else if (ttisnumber(key)) {
        out->kind = NK_INDEX;
        out->n = (lua_Integer)nvalue(key);
      }
      break;
    case OP_SETGLOBAL:
      if (GETARG_A(next) == a && GETARG_Bx(next) < p->sizek && ttisstring(&p->k[GETARG_Bx(next)])) {
        out->s = HR_KSTRING(&p->k[GETARG_Bx(next)]);
        out->kind = NK_GLOBAL;
      }
      break;
    case OP_SETUPVAL:
      if (GETARG_A(next) == a && GETARG_B(next) < p->sizeupvalues) {
        out->s = p->upvalues[GETARG_B(next)];
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

/* Read from the pseudo-instruction for upvalue `i` after the parent's
   OP_CLOSURE of `p`. */
int hr_upvalue_source(const Proto *parent, const Proto *p, int i, int *instack, int *idx) {
  int pc, bx;
  if (parent == NULL || i < 0 || i >= p->nups) return 0;
  for (bx = 0; bx < parent->sizep && parent->p[bx] != p; bx++) {
  }
  if (bx == parent->sizep) return 0;
  for (pc = 0; pc < parent->sizecode; pc++) {
    Instruction ins = HR_CODE_AT(parent, pc);
    if (GET_OPCODE(ins) == OP_CLOSURE && GETARG_Bx(ins) == bx) {
      Instruction pseudo;
      if (pc + 1 + i >= parent->sizecode) return 0;
      pseudo = HR_CODE_AT(parent, pc + 1 + i);
      *instack = GET_OPCODE(pseudo) == OP_MOVE;
      *idx = GETARG_B(pseudo);
      return 1;
    }
  }
  return 0;
}
