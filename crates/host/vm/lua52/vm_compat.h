/*
 * How Lua 5.2 spells what shared/debuginfo.c and shared/cond_values.c
 * read of its insides: as 5.3 (lua53/vm_compat.h) but for its strings.
 */
#ifndef HR_VM_COMPAT_52_H
#define HR_VM_COMPAT_52_H

#include "../lua53/vm_compat.h"

/* A string's length; the string a TValue holds, the one on top of L's
   stack; whether luaH_getstr looks string ts up (short ones only). */
#undef HR_SOURCE_LEN
#undef HR_TSTRING
#undef HR_TOP_STRING
#undef HR_SHORT_KEY
#define HR_SOURCE_LEN(ts) ((ts)->tsv.len)
#define HR_TSTRING(o) rawtsvalue(o)
#define HR_TOP_STRING(L) rawtsvalue((L)->top - 1)
#define HR_SHORT_KEY(ts) ((ts)->tsv.tt == LUA_TSHRSTR)

#endif
