/*
 * How Lua 5.4 spells what shared/debuginfo.c reads of its insides (the
 * other VMs' vm_compat.h spell the same for theirs).
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

#endif
