/*
** Lua 5.2's objects as the native reload backend (shared/reload_*.c) sees
** them: 5.3's header (the same internal headers, frames, tables and
** restart) with what 5.2 does otherwise redefined. Like 5.4, closed upvalue
** cells are collectable objects in 'allgc', not reference-counted; objects
** share a header union (`gch`); strings have no short/long split in their
** length field.
*/
#ifndef HOTRELOAD_RELOAD_VM_52_H
#define HOTRELOAD_RELOAD_VM_52_H

#include "../lua53/reload_vm.h"

/* Collectable objects: their tag and the next in a GC list, behind gch. */
#undef HR_GC_TT
#undef HR_GC_NEXT
#undef HR_GCO2UPV
#define HR_GC_TT(o) (gch(o)->tt)
#define HR_GC_NEXT(o) (gch(o)->next)
#define HR_GCO2UPV(o) gco2uv(o)

/* No list of the threads with open upvalues; one of all open upvalues. */
#undef HR_HAS_TWUPS
#define HR_OPEN_UPVALS(g) (&(g)->uvhead)

/* Tables: the shared dummy node holds nil, so it is skipped as empty; the
   barrier takes a GCObject. */
#undef HR_HAS_NODES
#undef HR_TABLE_BARRIER
#define HR_HAS_NODES(h) 1
#define HR_TABLE_BARRIER(L, h) \
  do { if (isblack(obj2gco(h))) luaC_barrierback_(L, obj2gco(h)); } while (0)

/* Upvalue cells are collectable objects (closed ones in allgc): no
   reference counts to keep, no holding while the swap reads them. */
#undef HR_CELLS_IN_CLOSURES
#undef HR_UPVAL_CLOSED
#undef HR_UPVAL_BARRIER
#undef HR_SET_NEW_CELL
#undef HR_NEW_LCLOSURE
#undef HR_SET_CELL
#undef HR_HOLD_CELL
#undef HR_DROP_CELL
#define HR_T_UPVAL LUA_TUPVAL
#define HR_UPVAL_CLOSED(uv) ((uv)->v == &(uv)->u.value)
#define HR_UPVAL_BARRIER(L, uv) luaC_barrier(L, uv, (uv)->v)
/* Upvalue k of the new closure `cl` (no cell yet) becomes cell `uv`. */
#define HR_SET_NEW_CELL(L, cl, k, uv) \
  do { (cl)->upvals[k] = (uv); luaC_objbarrier(L, cl, uv); } while (0)
#define HR_NEW_LCLOSURE(L, n, like) ((void)(like), &luaF_newLclosure(L, n)->l)
/* Upvalue k of `cl` becomes cell `uv` (an existing slot too). */
#define HR_SET_CELL(L, cl, k, uv) HR_SET_NEW_CELL(L, cl, k, uv)
#define HR_HOLD_CELL(L, uv) ((void)(uv))
#define HR_DROP_CELL(L, uv) ((void)(uv))

/* Strings: the length and a constant's string. */
#undef HR_STRLEN
#undef HR_KSTRING
#define HR_STRLEN(s) ((s)->tsv.len)
#define HR_KSTRING(o) rawtsvalue(o)

#endif
