/*
 * coroutine.resume and coroutine.wrap's functions while the resume
 * notification is installed: LuaJIT resumes coroutines in its assembler,
 * not through lua_resume, so the patched fast path (vm_x64.dasc) falls back
 * to C while `hr_resume_on` is set, and the patched fallback (lib_base.c,
 * after its own checks: the coroutine can be resumed and has stack room)
 * calls this, which resumes through the patched lua_resume. The results are
 * those of the assembler: `true, ...` or `false, err` for resume; the
 * values, or the error raised again (with the caller's position for a
 * string) for wrap.
 */
#include "lua.h"
#include "lj_obj.h"
#include "lj_state.h"
#include "lj_err.h"
#include "lj_lib.h"

#include "hotreload_vm.h"

/* Raises the coroutine's error in L, as the assembler does (lib_base.c). */
LJ_FUNCA_NORET void LJ_FASTCALL lj_ffh_coroutine_wrap_err (lua_State *L, lua_State *co);

int hr_resume_in_c (lua_State *L, lua_State *co, int wrap) {
  TValue *args = L->base + (wrap ? 0 : 1);
  int nargs = (int)(L->top - args), status, nres, i;
  TValue *dst;
  /* The fallback checked co's stack room for the arguments. */
  for (i = 0; i < nargs; i++) copyTV(co, co->top + i, args + i);
  co->top += nargs;
  L->top = args;
  status = lua_resume(co, nargs);
  setgcref(G(L)->cur_L, obj2gco(L));  /* as the assembler after a resume */
  if (status > LUA_YIELD) {
    if (wrap) lj_ffh_coroutine_wrap_err(L, co);
    lj_state_checkstack(L, 2);
    dst = L->base - 1 - LJ_FR2;
    setboolV(dst, 0);
    copyTV(L, dst + 1, co->top - 1);
    co->top--;
    return FFH_RES(2);
  }
  nres = (int)(co->top - co->base);
  lj_state_checkstack(L, (MSize)nres + 2);
  dst = L->base - 1 - LJ_FR2;
  if (!wrap) setboolV(dst++, 1);
  for (i = 0; i < nres; i++) copyTV(L, dst + i, co->base + i);
  co->top = co->base;  /* clear the coroutine's stack, as the assembler */
  return FFH_RES(nres + (wrap ? 0 : 1));
}
