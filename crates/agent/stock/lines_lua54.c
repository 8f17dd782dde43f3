/* Lua 5.4: code lines from a chunk dump (ldump.c's format), same_code from
   stripped dumps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* ldump.c's dumpSize: 7 bits a byte, most significant first, 0x80 ends. */
static size_t read_size (Reader *r) {
  size_t x = 0;
  int b;
  do {
    b = read_byte(r);
    x = (x << 7) | (size_t)(b & 0x7f);
    if (x > (size_t)1 << 40) r->bad = 1;
  } while (!r->bad && (b & 0x80) == 0);
  return x;
}

static void skip_string (Reader *r) {
  size_t size = read_size(r);
  if (size > 0) skip(r, size - 1);
}

#define ABSLINEINFO (-0x80)

/* One function of a Lua 5.4 dump (ldump.c's dumpFunction): the line of every
   instruction, nested functions included. */
static void read_function (Reader *r, int *out, int cap, int *n, int depth) {
  size_t i, ncode, nk, nup, np, nline, nabs;
  int linedefined, vararg, line;
  const signed char *lineinfo;
  if (depth > 200) {
    r->bad = 1;
    return;
  }
  skip_string(r); /* source */
  linedefined = (int)read_size(r);
  (void)read_size(r); /* lastlinedefined */
  (void)read_byte(r); /* numparams */
  vararg = read_byte(r);
  (void)read_byte(r); /* maxstacksize */
  ncode = read_size(r);
  skip(r, ncode * 4);
  nk = read_size(r);
  for (i = 0; i < nk && !r->bad; i++) {
    int tag = read_byte(r);
    if (tag == 3 || tag == 19) /* integer, float */
      skip(r, 8);
    else if (tag == 4 || tag == 20) /* short, long string */
      skip_string(r);
  }
  nup = read_size(r);
  skip(r, nup * 3);
  np = read_size(r);
  for (i = 0; i < np && !r->bad; i++) read_function(r, out, cap, n, depth + 1);
  nline = read_size(r);
  lineinfo = (const signed char *)r->p;
  skip(r, nline);
  nabs = read_size(r);
  {
    /* Absolute entries: (pc, line) pairs in pc order. */
    const unsigned char *abs_start = r->p;
    Reader abs;
    for (i = 0; i < nabs && !r->bad; i++) {
      (void)read_size(r);
      (void)read_size(r);
    }
    if (r->bad) return;
    abs.p = abs_start;
    abs.end = r->p;
    abs.bad = 0;
    line = linedefined;
    for (i = 0; i < nline && i < ncode; i++) {
      if (lineinfo[i] == ABSLINEINFO) {
        (void)read_size(&abs);
        line = (int)read_size(&abs);
      } else
        line += lineinfo[i];
      /* VARARGPREP has no line a hook reports (see collectvalidlines). */
      if (vararg && i == 0) continue;
      if (*n < cap) out[*n] = line;
      (*n)++;
    }
  }
  {
    size_t nloc = read_size(r), nnames;
    for (i = 0; i < nloc && !r->bad; i++) {
      skip_string(r);
      (void)read_size(r);
      (void)read_size(r);
    }
    nnames = read_size(r);
    for (i = 0; i < nnames && !r->bad; i++) skip_string(r);
  }
}

/* The header of a 5.4 dump: signature, version, format, LUAC_DATA, three
   sizes, LUAC_INT, LUAC_NUM; then the main function's upvalue count. */
#define HEADER_SIZE (4 + 1 + 1 + 6 + 3 + 8 + 8 + 1)

int hr_code_lines (const char *path, int *out, int cap, char *err,
                   size_t errlen) {
  return code_lines_by_dump(path, 0x54, HEADER_SIZE, read_function, out, cap,
                            err, errlen);
}

/* Stripped dumps keep linedefined, so a function that only moved counts as
   changed (it is then replaced by an identical one: harmless). */
int hotreload_same_code (lua_State *L) { return same_code_by_dump(L); }
