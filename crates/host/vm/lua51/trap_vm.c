/*
 * Lua 5.1: what breakpoint traps (shared/traps.c) need from this VM. 5.1
 * has no OP_EXTRAARG: the trap is an opcode stock Lua never emits
 * (OP_HRTRAP, declared by the lopcodes.h patch), its Bx the index in the
 * prototype's trap list. Otherwise as lua53/trap_vm.c, over 5.1's frames
 * (L->base, L->savedpc) and collector list (rootgc).
 */
#include "lua.h"
#include "lobject.h"
#include "lopcodes.h"
#include "lstate.h"
#include "ldebug.h"
#include "ldo.h"
#include "lgc.h"
#include "ltable.h"

#include "hotreload_vm.h"
#include "traps.h"

/* The instruction control reaches from pc by a jump (-1: none). */
static int jump_target (Instruction i, int pc) {
  switch (GET_OPCODE(i)) {
    case OP_JMP: case OP_FORLOOP: case OP_FORPREP:
      return pc + 1 + GETARG_sBx(i);
    default: return -1;
  }
}

/* Whether the instruction after `i` (at pc) is read as data, not run: the
   jump after a test, the count after SETLIST with C 0. */
static int next_is_data (Instruction i) {
  OpCode op = GET_OPCODE(i);
  return testTMode(op) || (op == OP_SETLIST && GETARG_C(i) == 0);
}

/* Whether Lua's line hook fires for pc's line when pc runs: the first
   instruction, one on a new line, or the target of a backward jump or of
   a jump from another line (5.1's traceexec compares with the last pc). */
static int line_event (const Proto *p, int pc, int line) {
  int from;
  if (pc == 0 || getline(p, pc - 1) != line) return 1;
  for (from = 0; from < p->sizecode; from++) {
    if (jump_target(p->code[from], from) != pc) continue;
    if (pc <= from || getline(p, from) != line) return 1;
  }
  return 0;
}

int hr_vm_line_events (const Proto *p, int line, int *pcs, int cap) {
  int pc, n = 0;
  if (p->lineinfo == NULL) return 0;
  for (pc = 0; pc < p->sizecode; pc++) {
    Instruction i = p->code[pc];
    int data = 0;  /* instructions after pc read as data */
    if (GET_OPCODE(i) == OP_CLOSURE && GETARG_Bx(i) < p->sizep)
      data = p->p[GETARG_Bx(i)]->nups;  /* its upvalues' pseudo-instructions */
    else if (next_is_data(i))
      data = 1;
    if (getline(p, pc) == line && GET_OPCODE(i) != OP_HRTRAP &&
        line_event(p, pc, line)) {
      if (n < cap) pcs[n] = pc;
      n++;
    }
    pc += data;
  }
  return n;
}

void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud), void *ud) {
  GCObject *o;
  for (o = G(L)->rootgc; o != NULL; o = o->gch.next)
    if (o->gch.tt == LUA_TPROTO) f(gco2p(o), ud);
}

const char *hr_vm_source (const Proto *p, size_t *len) {
  if (p->source == NULL) return NULL;
  *len = p->source->tsv.len;
  return getstr(p->source);
}

void hr_vm_line_event (lua_State *L, lua_Hook hook, Instruction orig, int line) {
  (void)orig;  /* this VM's line hook leaves top alone */
  L->hook = hook;  /* luaD_callhook calls L->hook: the debugger's alone */
  luaD_callhook(L, LUA_HOOKLINE, line);
  L->hook = hr_union_hook(L);  /* as the hook left the slots */
  /* L->savedpc (the trap's, from the interpreter's Protect) is what the
     line hook compares with: switched on now, it fires at the next line. */
}

/* ---- Values for breakpoint conditions (shared/cond.c) ---- */

static void to_val (const TValue *o, HrVal *v) {
  v->p = NULL;
  v->i = 0;
  switch (ttype(o)) {
    case LUA_TNIL: v->t = HV_NIL; break;
    case LUA_TBOOLEAN: v->t = HV_BOOL; v->i = bvalue(o) != 0; break;
    case LUA_TNUMBER: v->t = HV_FLT; v->n = nvalue(o); break;
    case LUA_TSTRING: v->t = HV_STR; v->p = rawtsvalue(o); break;
    case LUA_TTABLE: v->t = HV_TAB; v->p = hvalue(o); break;
    case LUA_TLIGHTUSERDATA: v->t = HV_OTHER; v->i = LUA_TLIGHTUSERDATA; v->p = pvalue(o); break;
    default: v->t = HV_OTHER; v->i = ttype(o); v->p = gcvalue(o); break;
  }
}

/* The register is one the condition was compiled for at this trap, in
   the running Lua frame: within the frame by construction. */
int hr_vm_local (lua_State *L, int reg, HrVal *out) {
  to_val(L->base + reg, out);
  return 1;
}

int hr_vm_upvalue (lua_State *L, int idx, HrVal *out) {
  LClosure *cl;
  if (!isLua(L->ci)) return 0;
  cl = &clvalue(L->ci->func)->l;
  if (idx >= cl->nupvalues || cl->upvals[idx] == NULL) return 0;
  to_val(cl->upvals[idx]->v, out);
  return 1;
}

const char *hr_vm_upvalue_name (const Proto *p, int idx) {
  TString *name = p->upvalues != NULL ? p->upvalues[idx] : NULL;
  return name != NULL ? getstr(name) : NULL;
}

int hr_vm_field (const HrVal *t, const HrVal *key, HrVal *out) {
  Table *h;
  const TValue *r;
  if (t->t != HV_TAB) return 0;  /* strings and userdata: metatables */
  h = (Table *)t->p;
  if (key->t == HV_STR)
    r = luaH_getstr(h, (TString *)key->p);
  else if (key->t == HV_INT && key->i >= 1 && key->i <= 0x7fffffff)
    r = luaH_getnum(h, (int)key->i);
  else if (key->t == HV_FLT && key->n >= 1 && key->n <= 0x7fffffff &&
           key->n == (lua_Number)(int)key->n)
    r = luaH_getnum(h, (int)key->n);
  else return 0;
  if (ttisnil(r)) {
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
    out->i = (lua_Integer)((const TString *)v->p)->tsv.len;
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
  *len = ((const TString *)ts)->tsv.len;
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
  ts = rawtsvalue(L->top - 1);
  lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
  lua_pop(L, 1);
  return ts;
}

void hr_vm_forget_strings (lua_State *L) {
  if (!lua_checkstack(L, 1)) return;
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, KEPT_STRINGS);
}
