/*
 * LuaJIT: the values breakpoint conditions (shared/cond.c) read at a trap
 * (traps.c): the running frame's slots, upvalues and environment, table fields without
 * metamethods (lengths and strings: shared/cond_values.c, over
 * vm_compat.h). Numbers are doubles (no dual-number mode on x64).
 */
#include "lua.h"
#include "lj_obj.h"
#include "lj_tab.h"
#include "lj_debug.h"

#include "hotreload_vm.h"
#include "traps.h"

/* lj_debug.c's debug_varname, exported by the patch (vm.rs). */
const char *hr_debug_varname (const GCproto *pt, BCPos pc, BCReg slot);

const char *hr_vm_local_name (const Proto *p, int n, int pc) {
  if (n < 1 || pc < 0) return NULL;
  return hr_debug_varname(p, (BCPos)pc, (BCReg)(n - 1));
}

int hr_vm_upvalue_count (const Proto *p) {
  return (int)p->sizeuv;
}

static void to_val (cTValue *o, HrVal *v) {
  v->p = NULL;
  v->i = 0;
  if (tvisnil(o)) v->t = HV_NIL;
  else if (tvisbool(o)) { v->t = HV_BOOL; v->i = tvistrue(o); }
  else if (tvisnumber(o)) { v->t = HV_FLT; v->n = numberVnum(o); }
  else if (tvisstr(o)) { v->t = HV_STR; v->p = strV(o); }
  else if (tvistab(o)) { v->t = HV_TAB; v->p = tabV(o); }
  else if (tvisgcv(o)) { v->t = HV_OTHER; v->i = (lua_Integer)itype(o); v->p = gcV(o); }
  else { v->t = HV_OTHER; v->i = (lua_Integer)itype(o); v->p = (const void *)(uintptr_t)o->u64; }
}

/* The slot is one the condition was compiled for at this trap, in the
   running Lua frame (L->base is the trap's: hr_dispatch_trap). */
int hr_vm_local (lua_State *L, int reg, HrVal *out) {
  to_val(L->base + reg, out);
  return 1;
}

int hr_vm_upvalue (lua_State *L, int idx, HrVal *out) {
  GCfunc *fn = curr_func(L);
  if (!isluafunc(fn) || idx < 0 || idx >= (int)fn->l.nupvalues) return 0;
  to_val(uvval(&gcref(fn->l.uvptr[idx])->uv), out);
  return 1;
}

int hr_vm_env (lua_State *L, HrVal *out) {
  GCfunc *fn = curr_func(L);
  if (!isluafunc(fn)) return 0;
  out->t = HV_TAB;
  out->i = 0;
  out->p = tabref(fn->l.env);
  return 1;
}

const char *hr_vm_upvalue_name (const Proto *p, int idx) {
  return lj_debug_uvname((GCproto *)p, (uint32_t)idx);
}

int hr_vm_field (const HrVal *t, const HrVal *key, HrVal *out) {
  GCtab *h;
  cTValue *r;
  if (t->t != HV_TAB) return 0;  /* strings and userdata: metatables */
  h = (GCtab *)t->p;
  if (key->t == HV_STR)
    r = lj_tab_getstr(h, (const GCstr *)key->p);
  else if (key->t == HV_INT && key->i >= 0 && key->i <= 0x7fffffff)
    r = lj_tab_getint(h, (int32_t)key->i);
  else if (key->t == HV_FLT && key->n >= 0 && key->n <= 0x7fffffff &&
           key->n == (lua_Number)(int32_t)key->n)
    r = lj_tab_getint(h, (int32_t)key->n);
  else return 0;
  if (r == NULL || tvisnil(r)) {
    if (tabref(h->metatable) != NULL) return 0;  /* __index could answer */
    out->t = HV_NIL;
    out->p = NULL;
    return 1;
  }
  to_val(r, out);
  return 1;
}
