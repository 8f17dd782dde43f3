/*
 * LuaJIT replaces shared/cond.c (compiled breakpoint conditions, over PUC
 * Lua's prototypes and values) by nothing: its traps (traps.c) leave every
 * condition to the debugger's hook, which evaluates it at each hit.
 */
typedef int hr_no_compiled_conditions;
