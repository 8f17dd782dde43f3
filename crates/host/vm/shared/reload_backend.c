/*
** Native fast paths of the hot reload engine, for every VM whose folder
** describes its objects (reload_vm.h; build.rs defines HR_NATIVE_BACKEND):
** the same C over each VM's internal headers, compiled together with the
** VM's sources.
**
** The semantic layer (lua/engine/) decides WHAT to change; these files do
** the VM-level work it cannot do in Lua:
**   hr_swap     give old closures the new prototype in place (every
**               reference to the closure then runs the new code), keeping
**               chosen upvalue cells; or relink a new closure's cells
**               (<vm>/reload_swap.c)
**   hr_restore  undo one swap (<vm>/reload_swap.c)
**   hr_walk     one pass over the VM's own object lists (allgc, finobj,
**               tobefnz): replace references to functions, and give closures
**               of changed nested functions (factory products) the new code,
**               nested functions paired by name (local, field, return slot)
**               (reload_heap.c, reload_pair.c)
**   hr_mark     where the engine's own frames start on the running stack
**   hr_active   the closures with a frame on the given threads' stacks
**               (reload_frames.c)
**   hr_gc_mark, hr_created_since   which tables a new top level created
**   hr_find_chunk  the live main-chunk closure of a file (reload_lookup.c)
**   same_code   same code, line numbers aside (<vm>/compare.c)
*/

#ifdef HR_NATIVE_BACKEND

#include "reload.h"

/* ------------------------------------------------------------------------
** luaopen-style entry: pushes the backend table.
*/

int hotreload_native_backend(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"swap", hr_swap},       {"restore", hr_restore},
      {"walk", hr_walk},       {"mark", hr_mark},
      {"find_chunk", hr_find_chunk}, {"active", hr_active},
      {"gc_mark", hr_gc_mark},       {"created_since", hr_created_since},
      {"same_code", hotreload_same_code},
      {NULL, NULL}};
  HR_NEWLIB(L, fns);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "native");
  return 1;
}

#endif /* HR_NATIVE_BACKEND */
