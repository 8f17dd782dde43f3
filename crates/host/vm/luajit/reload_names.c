/*
** What names a nested function in its parent's code, for LuaJIT (the
** pairing of shared/reload_pair.c), over bc_names.h: a BC_FNEW, then the
** local the closure becomes, or the instruction that stores or returns it.
** Where an upvalue comes from is in the prototype itself (PROTO_UV_LOCAL:
** a slot of the enclosing call, else the enclosing closure's upvalue).
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

#define HR_LJ_INS(pt, pc) HR_CODE_AT(pt, pc)
#include "bc_names.h"

_Static_assert((int)NK_LOCAL == (int)LJ_NAME_LOCAL && (int)NK_FIELD == (int)LJ_NAME_FIELD &&
                   (int)NK_GLOBAL == (int)LJ_NAME_GLOBAL && (int)NK_UPVAL == (int)LJ_NAME_UPVAL &&
                   (int)NK_RETURN == (int)LJ_NAME_RETURN && (int)NK_INDEX == (int)LJ_NAME_INDEX,
               "bc_names.h kinds are reload.h's");

const char *hr_lj_uv_name(const GCproto *pt, int k) {
  return hr_lj_upvalue_name(pt, k);
}

void hr_closure_name(const Proto *p, int pc, ChildName *out) {
  uint32_t n;
  hr_lj_fnew_name(p, (BCPos)pc, &out->kind, &out->s, &n);
  out->n = (lua_Integer)n;
}

int hr_upvalue_source(const Proto *parent, const Proto *p, int i, int *instack, int *idx) {
  uint16_t uv;
  (void)parent;
  if (i < 0 || i >= p->sizeuv) return 0;
  uv = proto_uv(p)[i];
  *instack = (uv & PROTO_UV_LOCAL) != 0;
  *idx = uv & 0xff;
  return 1;
}

TString *hr_local_name(const Proto *f, int n, int pc) {
  return n >= 1 ? hr_lj_local_name(f, (BCPos)pc, (BCReg)(n - 1)) : NULL;
}

#endif /* HR_NATIVE_BACKEND */
