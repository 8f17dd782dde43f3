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

/* Only live prototypes: mid-sweep, a dead one not yet freed may name a
   source string the collector already freed (5.1 and 5.2 sweep strings
   first), and a trap in it would never run anyway. */
void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud), void *ud) {
  GCObject *o;
  for (o = G(L)->allgc; o != NULL; o = o->next)
    if (o->tt == LUA_VPROTO && !isdead(G(L), o)) f(gco2p(o), ud);
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
