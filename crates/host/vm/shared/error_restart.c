/*
** Restarting a frame after an error stop (DAP restartFrame on an
** exception), for Lua 5.4, 5.3 and 5.2 (HR_ERROR_RESTART in reload_vm.h;
** 5.1 refuses, below): stop on an error, fix, reload, restart the function
** that failed; the program goes on with its state.
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

/* GCC's builtin jump buffer: cheaper than _setjmp (no signal mask, few
   registers), which matters since every interpreter run sets one while
   debugging. The jump comes from another function, as GCC requires. */
struct HrExec {
  void *buf[5];
  CallInfo *ci;  /* the frame this run started with */
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
static CallInfo *pending_ci = NULL;
static struct HrExec *pending_rec = NULL;

void hr_set_error_restarts(int on) {
  error_restarts = on;
}

int hr_error_restart_pending(lua_State *L) {
  return pending_L == L;
}

void hr_execute(lua_State *L, CallInfo *ci, void (*run)(lua_State *, CallInfo *)) {
  struct HrExec rec;
  /* What is read after a restart's longjmp lives in memory. */
  lua_State *volatile vl = L;
  void (*volatile vrun)(lua_State *, CallInfo *) = run;
  if (!error_restarts) {
    run(L, ci);
    return;
  }
  rec.ci = ci;
  rec.errorJmp = L->errorJmp;
  rec.nCcalls = L->nCcalls;
#ifdef HR_HAS_NNY
  rec.nny = L->nny;
#endif
  rec.errfunc = L->errfunc;
  rec.prev = L->hr_exec;
  L->hr_exec = &rec;
  if (__builtin_setjmp(rec.buf) == 0)
    run(L, ci);
  else  /* restarted: hr_error_restart_jump made the frame L->ci */
    vrun(vl, vl->ci);
  vl->hr_exec = rec.prev;
}

/* Whether `anc` is `ci` or one of the frames that called it. */
static int calls_into(const CallInfo *anc, const CallInfo *ci) {
  for (; ci != NULL; ci = ci->previous)
    if (ci == anc) return 1;
  return 0;
}

int hr_error_restart_request(lua_State *L, int level, char *err, size_t errlen) {
  CallInfo *ci = L->ci;
  struct HrExec *rec;
  int k;
  for (k = 0; k < level && ci != &L->base_ci; k++) ci = ci->previous;
  if (level < 0 || ci == &L->base_ci) {
    snprintf(err, errlen, "no such frame on the stopped thread");
    return -1;
  }
  for (rec = L->hr_exec; rec != NULL; rec = rec->prev)
    if (calls_into(rec->ci, ci)) break;
  if (rec == NULL) {
    snprintf(err, errlen, "this frame was entered before restarts after errors were possible; it cannot be restarted");
    return -1;
  }
  if (hr_restart_target(L, ci, err, errlen) != 0) return -1;
  pending_L = L;
  pending_ci = ci;
  pending_rec = rec;
  return 0;
}

/* Whether the frame and the run noted are still on L's stack. */
static int still_there(lua_State *L) {
  const struct HrExec *r;
  if (!calls_into(pending_ci, L->ci)) return 0;
  for (r = L->hr_exec; r != NULL; r = r->prev)
    if (r == pending_rec) return calls_into(r->ci, pending_ci);
  return 0;
}

/* From luaD_throw (an error of L about to unwind): unwinds to the run of
   the frame to restart instead, resets the frame and runs it again. Any
   other error (an error in the message handler) drops the request. */
void hr_error_restart_jump(lua_State *L, int errcode) {
  struct HrExec *rec = pending_rec;
  CallInfo *ci = pending_ci;
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
  L->ci = ci;
  /* The discarded frames' upvalues keep their values (as an error would
     leave them); hr_restart_apply closes the frame's own. */
  HR_CLOSE_UPVALS(L, HR_CI_BASE(ci));
  hr_restart_apply(L, ci);
  __builtin_longjmp(rec->buf, 1);
}

#else /* HR_ERROR_RESTART */

/* Lua 5.1: the error would unwind past the frame first (its interpreter
   runs are not made re-enterable); a restart from a breakpoint or step
   stop works (restart.c). */

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
