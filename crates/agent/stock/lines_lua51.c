/* Lua 5.1 and 5.2 (lines_lua52.c includes this file): code lines from a
   chunk dump (their ldump.c), same_code from dumps (neither can strip
   them). The two formats differ in the header's tail and in where a
   function's source and upvalue descriptions stand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "lauxlib.h"
#include "lua.h"

#if LUA_VERSION_NUM == 501
#define VERSION 0x51
/* Signature, version, format, endianness, four sizes, number kind. */
#define HEADER_SIZE (4 + 1 + 1 + 1 + 4 + 1)
#else
#define VERSION 0x52
/* As 5.1's, then LUAC_TAIL. */
#define HEADER_SIZE (4 + 1 + 1 + 1 + 4 + 1 + 6)
#endif

/* DumpString: a size_t (length + 1, 0 for none), then the bytes and NUL. */
static void skip_string (Reader *r) {
  skip(r, read_size_t(r));
}

/* One function (DumpFunction), nested ones included: they follow the
   constants. */
static void read_function (Reader *r, int *out, int cap, int *n, int depth) {
  size_t i, nk, np;
  if (depth > 200) {
    r->bad = 1;
    return;
  }
#if LUA_VERSION_NUM == 501
  skip_string(r);          /* source (none when the parent's) */
#endif
  (void)read_int(r);       /* linedefined */
  (void)read_int(r);       /* lastlinedefined */
#if LUA_VERSION_NUM == 501
  skip(r, 4);              /* nups, numparams, is_vararg, maxstacksize */
#else
  skip(r, 3);              /* numparams, is_vararg, maxstacksize */
#endif
  skip(r, (size_t)read_int(r) * 4); /* code */
  nk = (size_t)read_int(r);
  for (i = 0; i < nk && !r->bad; i++) {
    int tag = read_byte(r);
    if (tag == LUA_TBOOLEAN)
      skip(r, 1);
    else if (tag == LUA_TNUMBER)
      skip(r, sizeof(lua_Number));
    else if (tag == LUA_TSTRING)
      skip_string(r);
    else if (tag != LUA_TNIL)
      r->bad = 1;
  }
  np = (size_t)read_int(r);
  for (i = 0; i < np && !r->bad; i++) read_function(r, out, cap, n, depth + 1);
#if LUA_VERSION_NUM != 501
  skip(r, (size_t)read_int(r) * 2); /* upvalues: instack, idx */
  skip_string(r);                   /* source (with the debug information) */
#endif
  read_abs_lines(r, out, cap, n);
  skip_local_and_upvalue_names(r, skip_string);
}

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  return code_lines_by_dump(path, VERSION, HEADER_SIZE, read_function, out,
                            cap, err, errlen);
}

int hotreload_same_code (lua_State *L) { return same_code_by_dump(L); }
