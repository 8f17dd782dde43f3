/*
 * Breakpoint traps, the same for every VM: a breakpoint's line becomes, in
 * every prototype that holds it, an OP_EXTRAARG instruction (which stock
 * Lua never executes: it is only read as the argument of the instruction
 * before it; 5.1, which has none, gets an opcode of its own, OP_HRTRAP)
 * whose argument indexes the prototype's trap list. The patched
 * interpreter runs hr_trap_hit there, then the original instruction. Code
 * without a trap runs with no hook and no check at all.
 *
 * The original instructions stay readable: everything in the VM that reads
 * code as data (error messages naming variables, string.dump, the
 * metamethod fallbacks, finishing an instruction after a yield) reads it
 * through hr_code_at, and the reload engine compares code through
 * hr_code_equal. Trap lists live outside the Lua heap (malloc: the
 * program's memoryLimit does not see them) and die with their prototype
 * (luaF_freeproto calls hr_traps_free).
 */
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lobject.h"
#include "lopcodes.h"
#include "lstate.h"

#include "hotreload_vm.h"
#include "traps.h"

/* The trap instruction: its opcode, its index, the largest index. */
#ifdef OP_HRTRAP  /* Lua 5.1 (lua51/vm.rs) */
#define TRAP_OP OP_HRTRAP
#define TRAP_INDEX(i) GETARG_Bx(i)
#define TRAP_MAKE(k) CREATE_ABx(OP_HRTRAP, 0, k)
#define TRAP_MAX MAXARG_Bx
#else
#define TRAP_OP OP_EXTRAARG
#define TRAP_INDEX(i) GETARG_Ax(i)
#define TRAP_MAKE(k) CREATE_Ax(OP_EXTRAARG, k)
#define TRAP_MAX MAXARG_Ax
#endif

typedef struct HrTrap {
  int pc;
  int line;
  Instruction orig;
  struct HrCond *cond;  /* checked before the hook (NULL: none) */
} HrTrap;

struct HrTraps {
  Proto *p;
  struct HrTraps *prev, *next;  /* every prototype with traps */
  int n;
  HrTrap t[1];  /* n of them, by pc */
};

static struct HrTraps *all_traps = NULL;
static hr_trap_lines trap_lines = NULL;
static lua_State *placing = NULL;  /* the thread placing traps now */

int hr_traps_supported (void) {
  return 1;
}

void hr_set_trap_lines (hr_trap_lines lines) {
  trap_lines = lines;
}

/* The trap that instruction `pc` of p stands for, if it is one. */
static const HrTrap *trap_at (const Proto *p, int pc) {
  const struct HrTraps *ts = p->hr_traps;
  Instruction i;
  int index;
  if (ts == NULL) return NULL;
  i = p->code[pc];
  if (GET_OPCODE(i) != TRAP_OP) return NULL;
  index = TRAP_INDEX(i);
  if (index >= ts->n || ts->t[index].pc != pc) return NULL;
  return &ts->t[index];
}

Instruction hr_code_at (const Proto *p, int pc) {
  const HrTrap *t = trap_at(p, pc);
  return t != NULL ? t->orig : p->code[pc];
}

int hr_code_equal (const Proto *a, const Proto *b) {
  int pc;
  if (a->sizecode != b->sizecode) return 0;
  if (a->hr_traps == NULL && b->hr_traps == NULL)
    return memcmp(a->code, b->code, sizeof(Instruction) * (size_t)a->sizecode) == 0;
  for (pc = 0; pc < a->sizecode; pc++)
    if (hr_code_at(a, pc) != hr_code_at(b, pc)) return 0;
  return 1;
}

Instruction hr_trap_hit (lua_State *L, const Proto *p, const Instruction *at) {
  const HrTrap *t = trap_at(p, (int)(at - p->code));
  lua_Hook hook;
  if (t == NULL) return *at;  /* a real OP_EXTRAARG: as stock, skipped */
  /* The debugger's line hook, when on, sees this line itself, as it did
     if it reported this very instruction before it ran (a step ended
     here); nothing runs inside a hook (as stock: no hook fires there). */
  if (L->hr_seenpc == at + 1) {
    L->hr_seenpc = NULL;
    return t->orig;
  }
  if ((L->hr_dmask & LUA_MASKLINE) || !L->allowhook) return t->orig;
  /* A condition surely false here: go on without asking the debugger. */
  if (t->cond != NULL && hr_cond_false(L, t->cond)) return t->orig;
  hook = hr_debug_hook();
  if (hook != NULL) {
    /* The hook may remove this very trap (new breakpoints): copy first. */
    Instruction orig = t->orig;
    hr_vm_line_event(L, hook, orig, t->line);
    return orig;
  }
  return t->orig;
}

static void unlink_traps (struct HrTraps *ts) {
  if (ts->prev != NULL) ts->prev->next = ts->next;
  else all_traps = ts->next;
  if (ts->next != NULL) ts->next->prev = ts->prev;
}

void hr_traps_free (Proto *p) {
  struct HrTraps *ts = p->hr_traps;
  int k;
  if (ts == NULL) return;
  unlink_traps(ts);
  for (k = 0; k < ts->n; k++) hr_cond_free(ts->t[k].cond);
  p->hr_traps = NULL;
  free(ts);
}

void hr_traps_clear (void) {
  while (all_traps != NULL) {
    struct HrTraps *ts = all_traps;
    Proto *p = ts->p;
    int k;
    for (k = 0; k < ts->n; k++) p->code[ts->t[k].pc] = ts->t[k].orig;
    hr_traps_free(p);
  }
}

static int by_pc (const void *a, const void *b) {
  return ((const HrTrap *)a)->pc - ((const HrTrap *)b)->pc;
}

#define LINES_HERE 64

/* Traps p's instructions where the breakpoint lines of its chunk start. */
static void place (Proto *p, void *ud) {
  int here[LINES_HERE], *lines = here;
  const char *conds_here[LINES_HERE], **conds = conds_here;
  int nlines, k, n = 0, cap = 0;
  size_t len;
  const char *source;
  HrTrap *found = NULL;
  struct HrTraps *ts;
  int *counted = (int *)ud;
  if (trap_lines == NULL || p->hr_traps != NULL || p->sizecode == 0) return;
  source = hr_vm_source(p, &len);
  if (source == NULL) return;
  nlines = trap_lines(source, len, here, conds_here, LINES_HERE);
  if (nlines <= 0) return;
  if (nlines > LINES_HERE) {
    lines = (int *)malloc(sizeof(int) * (size_t)nlines);
    conds = (const char **)malloc(sizeof(const char *) * (size_t)nlines);
    if (lines == NULL || conds == NULL) {
      free(lines);
      free(conds);
      return;
    }
    nlines = trap_lines(source, len, lines, conds, nlines);
  }
  for (k = 0; k < nlines; k++) {
    int line = lines[k], m, want;
    /* A nested function's code lies within its definition's lines. */
    if (p->linedefined > 0 && (line < p->linedefined || line > p->lastlinedefined))
      continue;
    want = hr_vm_line_events(p, line, NULL, 0);
    if (want <= 0) continue;
    if (n + want > cap) {
      int ncap = (n + want) * 2;
      HrTrap *grown = (HrTrap *)realloc(found, sizeof(HrTrap) * (size_t)ncap);
      if (grown == NULL) break;
      found = grown;
      cap = ncap;
    }
    {
      int pcs[LINES_HERE], *pp = pcs;
      if (want > LINES_HERE) pp = (int *)malloc(sizeof(int) * (size_t)want);
      if (pp == NULL) break;
      hr_vm_line_events(p, line, pp, want);
      for (m = 0; m < want; m++) {
        found[n].pc = pp[m];
        found[n].line = line;
        found[n].orig = p->code[pp[m]];
        found[n].cond = conds[k] != NULL && placing != NULL
                            ? hr_cond_compile(placing, p, pp[m], conds[k])
                            : NULL;
        n++;
      }
      if (pp != pcs) free(pp);
    }
  }
  if (lines != here) {
    free(lines);
    free(conds);
  }
  if (n == 0 || n > TRAP_MAX) {
    for (k = 0; k < n; k++) hr_cond_free(found[k].cond);
    free(found);
    return;
  }
  qsort(found, (size_t)n, sizeof(HrTrap), by_pc);
  ts = (struct HrTraps *)malloc(sizeof(struct HrTraps) + sizeof(HrTrap) * (size_t)n);
  if (ts == NULL) {
    for (k = 0; k < n; k++) hr_cond_free(found[k].cond);
    free(found);
    return;
  }
  ts->p = p;
  ts->n = 0;
  for (k = 0; k < n; k++) {  /* two lines' events can share a pc: keep one */
    if (ts->n > 0 && ts->t[ts->n - 1].pc == found[k].pc) {
      hr_cond_free(found[k].cond);
      continue;
    }
    ts->t[ts->n++] = found[k];
  }
  free(found);
  for (k = 0; k < ts->n; k++) p->code[ts->t[k].pc] = TRAP_MAKE(k);
  ts->prev = NULL;
  ts->next = all_traps;
  if (all_traps != NULL) all_traps->prev = ts;
  all_traps = ts;
  p->hr_traps = ts;
  if (counted != NULL) *counted += ts->n;
}

/* Placing traps walks the collector's list: the collector waits meanwhile
   (placing allocates nothing in the VM: see hr_traps_prepare). */
#if LUA_VERSION_NUM <= 501
/* 5.1's collector steps only when the VM allocates, which placing does
   not; and stopping it could not be undone exactly (no LUA_GCISRUNNING,
   LUA_GCRESTART moves the threshold). */
static int pause_collector (lua_State *L) {
  placing = L;
  return 0;
}

static void resume_collector (lua_State *L, int running) {
  (void)L; (void)running;
  placing = NULL;
}
#else
static int pause_collector (lua_State *L) {
  int running = lua_gc(L, LUA_GCISRUNNING, 0);
  if (running) lua_gc(L, LUA_GCSTOP, 0);
  placing = L;
  return running;
}

static void resume_collector (lua_State *L, int running) {
  placing = NULL;
  if (running) lua_gc(L, LUA_GCRESTART, 0);
}
#endif

void hr_traps_prepare (lua_State *L, const char *const *conds, int n) {
  hr_traps_clear();  /* no trap keeps a condition naming the old strings */
  hr_cond_prepare(L, conds, n);
}

int hr_traps_sync (lua_State *L) {
  int counted = 0, running;
  hr_traps_clear();
  running = pause_collector(L);
  if (trap_lines != NULL) hr_vm_each_proto(L, place, &counted);
  resume_collector(L, running);
  return counted;
}

static void place_tree (Proto *p, int depth) {
  int k;
  if (depth > 200) return;  /* the parser's own nesting limit is lower */
  place(p, NULL);
  for (k = 0; k < p->sizep; k++) place_tree(p->p[k], depth + 1);
}

void hr_traps_loaded (lua_State *L) {
  const LClosure *cl;
  int running;
  if (trap_lines == NULL || lua_type(L, -1) != LUA_TFUNCTION || lua_iscfunction(L, -1))
    return;
  cl = (const LClosure *)lua_topointer(L, -1);
  running = pause_collector(L);
  place_tree(cl->p, 0);
  resume_collector(L, running);
}
