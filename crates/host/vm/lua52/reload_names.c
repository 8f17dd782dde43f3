/* Lua 5.2 names nested functions as 5.3 does (the same opcodes). */
#include "../lua53/reload_names.c"
