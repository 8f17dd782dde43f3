/*
 * How Lua 5.3 spells what shared/debuginfo.c reads of its insides (the
 * other VMs' vm_compat.h spell the same for theirs).
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

#endif
