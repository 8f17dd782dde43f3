/*
 * Reading a chunk dump (lua_dump) without the internal headers: a growable
 * buffer the dump is written to and a bounds-checked reader over it. Shared
 * by the per-version lines_<vm>.c; every function is static (one user per
 * build).
 */
#ifndef HR_STOCK_DUMP_H
#define HR_STOCK_DUMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

typedef struct {
  char *data;
  size_t len, cap;
} Buffer;

static inline int buffer_write (lua_State *L, const void *p, size_t sz, void *ud) {
  Buffer *b = (Buffer *)ud;
  (void)L;
  if (b->len + sz > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    char *grown;
    while (cap < b->len + sz) cap *= 2;
    grown = (char *)realloc(b->data, cap);
    if (grown == NULL) return 1;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, sz);
  b->len += sz;
  return 0;
}

/* Dumps the Lua function on top of L; 0 on success. */
static inline int dump_top (lua_State *L, int strip, Buffer *b) {
  b->data = NULL;
  b->len = b->cap = 0;
#if LUA_VERSION_NUM >= 503
  if (lua_dump(L, buffer_write, b, strip) != 0) {
#else
  (void)strip; /* 5.1 and 5.2 dump with debug information only */
  if (lua_dump(L, buffer_write, b) != 0) {
#endif
    free(b->data);
    b->data = NULL;
    return -1;
  }
  return 0;
}

typedef struct {
  const unsigned char *p, *end;
  int bad;
} Reader;

static inline unsigned char read_byte (Reader *r) {
  if (r->p >= r->end) {
    r->bad = 1;
    return 0;
  }
  return *r->p++;
}

static inline void skip (Reader *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->bad = 1;
    r->p = r->end;
  } else
    r->p += n;
}

/* A native int or size_t (5.1 to 5.3 dump them as memory; the header
   says their sizes, checked against ours by check_header). */
static inline int read_int (Reader *r) {
  int x = 0;
  if ((size_t)(r->end - r->p) < sizeof x) {
    r->bad = 1;
    r->p = r->end;
    return 0;
  }
  memcpy(&x, r->p, sizeof x);
  r->p += sizeof x;
  if (x < 0) r->bad = 1;
  return x;
}

static inline size_t read_size_t (Reader *r) {
  size_t x = 0;
  if ((size_t)(r->end - r->p) < sizeof x) {
    r->bad = 1;
    r->p = r->end;
    return 0;
  }
  memcpy(&x, r->p, sizeof x);
  r->p += sizeof x;
  return x;
}

/* lineinfo of 5.1 to 5.3: the absolute line of every instruction (one int
   each), counted in *n, the first cap written to out. */
static inline void read_abs_lines (Reader *r, int *out, int cap, int *n) {
  size_t i, nline = (size_t)read_int(r);
  for (i = 0; i < nline && !r->bad; i++) {
    int line = read_int(r);
    if (*n < cap) out[*n] = line;
    (*n)++;
  }
}

/* The debug information after the lines in 5.1 to 5.3: the locals (a name,
   startpc, endpc), then the upvalues' names; strings as the version dumps
   them. */
static inline void skip_local_and_upvalue_names (Reader *r,
                                                 void (*skip_string) (Reader *)) {
  size_t i, nloc = (size_t)read_int(r), nnames;
  for (i = 0; i < nloc && !r->bad; i++) {
    skip_string(r);
    skip(r, 2 * sizeof(int));
  }
  nnames = (size_t)read_int(r);
  for (i = 0; i < nnames && !r->bad; i++) skip_string(r);
}

/* The dump of one function's lines: parse(r, out, cap, n) reads the
   function at r (nested ones too) and counts its instructions' lines. */
typedef void (*hr_read_function) (Reader *r, int *out, int cap, int *n,
                                  int depth);

/* Loads the file in a scratch state, dumps it with debug information and
   reads it from header_size on with read_function. `version` is the byte
   after the signature. The count of lines, or -1 with err set. */
static inline int code_lines_by_dump (const char *path, unsigned char version,
                                      size_t header_size,
                                      hr_read_function read_function,
                                      int *out, int cap, char *err,
                                      size_t errlen) {
  int n = 0;
  Buffer b;
  Reader r;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  if (luaL_loadfile(L, path) != 0) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "cannot load the file");
    lua_close(L);
    return -1;
  }
  if (dump_top(L, 0, &b) != 0) {
    snprintf(err, errlen, "%s: cannot read its line information", path);
    lua_close(L);
    return -1;
  }
  lua_close(L);
  r.p = (const unsigned char *)b.data;
  r.end = r.p + b.len;
  r.bad = 0;
  if (b.len < header_size || (unsigned char)b.data[4] != version) r.bad = 1;
  skip(&r, header_size);
  if (!r.bad) read_function(&r, out, cap, &n, 0);
  free(b.data);
  if (r.bad) {
    snprintf(err, errlen, "%s: unexpected chunk format (not Lua %d.%d?)", path,
             version >> 4, version & 0xf);
    return -1;
  }
  return n;
}

/* same_code(a, b): both Lua functions with equal dumps (stripped where the
   VM can strip: 5.1 and 5.2 keep line information, so a function that
   only moved counts as changed and is replaced by an identical one). */
static inline int same_code_by_dump (lua_State *L) {
  Buffer a, b;
  int same = 0;
  if (lua_type(L, 1) != LUA_TFUNCTION || lua_type(L, 2) != LUA_TFUNCTION ||
      lua_iscfunction(L, 1) || lua_iscfunction(L, 2)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_settop(L, 2);
  lua_pushvalue(L, 1);
  if (dump_top(L, 1, &a) != 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushvalue(L, 2);
  if (dump_top(L, 1, &b) == 0) {
    same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    free(b.data);
  }
  free(a.data);
  lua_pushboolean(L, same);
  return 1;
}

#endif
