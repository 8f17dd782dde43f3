/*
** In-place swap for LuaJIT (the engine's `swap` and `restore`; the rest of
** the backend is the pure-Lua walk): an old closure gets the new prototype,
** so every reference to it runs the new code with no walk, keeping chosen
** upvalue cells; or a new closure's cells are relinked when it cannot be
** swapped. The same job as lua51/reload_swap.c on LuaJIT's objects:
**
** - a GCfuncL has no prototype pointer: its `pc` points at the prototype's
**   bytecode (`proto_bc(pt)`), and the collector reaches the prototype
**   through it (`funcproto`), so swapping `pc` (with a barrier) keeps the new
**   prototype alive as long as the closure, and the clone keeps the old one;
** - a closure whose frame is on some stack is never swapped (`force`): when
**   a call returns into it, the interpreter reloads its constants through
**   the frame's function (`pc`) but resumes at the return address in the
**   old bytecode;
** - an upvalue cell the JIT may treat as a constant (`immutable`, from the
**   prototype that made it) loses that mark when the new code writes it;
** - compiled traces still hold the old code: the engine calls
**   `hotreload_code_replaced` after every reload (jit.c flushes them).
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
#include "lj_obj.h"
#include "lj_gc.h"
#include "lj_func.h"

#include "hotreload_vm.h"

/* The native backend's swap and restore (shared/reload.h); alone, they
   serve `hotreload_inplace_swap` only (here and in ../luajit_stock). */
#ifdef HR_NATIVE_BACKEND
#define HR_SWAP_FN __attribute__((visibility("hidden")))
HR_SWAP_FN int hr_swap (lua_State *L);
HR_SWAP_FN int hr_restore (lua_State *L);
/* shared/restart_map.c: `new_idx` replaces the running closure at `old_idx`. */
__attribute__((visibility("hidden"))) void hr_restart_note (lua_State *L, int old_idx, int new_idx);
#else
#define HR_SWAP_FN static
#endif

/* The Lua closure at `idx`, or NULL for anything else (C and fast functions). */
static GCfuncL *lclosure_at (lua_State *L, int idx) {
  GCfunc *fn;
  if (lua_type(L, idx) != LUA_TFUNCTION) return NULL;
  fn = (GCfunc *)lua_topointer(L, idx);
  return (fn != NULL && isluafunc(fn)) ? &fn->l : NULL;
}

static GCupval *cell_of (GCfuncL *fn, int k) {
  return &gcref(fn->uvptr[k])->uv;
}

/* Gives `fn` the cell for its upvalue `k`. The JIT constifies loads of an
   immutable cell: a cell that `fn`'s code writes must not claim that. */
static void set_cell (lua_State *L, GCfuncL *fn, GCproto *pt, int k, GCupval *uv) {
  setgcref(fn->uvptr[k], obj2gco(uv));
  lj_gc_objbarrier(L, fn, uv);
  if (!(proto_uv(pt)[k] & PROTO_UV_IMMUTABLE)) uv->immutable = 0;
}

/* Gives `fn` the code of `pt` (its pc is the prototype's bytecode). */
static void set_proto (lua_State *L, GCfuncL *fn, GCproto *pt) {
  setmref(fn->pc, proto_bc(pt));
  lj_gc_objbarrier(L, fn, pt);
}

HR_SWAP_FN int hr_swap (lua_State *L) {
  int n, i, total = 0, at = 0;
  GCupval **cells;
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
  cells = (GCupval **)malloc(sizeof(GCupval *) * (size_t)(total + 1));
  if (cells == NULL) return luaL_error(L, "hot reload: out of memory");
  /* pass 1: read every source cell before anything changes */
  for (i = 1; i <= n; i++) {
    GCfuncL *nw;
    int s, ns;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 2);
    nw = lclosure_at(L, -1);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 3);
    ns = (int)lua_objlen(L, -1) / 2;
    if (nw == NULL || ns != nw->nupvalues || ns != (int)funcproto((GCfunc *)nw)->sizeuv) {
      free(cells);
      return luaL_error(L, "hot reload: bad swap entry %d (%d cells for %d upvalues)", i, ns,
                        nw ? (int)nw->nupvalues : -1);
    }
    for (s = 0; s < ns; s++) {
      GCfuncL *src;
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
      cells[at++] = cell_of(src, (int)idx - 1);
    }
    lua_pop(L, 2);
  }
  /* pass 2: write (nothing below raises but the clone's allocation, which
     happens before its closure changes) */
  lua_createtable(L, n, 0);
  luaL_checkstack(L, 4, "hot reload");
  at = 0;
  for (i = 1; i <= n; i++) {
    GCfuncL *old, *nw;
    GCproto *npt;
    int force, k, nup;
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 1);
    old = lclosure_at(L, -1);
    lua_rawgeti(L, -2, 2);
    nw = lclosure_at(L, -1);
    lua_rawgeti(L, -3, 4);
    force = lua_toboolean(L, -1);
    lua_pop(L, 4);
    npt = funcproto((GCfunc *)nw);
    nup = nw->nupvalues;
    if (old != NULL && old != nw && !force && old->nupvalues == npt->sizeuv) {
      /* The clone keeps the old code, cells and environment (the undo). */
      GCproto *opt = funcproto((GCfunc *)old);
      GCfunc *clone = lj_func_newL_empty(L, opt, tabref(old->env));
      for (k = 0; k < old->nupvalues; k++) setgcrefr(clone->l.uvptr[k], old->uvptr[k]);
      setfuncV(L, L->top, clone);
      L->top++;
      lua_rawseti(L, -2, i);
      set_proto(L, old, npt);
      for (k = 0; k < nup; k++) {
        set_cell(L, old, npt, k, cells[at + k]);
        /* a stray reference to the new closure then behaves the same */
        set_cell(L, nw, npt, k, cells[at + k]);
      }
    }
    else {
#ifdef HR_NATIVE_BACKEND
      if (old != NULL && old != nw && force) { /* running: restartFrame can move it */
        setfuncV(L, L->top, (GCfunc *)old);
        setfuncV(L, L->top + 1, (GCfunc *)nw);
        L->top += 2;
        hr_restart_note(L, -2, -1);
        L->top -= 2;
      }
#endif
      for (k = 0; k < nup; k++) set_cell(L, nw, npt, k, cells[at + k]);
      lua_pushboolean(L, 0);
      lua_rawseti(L, -2, i);
    }
    at += nup;
  }
  free(cells);
  return 1;
}

/* hr_restore(old, clone): give `old` back the code and cells `clone` kept. */
HR_SWAP_FN int hr_restore (lua_State *L) {
  GCfuncL *old = lclosure_at(L, 1), *clone = lclosure_at(L, 2);
  int k;
  if (old == NULL || clone == NULL || old->nupvalues != clone->nupvalues)
    return luaL_error(L, "hot reload: bad restore");
  set_proto(L, old, funcproto((GCfunc *)clone));
  for (k = 0; k < old->nupvalues; k++) {
    setgcrefr(old->uvptr[k], clone->uvptr[k]);
    lj_gc_objbarrier(L, old, gcref(old->uvptr[k]));
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
