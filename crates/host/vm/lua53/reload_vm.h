/*
** Lua 5.3's objects as the native reload backend (shared/reload_*.c) sees
** them: its internal headers and the HR_* macros over their layout. Unlike
** 5.4, upvalue cells are reference-counted, not collectable objects: the
** reference pass reaches them through the closures that hold them.
** Lua 5.2's header (lua52/reload_vm.h) is this one with its differences
** redefined.
*/
#ifndef HOTRELOAD_RELOAD_VM_H
#define HOTRELOAD_RELOAD_VM_H

#include "lobject.h"
#include "lstate.h"
#include "lfunc.h"
#include "lgc.h"
#include "ltable.h"
#include "lstring.h"
#include "lvm.h"
#include "lopcodes.h"

/* Collectable objects: their tag, the next in a GC list, the lists. */
#define HR_GC_TT(o) ((o)->tt)
#define HR_GC_NEXT(o) ((o)->next)
#define HR_T_LCL LUA_TLCL
#define HR_T_TABLE LUA_TTABLE
#define HR_T_THREAD LUA_TTHREAD
#define HR_GCO2UPV(o) gco2upv(o)
#define HR_ALLGC(g) ((g)->allgc)
#define HR_FINOBJ(g) ((g)->finobj)
#define HR_TOBEFNZ(g) ((g)->tobefnz)
/* The main thread is in none of them. */
#define HR_MAINTHREAD_UNLISTED 1

/* Stacks: a slot's value, a thread's stack, top, a frame's function. */
#define HR_STK(s) (s)
#define HR_STACK(th) ((th)->stack)
#define HR_TOP(th) ((th)->top)
#define HR_CI_FUNC(ci) ((ci)->func)
#define HR_HAS_TWUPS 1
/* A thread's frames, oldest first. */
#define HR_CI_DECL(th, ci) CallInfo *ci = &(th)->base_ci
#define HR_CI_VALID(th, ci) ((ci) != NULL && (ci) != (th)->ci->next)
#define HR_CI_NEXT(ci) ((ci) = (ci)->next)
/* The frame under L's running one (the caller of a C function). */
#define HR_CI_CALLER(L, ci) CallInfo *ci = (L)->ci->previous

/* Tables: the array part's size, a node's emptiness, a closure key. */
#define HR_ASIZE(h) ((h)->sizearray)
#define HR_HAS_NODES(h) (!isdummy(h))
#define HR_NODE_EMPTY(n) ttisnil(gval(n))
#define HR_NODE_LCL_KEY(n) (ttisLclosure(gkey(n)) ? clLvalue(gkey(n)) : NULL)
#define HR_TABLE_BARRIER(L, h) \
  do { if (isblack(h)) luaC_barrierback_(L, h); } while (0)
/* Threads are never black (the collector keeps them gray). */
#define HR_THREAD_BARRIER(L, th) ((void)(L), (void)(th))

/* Upvalue cells: reference-counted, held by closures. */
#define HR_CELLS_IN_CLOSURES 1
#define HR_UPVAL_CLOSED(uv) (!upisopen(uv))
#define HR_UPVAL_VALUE(uv) ((uv)->v)
#define HR_UPVAL_BARRIER(L, uv) luaC_upvalbarrier(L, uv)
/* Upvalue k of the new closure `cl` (no cell yet) becomes cell `uv`, as
   lua_upvaluejoin does. */
#define HR_SET_NEW_CELL(L, cl, k, uv) \
  do { \
    UpVal *uv_ = (uv); \
    uv_->refcount++; \
    if (upisopen(uv_)) uv_->u.open.touched = 1; \
    (cl)->upvals[k] = uv_; \
    luaC_upvalbarrier(L, uv_); \
  } while (0)
#define HR_NEW_LCLOSURE(L, n, like) ((void)(like), luaF_newLclosure(L, n))

/* Upvalue k of `cl` becomes cell `uv` (an existing slot too), as
   lua_upvaluejoin does: the cell it held loses a reference. (Macros, not
   functions: 5.2's header includes this one and redefines them.) */
#define HR_SET_CELL(L, cl, k, uv) \
  do { \
    UpVal *was_ = (cl)->upvals[k], *to_ = (uv); \
    if (was_ != to_) { \
      HR_SET_NEW_CELL(L, cl, k, to_); \
      if (was_ != NULL) luaC_upvdeccount(L, was_); \
    } \
  } while (0)
/* The swap holds the cells it reads until it has written them. */
#define HR_HOLD_CELL(L, uv) ((uv)->refcount++)
#define HR_DROP_CELL(L, uv) luaC_upvdeccount(L, uv)

/* Restarting a frame (shared/restart.c): the first frame of a coroutine,
   open to-be-closed variables (none before 5.4), where the locals start,
   the frame's top, closing its cells, and its first instruction. */
#define HR_CI_FIRST(L, ci) ((ci)->previous == &(L)->base_ci)
#define HR_CI_HAS_TBC(L, ci) 0
#define HR_CI_BASE(ci) ((ci)->u.l.base)
#define HR_CI_TOP(ci) ((ci)->top)
#define HR_CLOSE_UPVALS(L, base) luaF_close(L, base)
#define HR_RESTART_PC(L, ci, p) ((ci)->u.l.savedpc = (p)->code)

/* Restarting after an error stop (shared/error_restart.c). */
#define HR_ERROR_RESTART 1
#define HR_NCCALLS_T unsigned short
#define HR_HAS_NNY 1

/* Strings, prototypes. */
#define HR_STRLEN(s) tsslen(s)
#define HR_KSTRING(o) tsvalue(o)
#define HR_TTAG(o) ttype(o)
#define HR_UPVAL_NAME(p, i) ((p)->upvalues[i].name)
#define HR_PROTO_SAME_UPVAL(a, b, i) \
  ((a)->upvalues[i].instack == (b)->upvalues[i].instack && \
   (a)->upvalues[i].idx == (b)->upvalues[i].idx)

/* The names the shared C uses for what differs between 5.1 and later. */
#define HR_IS_LCL(o) ttisLclosure(o)
#define HR_LCL(o) clLvalue(o)
#define HR_SET_LCL(L, o, cl) setclLvalue(L, o, cl)
#define HR_GC_IS_LCL(o) (HR_GC_TT(o) == HR_T_LCL)
#define HR_NUPS_FIELD sizeupvalues
#define HR_MAXUPVAL MAXUPVAL
#define HR_LEN(L, i) luaL_len(L, i)
#define HR_NEWLIB(L, l) luaL_newlib(L, l)
#define HR_CODE_AT(p, pc) hr_code_at(p, pc)       /* without breakpoint traps */
#define HR_CODE_EQUAL(a, b) hr_code_equal(a, b)
#define HR_RAWEQUAL(a, b) luaV_rawequalobj(a, b)

#endif
