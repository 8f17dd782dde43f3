/*
** Lua 5.1's objects as the native reload backend (shared/reload_*.c) sees
** them: its internal headers and the HR_* macros over their layout. Lua
** and C closures share one type tag (`isC` tells them apart) and carry an
** environment; frames are an array; a prototype's upvalues are only names
** (where each comes from is in the pseudo-instructions after OP_CLOSURE,
** see reload_names.c); one object list, `rootgc`, holds everything.
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

#define gco2lcl(o) (&gco2cl(o)->l)
#define gco2t(o) gco2h(o)

/* Collectable objects: their tag, the next in a GC list, the lists. */
#define HR_GC_TT(o) ((o)->gch.tt)
#define HR_GC_NEXT(o) ((o)->gch.next)
#define HR_GC_IS_LCL(o) (HR_GC_TT(o) == LUA_TFUNCTION && !gco2cl(o)->c.isC)
#define HR_T_TABLE LUA_TTABLE
#define HR_T_THREAD LUA_TTHREAD
#define HR_GCO2UPV(o) gco2uv(o)
/* Everything (the main thread and userdata too) is on `rootgc`. */
#define HR_ALLGC(g) ((g)->rootgc)

/* Stacks: a slot's value, a thread's stack, top, a frame's function. */
#define HR_STK(s) (s)
#define HR_STACK(th) ((th)->stack)
#define HR_TOP(th) ((th)->top)
#define HR_CI_FUNC(ci) ((ci)->func)
/* A thread's frames, oldest first: an array up to th->ci. */
#define HR_CI_DECL(th, ci) CallInfo *ci = (th)->base_ci
#define HR_CI_VALID(th, ci) ((ci) <= (th)->ci)
#define HR_CI_NEXT(ci) ((ci)++)
/* The frame under L's running one (the caller of a C function). */
#define HR_CI_CALLER(L, ci) CallInfo *ci = (L)->ci > (L)->base_ci ? (L)->ci - 1 : NULL

/* No list of the threads with open upvalues; one of all open upvalues. */
#define HR_OPEN_UPVALS(g) (&(g)->uvhead)

/* Tables: the array part's size, a node's emptiness, a closure key. The
   shared dummy node holds nil, so it is skipped as empty. */
#define HR_ASIZE(h) ((unsigned int)(h)->sizearray)
#define HR_HAS_NODES(h) 1
#define HR_NODE_EMPTY(n) ttisnil(gval(n))
#define HR_NODE_LCL_KEY(n) (HR_IS_LCL(key2tval(n)) ? HR_LCL(key2tval(n)) : NULL)
#define HR_TABLE_BARRIER(L, h) \
  do { if (isblack(obj2gco(h))) luaC_barrierback(L, h); } while (0)
/* Threads are never black (the collector keeps them gray). */
#define HR_THREAD_BARRIER(L, th) ((void)(L), (void)(th))

/* Upvalue cells are collectable objects (closed ones on rootgc). */
#define HR_T_UPVAL LUA_TUPVAL
#define HR_UPVAL_CLOSED(uv) ((uv)->v == &(uv)->u.value)
#define HR_UPVAL_VALUE(uv) ((uv)->v)
#define HR_UPVAL_BARRIER(L, uv) luaC_barrier(L, uv, (uv)->v)
/* Upvalue k of the new closure `cl` (no cell yet) becomes cell `uv`. */
#define HR_SET_NEW_CELL(L, cl, k, uv) \
  do { (cl)->upvals[k] = (uv); luaC_objbarrier(L, cl, uv); } while (0)
/* A new closure keeps the environment of the one it stands for. */
#define HR_NEW_LCLOSURE(L, n, like) (&luaF_newLclosure(L, n, (like)->env)->l)

/* Upvalue k of `cl` becomes cell `uv` (an existing slot too); a cell pass
   1 of the swap reads needs no holding. */
#define HR_SET_CELL(L, cl, k, uv) HR_SET_NEW_CELL(L, cl, k, uv)
#define HR_HOLD_CELL(L, uv) ((void)(uv))
#define HR_DROP_CELL(L, uv) ((void)(uv))

/* Restarting a frame (shared/restart.c): the first frame of a coroutine,
   open to-be-closed variables (none before 5.4), where the locals start,
   the frame's top, closing its cells, and its first instruction (the
   running frame's pc and base live in L). */
#define HR_CI_FIRST(L, ci) ((ci) == (L)->base_ci + 1)
#define HR_CI_HAS_TBC(L, ci) 0
#define HR_CI_BASE(ci) ((ci)->base)
#define HR_CI_TOP(ci) ((ci)->top)
#define HR_CLOSE_UPVALS(L, base) luaF_close(L, base)
#define HR_RESTART_PC(L, ci, p) ((L)->savedpc = (p)->code, (L)->base = (ci)->base)
/* A vararg prototype's flags also say whether its code reads `...`; when
   not, the call gives it the extra arguments as a table in the local `arg`,
   the register after the parameters (LUA_COMPAT_VARARG). A restart keeps
   that table when both codes have it and makes it when only the new one
   does (restart_arg.c); the frame's layout is the same either way. */
#define HR_PROTO_VARARG(p) ((p)->is_vararg & VARARG_ISVARARG)
#define HR_NEEDS_ARG(p) (((p)->is_vararg & VARARG_NEEDSARG) != 0)
#define HR_RESTART_KEPT(was, p) (HR_NEEDS_ARG(was) && HR_NEEDS_ARG(p) ? 1 : 0)
#define HR_RESTART_ARG(L, ci, was, p) \
  do { if (HR_NEEDS_ARG(p) && !HR_NEEDS_ARG(was)) hr_restart_make_arg(L, ci, p); } while (0)
void hr_restart_make_arg(lua_State *L, CallInfo *ci, const Proto *p);

/* Restarting after an error stop (shared/error_restart.c). Frames are an
   array that grows by reallocation: a frame or a run's first frame is kept
   as its index. A level also counts the tail calls a frame replaced (as
   lua_getstack does). luaV_execute(L, nexeccalls) runs L->ci and the
   nexeccalls - 1 Lua frames under it, all of them its own; re-entered at
   L->ci, it runs as many as lie from its first frame up. An error caught
   after a stack overflow gives back the frames granted for handling it
   (ldo.c's restore_stack_limit). */
#define HR_ERROR_RESTART 1
#define HR_NCCALLS_T unsigned short
#define HR_CIREF_T ptrdiff_t
#define HR_CIREF(L, ci) ((ci) - (L)->base_ci)
#define HR_CI_AT(L, r) ((L)->base_ci + (r))
#define HR_CI_BOTTOM(L) ((L)->base_ci)
#define HR_CI_PREV(L, ci) ((ci) == (L)->base_ci ? NULL : (ci) - 1)
#define HR_CI_LOST_TAILCALLS(ci) (isLua(ci) ? (ci)->tailcalls : 0)
#define HR_EXEC_ARG_T int
#define HR_EXEC_FIRST(L, n) ((L)->ci - (n) + 1)
#define HR_EXEC_AGAIN(L, first) ((int)((L)->ci - HR_CI_AT(L, first)) + 1)
#define HR_RESET_LIMITS(L) \
  do { \
    if ((L)->size_ci > LUAI_MAXCALLS && (L)->ci - (L)->base_ci + 1 < LUAI_MAXCALLS) \
      luaD_reallocCI(L, LUAI_MAXCALLS); \
  } while (0)

/* Strings, prototypes. */
#define HR_STRLEN(s) ((s)->tsv.len)
#define HR_KSTRING(o) rawtsvalue(o)
#define HR_TTAG(o) ttype(o)
/* Names may be stripped (sizeupvalues 0) while nups counts the cells. */
#define HR_UPVAL_NAME(p, i) ((i) < (p)->sizeupvalues ? (p)->upvalues[i] : NULL)
#define HR_PROTO_SAME_UPVAL(a, b, i) 1 /* where from: in the parents' code */

/* The names the shared C uses for what differs between 5.1 and later. */
#define HR_IS_LCL(o) (ttisfunction(o) && !clvalue(o)->c.isC)
#define HR_LCL(o) (&clvalue(o)->l)
#define HR_SET_LCL(L, o, cl) setclvalue(L, o, (Closure *)(cl))
#define HR_NUPS_FIELD nups
#define HR_MAXUPVAL LUAI_MAXUPVALUES
#define HR_LEN(L, i) ((lua_Integer)lua_objlen(L, i))
#define HR_NEWLIB(L, l) (lua_newtable(L), luaL_register(L, NULL, l))
#define HR_CODE_AT(p, pc) hr_code_at(p, pc) /* without breakpoint traps */
#define HR_CODE_EQUAL(a, b) hr_code_equal(a, b)
#define HR_RAWEQUAL(a, b) luaO_rawequalObj(a, b)

#endif
