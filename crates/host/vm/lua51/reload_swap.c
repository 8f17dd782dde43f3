/*
** In-place swap for Lua 5.1 (the engine's `swap` and `restore`, in the
** native backend and in the Swap backend with the pure-Lua walk): an old closure gets the new prototype,
** so every reference to it runs the new code with no walk, keeping chosen
** upvalue cells; or a new closure's cells are relinked when it cannot be
** swapped. The same job as lua54/reload_swap.c over 5.1's closures, which
** also carry an environment: the old closure keeps its own. A closure whose
** frame is on some stack is never swapped (`force`): the interpreter
** re-reads cl->p when a call returns into it, so its pc must stay valid.
**
** hr_swap(entries) -> results
** entries[i] = { old, new, src, force }: src = { f1, i1, f2, i2, ... } names,
** for each upvalue slot of `new`, the closure and index whose cell it gets.
** results[i] = a clone of the old closure (the undo anchor) when swapped in
** place, false when not (then `new`'s cells were relinked instead).
*/
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lobject.h"
#include "lstate.h"
#include "lfunc.h"
#include "lgc.h"

#include "hotreload_vm.h"

/* Shared with the native backend, hidden from C modules. */
#if defined(__GNUC__) || defined(__clang__)
#define HR_SWAP_HIDDEN __attribute__((visibility("hidden")))
#else
#define HR_SWAP_HIDDEN
#endif

/* reload_restart.c: `new_idx` replaces the running closure at `old_idx`
   (a restartFrame runs it). */
HR_SWAP_HIDDEN void hr_restart_note (lua_State *L, int old_idx, int new_idx);

/* The Lua closure at `idx`, or NULL for anything else (C functions too). */
static LClosure *lclosure_at (lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TFUNCTION || lua_iscfunction(L, idx)) return NULL;
  return &((Closure *)lua_topointer(L, idx))->l;
}

HR_SWAP_HIDDEN int hr_swap (lua_State *L) {
  int n, i, total = 0, at = 0;
  UpVal **cells;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)lua_objlen(L, 1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_rawgeti(L, -1, 3);
    luaL_checktype(L, -1, LUA_TTABLE);
    total += (int)lua_objlen(L, -1) / 2;
    lua_pop(L, 2);
  }
  cells = (UpVal **)malloc(sizeof(UpVal *) * (size_t)(total + 1));
  if (cells == NULL) return luaL_error(L, "hot reload: out of memory");
  /* pass 1: read every source cell before anything changes */
  for (i = 1; i <= n; i++) {
    LClosure *nw;
    int s, ns;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 3);
    ns = (int)lua_objlen(L, -1) / 2;
    if (nw == NULL || ns != nw->nupvalues) {
      free(cells);
      return luaL_error(L, "hot reload: bad swap entry %d (%d cells for %d upvalues)", i, ns,
                        nw ? (int)nw->nupvalues : -1);
    }
    for (s = 0; s < ns; s++) {
      LClosure *src;
      lua_Integer idx;
      lua_rawgeti(L, -1, 2 * s + 1);
      src = lclosure_at(L, -1);
      lua_rawgeti(L, -2, 2 * s + 2);
      idx = lua_tointeger(L, -1);
      lua_pop(L, 2);
      if (src == NULL || idx < 1 || idx > src->nupvalues) {
        free(cells);
        return luaL_error(L, "hot reload: bad upvalue source %d.%d", i, s + 1);
      }
      cells[at++] = src->upvals[idx - 1];
    }
    lua_pop(L, 2);
  }
  /* pass 2: write */
  lua_createtable(L, n, 0);
  luaL_checkstack(L, 4, "hot reload");
  at = 0;
  for (i = 1; i <= n; i++) {
    LClosure *old, *nw;
    int force, k, nup;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 1);
    old = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_rawgeti(L, -3, 4);
    force = lua_toboolean(L, -1);
    lua_pop(L, 4);
    nup = nw->nupvalues;
    if (old != NULL && old != nw && !force && old->nupvalues == nw->p->nups) {
      /* The clone keeps the old code, cells and environment (the undo). */
      Closure *clone = luaF_newLclosure(L, old->nupvalues, old->env);
      clone->l.p = old->p;
      for (k = 0; k < old->nupvalues; k++) clone->l.upvals[k] = old->upvals[k];
      setclvalue(L, L->top, clone);
      L->top++;
      lua_rawseti(L, -2, i);
      old->p = nw->p;
      luaC_objbarrier(L, old, nw->p);
      for (k = 0; k < nup; k++) {
        old->upvals[k] = cells[at + k];
        luaC_objbarrier(L, old, cells[at + k]);
        /* a stray reference to the new closure then behaves the same */
        nw->upvals[k] = cells[at + k];
        luaC_objbarrier(L, nw, cells[at + k]);
      }
    }
    else {
      if (old != NULL && old != nw && force) {  /* running: restartFrame can move it */
        luaL_checkstack(L, 6, "hot reload");
        setclvalue(L, L->top, (Closure *)old);
        L->top++;
        setclvalue(L, L->top, (Closure *)nw);
        L->top++;
        hr_restart_note(L, -2, -1);
        lua_pop(L, 2);
      }
      for (k = 0; k < nup; k++) {
        nw->upvals[k] = cells[at + k];
        luaC_objbarrier(L, nw, cells[at + k]);
      }
      lua_pushboolean(L, 0);
      lua_rawseti(L, -2, i);
    }
    at += nup;
  }
  free(cells);
  return 1;
}

/* hr_restore(old, clone): give `old` back the code and cells `clone` kept. */
HR_SWAP_HIDDEN int hr_restore (lua_State *L) {
  LClosure *old = lclosure_at(L, 1), *clone = lclosure_at(L, 2);
  int k;
  if (old == NULL || clone == NULL || old->nupvalues != clone->nupvalues)
    return luaL_error(L, "hot reload: bad restore");
  old->p = clone->p;
  luaC_objbarrier(L, old, clone->p);
  for (k = 0; k < old->nupvalues; k++) {
    old->upvals[k] = clone->upvals[k];
    luaC_objbarrier(L, old, clone->upvals[k]);
  }
  return 0;
}

int hotreload_inplace_swap (lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, hr_swap);
  lua_setfield(L, -2, "swap");
  lua_pushcfunction(L, hr_restore);
  lua_setfield(L, -2, "restore");
  return 1;
}
