/*
 * How Lua 5.1 spells what shared/cond_values.c reads of its insides (the
 * other VMs' vm_compat.h spell the same for theirs; 5.1's line information
 * is its own debuginfo.c).
 */
#ifndef HR_VM_COMPAT_H
#define HR_VM_COMPAT_H

#include "lobject.h"
#include "lstate.h"
#include "ldebug.h"
#include "lfunc.h"
#include "ltable.h"

/* A string's length and bytes; a table's metatable and border (#t without
   __len). */
#define HR_SOURCE_LEN(ts) ((ts)->tsv.len)
#define HR_STRING_DATA(ts) getstr(ts)
#define HR_METATABLE(h) ((h)->metatable)
#define HR_TABLE_LEN(h) luaH_getn(h)
/* The string a TValue holds; the one on top of L's stack. */
#define HR_TSTRING(o) rawtsvalue(o)
#define HR_TOP_STRING(L) rawtsvalue((L)->top - 1)
/* Register reg of L's running Lua frame (5.1 keeps its base in L); the
   frame's closure; the value of an upvalue cell; upvalue idx's name (NULL:
   stripped, when 5.1 has no names at all). */
#define HR_REGISTER(L, reg) ((L)->base + (reg))
#define HR_CI_LCLOSURE(ci) (&ci_func(ci)->l)
#define HR_CELL_VALUE(uv) ((uv)->v)
#define HR_UPVALUE_NAME(p, idx) \
  ((p)->upvalues != NULL ? (p)->upvalues[idx] : NULL)
/* Whether luaH_getstr looks string ts up (every string). */
#define HR_SHORT_KEY(ts) ((void)(ts), 1)

#endif
