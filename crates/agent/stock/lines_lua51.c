/* Lua 5.1: code lines from a chunk dump (5.1's ldump.c), same_code from
   dumps (5.1 cannot strip them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "lauxlib.h"
#include "lua.h"

#define VERSION 0x51
/* Signature, version, format, endianness, four sizes, number kind. */
#define HEADER_SIZE (4 + 1 + 1 + 1 + 4 + 1)

/* DumpString: a size_t (length + 1, 0 for none), then the bytes and NUL. */
static void skip_string (Reader *r) {
  skip(r, read_size_t(r));
}

/* lineinfo: the absolute line of every instruction (one int each). */
static void read_lines (Reader *r, int *out, int cap, int *n) {
  size_t i, nline = (size_t)read_int(r);
  for (i = 0; i < nline && !r->bad; i++) {
    int line = read_int(r);
    if (*n < cap) out[*n] = line;
    (*n)++;
  }
}

/* One function (5.1's DumpFunction), nested ones included: they follow
   the constants. */
static void read_function (Reader *r, int *out, int cap, int *n, int depth) {
  size_t i, nk, np;
  if (depth > 200) {
    r->bad = 1;
    return;
  }
  skip_string(r);          /* source (none when the parent's) */
  (void)read_int(r);       /* linedefined */
  (void)read_int(r);       /* lastlinedefined */
  skip(r, 4);              /* nups, numparams, is_vararg, maxstacksize */
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
  read_lines(r, out, cap, n);
  {
    size_t nloc = (size_t)read_int(r), nnames;
    for (i = 0; i < nloc && !r->bad; i++) {
      skip_string(r);
      skip(r, 2 * sizeof(int));
    }
    nnames = (size_t)read_int(r);
    for (i = 0; i < nnames && !r->bad; i++) skip_string(r);
  }
}

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  return code_lines_by_dump(path, VERSION, HEADER_SIZE, read_function, out,
                            cap, err, errlen);
}

int hotreload_same_code (lua_State *L) { return same_code_by_dump(L); }
