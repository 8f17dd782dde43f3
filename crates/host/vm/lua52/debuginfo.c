/*
 * Lua 5.2: the debugger helpers are 5.3's (lua53/debuginfo.c) but for how a
 * string's length is read; the VM headers on the include path are 5.2's.
 */
#define HR_SOURCE_LEN(ts) ((ts)->tsv.len)
#include "../lua53/debuginfo.c"
