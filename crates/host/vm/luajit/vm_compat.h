/*
 * How LuaJIT spells what shared/cond_values.c reads of its insides: its
 * strings and tables under PUC Lua's names (as shared/traps.h names its
 * prototypes). Its values are not PUC Lua's TValues: frame slots, upvalues
 * and table fields are read by its own trap_vm.c (HR_VALUES_IN_TRAP_VM).
 */
#ifndef HR_VM_COMPAT_H
#define HR_VM_COMPAT_H

#include "lj_obj.h"
#include "lj_tab.h"

typedef GCstr TString;
typedef GCtab Table;

/* A string's length and bytes; a table's metatable and border (#t without
   __len). */
#define HR_SOURCE_LEN(ts) ((ts)->len)
#define HR_STRING_DATA(ts) strdata(ts)
#define HR_METATABLE(h) tabref((h)->metatable)
#define HR_TABLE_LEN(h) lj_tab_len(h)
/* The string on top of L's stack. */
#define HR_TOP_STRING(L) strV((L)->top - 1)
#define HR_VALUES_IN_TRAP_VM 1

#endif
