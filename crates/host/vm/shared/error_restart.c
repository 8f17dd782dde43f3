/*
** Restarting a frame after an error stop (DAP restartFrame on an
** exception), for every PUC VM (HR_ERROR_RESTART in reload_vm.h): stop on
** an error, fix, reload, restart the function that failed; the program
** goes on with its state.
**
** An error unwinds to the nearest protected call, past the frame to
** restart. So while the debugger may need it (hr_set_error_restarts), every
** interpreter run (luaV_execute, entered from C) records where it can be
** re-entered (hr_execute: a jump buffer, the error handler, C-call count
** and message handler in force there). When the debugger asks to restart a
** frame from an error stop (hr_error_restart_request), the error that is
** then thrown (luaD_throw, patched) unwinds to that frame's run instead:
** like an error caught there, with the upvalues of the discarded frames
** closed, the frame reset to its first line (with the reloaded closure, as
** restart.c does) and the interpreter run again from it.
**
** "The error that is then thrown" is the stopped error's own throw, told
** by where it goes: the protected call in force when it stopped (errorJmp).
** Its message handler runs before it is thrown (luaG_errormsg) and may
** raise and catch errors of its own; those go to the handler's own
** protected calls and leave the request waiting.
**
** How a VM names its frames and runs, where it differs (5.1), is in its
** reload_vm.h; the defaults below are 5.2's to 5.4's.
*/

#define LUA_CORE

#ifdef HR_NATIVE_BACKEND

#include <stdio.h>

#include "reload.h"

/* A VM whose own restart.c answers for error stops too (LuaJIT). */
#ifndef HR_RESTART_OWN

#include "hotreload_vm.h"

#ifdef HR_ERROR_RESTART

#include "ldebug.h"
#include "ldo.h"
#include "lfunc.h"

#ifndef HR_CIREF_T
/* Frames are a list whose nodes stay put: a frame is its CallInfo, and the
   level of a frame counts the frames above it. */
#define HR_CIREF_T CallInfo *
#define HR_CIREF(L, ci) (ci)
#define HR_CI_AT(L, r) (r)
#define HR_CI_BOTTOM(L) (&(L)->base_ci)
#define HR_CI_PREV(L, ci) ((ci)->previous)
#define HR_CI_LOST_TAILCALLS(ci) 0
/* An interpreter run is given the frame it starts in and, re-entered, the
   frame to run. */
#define HR_EXEC_ARG_T CallInfo *
#define HR_EXEC_FIRST(L, arg) (arg)
#define HR_EXEC_AGAIN(L, first) ((L)->ci)
/* What a protected call resets after an error besides the frame. */
#define HR_RESET_LIMITS(L) ((void)(L))
#endif

/* GCC's builtin jump buffer: cheaper than _setjmp (no signal mask, few
   registers), which matters since every interpreter run sets one while
   debugging. The jump comes from another function, as GCC requires. */
struct HrExec {
  void *buf[5];
  HR_CIREF_T ci;  /* the frame this run started with */
  struct lua_longjmp *errorJmp;
  HR_NCCALLS_T nCcalls;
#ifdef HR_HAS_NNY
  unsigned short nny; /* non-yieldable calls (5.3, 5.2) */
#endif
  ptrdiff_t errfunc;
  struct HrExec *prev;
};

void hr_restart_apply(lua_State *L, CallInfo *ci);  /* restart.c */
int hr_restart_target(lua_State *L, CallInfo *ci, char *err, size_t errlen);

static int error_restarts = 0;
/* The thread whose next error restarts `target` in the run `rec`. */
static lua_State *pending_L = NULL;
static HR_CIREF_T pending_ci;
static struct HrExec *pending_rec = NULL;
/* Where the stopped error goes: its protected call, live on the C stack
   until that error unwinds to it, so no later one shares its address. */
static struct lua_longjmp *pending_jmp = NULL;

void hr_set_error_restarts(int on) {
  error_restarts = on;
}

int hr_error_restart_pending(lua_State *L) {
  return pending_L == L;
}

void hr_execute(lua_State *L, HR_EXEC_ARG_T arg, void (*run)(lua_State *, HR_EXEC_ARG_T)) {
  struct HrExec rec;
  /* What is read after a restart's longjmp lives in memory. */
  lua_State *volatile vl = L;
  void (*volatile vrun)(lua_State *, HR_EXEC_ARG_T) = run;
  if (!error_restarts) {
    run(L, arg);
    return;
  }
  rec.ci = HR_CIREF(L, HR_EXEC_FIRST(L, arg));
  rec.errorJmp = L->errorJmp;
  rec.nCcalls = L->nCcalls;
#ifdef HR_HAS_NNY
  rec.nny = L->nny;
#endif
  rec.errfunc = L->errfunc;
  rec.prev = L->hr_exec;
  L->hr_exec = &rec;
  if (__builtin_setjmp(rec.buf) == 0)
    run(L, arg);
  else  /* restarted: hr_error_restart_jump made the frame L->ci */
    vrun(vl, HR_EXEC_AGAIN(vl, rec.ci));
  vl->hr_exec = rec.prev;
}

/* Whether frame `anc` of L is `ci` or one of the frames that called it. */
static int calls_into(lua_State *L, HR_CIREF_T anc, CallInfo *ci) {
  const CallInfo *a = HR_CI_AT(L, anc);
  (void)L;
  for (; ci != NULL; ci = HR_CI_PREV(L, ci))
    if (ci == a) return 1;
  return 0;
}

/* The frame at `level` of L (as lua_getstack counts), or NULL. */
static CallInfo *frame_at(lua_State *L, int level) {
  CallInfo *ci = L->ci;
  if (level < 0) return NULL;
  while (level > 0 && ci != HR_CI_BOTTOM(L)) {
    level -= 1 + HR_CI_LOST_TAILCALLS(ci);
    ci = HR_CI_PREV(L, ci);
  }
  /* level < 0: a tail call that left no frame */
  return level == 0 && ci != HR_CI_BOTTOM(L) ? ci : NULL;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  CallInfo *ci = frame_at(L, level);
  struct HrExec *rec;
  if (ci == NULL) {
    snprintf(err, errlen, "no such frame on the stopped thread");
    return -1;
  }
  for (rec = L->hr_exec; rec != NULL; rec = rec->prev)
    if (calls_into(L, rec->ci, ci)) break;
  if (rec == NULL) {
    snprintf(err, errlen, "this frame was entered before restarts after errors were possible; it cannot be restarted");
    return -1;
  }
  if (hr_restart_target(L, ci, err, errlen) != 0) return -1;
  pending_L = L;
  pending_ci = HR_CIREF(L, ci);
  pending_rec = rec;
  pending_jmp = L->errorJmp;
  return 0;
}

/* Whether the frame and the run noted are still on L's stack. */
static int still_there(lua_State *L) {
  const struct HrExec *r;
  if (!calls_into(L, pending_ci, L->ci)) return 0;
  for (r = L->hr_exec; r != NULL; r = r->prev)
    if (r == pending_rec) return calls_into(L, r->ci, HR_CI_AT(L, pending_ci));
  return 0;
}

/* From luaD_throw (an error of L about to unwind): unwinds to the run of
   the frame to restart instead, resets the frame and runs it again. An
   error a message handler raises inside a protected call of its own is
   left to it (the request waits); one it lets out goes where the stopped
   error would, in its stead: a runtime error takes the restart, any other
   (an error in error handling, out of memory) drops it. */
void hr_error_restart_jump(lua_State *L, int errcode) {
  struct HrExec *rec = pending_rec;
  CallInfo *ci;
  if (L->errorJmp != pending_jmp) return;
  pending_L = NULL;
  if (errcode != LUA_ERRRUN || !still_there(L)) return;
  L->errorJmp = rec->errorJmp;
  L->nCcalls = rec->nCcalls;
#ifdef HR_HAS_NNY
  L->nny = rec->nny;
#endif
  L->errfunc = rec->errfunc;
  L->allowhook = 1;
  L->hr_exec = rec;
  L->ci = HR_CI_AT(L, pending_ci);
  HR_RESET_LIMITS(L);
  ci = L->ci;
  /* The discarded frames' upvalues keep their values (as an error would
     leave them); hr_restart_apply closes the frame's own. */
  HR_CLOSE_UPVALS(L, HR_CI_BASE(ci));
  hr_restart_apply(L, ci);
  __builtin_longjmp(rec->buf, 1);
}

#else /* HR_ERROR_RESTART */

/* A VM whose interpreter runs are not made re-enterable: the error would
   unwind past the frame first; a restart from a breakpoint or step stop
   works (restart.c). */

void hr_set_error_restarts(int on) {
  (void)on;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  (void)L;
  (void)level;
  snprintf(err, errlen,
           "restarting a frame after an error stop is not supported on %s: the error "
           "unwinds past the frame (restart it from a breakpoint or a step instead)",
           LUA_VERSION);
  return -1;
}

int hr_error_restart_pending(lua_State *L) {
  (void)L;
  return 0;
}

#endif /* HR_ERROR_RESTART */
#endif /* HR_RESTART_OWN */
#endif /* HR_NATIVE_BACKEND */
