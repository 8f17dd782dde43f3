/*
** LuaJIT's objects as the native reload backend (shared/reload_*.c) sees
** them: its internal headers, PUC Lua's type names over LuaJIT's, and the
** HR_* macros over their layout. What differs most:
**
** - a closure has no prototype pointer: its `pc` points at the prototype's
**   bytecode (`funcproto`), so giving it new code is writing `pc` (the
**   collector reaches the prototype through it);
** - nested prototypes are constants of their parent (its GC constants, a
**   slot of which BC_FNEW names), not an array: a slot that holds a string
**   or a table is no nested function (HR_NESTED is NULL there);
** - frames live in the stack slots (the function, then the link to the
**   frame below), listed newest first;
** - a cell the compiler may treat as a constant (`immutable`) loses that
**   mark when new code writes it; compiled traces are flushed after every
**   reload (jit.c, `hotreload_code_replaced`);
** - names of locals and upvalues are C strings in the prototype's debug
**   info, so a "TString" here is a `const char`.
*/
#ifndef HOTRELOAD_RELOAD_VM_H
#define HOTRELOAD_RELOAD_VM_H

#include "lj_obj.h"
#include "lj_gc.h"
#include "lj_func.h"
#include "lj_tab.h"
#include "lj_frame.h"
#include "lj_bc.h"

typedef GCfuncL LClosure;
typedef GCproto Proto;
typedef GCupval UpVal;
typedef GCtab Table;
typedef GCobj GCObject;
typedef TValue *StkId;
typedef const char TString;
typedef BCIns Instruction;

/* Collectable objects: their tag, the next in a GC list, the list. */
#define HR_GC_TT(o) ((o)->gch.gct)
#define HR_GC_NEXT(o) gcref((o)->gch.nextgc)
#define HR_GC_IS_LCL(o) (HR_GC_TT(o) == ~LJ_TFUNC && isluafunc(&(o)->fn))
#define HR_T_TABLE (~LJ_TTAB)
#define HR_T_THREAD (~LJ_TTHREAD)
#define HR_T_UPVAL (~LJ_TUPVAL)
#define HR_GCO2UPV(o) gco2uv(o)
#define gco2lcl(o) (&gco2func(o)->l)
#define gco2t(o) gco2tab(o)
/* Everything (the main thread, userdata, closed cells too) is on one list. */
#define HR_ALLGC(g) gcref((g)->gc.root)
#define HR_MAINTHREAD(g) mainthread(g)

/* Stacks: a slot's value, a thread's stack, top. */
#define HR_STK(s) (s)
#define HR_STACK(th) tvref((th)->stack)
#define HR_TOP(th) ((th)->top)
/* A thread's frames, newest first (lj_debug_frame's walk): `ci` is the
   frame's link slot, the function is in the slot below it (LJ_FR2) or the
   same one. */
#define HR_CI_DESCENDING 1
#define HR_CI_FUNC(ci) ((ci) - LJ_FR2)
#define HR_CI_DECL(th, ci) TValue *ci = (th)->base - 1
#define HR_CI_VALID(th, ci) ((ci) != NULL && (ci) > HR_STACK(th) + LJ_FR2)
#define HR_CI_NEXT(ci) ((ci) = hr_lj_frame_below(ci))
/* The frame below `f`; NULL rather than a link that does not go down. */
static inline TValue *hr_lj_frame_below(TValue *f) {
  TValue *p = frame_prev(f);
  return p < f ? p : NULL;
}
/* The frame under L's running one (the caller of a C function). */
static inline TValue *hr_lj_caller_frame(lua_State *L) {
  TValue *f = hr_lj_frame_below(L->base - 1);
  return f != NULL && f > HR_STACK(L) + LJ_FR2 ? f : NULL;
}
#define HR_CI_CALLER(L, ci) TValue *ci = hr_lj_caller_frame(L)

/* No list of threads with open cells; one of all open cells. */
#define HR_OPEN_UPVALS(g) (&(g)->uvhead)
#define HR_UV_NEXT(uv) uvnext(uv)
#define HR_UV_SLOT(uv) uvval(uv)

/* Tables: array part, hash part (a table without one points at the
   global nil node, which is skipped as empty), a closure key. */
#define HR_METATABLE(h) tabref((h)->metatable)
#define HR_ARRAY(h) tvref((h)->array)
#define HR_ASIZE(h) ((unsigned int)(h)->asize)
#define HR_HAS_NODES(h) 1
#define gnode(h, i) (&noderef((h)->node)[i])
#define sizenode(h) ((h)->hmask + 1)
#define gval(n) (&(n)->val)
#define HR_NODE_EMPTY(n) tvisnil(&(n)->val)
#define HR_NODE_LCL_KEY(n) (HR_IS_LCL(&(n)->key) ? HR_LCL(&(n)->key) : NULL)
#define HR_TABLE_BARRIER(L, h) lj_gc_anybarriert(L, h)
#define sethvalue(L, o, h) settabV(L, o, h)
/* Threads are never black (the collector keeps them gray). */
#define HR_THREAD_BARRIER(L, th) ((void)(L), (void)(th))

/* Cells: closed ones are on the object list, an open one points into a
   stack. */
#define HR_UPVAL_CLOSED(uv) ((uv)->closed)
#define HR_UPVAL_VALUE(uv) uvval(uv)
#define HR_UPVAL_BARRIER(L, uv) lj_gc_barrier(L, uv, uvval(uv))
#define HR_CELL(cl, k) (&gcref((cl)->uvptr[k])->uv)
#define HR_PUT_CELL(cl, k, uv) setgcref((cl)->uvptr[k], obj2gco(uv))
#define HR_SET_NEW_CELL(L, cl, k, uv) \
  do { HR_PUT_CELL(cl, k, uv); lj_gc_objbarrier(L, cl, uv); } while (0)

/* A closure's prototype, and giving it another (its bytecode). */
#define HR_PROTO(cl) funcproto((GCfunc *)(cl))
#define HR_SET_PROTO(L, cl, np) \
  do { setmref((cl)->pc, proto_bc(np)); lj_gc_objbarrier(L, cl, np); } while (0)
/* A new closure of `np` (its cells are set next), in `like`'s environment. */
#define HR_NEW_LCLOSURE_OF(L, np, like) (&lj_func_newL_empty(L, np, tabref((like)->env))->l)
/* A cell the new code writes must not stay "immutable" for the compiler,
   and the prototype counts one closure more (monomorphic or not). */
static inline void hr_lj_code_changed(LClosure *cl) {
  GCproto *pt = HR_PROTO(cl);
  int k, clc = (pt->flags & PROTO_CLCOUNT * 7) + PROTO_CLCOUNT;
  for (k = 0; k < cl->nupvalues && k < pt->sizeuv; k++)
    if (!(proto_uv(pt)[k] & PROTO_UV_IMMUTABLE)) HR_CELL(cl, k)->immutable = 0;
  if (clc <= PROTO_CLCOUNT * 7) pt->flags = (uint8_t)((pt->flags & ~(PROTO_CLCOUNT * 7)) | clc);
}
#define HR_CODE_CHANGED(L, cl) ((void)(L), hr_lj_code_changed(cl))

/* Nested prototypes: constants of the parent (see above). */
static inline Proto *hr_lj_nested(const Proto *p, int i) {
  GCobj *o = proto_kgc(p, ~(ptrdiff_t)i);
  return o->gch.gct == ~LJ_TPROTO ? gco2pt(o) : NULL;
}
#define HR_NESTED_N(p) (((p)->flags & PROTO_CHILD) ? (int)(p)->sizekgc : 0)
#define HR_NESTED(p, i) hr_lj_nested(p, i)
#define HR_CLOSURE_SLOT(ins) (bc_op(ins) == BC_FNEW ? (int)bc_d(ins) : -1)

/* Prototypes and names. */
#define HR_LINEDEFINED(p) ((p)->firstline)
static inline const char *hr_lj_source(const Proto *p) {
  return gcref(p->chunkname) != NULL ? proto_chunknamestr(p) : NULL;
}
#define HR_SOURCE(p) hr_lj_source(p)
#define HR_SIZECODE(p) ((int)(p)->sizebc)
#define HR_IS_VARARG(p) ((p)->flags & PROTO_VARARG)
#define HR_NUPS_FIELD sizeuv
#define HR_MAXUPVAL LJ_MAX_UPVAL
#define HR_STRLEN(s) strlen(s)
#define getstr(s) (s)
#define HR_CODE_AT(p, pc) hr_bc_at(p, &proto_bc(p)[pc]) /* without breakpoint traps */
/* reload_names.c: an upvalue's name (NULL when stripped), locals' names. */
#define HR_UPVAL_NAME(p, i) hr_lj_uv_name(p, i)
__attribute__((visibility("hidden"))) const char *hr_lj_uv_name(const GCproto *pt, int k);
#define HR_OWN_LOCAL_NAMES 1
/* compare.c: same code, constants and nested functions, lines aside. */
#define HR_PROTO_SAME(L, a, b) hr_lj_same_proto(L, a, b)
__attribute__((visibility("hidden"))) int hr_lj_same_proto(lua_State *L, GCproto *a,
                                                          GCproto *b);

/* restart.c answers restartFrame, after an error stop too (not
   shared/error_restart.c). */
#define HR_RESTART_OWN 1

/* The names the shared C uses for values and the API. */
#define HR_IS_LCL(o) (tvisfunc(o) && isluafunc(funcV(o)))
#define HR_LCL(o) (&funcV(o)->l)
#define HR_SET_LCL(L, o, cl) setfuncV(L, o, (GCfunc *)(cl))
#define HR_LEN(L, i) ((lua_Integer)lua_objlen(L, i))
#define HR_NEWLIB(L, l) (lua_newtable(L), luaL_register(L, NULL, l))

#endif
