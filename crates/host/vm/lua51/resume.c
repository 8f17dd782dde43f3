/*
 * Lua 5.1's lua_resume does not say which thread resumes: the resume
 * notification's `from` is kept here instead. lua_resume calls nest on the
 * C stack, so the thread that runs is the last one entered and not yet
 * left; with none entered, the main thread runs. (Called by the patched
 * lua_resume, see vm.rs.)
 */
#include "lua.h"
#include "lstate.h"

#include "hotreload_vm.h"

static lua_State *running = NULL;

/* Before coroutine L runs: notifies and returns the thread resuming it. */
lua_State *hr_resume_enter (lua_State *L) {
  lua_State *from = running;
  /* A thread of another VM (a scratch state) never resumes one of ours. */
  if (from == NULL || G(from) != G(L)) from = G(L)->mainthread;
  running = L;
  if (hr_resume_hook) hr_resume_hook(L, from, 1);
  return from;
}

/* Once lua_resume returns to `from` (what hr_resume_enter returned). */
void hr_resume_leave (lua_State *L, lua_State *from) {
  running = (from == G(L)->mainthread) ? NULL : from;
  if (hr_resume_hook) hr_resume_hook(L, from, 0);
}
