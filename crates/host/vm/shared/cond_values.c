/*
 * The values breakpoint conditions (cond.c) read at a trap, written once
 * over the accessors of each folder's vm_compat.h: lengths, the strings
 * conditions name (kept alive in the registry), and, on PUC Lua, the
 * running frame's registers and upvalues and table fields without
 * metamethods (LuaJIT's values are not TValues: its trap_vm.c reads those,
 * HR_VALUES_IN_TRAP_VM).
 */
#include "lua.h"
#include "vm_compat.h"

#include "hotreload_vm.h"
#include "traps.h"

int hr_vm_len (const HrVal *v, HrVal *out) {
  if (v->t == HV_STR) {
    out->i = (lua_Integer)HR_SOURCE_LEN((const TString *)v->p);
  }
  else if (v->t == HV_TAB && HR_METATABLE((Table *)v->p) == NULL) {
    out->i = (lua_Integer)HR_TABLE_LEN((Table *)v->p);
  }
  else return 0;
  out->t = HV_INT;
  out->p = NULL;
  return 1;
}

const char *hr_vm_string (const void *ts, size_t *len) {
  *len = HR_SOURCE_LEN((const TString *)ts);
  return HR_STRING_DATA((const TString *)ts);
}

/* A registry table whose keys are the strings conditions name. */
#define KEPT_STRINGS "hotreload.condition_strings"

const void *hr_vm_keep_string (lua_State *L, const char *s, size_t len) {
  const void *ts;
  if (!lua_checkstack(L, 3)) return NULL;
  lua_getfield(L, LUA_REGISTRYINDEX, KEPT_STRINGS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, KEPT_STRINGS);
  }
  lua_pushlstring(L, s, len);
  ts = HR_TOP_STRING(L);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return ts;
}

void hr_vm_forget_strings (lua_State *L) {
  if (!lua_checkstack(L, 1)) return;
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, KEPT_STRINGS);
}

#ifndef HR_VALUES_IN_TRAP_VM

/* 5.3 on: integers beside floats (the VM's own ttisinteger says so); 5.1
   and 5.2 have one number type, a float. */
#ifdef ttisinteger
#define HR_INTEGERS 1
#endif

static void to_val (const TValue *o, HrVal *v) {
  v->p = NULL;
  v->i = 0;
  if (ttisnil(o)) v->t = HV_NIL;  /* 5.4: empty slots and absent keys too */
  else if (ttisboolean(o)) { v->t = HV_BOOL; v->i = !l_isfalse(o); }
#ifdef HR_INTEGERS
  else if (ttisinteger(o)) { v->t = HV_INT; v->i = ivalue(o); }
  else if (ttisfloat(o)) { v->t = HV_FLT; v->n = fltvalue(o); }
#else
  else if (ttisnumber(o)) { v->t = HV_FLT; v->n = nvalue(o); }
#endif
  else if (ttisstring(o)) { v->t = HV_STR; v->p = HR_TSTRING(o); }
  else if (ttistable(o)) { v->t = HV_TAB; v->p = hvalue(o); }
  else {  /* compared by identity */
    v->t = HV_OTHER;
    v->i = ttype(o);
    if (iscollectable(o)) v->p = gcvalue(o);
    else if (ttislightuserdata(o)) v->p = pvalue(o);
#ifdef ttislcf  /* 5.2 on: C functions without upvalues are not objects */
    else if (ttislcf(o)) v->p = (const void *)(size_t)fvalue(o);
#endif
  }
}

/* The register is one the condition was compiled for at this trap, in
   the running Lua frame: within the frame by construction. */
int hr_vm_local (lua_State *L, int reg, HrVal *out) {
  to_val(HR_REGISTER(L, reg), out);
  return 1;
}

int hr_vm_upvalue (lua_State *L, int idx, HrVal *out) {
  LClosure *cl;
  if (!isLua(L->ci)) return 0;
  cl = HR_CI_LCLOSURE(L->ci);
  if (idx < 0 || idx >= cl->nupvalues || cl->upvals[idx] == NULL) return 0;
  to_val(HR_CELL_VALUE(cl->upvals[idx]), out);
  return 1;
}

#ifdef HR_FENV
int hr_vm_env (lua_State *L, HrVal *out) {
  if (!isLua(L->ci)) return 0;
  out->t = HV_TAB;
  out->i = 0;
  out->p = HR_CI_LCLOSURE(L->ci)->env;
  return 1;
}
#endif

const char *hr_vm_upvalue_name (const Proto *p, int idx) {
  TString *name = HR_UPVALUE_NAME(p, idx);
  return name != NULL ? getstr(name) : NULL;
}

/* h[key] as a raw lookup finds it (a number key as Lua normalises it), or
   NULL for a key not looked up here. */
static const TValue *raw_get (Table *h, const HrVal *key) {
  TValue k;
  switch (key->t) {
    case HV_STR: {
      TString *ts = (TString *)key->p;
      return HR_SHORT_KEY(ts) ? luaH_getstr(h, ts) : NULL;
    }
#ifdef HR_INTEGERS
    case HV_INT: return luaH_getint(h, key->i);
    case HV_FLT: setfltvalue(&k, key->n); break;
#else
    case HV_INT: setnvalue(&k, (lua_Number)key->i); break;
    case HV_FLT: setnvalue(&k, key->n); break;
#endif
    default: return NULL;
  }
  return luaH_get(h, &k);
}

int hr_vm_field (const HrVal *t, const HrVal *key, HrVal *out) {
  Table *h;
  const TValue *r;
  if (t->t != HV_TAB) return 0;  /* strings and userdata: metatables */
  h = (Table *)t->p;
  r = raw_get(h, key);
  if (r == NULL) return 0;
  if (ttisnil(r)) {
    if (h->metatable != NULL) return 0;  /* __index could answer */
    out->t = HV_NIL;
    out->p = NULL;
    return 1;
  }
  to_val(r, out);
  return 1;
}

#endif
