/*
** Lua 5.1's `arg` for a restarted frame (shared/restart.c, HR_RESTART_ARG
** in reload_vm.h): the table of a vararg call's extra arguments that the
** call makes (ldo.c, adjust_varargs) for code that never reads `...`, when
** the code before the reload read `...` and so had none.
*/

#define LUA_CORE

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/* Makes frame ci's `arg` (the register after p's parameters) from its extra
   arguments, which stay below its base: { ..., n = count }. */
void hr_restart_make_arg(lua_State *L, CallInfo *ci, const Proto *p) {
  int nvar = cast_int(ci->base - ci->func) - 1 - p->numparams;
  int i;
  Table *arg;
  StkId extra = ci->base - (nvar > 0 ? nvar : 0);
  if (nvar < 0) nvar = 0;
  arg = luaH_new(L, nvar, 1);
  sethvalue(L, ci->base + p->numparams, arg); /* held by the frame from now */
  for (i = 0; i < nvar; i++) setobj2n(L, luaH_setnum(L, arg, i + 1), extra + i);
  setnvalue(luaH_setstr(L, arg, luaS_newliteral(L, "n")), cast_num(nvar));
}

#endif /* HR_NATIVE_BACKEND */
