/*
 * How Lua 5.3 spells what shared/debuginfo.c and shared/cond_values.c
 * read of its insides (the other VMs' vm_compat.h spell the same for theirs;
 * 5.2's includes this one).
 */
#ifndef HR_VM_COMPAT_H
#define HR_VM_COMPAT_H

/* A string's length. */
#define HR_SOURCE_LEN(ts) tsslen(ts)
/* The instructions whose lines a hook reports, and the line of one. */
#define HR_FIRST_LINE_PC(p) 0
#define HR_LINE_COUNT(p) ((p)->sizelineinfo)
#define HR_FUNCLINE(p, pc) getfuncline(p, pc)
/* The function a frame runs; what 'oldpc' holds for a frame's current
   instruction; the stack slots in use; the C calls in progress. */
#define HR_CI_FUNC(ci) ((ci)->func)
#define HR_OLDPC_OF(ci) ((ci)->u.l.savedpc)
#define HR_STACK_USED(L) ((L)->top - (L)->stack)
#define HR_CCALLS(L) ((L)->nCcalls)

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
#define HR_TOP_STRING(L) tsvalue((L)->top - 1)
/* Register reg of L's running Lua frame; the frame's closure; the value
   of an upvalue cell; upvalue idx's name (NULL: stripped). */
#define HR_REGISTER(L, reg) ((L)->ci->u.l.base + (reg))
#define HR_CI_LCLOSURE(ci) clLvalue((ci)->func)
#define HR_CELL_VALUE(uv) ((uv)->v)
#define HR_UPVALUE_NAME(p, idx) ((p)->upvalues[idx].name)
/* Whether luaH_getstr looks string ts up (every string). */
#define HR_SHORT_KEY(ts) ((void)(ts), 1)

#endif
