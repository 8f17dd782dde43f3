/*
 * Lua 5.2: the in-place swap is 5.3's (lua53/reload_swap.c) but for the
 * upvalue cells, which 5.2 collects as objects (no reference counts) and
 * its closure constructor's type.
 */
#include "lua.h"
#include "lobject.h"
#include "lgc.h"

#define HR_NEW_LCLOSURE(L, n) (&luaF_newLclosure(L, n)->l)
#define HR_HOLD_CELL(L, uv) ((void)(L), (void)(uv))
#define HR_DROP_CELL(L, uv) ((void)(L), (void)(uv))

/* Upvalue k of `cl` becomes cell `uv`, as lua_upvaluejoin does. */
static void set_cell (lua_State *L, LClosure *cl, int k, UpVal *uv) {
  cl->upvals[k] = uv;
  luaC_objbarrier(L, cl, uv);
}

#include "../lua53/reload_swap.c"
