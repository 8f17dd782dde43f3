/*
** Lua 5.1: whether two Lua functions have the same code, line numbers and
** other debug information aside (what a stripped dump would compare, were
** linedefined not in it): the engine's `same_code`, so a function that only
** moved is not reported (nor replaced) as changed. (5.1 has no upvalue
** descriptors: the pseudo-instructions after CLOSURE, compared with the
** code, say where each upvalue comes from.)
*/
#include <string.h>

#include "lua.h"
#include "lobject.h"
#include "lstate.h"

#include "hotreload_vm.h"

static int same_constant (const TValue *a, const TValue *b) {
  if (ttype(a) != ttype(b)) return 0;
  switch (ttype(a)) {
    case LUA_TNUMBER: {
      lua_Number x = nvalue(a), y = nvalue(b);
      return memcmp(&x, &y, sizeof(lua_Number)) == 0;
    }
    case LUA_TSTRING:  /* interned: same text, same object */
      return rawtsvalue(a) == rawtsvalue(b);
    case LUA_TBOOLEAN:
      return bvalue(a) == bvalue(b);
    default:  /* nil */
      return 1;
  }
}

static int same_proto (const Proto *a, const Proto *b, int depth) {
  int i;
  if (a == b) return 1;
  if (depth > 200) return 0;  /* the parser's own nesting limit is lower */
  if (a->numparams != b->numparams || a->is_vararg != b->is_vararg ||
      a->maxstacksize != b->maxstacksize || a->sizecode != b->sizecode ||
      a->sizek != b->sizek || a->nups != b->nups || a->sizep != b->sizep)
    return 0;
  if (memcmp(a->code, b->code, sizeof(Instruction) * (size_t)a->sizecode) != 0)
    return 0;
  for (i = 0; i < a->sizek; i++)
    if (!same_constant(&a->k[i], &b->k[i])) return 0;
  for (i = 0; i < a->sizep; i++)
    if (!same_proto(a->p[i], b->p[i], depth + 1)) return 0;
  return 1;
}

static const Proto *proto_at (lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
  return ((const Closure *)lua_topointer(L, idx))->l.p;
}

int hotreload_same_code (lua_State *L) {
  const Proto *a = proto_at(L, 1), *b = proto_at(L, 2);
  lua_pushboolean(L, a != NULL && b != NULL && same_proto(a, b, 0));
  return 1;
}
