/*
** In-place swap: an old closure gets the new prototype, so that every
** reference to it runs the new code with no walk, keeping chosen upvalue
** cells; or a new closure's cells are relinked when it cannot be swapped.
** One file for every PUC VM (over its reload_vm.h: how a cell is held,
** 5.3 counting references to it; a 5.1 closure's environment stays its
** own); LuaJIT has its own (luajit/reload_swap.c). Serves the native
** backend and, alone, the Swap backend (`hotreload_inplace_swap`).
**
** A closure whose frame is on some stack is never swapped (`force`): the
** interpreter re-reads the closure's prototype when a call returns into
** it, so its pc must stay valid; a restartFrame can move the frame to the
** new closure (hr_restart_note).
**
** hr_swap(entries) -> results
** entries[i] = { old, new, src, force }: src = { f1, i1, f2, i2, ... } names,
** for each upvalue slot of `new`, the closure and index whose cell it gets.
** results[i] = a clone of the old closure (the undo anchor) when swapped in
** place, false when not (then `new`'s cells were relinked instead).
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

#include "hotreload_vm.h"

/* Lets go of the cells pass 1 held (read before anything changed). */
static void drop_cells(lua_State *L, UpVal **cells, lua_Integer n) {
  lua_Integer i;
  for (i = 0; i < n; i++) HR_DROP_CELL(L, cells[i]);
  free(cells);
  (void)L;
}

int hr_swap(lua_State *L) {
  lua_Integer n, i, total = 0, at = 0;
  UpVal **cells;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = HR_LEN(L, 1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, (int)i);
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_rawgeti(L, -1, 3);
    luaL_checktype(L, -1, LUA_TTABLE);
    total += HR_LEN(L, -1) / 2;
    lua_pop(L, 2);
  }
  cells = (UpVal **)malloc(sizeof(UpVal *) * (size_t)(total + 1));
  if (cells == NULL) return luaL_error(L, "hot reload: out of memory");
  /* pass 1: read (and hold) every source cell before anything changes */
  for (i = 1; i <= n; i++) {
    LClosure *nw;
    lua_Integer s, ns;
    lua_rawgeti(L, 1, (int)i);
    lua_rawgeti(L, -1, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 3);
    ns = HR_LEN(L, -1) / 2;
    if (nw == NULL || ns != nw->nupvalues) {
      drop_cells(L, cells, at);
      return luaL_error(L, "hot reload: bad swap entry %d (%d cells for %d upvalues)", (int)i,
                        (int)ns, nw ? (int)nw->nupvalues : -1);
    }
    for (s = 0; s < ns; s++) {
      LClosure *src;
      lua_Integer idx;
      lua_rawgeti(L, -1, (int)(2 * s + 1));
      src = lclosure_at(L, -1);
      lua_rawgeti(L, -2, (int)(2 * s + 2));
      idx = lua_tointeger(L, -1);
      lua_pop(L, 2);
      if (src == NULL || idx < 1 || idx > src->nupvalues || src->upvals[idx - 1] == NULL) {
        drop_cells(L, cells, at);
        return luaL_error(L, "hot reload: bad upvalue source %d.%d", (int)i, (int)s + 1);
      }
      cells[at] = src->upvals[idx - 1];
      HR_HOLD_CELL(L, cells[at]);
      at++;
    }
    lua_pop(L, 2);
  }
  /* pass 2: write (nothing below raises but the clone's allocation, which
     happens before its closure changes) */
  lua_createtable(L, (int)n, 0);
  luaL_checkstack(L, 6, "hot reload");
  at = 0;
  for (i = 1; i <= n; i++) {
    LClosure *old, *nw;
    int force, k, nup;
    lua_rawgeti(L, 1, (int)i);
    lua_rawgeti(L, -1, 1);
    old = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_rawgeti(L, -3, 4);
    force = lua_toboolean(L, -1);
    lua_pop(L, 4);
    nup = nw->nupvalues;
    if (old != NULL && old != nw && !force && old->nupvalues == nw->p->HR_NUPS_FIELD) {
      /* The clone keeps the old code and cells (the undo anchor). */
      LClosure *clone = HR_NEW_LCLOSURE(L, old->nupvalues, old);
      clone->p = old->p;
      for (k = 0; k < old->nupvalues; k++)
        if (old->upvals[k] != NULL) HR_SET_CELL(L, clone, k, old->upvals[k]);
      push_lclosure(L, clone);
      lua_rawseti(L, -2, (int)i);
      old->p = nw->p;
      luaC_objbarrier(L, old, nw->p);
      for (k = 0; k < nup; k++) {
        HR_SET_CELL(L, old, k, cells[at + k]);
        /* a stray reference to the new closure then behaves the same */
        HR_SET_CELL(L, nw, k, cells[at + k]);
      }
    } else {
      if (old != NULL && old != nw && force) { /* running: restartFrame can move it */
        push_lclosure(L, old);
        push_lclosure(L, nw);
        hr_restart_note(L, -2, -1);
        lua_pop(L, 2);
      }
      for (k = 0; k < nup; k++) HR_SET_CELL(L, nw, k, cells[at + k]);
      lua_pushboolean(L, 0);
      lua_rawseti(L, -2, (int)i);
    }
    at += nup;
  }
  drop_cells(L, cells, at);
  return 1;
}

/* hr_restore(old, clone): give `old` back the code and cells `clone` kept. */
int hr_restore(lua_State *L) {
  LClosure *old = lclosure_at(L, 1), *clone = lclosure_at(L, 2);
  int k;
  if (old == NULL || clone == NULL || old->nupvalues != clone->nupvalues)
    return luaL_error(L, "hot reload: bad restore");
  old->p = clone->p;
  luaC_objbarrier(L, old, clone->p);
  for (k = 0; k < old->nupvalues; k++)
    if (clone->upvals[k] != NULL) HR_SET_CELL(L, old, k, clone->upvals[k]);
  return 0;
}

/* The swap alone, for the Swap backend (src/reload/mod.rs). */
int hotreload_inplace_swap(lua_State *L) {
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, hr_swap);
  lua_setfield(L, -2, "swap");
  lua_pushcfunction(L, hr_restore);
  lua_setfield(L, -2, "restore");
  return 1;
}

#endif /* HR_NATIVE_BACKEND */
