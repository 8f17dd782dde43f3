/*
** What names a nested function in its parent's bytecode, for LuaJIT: read
** from the prototype's debug info (locals, upvalues) and the instruction
** after the BC_FNEW that makes it. Shared by the host's native backend
** (reload_names.c) and the nested pass for a stock LuaJIT
** (../luajit_stock/nested.c); the includer defines HR_LJ_INS(pt, pc), how
** it reads an instruction (the host's without breakpoint traps).
*/
#ifndef HOTRELOAD_LUAJIT_BC_NAMES_H
#define HOTRELOAD_LUAJIT_BC_NAMES_H

#include <stdint.h>

#include "lj_obj.h"
#include "lj_bc.h"
#include "lj_debug.h"

/* What a name is (the order of reload.h's NK_*). */
enum {
  LJ_NAME_NONE,
  LJ_NAME_LOCAL,
  LJ_NAME_FIELD,
  LJ_NAME_GLOBAL,
  LJ_NAME_UPVAL,
  LJ_NAME_RETURN,
  LJ_NAME_INDEX
};

static inline uint32_t hr_lj_uleb128(const uint8_t **pp) {
  const uint8_t *p = *pp;
  uint32_t v = *p++;
  if (v >= 0x80) {
    int sh = 0;
    v &= 0x7f;
    do {
      v |= ((uint32_t)(*p & 0x7f) << (sh += 7));
    } while (*p++ >= 0x80);
  }
  *pp = p;
  return v;
}

/* The name of the local in `slot` at `pc` (NULL for none or an internal
   one), from the prototype's compressed variable info. */
static inline const char *hr_lj_local_name(const GCproto *pt, BCPos pc, BCReg slot) {
  const uint8_t *p = proto_varinfo(pt);
  BCPos lastpc = 0;
  if (p == NULL) return NULL;
  for (;;) {
    const char *name = (const char *)p;
    uint32_t vn = *p;
    BCPos startpc, endpc;
    if (vn < VARNAME__MAX) {
      if (vn == VARNAME_END) return NULL;
      name = NULL; /* (for), (state) ...: not a name */
    } else {
      while (*++p != 0) {
      }
    }
    p++;
    lastpc = startpc = lastpc + hr_lj_uleb128(&p);
    if (startpc > pc) return NULL;
    endpc = startpc + hr_lj_uleb128(&p);
    if (pc < endpc && slot-- == 0) return name;
  }
}

/* Upvalue k's name, NULL when stripped. */
static inline const char *hr_lj_upvalue_name(const GCproto *pt, int k) {
  const uint8_t *p = proto_uvinfo(pt);
  if (p == NULL) return NULL;
  while (k-- > 0) {
    while (*p++ != 0) {
    }
  }
  return (const char *)p;
}

/* String constant d, or NULL. */
static inline const char *hr_lj_kstr(const GCproto *pt, BCReg d) {
  GCobj *o;
  if (d >= pt->sizekgc) return NULL;
  o = proto_kgc(pt, ~(ptrdiff_t)d);
  return o->gch.gct == ~LJ_TSTR ? strdata(&o->str) : NULL;
}

/* The name of the closure the BC_FNEW at `pc` makes: the local it becomes,
   or what the next instruction stores it in (a field, a global, an
   upvalue, an integer index) or returns it as (its place among the
   results). *kind is LJ_NAME_NONE when
   nothing names it. */
static inline void hr_lj_fnew_name(const GCproto *pt, BCPos pc, int *kind, const char **s,
                                   uint32_t *n) {
  BCReg a = bc_a(HR_LJ_INS(pt, pc));
  BCIns next;
  *kind = LJ_NAME_NONE;
  *s = NULL;
  *n = 0;
  if (pc + 1 >= pt->sizebc) return;
  if ((*s = hr_lj_local_name(pt, pc + 1, a)) != NULL) {
    *kind = LJ_NAME_LOCAL;
    return;
  }
  next = HR_LJ_INS(pt, pc + 1);
  if (bc_op(next) == BC_UCLO) {
    /* A function with closures closes upvalues before it returns: the
       return follows, or is where the (fixed-up) UCLO jumps. */
    ptrdiff_t to = (ptrdiff_t)pc + 2 + bc_j(next);
    next = to > (ptrdiff_t)pc && to < (ptrdiff_t)pt->sizebc ? HR_LJ_INS(pt, (BCPos)to) : 0;
    if (bc_op(next) != BC_RET1 && bc_op(next) != BC_RET) return;
  }
  switch (bc_op(next)) {
    case BC_TSETS:
      if (bc_a(next) == a && (*s = hr_lj_kstr(pt, bc_c(next))) != NULL) *kind = LJ_NAME_FIELD;
      break;
    case BC_GSET:
      if (bc_a(next) == a && (*s = hr_lj_kstr(pt, bc_d(next))) != NULL) *kind = LJ_NAME_GLOBAL;
      break;
    case BC_USETV:
      if (bc_d(next) == a && (*s = hr_lj_upvalue_name(pt, (int)bc_a(next))) != NULL)
        *kind = LJ_NAME_UPVAL;
      break;
    case BC_TSETB:
      if (bc_a(next) == a) {
        *kind = LJ_NAME_INDEX;
        *n = bc_c(next);
      }
      break;
    case BC_RET1:
      if (bc_a(next) == a) {
        *kind = LJ_NAME_RETURN;
        *n = 1;
      }
      break;
    case BC_RET: /* slots A .. A+D-2 */
      if (bc_a(next) <= a && a + 2 <= bc_a(next) + bc_d(next)) {
        *kind = LJ_NAME_RETURN;
        *n = a - bc_a(next) + 1;
      }
      break;
    default:
      break;
  }
  if (*kind == LJ_NAME_NONE) *s = NULL;
}

#endif
