/*
** Whether two Lua functions have the same code, line numbers and other
** debug information aside: what a stripped binary dump compares, without
** dumping (Lua 5.4 dumps keep linedefined even when stripped, so a function
** moved by an inserted line would look changed).
*/

#include "reload.h"

static int same_constant(const TValue *a, const TValue *b) {
  if (ttypetag(a) != ttypetag(b)) return 0;
  switch (ttypetag(a)) {
    case LUA_VNUMINT:
      return ivalue(a) == ivalue(b);
    case LUA_VNUMFLT: {
      lua_Number x = fltvalue(a), y = fltvalue(b);
      return memcmp(&x, &y, sizeof(lua_Number)) == 0;
    }
    case LUA_VSHRSTR:
      return tsvalue(a) == tsvalue(b);
    case LUA_VLNGSTR:
      return luaS_eqlngstr(tsvalue(a), tsvalue(b));
    default: /* nil, false, true: the tag says it all */
      return 1;
  }
}

static int same_proto(const Proto *a, const Proto *b, int depth) {
  int i;
  if (a == b) return 1;
  if (depth > 200) return 0; /* the parser's own nesting limit is lower */
  if (a->numparams != b->numparams || a->is_vararg != b->is_vararg ||
      a->maxstacksize != b->maxstacksize || a->sizecode != b->sizecode ||
      a->sizek != b->sizek || a->sizeupvalues != b->sizeupvalues ||
      a->sizep != b->sizep)
    return 0;
  if (!hr_code_equal(a, b)) return 0; /* without breakpoint traps */
  for (i = 0; i < a->sizek; i++)
    if (!same_constant(&a->k[i], &b->k[i])) return 0;
  for (i = 0; i < a->sizeupvalues; i++) {
    const Upvaldesc *x = &a->upvalues[i], *y = &b->upvalues[i];
    if (x->instack != y->instack || x->idx != y->idx || x->kind != y->kind)
      return 0;
  }
  for (i = 0; i < a->sizep; i++)
    if (!same_proto(a->p[i], b->p[i], depth + 1)) return 0;
  return 1;
}

/* hr_same_code(a, b) -> boolean: false unless both are Lua functions. */
int hr_same_code(lua_State *L) {
  LClosure *a = lclosure_at(L, 1), *b = lclosure_at(L, 2);
  lua_pushboolean(L, a != NULL && b != NULL && same_proto(a->p, b->p, 0));
  return 1;
}
