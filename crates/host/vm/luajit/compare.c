/*
** LuaJIT: whether two Lua functions have the same code, line numbers and
** other debug information aside: the engine's `same_code`, so a function
** that only moved is not reported (nor replaced) as changed.
**
** A live function's bytecode is not what the parser produced: the JIT
** patches loop and function headers (hot counting off: I*, compiled: J*
** whose operand is a trace number) and the interpreter despecialises
** `pairs` loops (ISNEXT/ITERN become JMP/ITERC). Each instruction is
** compared in its plain form.
*/
#include <string.h>

#include "lua.h"
#include "lj_obj.h"
#include "lj_bc.h"
#include "lj_tab.h"
#include "lj_jit.h"
#include "lj_dispatch.h"
#include "lj_ctype.h"
#include "lj_cdata.h"

#include "hotreload_vm.h"

/* The instruction as the parser emitted it (ISNEXT/ITERN aside). */
static BCIns plain (global_State *g, BCIns ins) {
  BCOp op = bc_op(ins);
  switch (op) {
    case BC_JFORI: setbc_op(&ins, BC_FORI); return ins;
    case BC_IFORL: setbc_op(&ins, BC_FORL); return ins;
    case BC_IITERL: setbc_op(&ins, BC_ITERL); return ins;
    case BC_ILOOP: setbc_op(&ins, BC_LOOP); return ins;
    case BC_IFUNCF: setbc_op(&ins, BC_FUNCF); return ins;
    case BC_IFUNCV: setbc_op(&ins, BC_FUNCV); return ins;
#if LJ_HASJIT
    case BC_JFORL: case BC_JITERL: case BC_JLOOP: case BC_JFUNCF: case BC_JFUNCV: {
      jit_State *J = G2J(g);
      if (bc_d(ins) < J->sizetrace) {
        GCtrace *T = traceref(J, bc_d(ins));
        if (T != NULL) return T->startins;
      }
      return ins;
    }
#endif
    default:
      (void)g;
      return ins;
  }
}

static int same_ins (global_State *g, BCIns a, BCIns b) {
  BCOp x, y;
  a = plain(g, a);
  b = plain(g, b);
  if (a == b) return 1;
  x = bc_op(a);
  y = bc_op(b);
  /* Despecialised pairs loops keep their operands. */
  if ((x == BC_JMP || x == BC_ISNEXT) && (y == BC_JMP || y == BC_ISNEXT))
    return (a >> 8) == (b >> 8);
  if ((x == BC_ITERC || x == BC_ITERN) && (y == BC_ITERC || y == BC_ITERN))
    return (a >> 8) == (b >> 8);
  return 0;
}

static int same_value (cTValue *a, cTValue *b) {
  if (tvisnumber(a) || tvisnumber(b)) {
    if (!(tvisnumber(a) && tvisnumber(b))) return 0;
    if (tvisint(a) || tvisint(b)) return tvisint(a) && tvisint(b) && intV(a) == intV(b);
    return a->u64 == b->u64;  /* bits: -0.0 and NaN payloads count */
  }
  if (itype(a) != itype(b)) return 0;
  if (tvisstr(a)) return strV(a) == strV(b);  /* interned */
  return tvispri(a);  /* nil, false, true: the type says it all */
}

/* Two template tables of table constructors (constant keys and values). */
static int same_table (lua_State *L, GCtab *a, GCtab *b) {
  TValue kv[2];
  TValue key;
  uint32_t na = 0, nb = 0;
  int r;
  setnilV(&key);
  while ((r = lj_tab_next(a, &key, kv)) > 0) {
    cTValue *other = lj_tab_get(L, b, &kv[0]);
    if (other == NULL) return 0;
    /* The parser keeps a key whose value is not constant (or nil) with the
       template itself as its value. */
    if (tvistab(&kv[1]) && tabV(&kv[1]) == a) {
      if (!(tvistab(other) && tabV(other) == b)) return 0;
    } else if (!same_value(&kv[1], other)) {
      return 0;
    }
    copyTV(L, &key, &kv[0]);
    na++;
  }
  setnilV(&key);
  while ((r = lj_tab_next(b, &key, kv)) > 0) {
    copyTV(L, &key, &kv[0]);
    nb++;
  }
  return na == nb;
}

#if LJ_HASFFI
static int same_cdata (global_State *g, GCcdata *a, GCcdata *b) {
  CTState *cts = ctype_ctsG(g);
  CTSize size;
  if (a->ctypeid != b->ctypeid) return 0;
  if (cts == NULL) return 0;
  size = ctype_raw(cts, a->ctypeid)->size;
  return size != CTSIZE_INVALID && memcmp(cdataptr(a), cdataptr(b), size) == 0;
}
#endif

static int same_proto (lua_State *L, GCproto *a, GCproto *b, int depth) {
  global_State *g = G(L);
  BCPos pc;
  MSize i;
  if (a == b) return 1;
  if (depth > LJ_MAX_XLEVEL) return 0;
  if (a->numparams != b->numparams || a->framesize != b->framesize ||
      a->sizebc != b->sizebc || a->sizekgc != b->sizekgc || a->sizekn != b->sizekn ||
      a->sizeuv != b->sizeuv || (a->flags & PROTO_VARARG) != (b->flags & PROTO_VARARG))
    return 0;
  for (pc = 0; pc < a->sizebc; pc++)
    if (!same_ins(g, hr_bc_at(a, &proto_bc(a)[pc]), hr_bc_at(b, &proto_bc(b)[pc])))  /* without traps */
      return 0;
  for (i = 0; i < a->sizekn; i++)
    if (proto_knumtv(a, i)->u64 != proto_knumtv(b, i)->u64) return 0;
  for (i = 0; i < a->sizeuv; i++)
    if (proto_uv(a)[i] != proto_uv(b)[i]) return 0;
  for (i = 1; i <= a->sizekgc; i++) {
    GCobj *x = proto_kgc(a, -(ptrdiff_t)i), *y = proto_kgc(b, -(ptrdiff_t)i);
    if (x->gch.gct != y->gch.gct) return 0;
    switch (x->gch.gct) {
      case ~LJ_TSTR:
        if (x != y) return 0;
        break;
      case ~LJ_TPROTO:
        if (!same_proto(L, gco2pt(x), gco2pt(y), depth + 1)) return 0;
        break;
      case ~LJ_TTAB:
        if (!same_table(L, gco2tab(x), gco2tab(y))) return 0;
        break;
#if LJ_HASFFI
      case ~LJ_TCDATA:
        if (!same_cdata(g, gco2cd(x), gco2cd(y))) return 0;
        break;
#endif
      default:
        if (x != y) return 0;
    }
  }
  return 1;
}

#ifdef HR_NATIVE_BACKEND
/* reload_vm.h's HR_PROTO_SAME: the native backend's pairing leaves alone
   what did not change. */
__attribute__((visibility("hidden"))) int hr_lj_same_proto (lua_State *L, GCproto *a, GCproto *b);
int hr_lj_same_proto (lua_State *L, GCproto *a, GCproto *b) {
  return same_proto(L, a, b, 0);
}
#endif

static GCproto *proto_at (lua_State *L, int idx) {
  const GCfunc *fn;
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
  fn = (const GCfunc *)lua_topointer(L, idx);
  return funcproto(fn);
}

int hotreload_same_code (lua_State *L) {
  GCproto *a = proto_at(L, 1), *b = proto_at(L, 2);
  lua_pushboolean(L, a != NULL && b != NULL && same_proto(L, a, b, 0));
  return 1;
}
