/* Lua 5.3: code lines from a chunk dump (5.3's ldump.c), same_code from
   stripped dumps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "lauxlib.h"
#include "lua.h"

#define VERSION 0x53
/* Signature, version, format, LUAC_DATA, five sizes, LUAC_INT, LUAC_NUM;
   then the main function's upvalue count. */
#define HEADER_SIZE (4 + 1 + 1 + 6 + 5 + 8 + 8 + 1)

/* 5.3's DumpString: a byte size (0xFF: a size_t follows), length + 1. */
static void skip_string (Reader *r) {
  size_t size = read_byte(r);
  if (size == 0xFF) size = read_size_t(r);
  if (size > 0) skip(r, size - 1);
}

/* One function (5.3's DumpFunction), nested ones included. */
static void read_function (Reader *r, int *out, int cap, int *n, int depth) {
  size_t i, nk, np;
  if (depth > 200) {
    r->bad = 1;
    return;
  }
  skip_string(r);          /* source */
  (void)read_int(r);       /* linedefined */
  (void)read_int(r);       /* lastlinedefined */
  skip(r, 3);              /* numparams, is_vararg, maxstacksize */
  skip(r, (size_t)read_int(r) * 4); /* code */
  nk = (size_t)read_int(r);
  for (i = 0; i < nk && !r->bad; i++) {
    int tag = read_byte(r);
    if (tag == 1) /* boolean */
      skip(r, 1);
    else if (tag == 3 || tag == 19) /* float, integer */
      skip(r, 8);
    else if (tag == 4 || tag == 20) /* short, long string */
      skip_string(r);
    else if (tag != 0)
      r->bad = 1;
  }
  skip(r, (size_t)read_int(r) * 2); /* upvalues: instack, idx */
  np = (size_t)read_int(r);
  for (i = 0; i < np && !r->bad; i++) read_function(r, out, cap, n, depth + 1);
  read_abs_lines(r, out, cap, n);
  skip_local_and_upvalue_names(r, skip_string);
}

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  return code_lines_by_dump(path, VERSION, HEADER_SIZE, read_function, out,
                            cap, err, errlen);
}

int hotreload_same_code (lua_State *L) { return same_code_by_dump(L); }
