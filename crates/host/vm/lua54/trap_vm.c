/*
 * Lua 5.4: what breakpoint traps (shared/traps.c) need from this VM: where
 * a line's events fire, the collector's list of prototypes, and calling
 * the debugger's hook from a trap as luaG_traceexec calls a line hook.
 */
#include "lua.h"
#include "lobject.h"
#include "lopcodes.h"
#include "lstate.h"
#include "ldebug.h"
#include "ldo.h"
#include "lgc.h"

#include "hotreload_vm.h"
#include "traps.h"

/* The instruction control reaches from pc by a jump (-1: none). */
static int jump_target (Instruction i, int pc) {
  switch (GET_OPCODE(i)) {
    case OP_JMP: return pc + 1 + GETARG_sJ(i);
    case OP_FORLOOP: case OP_TFORLOOP: return pc + 1 - GETARG_Bx(i);
    default: return -1;
  }
}

/* Whether the interpreter reads the instruction at pc as data (the jump
   after a test, the argument after LOADKX/NEWTABLE/SETLIST, the TFORLOOP
   after TFORCALL) or never dispatches it: no trap may stand there. */
static int read_as_data (const Proto *p, int pc) {
  OpCode prev;
  if (GET_OPCODE(p->code[pc]) == OP_EXTRAARG) return 1;
  if (pc == 0) return 0;
  prev = GET_OPCODE(p->code[pc - 1]);
  return testTMode(prev) || prev == OP_TFORCALL;
}

/* Whether Lua's line hook fires for pc's line when pc runs: the first
   instruction, one on a new line, or the target of a backward jump or of
   a jump from another line (ldebug.c, luaG_traceexec). */
static int line_event (const Proto *p, int pc, int first, int line) {
  int from;
  if (pc == first || luaG_getfuncline(p, pc - 1) != line) return 1;
  for (from = first; from < p->sizecode; from++) {
    if (jump_target(p->code[from], from) != pc) continue;
    if (pc <= from || luaG_getfuncline(p, from) != line) return 1;
  }
  return 0;
}

int hr_vm_line_events (const Proto *p, int line, int *pcs, int cap) {
  /* A vararg function's VARARGPREP has no line event of its own. */
  int first = p->is_vararg ? 1 : 0;
  int pc, n = 0;
  if (p->lineinfo == NULL) return 0;
  for (pc = first; pc < p->sizecode; pc++) {
    if (luaG_getfuncline(p, pc) != line || read_as_data(p, pc)) continue;
    if (!line_event(p, pc, first, line)) continue;
    if (n < cap) pcs[n] = pc;
    n++;
  }
  return n;
}

void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud), void *ud) {
  GCObject *o;
  for (o = G(L)->allgc; o != NULL; o = o->next)
    if (o->tt == LUA_VPROTO) f(gco2p(o), ud);
}

const char *hr_vm_source (const Proto *p, size_t *len) {
  if (p->source == NULL) return NULL;
  *len = tsslen(p->source);
  return getstr(p->source);
}

void hr_vm_line_event (lua_State *L, lua_Hook hook, Instruction orig, int line) {
  CallInfo *ci = L->ci;
  if (!isIT(orig)) L->top.p = ci->top.p;  /* top not being used */
  L->hook = hook;  /* luaD_hook calls L->hook: the debugger's alone */
  luaD_hook(L, LUA_HOOKLINE, line, 0, 0);
  L->hook = hr_union_hook(L);  /* as the hook left the slots */
  /* This line was seen: a line hook switched on now fires at the next. */
  L->oldpc = pcRel(ci->u.l.savedpc, ci_func(ci)->p);
}

/* ---- Values for breakpoint conditions (shared/cond.c) ---- */

#include "ltable.h"
#include "lstring.h"
#include "lvm.h"

static void to_val (const TValue *o, HrVal *v) {
  v->p = NULL;
  v->i = 0;
  switch (ttypetag(o)) {
    case LUA_VNIL: case LUA_VEMPTY: case LUA_VABSTKEY: v->t = HV_NIL; break;
    case LUA_VFALSE: v->t = HV_BOOL; v->i = 0; break;
    case LUA_VTRUE: v->t = HV_BOOL; v->i = 1; break;
    case LUA_VNUMINT: v->t = HV_INT; v->i = ivalue(o); break;
    case LUA_VNUMFLT: v->t = HV_FLT; v->n = fltvalue(o); break;
    case LUA_VSHRSTR: case LUA_VLNGSTR: v->t = HV_STR; v->p = tsvalue(o); break;
    case LUA_VTABLE: v->t = HV_TAB; v->p = hvalue(o); break;
    case LUA_VLIGHTUSERDATA: v->t = HV_OTHER; v->i = LUA_VLIGHTUSERDATA; v->p = pvalue(o); break;
    case LUA_VLCF: v->t = HV_OTHER; v->i = LUA_VLCF; v->p = (const void *)(size_t)fvalue(o); break;
    default: v->t = HV_OTHER; v->i = ttypetag(o); v->p = gcvalue(o); break;
  }
}

/* The register is one the condition was compiled for at this trap, in
   the running Lua frame: within the frame by construction. */
int hr_vm_local (lua_State *L, int reg, HrVal *out) {
  to_val(s2v(L->ci->func.p + 1 + reg), out);
  return 1;
}

int hr_vm_upvalue (lua_State *L, int idx, HrVal *out) {
  LClosure *cl;
  if (!isLua(L->ci)) return 0;
  cl = ci_func(L->ci);
  if (idx >= cl->nupvalues || cl->upvals[idx] == NULL) return 0;
  to_val(cl->upvals[idx]->v.p, out);
  return 1;
}

const char *hr_vm_upvalue_name (const Proto *p, int idx) {
  TString *name = p->upvalues[idx].name;
  return name != NULL ? getstr(name) : NULL;
}

int hr_vm_field (const HrVal *t, const HrVal *key, HrVal *out) {
  Table *h;
  const TValue *r;
  lua_Integer i;
  if (t->t != HV_TAB) return 0;  /* strings and userdata: metatables */
  h = (Table *)t->p;
  if (key->t == HV_STR) r = luaH_getstr(h, (TString *)key->p);
  else if (key->t == HV_INT) r = luaH_getint(h, key->i);
  else if (key->t == HV_FLT && luaV_flttointeger(key->n, &i, F2Ieq)) r = luaH_getint(h, i);
  else return 0;
  if (isempty(r)) {
    if (h->metatable != NULL) return 0;  /* __index could answer */
    out->t = HV_NIL;
    out->p = NULL;
    return 1;
  }
  to_val(r, out);
  return 1;
}

int hr_vm_len (const HrVal *v, HrVal *out) {
  if (v->t == HV_STR) {
    out->i = (lua_Integer)tsslen((TString *)v->p);
  }
  else if (v->t == HV_TAB && ((Table *)v->p)->metatable == NULL) {
    out->i = (lua_Integer)luaH_getn((Table *)v->p);
  }
  else return 0;
  out->t = HV_INT;
  out->p = NULL;
  return 1;
}

const char *hr_vm_string (const void *ts, size_t *len) {
  *len = tsslen((const TString *)ts);
  return getstr((const TString *)ts);
}

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
  ts = tsvalue(s2v(L->top.p - 1));
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
  return ts;
}

void hr_vm_forget_strings (lua_State *L) {
  if (!lua_checkstack(L, 1)) return;
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, KEPT_STRINGS);
}
