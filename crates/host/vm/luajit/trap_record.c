/*
 * LuaJIT's trace recorder at a breakpoint trap (traps.c): functions that
 * hold traps are compiled, and a trap reached while recording is never
 * compiled away. The patched lj_record_ins asks hr_record_trap before it
 * records an instruction that is a trap:
 *
 * - A trap whose condition (shared/cond.c's ops) is false here becomes
 *   guards that keep it false: the values it reads, typed as they are now,
 *   each comparison pinned to its outcome, table reads without metamethods
 *   (a nil field only of a table without metatable); a global is read as
 *   GGET records it, a field of the function's environment loaded from
 *   the function (so setfenv is seen), its key's slot guarded (HREFK, or
 *   HREF against the nil slot for an absent key). The trace then goes
 *   on with the original instruction. A guard that fails exits at the trap
 *   (a snapshot taken there), and the interpreter runs the trap in full.
 * - Any other trap (no condition, one true now or outside what guards can
 *   say, a hit count or a logpoint, which only the debugger's hook counts
 *   and prints) ends the trace before it, linked to the interpreter, which
 *   runs the trap every time. No abort: nothing is penalised or
 *   blacklisted, and the loop around the trap stays compiled.
 */
#include "lua.h"
#include "lj_obj.h"
#include "lj_bc.h"
#include "lj_tab.h"
#include "lj_ir.h"
#include "lj_jit.h"
#include "lj_frame.h"
#include "lj_iropt.h"
#include "lj_record.h"
#include "lj_snap.h"

#include "hotreload_vm.h"
#include "traps.h"

#define emitir(ot, a, b) (lj_ir_set(J, (ot), (a), (b)), lj_opt_fold(J))

/* From the lj_record.c patch (vm.rs): its static slot and upvalue loads. */
TRef hr_rec_slot (jit_State *J, BCReg slot);
TRef hr_rec_upvalue (jit_State *J, uint32_t uv);
TRef hr_rec_currf (jit_State *J);
/* traps.c */
int hr_trap_info (const GCproto *pt, const BCIns *ip, BCIns *orig,
                  const struct HrCond **cond);
int hr_record_trap (jit_State *J, const BCIns *pc, BCIns *ins);

/* A value while recording: its IR reference and its value now. */
typedef struct RVal {
  TRef tr;
  TValue v;
} RVal;

#define MAX_DEPTH 16

/* Instructions recorded after guards (their recording reads the
   original: vm.rs). Not recorded, the trace ending before them instead:
 * - a return or tail call that leaves the trace's own frames (framedepth
 *   0): the recorder may start a down-recursive trace there, which writes
 *   its JLOOP over the instruction, or return to the interpreter by
 *   reading the opcode at the pc (a trap's is no return);
 * - a blacklisted loop (recording it aborts), ITERN/ISNEXT (the `pairs`
 *   specialisation; traps.c despecialises a trapped pair to JMP/ITERC);
 * - loop instructions, ITERC (a call) and the rest record as they do: a
 *   trapped loop's patches go to the original (traps.c). */
static int recordable (jit_State *J, BCOp op) {
  switch (op) {
    case BC_IFORL: case BC_IITERL: case BC_ILOOP:
    case BC_ITERN: case BC_ISNEXT:
      return 0;
    case BC_RETM: case BC_RET: case BC_RET0: case BC_RET1:
    case BC_CALLMT: case BC_CALLT:
      /* Back to a Lua frame recorded in this trace. */
      return J->framedepth > 0 && frame_islua(J->L->base - 1);
    default:
      return op < BC_FUNCF;
  }
}

/* Whether every op of the condition has a translation. */
static int translatable (const HrOp *ops, int n) {
  int k;
  for (k = 0; k < n; k++) {
    const HrOp *o = &ops[k];
    if (o->op < C_K || o->op > C_ENV) return 0;
    if (o->op == C_K) {
      /* Integer constants as LuaJIT's int32 constants, exactly. */
      if (o->k.t == HV_INT && (o->k.i < INT32_MIN || o->k.i > INT32_MAX)) return 0;
      if (o->k.t == HV_TAB || o->k.t == HV_OTHER) return 0;
    }
    if ((o->op == C_JT || o->op == C_JF) && (o->arg <= k || o->arg > n)) return 0;
  }
  return 1;
}

static void constant (jit_State *J, const HrVal *k, RVal *out) {
  switch (k->t) {
    case HV_BOOL:
      out->tr = k->i ? TREF_TRUE : TREF_FALSE;
      setboolV(&out->v, k->i != 0);
      break;
    case HV_INT:
      out->tr = lj_ir_kint(J, (int32_t)k->i);
      setnumV(&out->v, (lua_Number)k->i);
      break;
    case HV_FLT:
      out->tr = lj_ir_knum(J, k->n);
      setnumV(&out->v, k->n);
      break;
    case HV_STR:
      out->tr = lj_ir_kstr(J, (GCstr *)k->p);
      setstrV(J->L, &out->v, (GCstr *)k->p);
      break;
    default:
      out->tr = TREF_NIL;
      setnilV(&out->v);
      break;
  }
}

static int truthy (const RVal *v) {
  return tref_istruecond(v->tr);
}

static void set_bool (RVal *v, int b) {
  v->tr = b ? TREF_TRUE : TREF_FALSE;
  setboolV(&v->v, b != 0);
}

/* t[key] as cond.c reads it (hr_vm_field): a table's own value, or nil
   from a table without metatable. */
static int field (jit_State *J, const RVal *t, const RVal *key, RVal *out) {
  RecordIndex ix;
  GCtab *h;
  cTValue *raw;
  if (!tvistab(&t->v) || !tref_istab(t->tr)) return 0;
  if (!(tvisstr(&key->v) && tref_isstr(key->tr)) &&
      !(tvisnumber(&key->v) && tref_isnumber(key->tr)))
    return 0;
  h = tabV(&t->v);
  raw = lj_tab_get(J->L, h, &key->v);
  if (tvisnil(raw) && tabref(h->metatable) != NULL) return 0;  /* __index */
  ix.tab = t->tr;
  copyTV(J->L, &ix.tabv, &t->v);
  ix.key = key->tr;
  copyTV(J->L, &ix.keyv, &key->v);
  ix.val = 0;
  ix.mt = 0;
  ix.mobj = 0;
  ix.idxchain = 1;  /* a nil value: guards that the table has no metatable */
  out->tr = lj_record_idx(J, &ix);
  copyTV(J->L, &out->v, raw);
  return out->tr != 0;
}

static int length (jit_State *J, RVal *v) {
  if (tvisstr(&v->v) && tref_isstr(v->tr)) {
    v->tr = emitir(IRTI(IR_FLOAD), v->tr, IRFL_STR_LEN);
    setnumV(&v->v, (lua_Number)strV(&v->v)->len);
    return 1;
  }
  if (tvistab(&v->v) && tref_istab(v->tr) && tabref(tabV(&v->v)->metatable) == NULL) {
    TRef mt = emitir(IRT(IR_FLOAD, IRT_TAB), v->tr, IRFL_TAB_META);
    emitir(IRTG(IR_EQ, IRT_TAB), mt, lj_ir_knull(J, IRT_TAB));
    setnumV(&v->v, (lua_Number)lj_tab_len(tabV(&v->v)));
    v->tr = emitir(IRTI(IR_ALEN), v->tr, TREF_NIL);
    return 1;
  }
  return 0;
}

static int is_number (const RVal *v) {
  return tvisnumber(&v->v) && tref_isnumber(v->tr);
}

/* a <op> b on numbers (op an ordered IR comparison, or EQ/NE), guarded to
   come out as it does now; returns the outcome. */
static int compare_numbers (jit_State *J, const RVal *a, const RVal *b, IROp op) {
  TRef x = a->tr, y = b->tr;
  int r = lj_ir_numcmp(numberVnum(&a->v), numberVnum(&b->v), op);
  if (tref_isinteger(x) && tref_isinteger(y)) {
    emitir(IRTGI(r ? op : (IROp)(op ^ 1)), x, y);  /* no NaN among integers */
  } else {
    if (!tref_isnum(x)) x = emitir(IRTN(IR_CONV), x, IRCONV_NUM_INT);
    if (!tref_isnum(y)) y = emitir(IRTN(IR_CONV), y, IRCONV_NUM_INT);
    /* The negation of an ordered comparison holds for NaN too. */
    if (!r) op = (IROp)(op == IR_EQ || op == IR_NE ? op ^ 1 : op ^ 5);
    emitir(IRTG(op, IRT_NUM), x, y);
  }
  return r;
}

/* a == b as cond.c decides it (equal): 1, 0, or -1 when only the
   debugger may (an __eq could answer). */
static int equal (jit_State *J, const RVal *a, const RVal *b) {
  cTValue *va = &a->v, *vb = &b->v;
  if (is_number(a) && is_number(b)) return compare_numbers(J, a, b, IR_EQ);
  if (tvisnumber(va) || tvisnumber(vb) || itype(va) != itype(vb))
    return 0;  /* types differ (each is guarded) */
  if (tvisnil(va) || tvisbool(va)) return 1;  /* the type is the value */
  if (tvisstr(va)) {  /* interned: equal strings are one object */
    int r = strV(va) == strV(vb);
    emitir(IRTG(r ? IR_EQ : IR_NE, IRT_STR), a->tr, b->tr);
    return r;
  }
  if ((tvistab(va) || tvisfunc(va)) && gcV(va) == gcV(vb) &&
      tref_type(a->tr) == tref_type(b->tr)) {
    emitir(IRTG(IR_EQ, tref_type(a->tr)), a->tr, b->tr);
    return 1;
  }
  return -1;
}

static IROp ordered (int op) {
  switch (op) {
    case C_LT: return IR_LT;
    case C_LE: return IR_LE;
    case C_GT: return IR_GT;
    default: return IR_GE;
  }
}

/* Records the condition as guards that keep it false; 0 when some part
   has no translation (the guards emitted so far are then harmless: they
   hold now). */
static int guard_false (jit_State *J, const struct HrCond *c) {
  const HrOp *ops;
  int n = hr_cond_ops(c, &ops), sp = 0, at = 0;
  RVal st[MAX_DEPTH];
  lua_State *L = J->L;
  if (!translatable(ops, n)) return 0;
  while (at < n) {
    const HrOp *o = &ops[at++];
    RVal *a = sp > 0 ? &st[sp - 1] : NULL, *b = sp > 1 ? &st[sp - 2] : NULL;
    RVal key;
    int r;
    switch (o->op) {
      case C_K:
        if (sp >= MAX_DEPTH) return 0;
        constant(J, &o->k, &st[sp++]);
        break;
      case C_LOCAL:
        if (sp >= MAX_DEPTH || o->arg < 0 || (BCReg)o->arg >= J->maxslot) return 0;
        copyTV(L, &st[sp].v, L->base + o->arg);
        st[sp++].tr = hr_rec_slot(J, (BCReg)o->arg);
        break;
      case C_UPVAL: {
        GCfunc *fn = J->fn;
        if (sp >= MAX_DEPTH || !isluafunc(fn) || o->arg < 0 || o->arg >= (int)fn->l.nupvalues)
          return 0;
        copyTV(L, &st[sp].v, uvval(&gcref(fn->l.uvptr[o->arg])->uv));
        st[sp++].tr = hr_rec_upvalue(J, (uint32_t)o->arg);
        break;
      }
      case C_ENV:  /* as GGET records it: the function's env, loaded */
        if (sp >= MAX_DEPTH) return 0;
        settabV(L, &st[sp].v, tabref(J->fn->l.env));
        st[sp++].tr = emitir(IRT(IR_FLOAD, IRT_TAB), hr_rec_currf(J), IRFL_FUNC_ENV);
        break;
      case C_FIELD:
        if (a == NULL || o->k.t != HV_STR) return 0;
        constant(J, &o->k, &key);
        if (!field(J, a, &key, a)) return 0;
        break;
      case C_INDEX:
        if (b == NULL || !field(J, b, a, b)) return 0;
        sp--;
        break;
      case C_LEN:
        if (a == NULL || !length(J, a)) return 0;
        break;
      case C_NOT:
        if (a == NULL) return 0;
        set_bool(a, !truthy(a));
        break;
      case C_NEG: {
        lua_Number x;
        if (a == NULL || !is_number(a)) return 0;
        x = numberVnum(&a->v);
        a->tr = lj_opt_narrow_unm(J, a->tr, &a->v);
        setnumV(&a->v, -x);
        break;
      }
      case C_ADD: case C_SUB: case C_MUL: {
        lua_Number x, y;
        IROp op = o->op == C_ADD ? IR_ADD : o->op == C_SUB ? IR_SUB : IR_MUL;
        if (b == NULL || !is_number(a) || !is_number(b)) return 0;
        x = numberVnum(&b->v);
        y = numberVnum(&a->v);
        b->tr = lj_opt_narrow_arith(J, b->tr, a->tr, &b->v, &a->v, op);
        setnumV(&b->v, op == IR_ADD ? x + y : op == IR_SUB ? x - y : x * y);
        sp--;
        break;
      }
      case C_EQ: case C_NE:
        if (b == NULL || (r = equal(J, b, a)) < 0) return 0;
        set_bool(b, o->op == C_EQ ? r : !r);
        sp--;
        break;
      case C_LT: case C_LE: case C_GT: case C_GE:
        if (b == NULL || !is_number(a) || !is_number(b)) return 0;  /* strings: locale */
        set_bool(b, compare_numbers(J, b, a, ordered(o->op)));
        sp--;
        break;
      case C_JT: case C_JF:
        if (a == NULL) return 0;
        if (truthy(a) == (o->op == C_JT)) at = o->arg;
        else sp--;
        break;
      default:
        return 0;
    }
  }
  return sp == 1 && !truthy(&st[0]);
}

/* From lj_record_ins, before it records the trap at pc: 1 with the
   original instruction in *ins to record in its place, after guards that
   keep the trap's condition false; 0 when the trace ended before it. */
int hr_record_trap (jit_State *J, const BCIns *pc, BCIns *ins) {
  const struct HrCond *cond;
  BCIns orig;
  if (J->pt != NULL && hr_trap_info(J->pt, pc, &orig, &cond) && cond != NULL &&
      recordable(J, bc_op(orig)) && hr_cond_false(J->L, cond)) {
    lj_snap_add(J);  /* a failing guard resumes the interpreter at the trap */
    if (guard_false(J, cond)) {
      *ins = orig;
      return 1;
    }
  }
  lj_record_stop(J, LJ_TRLINK_INTERP, 0);
  return 0;
}
