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

/* Only live prototypes: mid-sweep, a dead one not yet freed may name a
   source string the collector already freed (5.1 and 5.2 sweep strings
   first), and a trap in it would never run anyway. */
void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud), void *ud) {
  GCObject *o;
  for (o = G(L)->rootgc; o != NULL; o = o->gch.next)
    if (o->gch.tt == LUA_TPROTO && !isdead(G(L), o)) f(gco2p(o), ud);
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
