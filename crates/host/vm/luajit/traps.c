/*
 * LuaJIT's breakpoint traps (replacing shared/traps.c, whose prototypes are
 * PUC Lua's). A breakpoint's line becomes, in every prototype that holds
 * it, BC_HRTRAP (a bytecode the patched lj_bc.h adds; the parser never
 * emits it; BC_HRTRAPG over a GGET or GSET, whose fallback in the
 * interpreter tells them from TGETS/TSETS by the opcode in memory) in place
 * of the opcode byte alone: the operands stay, so what
 * the interpreter reads of an instruction as data (a caller's CALL when a
 * function returns, the JMP after a comparison) reads what it always did.
 * The handler (vm_x64.dasc) calls hr_dispatch_trap (lj_dispatch.c), which
 * asks hr_trap_take here whether to call the debugger's hook, then
 * re-dispatches the original opcode through the static dispatch table, as
 * the instruction hook does. Code without a trap runs with no hook at all.
 *
 * The compiler never compiles a trap away: functions holding traps are
 * compiled, the recorder ending a trace before a trap or guarding that its
 * condition stays false (trap_record.c), and every reader of bytecode in
 * the compiler reads the original where a trap stands (hr_bc_orig, by
 * address; the compiler's own FORI/JFORI patches go to the original,
 * hr_bc_setop). Every trace is flushed before traps are placed (one could
 * hold an inlined copy of a line that gets a breakpoint). A trapped loop
 * instruction without a condition runs as its interpreted variant (IFORL,
 * IITERL, ILOOP: no hot counting, so no trace starts there); one with a
 * condition is hot-counted, and the compiler's patches of it (JFORL and
 * its trace number, back to FORL, blacklisting) go to the trap's original
 * (hr_bc_setop, hr_bc_setd, hr_bc_set). The one bytecode the interpreter rewrites by itself, the
 * ISNEXT/ITERN pair of a `pairs` loop, is despecialised as LuaJIT itself
 * does (JMP/ITERC) where a trap stands on either.
 *
 * Everything that reads bytecode as data reads the original through
 * hr_bc_at: lj_debug.c (names in messages), lj_bcwrite.c (string.dump),
 * lib_jit.c (jit.util.funcbc), the line event's call test (lj_dispatch.c),
 * and compare.c (the reload engine's same-code test). Trap lists live
 * outside the Lua heap and die with their prototype (lj_func_freeproto
 * calls hr_traps_free). A condition in shared/cond.c's subset is compiled
 * once per trap and checked here: the hook runs only when it may be true.
 */
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lj_obj.h"
#include "lj_bc.h"
#include "lj_debug.h"
#include "lj_gc.h"
#include "lj_trace.h"

#include "hotreload_vm.h"
#include "traps.h"

typedef struct HrTrap {
  BCPos pc;
  BCLine line;
  BCIns orig;  /* the instruction as compiled */
  struct HrCond *cond;  /* checked before the hook (NULL: none) */
} HrTrap;

typedef struct HrTraps {
  GCproto *pt;
  struct HrTraps *prev, *next;  /* every prototype with traps */
  int n;
  HrTrap t[1];  /* n of them, by pc */
} HrTraps;

static HrTraps *all_traps = NULL;
static HrTraps *last_hit = NULL;  /* the list a trap last came from */
static hr_trap_lines trap_lines = NULL;

int hr_traps_supported (void) {
  return 1;
}

void hr_set_trap_lines (hr_trap_lines lines) {
  trap_lines = lines;
}

static HrTraps *traps_of (const GCproto *pt) {
  HrTraps *ts;
  if (last_hit != NULL && last_hit->pt == pt) return last_hit;
  for (ts = all_traps; ts != NULL; ts = ts->next)
    if (ts->pt == pt) return ts;
  return NULL;
}

/* Whether pt holds traps (jit.c: then it stays interpreted). */
int hr_has_traps (const GCproto *pt) {
  return all_traps != NULL && traps_of(pt) != NULL;
}

static int is_trap (BCOp op) {
  return op == BC_HRTRAP || op == BC_HRTRAPG;
}

static const HrTrap *trap_at (const GCproto *pt, const BCIns *ip) {
  HrTraps *ts;
  BCPos pc;
  int lo, hi;
  if (!is_trap(bc_op(*ip)) || (ts = traps_of(pt)) == NULL) return NULL;
  pc = (BCPos)(ip - proto_bc(pt));
  lo = 0;
  hi = ts->n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (ts->t[mid].pc == pc) {
      last_hit = ts;
      return &ts->t[mid];
    }
    if (ts->t[mid].pc < pc) lo = mid + 1; else hi = mid - 1;
  }
  return NULL;
}

BCIns hr_bc_at (const GCproto *pt, const BCIns *ip) {
  const HrTrap *t = trap_at(pt, ip);
  return t != NULL ? t->orig : *ip;
}

/* The trap at ip, its prototype found by address (the trace compiler
   reads snapshot and exit pcs, which may lie in any inlined function). */
static HrTrap *trap_by_address (const BCIns *ip) {
  HrTraps *ts;
  if (!is_trap(bc_op(*ip))) return NULL;
  for (ts = all_traps; ts != NULL; ts = ts->next) {
    const BCIns *bc = proto_bc(ts->pt);
    if (ip >= bc && ip < bc + ts->pt->sizebc) return (HrTrap *)trap_at(ts->pt, ip);
  }
  return NULL;
}

BCIns hr_bc_orig (const BCIns *ip) {
  const HrTrap *t = trap_by_address(ip);
  return t != NULL ? t->orig : *ip;
}

/* The compiler's own bytecode patches (a FORI becoming JFORI once its loop
   is compiled, and back): on a trap, the original instruction takes them. */
void hr_bc_setop (BCIns *ip, int op) {
  HrTrap *t = trap_by_address(ip);
  if (t != NULL) setbc_op(&t->orig, op);
  else setbc_op(ip, op);
}

/* The operand D both share (a compiled loop's trace number: the JFORI
   before it and the trap's dispatch read it from memory). */
void hr_bc_setd (BCIns *ip, int d) {
  HrTrap *t = trap_by_address(ip);
  if (t != NULL) setbc_d(&t->orig, d);
  setbc_d(ip, d);
}

/* A whole instruction (a compiled loop's original put back). */
void hr_bc_set (BCIns *ip, BCIns ins) {
  HrTrap *t = trap_by_address(ip);
  if (t != NULL) {
    t->orig = ins;
    setbc_op(&ins, bc_op(*ip));
  }
  *ip = ins;
}

/* For the recorder (trap_record.c): the original instruction of the trap
   at ip of pt and its compiled condition (NULL: none). */
int hr_trap_info (const GCproto *pt, const BCIns *ip, BCIns *orig,
                  const struct HrCond **cond) {
  const HrTrap *t = trap_at(pt, ip);
  if (t == NULL) return 0;
  *orig = t->orig;
  *cond = t->cond;
  return 1;
}

/* The opcode a trap dispatches. A loop without a condition runs as its
   interpreted variant (it stops on every pass anyway); one with a
   condition is hot-counted, so the loop compiles with the condition as
   guards (trap_record.c), the compiler's patches of it going to the
   original (hr_bc_setop, hr_bc_setd, hr_bc_set). */
static BCOp dispatch_op (const HrTrap *t) {
  BCOp op = bc_op(t->orig);
  if ((op == BC_FORL || op == BC_ITERL || op == BC_LOOP) && t->cond == NULL)
    return (BCOp)((int)op + (int)BC_ILOOP - (int)BC_LOOP);
  return op;
}

/* From hr_dispatch_trap: the trap at pc-1 of pt is reached in L. Writes
   the original instruction (with the opcode to dispatch) and its line;
   returns 1 when the debugger's hook is to see a line event. */
int hr_trap_take (lua_State *L, const GCproto *pt, const BCIns *pc, BCIns *orig,
                  BCLine *line) {
  const HrTrap *t = trap_at(pt, pc - 1);
  if (t == NULL) {  /* cannot be: the parser never emits BC_HRTRAP */
    *orig = BCINS_AJ(BC_JMP, 0, 0);  /* go on with the next instruction */
    *line = 0;
    return 0;
  }
  *orig = t->orig;
  setbc_op(orig, dispatch_op(t));
  *line = t->line;
  /* The debugger's line hook saw this very instruction (a step ended
     here): it does not report the line twice. */
  if (L->hr_seenpc == pc) {
    L->hr_seenpc = NULL;
    return 0;
  }
  if (L->hr_dmask & LUA_MASKLINE) return 0;  /* the line hook reports it */
  /* A condition surely false here: go on without asking the debugger. */
  return t->cond == NULL || !hr_cond_false(L, t->cond);
}

static void unlink_traps (HrTraps *ts) {
  if (ts->prev != NULL) ts->prev->next = ts->next;
  else all_traps = ts->next;
  if (ts->next != NULL) ts->next->prev = ts->prev;
  if (last_hit == ts) last_hit = NULL;
}

void hr_traps_free (GCproto *pt) {
  HrTraps *ts = all_traps != NULL ? traps_of(pt) : NULL;
  int k;
  if (ts == NULL) return;
  unlink_traps(ts);
  for (k = 0; k < ts->n; k++) hr_cond_free(ts->t[k].cond);
  free(ts);
}

/* Puts every original instruction back; 1 when there was a trap. */
static int clear_all (void) {
  int any = all_traps != NULL;
  while (all_traps != NULL) {
    HrTraps *ts = all_traps;
    int k;
    for (k = 0; k < ts->n; k++) proto_bc(ts->pt)[ts->t[k].pc] = ts->t[k].orig;
    hr_traps_free(ts->pt);
  }
  return any;
}

void hr_jit_traps_changed (lua_State *L);
void hr_jit_traps_cleared (void);

void hr_traps_clear (void) {
  /* What traps kept from the compiler may compile again. */
  if (clear_all()) hr_jit_traps_cleared();
}

/* Whether the instruction at pc is read as data or skipped: the JMP after
   a comparison or test, the ITERL an ITERN runs itself. */
static int read_as_data (const GCproto *pt, BCPos pc) {
  BCOp prev = bc_op(proto_bc(pt)[pc - 1]);
  return (prev >= BC_ISLT && prev <= BC_ISF) || prev == BC_ITERN;
}

static int jump_target (BCIns ins, BCPos pc) {
  BCOp op = bc_op(ins);
  if (is_trap(op) || bcmode_d(op) != BCMjump) return -1;
  return (int)pc + 1 + (int)bc_j(ins);
}

/* Whether the line hook fires for pc's line when pc runs (as on PUC Lua:
   the first instruction, a new line, the target of a backward jump or of
   a jump from another line). */
static int line_event (const GCproto *pt, BCPos pc, BCLine line) {
  BCPos from;
  if (pc == 1 || lj_debug_line((GCproto *)pt, pc - 1) != line) return 1;
  for (from = 1; from < pt->sizebc; from++) {
    if (jump_target(proto_bc(pt)[from], from) != (int)pc) continue;
    if (pc <= from || lj_debug_line((GCproto *)pt, from) != line) return 1;
  }
  return 0;
}

/* ISNEXT at pc (or the ISNEXT whose ITERN is at pc): LuaJIT rewrites the
   pair as JMP/ITERC when `next` is not the iterator; a trap on either is
   placed on the rewritten pair, so the interpreter never writes over it. */
static void despecialise_pair (GCproto *pt, BCPos pc) {
  BCIns *bc = proto_bc(pt);
  BCPos from;
  if (bc_op(bc[pc]) == BC_ITERN) {
    for (from = 1; from < pt->sizebc; from++)
      if (bc_op(bc[from]) == BC_ISNEXT && jump_target(bc[from], from) == (int)pc) break;
    if (from >= pt->sizebc) return;
    pc = from;
  }
  if (bc_op(bc[pc]) != BC_ISNEXT) return;
  from = (BCPos)jump_target(bc[pc], pc);
  if (from >= pt->sizebc || bc_op(bc[from]) != BC_ITERN) return;
  setbc_op(&bc[pc], BC_JMP);
  setbc_op(&bc[from], BC_ITERC);
}

static int by_pc (const void *a, const void *b) {
  BCPos x = ((const HrTrap *)a)->pc, y = ((const HrTrap *)b)->pc;
  return x < y ? -1 : x > y;
}

#define LINES_HERE 64

/* Traps pt's instructions where the breakpoint lines of its chunk start. */
static int place (lua_State *L, GCproto *pt) {
  int here[LINES_HERE], *lines = here;
  const char *conds_here[LINES_HERE], **conds = conds_here;
  int nlines, k, n = 0, cap = 0;
  GCstr *name;
  HrTrap *found = NULL;
  HrTraps *ts;
  BCPos pc;
  if (trap_lines == NULL || pt->sizebc <= 1 || traps_of(pt) != NULL) return 0;
  name = proto_chunkname(pt);
  if (name == NULL) return 0;
  nlines = trap_lines(strdata(name), name->len, here, conds_here, LINES_HERE);
  if (nlines <= 0) return 0;
  if (nlines > LINES_HERE) {
    lines = (int *)malloc(sizeof(int) * (size_t)nlines);
    conds = (const char **)malloc(sizeof(const char *) * (size_t)nlines);
    if (lines == NULL || conds == NULL) {
      free(lines);
      free(conds);
      return 0;
    }
    nlines = trap_lines(strdata(name), name->len, lines, conds, nlines);
  }
  for (k = 0; k < nlines; k++) {
    BCLine line = lines[k];
    /* A nested function's code lies within its definition's lines. */
    if (pt->firstline > 0 && (line < pt->firstline || line > pt->firstline + pt->numline))
      continue;
    for (pc = 1; pc < pt->sizebc; pc++) {  /* pc 0: the function header */
      BCOp op = bc_op(proto_bc(pt)[pc]);
      if (lj_debug_line(pt, pc) != line || read_as_data(pt, pc) || is_trap(op)) continue;
      /* No trace may be left (hr_traps_sync flushed them all). */
      if (op == BC_JFORI || op == BC_JFORL || op == BC_JITERL || op == BC_JLOOP) continue;
      if (!line_event(pt, pc, line)) continue;
      if (n >= cap) {
        int ncap = cap > 0 ? cap * 2 : 8;
        HrTrap *grown = (HrTrap *)realloc(found, sizeof(HrTrap) * (size_t)ncap);
        if (grown == NULL) break;
        found = grown;
        cap = ncap;
      }
      found[n].pc = pc;
      found[n].line = line;
      found[n].cond = conds[k] != NULL ? hr_cond_compile(L, pt, (int)pc, conds[k]) : NULL;
      n++;
    }
  }
  if (lines != here) {
    free(lines);
    free(conds);
  }
  if (n == 0) {
    free(found);
    return 0;
  }
  qsort(found, (size_t)n, sizeof(HrTrap), by_pc);
  ts = (HrTraps *)malloc(sizeof(HrTraps) + sizeof(HrTrap) * (size_t)n);
  if (ts == NULL) {
    for (k = 0; k < n; k++) hr_cond_free(found[k].cond);
    free(found);
    return 0;
  }
  ts->pt = pt;
  ts->n = 0;
  for (k = 0; k < n; k++) {  /* two lines' events can share a pc: keep one */
    if (ts->n > 0 && ts->t[ts->n - 1].pc == found[k].pc) {
      hr_cond_free(found[k].cond);
      continue;
    }
    ts->t[ts->n++] = found[k];
  }
  free(found);
  for (k = 0; k < ts->n; k++) {
    BCOp op = bc_op(proto_bc(pt)[ts->t[k].pc]);
    if (op == BC_ISNEXT || op == BC_ITERN) despecialise_pair(pt, ts->t[k].pc);
  }
  for (k = 0; k < ts->n; k++) {
    BCIns *ip = &proto_bc(pt)[ts->t[k].pc];
    ts->t[k].orig = *ip;
    setbc_op(ip, bc_op(*ip) == BC_GGET || bc_op(*ip) == BC_GSET ? BC_HRTRAPG : BC_HRTRAP);
  }
  ts->prev = NULL;
  ts->next = all_traps;
  if (all_traps != NULL) all_traps->prev = ts;
  all_traps = ts;
  return ts->n;
}

void hr_traps_prepare (lua_State *L, const char *const *conds, int n) {
  clear_all();  /* no trap keeps a condition naming the old strings; */
  hr_cond_prepare(L, conds, n);  /* hr_traps_sync follows, and flushes */
}

int hr_traps_sync (lua_State *L) {
  global_State *g = G(L);
  GCobj *o;
  int counted = 0;
  clear_all();
  /* Traces go first (one may hold an inlined copy of a line that gets a
     trap, and flushing rewrites their loops' bytecode). */
  hr_jit_traps_changed(L);
  if (trap_lines == NULL) return 0;
  /* Only live prototypes: mid-sweep a dead one may name a chunk string the
     collector already freed (strings are swept first). */
  for (o = gcref(g->gc.root); o != NULL; o = gcref(o->gch.nextgc))
    if (o->gch.gct == ~LJ_TPROTO && !isdead(g, o)) counted += place(L, gco2pt(o));
  return counted;
}

static void place_tree (lua_State *L, GCproto *pt, int depth) {
  ptrdiff_t i;
  if (depth > 200) return;  /* the parser's own nesting limit is lower */
  place(L, pt);
  if (!(pt->flags & PROTO_CHILD)) return;
  for (i = -(ptrdiff_t)pt->sizekgc; i < 0; i++) {
    GCobj *o = proto_kgc(pt, i);
    if (o->gch.gct == ~LJ_TPROTO) place_tree(L, gco2pt(o), depth + 1);
  }
}

void hr_traps_loaded (lua_State *L) {
  cTValue *top = L->top - 1;
  if (trap_lines == NULL || L->top <= L->base || !tvisfunc(top) || !isluafunc(funcV(top)))
    return;
  place_tree(L, funcproto(funcV(top)), 0);
}
