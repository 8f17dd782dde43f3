/*
** Lua 5.2's objects as the native reload backend (shared/reload_*.c) sees
** them: its internal headers and the HR_* macros over their layout. Like
** 5.4, closed upvalue cells are collectable objects in 'allgc'; objects
** share a header union (`gch`).
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
#define HR_GC_TT(o) (gch(o)->tt)
#define HR_GC_NEXT(o) (gch(o)->next)
#define HR_T_LCL LUA_TLCL
#define HR_T_TABLE LUA_TTABLE
#define HR_T_THREAD LUA_TTHREAD
#define HR_GCO2UPV(o) gco2uv(o)
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
/* A thread's frames, oldest first. */
#define HR_CI_DECL(th, ci) CallInfo *ci = &(th)->base_ci
#define HR_CI_VALID(th, ci) ((ci) != NULL && (ci) != (th)->ci->next)
#define HR_CI_NEXT(ci) ((ci) = (ci)->next)
/* The frame under L's running one (the caller of a C function). */
#define HR_CI_CALLER(L, ci) CallInfo *ci = (L)->ci->previous

/* No list of the threads with open upvalues; one of all open upvalues. */
#define HR_OPEN_UPVALS(g) (&(g)->uvhead)

/* Tables: the array part's size, a node's emptiness, a closure key. The
   shared dummy node holds nil, so it is skipped as empty. */
#define HR_ASIZE(h) ((h)->sizearray)
#define HR_HAS_NODES(h) 1
#define HR_NODE_EMPTY(n) ttisnil(gval(n))
#define HR_NODE_LCL_KEY(n) (ttisLclosure(gkey(n)) ? clLvalue(gkey(n)) : NULL)
#define HR_TABLE_BARRIER(L, h) \
  do { if (isblack(obj2gco(h))) luaC_barrierback_(L, obj2gco(h)); } while (0)
/* Threads are never black (the collector keeps them gray). */
#define HR_THREAD_BARRIER(L, th) ((void)(L), (void)(th))

/* Upvalue cells are collectable objects (closed ones in allgc). */
#define HR_T_UPVAL LUA_TUPVAL
#define HR_UPVAL_CLOSED(uv) ((uv)->v == &(uv)->u.value)
#define HR_UPVAL_VALUE(uv) ((uv)->v)
#define HR_UPVAL_BARRIER(L, uv) luaC_barrier(L, uv, (uv)->v)
/* Upvalue k of the new closure `cl` (no cell yet) becomes cell `uv`. */
#define HR_SET_NEW_CELL(L, cl, k, uv) \
  do { (cl)->upvals[k] = (uv); luaC_objbarrier(L, cl, uv); } while (0)
#define HR_NEW_LCLOSURE(L, n, like) ((void)(like), &luaF_newLclosure(L, n)->l)

/* Upvalue k of `cl` becomes cell `uv` (an existing slot too); a cell pass
   1 of the swap reads needs no holding. */
#define HR_SET_CELL(L, cl, k, uv) HR_SET_NEW_CELL(L, cl, k, uv)
#define HR_HOLD_CELL(L, uv) ((void)(uv))
#define HR_DROP_CELL(L, uv) ((void)(uv))

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
#define HR_STRLEN(s) ((s)->tsv.len)
#define HR_KSTRING(o) rawtsvalue(o)
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
