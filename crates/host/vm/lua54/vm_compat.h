/*
 * How Lua 5.4 spells what shared/debuginfo.c and shared/cond_values.c
 * read of its insides (the other VMs' vm_compat.h spell the same for theirs).
 */
#ifndef HR_VM_COMPAT_H
#define HR_VM_COMPAT_H

/* A string's length. */
#define HR_SOURCE_LEN(ts) tsslen(ts)
/* The instructions whose lines a hook reports, and the line of one: a
   vararg function's first instruction (VARARGPREP) has no line of its own
   that a hook reports; ldebug.c's collectvalidlines skips it too. */
#define HR_FIRST_LINE_PC(p) ((p)->is_vararg ? 1 : 0)
#define HR_LINE_COUNT(p) ((p)->sizecode)
#define HR_FUNCLINE(p, pc) luaG_getfuncline(p, pc)
/* The function a frame runs; what 'oldpc' holds for a frame's current
   instruction (an index since 5.4); the stack slots in use; the C calls in
   progress. */
#define HR_CI_FUNC(ci) s2v((ci)->func.p)
#define HR_OLDPC_OF(ci) pcRel((ci)->u.l.savedpc, ci_func(ci)->p)
#define HR_STACK_USED(L) ((L)->top.p - (L)->stack.p)
#define HR_CCALLS(L) getCcalls(L)

/* ---- What shared/cond_values.c reads for breakpoint conditions ---- */

#include "lobject.h"
#include "lstate.h"
#include "ldebug.h"
#include "lfunc.h"
#include "ltable.h"

/* A string's bytes; a table's metatable and border (#t without __len). */
#define HR_STRING_DATA(ts) getstr(ts)
#define HR_METATABLE(h) ((h)->metatable)
#define HR_TABLE_LEN(h) luaH_getn(h)
/* The string a TValue holds; the one on top of L's stack. */
#define HR_TSTRING(o) tsvalue(o)
#define HR_TOP_STRING(L) tsvalue(s2v((L)->top.p - 1))
/* Register reg of L's running Lua frame; the frame's closure; the value
   of an upvalue cell; upvalue idx's name (NULL: stripped). */
#define HR_REGISTER(L, reg) s2v((L)->ci->func.p + 1 + (reg))
#define HR_CI_LCLOSURE(ci) ci_func(ci)
#define HR_CELL_VALUE(uv) ((uv)->v.p)
#define HR_UPVALUE_NAME(p, idx) ((p)->upvalues[idx].name)
/* Whether luaH_getstr looks string ts up (every string). */
#define HR_SHORT_KEY(ts) ((void)(ts), 1)

#endif
