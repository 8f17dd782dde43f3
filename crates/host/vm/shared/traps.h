/*
 * Private to the VM folders: breakpoint traps. shared/traps.c keeps the
 * traps (which instruction of which prototype, what it replaced); each
 * folder's trap_vm.c gives what depends on its VM (where a line's events
 * fire, the collector's list, calling the hook). The patched VM sources
 * call hr_trap_hit and read code through hr_code_at (declared by the
 * lobject.h patch, see the folder's vm.rs).
 */
#ifndef HOTRELOAD_TRAPS_H
#define HOTRELOAD_TRAPS_H

#include <stddef.h>

#include "lua.h"
#if defined(__has_include) && __has_include("lj_obj.h")
/* LuaJIT (vm/luajit/traps.c and trap_vm.c): its prototypes and bytecode
   under PUC Lua's names, for the shared declarations and cond.c. */
#include "lj_obj.h"
typedef GCproto Proto;
typedef BCIns Instruction;
/* Globals are fields of the running function's environment (setfenv). */
#define HR_FENV 1
/* The name of the n-th local (from 1) active at pc, or NULL. */
const char *hr_vm_local_name (const Proto *p, int n, int pc);
int hr_vm_upvalue_count (const Proto *p);
#else
#include "lobject.h"
#include "lfunc.h"
#define hr_vm_local_name(p, n, pc) luaF_getlocalname(p, n, pc)
#define hr_vm_upvalue_count(p) ((p)->sizeupvalues)
#if LUA_VERSION_NUM <= 501
#define HR_FENV 1  /* globals: the function's environment, not _ENV */
#endif
#endif

/* ---- Each VM (vm/<vm>/trap_vm.c) ---- */

/* Writes to pcs[0..cap) the instructions of p where a line event for
   `line` fires (a new line or a backward jump) and a trap may stand (no
   instruction reads it as data); returns how many (may exceed cap). */
int hr_vm_line_events (const Proto *p, int line, int *pcs, int cap);
/* Calls f for every prototype of L's VM (the collector's list). */
void hr_vm_each_proto (lua_State *L, void (*f) (Proto *p, void *ud),
                       void *ud);
/* The chunk name of p, unformatted (NULL when stripped). */
const char *hr_vm_source (const Proto *p, size_t *len);
/* From a trap in L's running frame, before `orig` (the instruction the
   trap stands for) runs: calls `hook` as the VM calls a line hook. */
void hr_vm_line_event (lua_State *L, lua_Hook hook, Instruction orig,
                       int line);

/* A value as breakpoint conditions see it (cond.c). */
typedef struct HrVal {
  int t;
  lua_Integer i;  /* HV_BOOL, HV_INT */
  lua_Number n;  /* HV_FLT */
  const void *p;  /* HV_STR: TString; HV_TAB: Table; HV_OTHER: identity */
} HrVal;
enum { HV_NIL, HV_BOOL, HV_INT, HV_FLT, HV_STR, HV_TAB, HV_OTHER };

/* Register `reg` of L's running frame; upvalue `idx` of its closure. */
int hr_vm_local (lua_State *L, int reg, HrVal *out);
int hr_vm_upvalue (lua_State *L, int idx, HrVal *out);
const char *hr_vm_upvalue_name (const Proto *p, int idx);
#ifdef HR_FENV
/* The running Lua function's environment table (its globals). */
int hr_vm_env (lua_State *L, HrVal *out);
#endif
/* t[key] without metamethods; 0 when a metamethod could answer. */
int hr_vm_field (const HrVal *t, const HrVal *key, HrVal *out);
/* #v without metamethods; 0 when a metamethod could answer. */
int hr_vm_len (const HrVal *v, HrVal *out);
const char *hr_vm_string (const void *ts, size_t *len);
/* A string of L's VM, kept alive until hr_vm_forget_strings (only from
   hr_cond_prepare: it allocates). */
const void *hr_vm_keep_string (lua_State *L, const char *s, size_t len);
void hr_vm_forget_strings (lua_State *L);

/* ---- Shared (cond.c) ---- */

/* A compiled condition is a program of these ops over a stack of HrVal. */
enum {
  C_K, C_LOCAL, C_UPVAL, C_FIELD, C_INDEX, C_LEN, C_NOT, C_NEG,
  C_ADD, C_SUB, C_MUL, C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE,
  C_JT, C_JF,  /* or / and: jump keeping the value, else drop it */
  C_ENV  /* HR_FENV: pushes the running function's environment */
};

typedef struct HrOp {
  int op;
  int arg;  /* C_LOCAL: register; C_UPVAL: index; C_JT/C_JF: target op */
  HrVal k;  /* C_K: the constant; C_FIELD: the key (HV_STR) */
} HrOp;

struct HrCond;
/* Makes the strings the conditions `texts` name (allocating in L's VM),
   dropping those made before: compiling then allocates nothing. */
void hr_cond_prepare (lua_State *L, const char *const *texts, int n);
/* The condition `text` at instruction pc of p, or NULL outside the subset
   (or naming a string hr_cond_prepare did not make). */
struct HrCond *hr_cond_compile (lua_State *L, const Proto *p, int pc,
                                const char *text);
void hr_cond_free (struct HrCond *c);
/* 1 when the condition is surely false in L's running frame. */
int hr_cond_false (lua_State *L, const struct HrCond *c);
/* The ops of c (LuaJIT's recorder turns them into trace guards); returns
   how many. */
int hr_cond_ops (const struct HrCond *c, const HrOp **ops);

/* ---- Shared (vm_hooks.c) ---- */

/* The debugger's hook function (NULL: none). */
lua_Hook hr_debug_hook (void);
/* The hook function L's VM fields should hold for its two slots. */
lua_Hook hr_union_hook (lua_State *L);

#endif
