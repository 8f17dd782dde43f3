/*
** Restarting a stopped frame (DAP restartFrame) on LuaJIT: from a line or
** breakpoint stop, and after an error stop. LuaJIT's own shared/restart.c
** and error_restart.c, whose interpreters re-read their frame in C.
**
** LuaJIT's interpreter is assembler that keeps the pc, the base and the
** constants in registers across the hook, so nothing the hook writes moves
** it. Instead the frame is re-entered as the VM's own error unwinder
** re-enters an interpreter after a pcall (lj_vm_unwind_ff): the C stack is
** cut back to the frame's interpreter (its cframe) and `lj_vm_hr_restart`
** (added to vm_x64.dasc by vm.rs) reloads pc, base, dispatch table and
** constants there and runs the frame's first instruction. Only C frames
** that have finished their work are cut: the VM's own (lj_dispatch_ins,
** hr_dispatch_trap, lj_err_throw), never the host's Rust frames, which
** have returned by then.
**
** - From a stop in the line hook or a breakpoint trap, hr_restart_request
**   notes the frame; the patched lj_dispatch_ins / hr_dispatch_trap call
**   hr_restart_take once every hook of that event has returned (the
**   program's own hook included), which resets the frame and jumps.
** - After an error stop (the raise hook, or the uncaught error's message
**   handler), hr_error_restart_request notes the frame, at any level of the
**   failing thread; the patched lj_err_throw calls hr_error_restart_throw
**   for the error the stop was for (an error of a message handler that
**   runs meanwhile has a newer C frame and is left alone), which unwinds to
**   the frame instead: the upvalues of everything above it closed, the C
**   stack cut to the frame's interpreter.
**
** A running closure is never swapped by a hot reload (reload_swap.c,
** `force`): the reload notes which closure replaced it in the registry's
** `hotreload.restart_to` (hr_restart_note below, with the native backend;
** apply.lua after the walk), and the restart runs that one.
** The arguments are the parameters' current values; extra arguments of a
** vararg function stay in their vararg frame below the base. Compiled
** traces need nothing: the frame runs interpreted from its first
** instruction, a trace being recorded is aborted, and a reload flushed
** every trace that held the old code (jit.c).
*/

#include <stdio.h>

#include "lua.h"
#include "lj_obj.h"
#include "lj_frame.h"
#include "lj_func.h"
#include "lj_state.h"
#include "lj_debug.h"
#include "lj_trace.h"

#include "hotreload_vm.h"

#if !LJ_FR2
#error "restart.c assumes LuaJIT's two-slot frames (GC64, vm_x64.dasc)"
#endif

#define HR_RESTART_NEXT "hotreload.restart_next" /* keeps the target alive */
/* Links followed in the map: a closure replaced while running, whose
   replacement was replaced while running too... */
#define MAX_HOPS 64

#ifdef HR_NATIVE_BACKEND
#include "reload.h" /* hr_restart_map, HR_RESTART_TO (shared/restart_map.c) */
#else
#define HR_RESTART_TO "hotreload.restart_to"
#endif

/* vm_x64.dasc (vm.rs): cuts the C stack to `cframe`'s interpreter and runs
   L->base's frame from `pc`. */
LJ_NORET void lj_vm_hr_restart (void *cframe, const BCIns *pc);

/* A restart after a line or trap stop: the thread (read by the patched
   dispatcher), the frame's base and the stop's pc. */
lua_State *hr_restart_L = NULL;
static ptrdiff_t line_base;
static const BCIns *line_pc;
static GCfuncL *line_to;

/* A restart after an error stop: the thread, the frame, the closure it
   ran, the C frame current at the stop (the error's own or a newer one),
   and the closure to run. */
lua_State *hr_error_restart_L = NULL;
static ptrdiff_t err_frame;
static GCfunc *err_fn;
static void *err_cf;
static GCfuncL *err_to;

static int refuse (char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

/* The closure that replaced `fn` in a hot reload (following the chain), or
   `fn` itself. Pushes and pops on L. */
static GCfuncL *reloaded (lua_State *L, GCfunc *fn) {
  GCfunc *to = fn;
  int hops;
  if (!lua_checkstack(L, 3)) return &fn->l;
  lua_getfield(L, LUA_REGISTRYINDEX, HR_RESTART_TO);
  if (lua_istable(L, -1)) {
    for (hops = 0; hops < MAX_HOPS; hops++) {
      GCfunc *next;
      setfuncV(L, L->top, to);
      incr_top(L);
      lua_rawget(L, -2);
      next = lua_type(L, -1) == LUA_TFUNCTION ? (GCfunc *)lua_topointer(L, -1) : NULL;
      lua_pop(L, 1);
      if (next == NULL || !isluafunc(next) || next == to) break;
      to = next;
    }
  }
  lua_pop(L, 1);
  return &to->l;
}

/* Whether `frame` (its base minus one) is the first frame of coroutine L. */
static int first_of_coroutine (lua_State *L, TValue *frame) {
  if (L == mainthread(G(L))) return 0;
  if (frame_isvarg(frame)) frame = frame_prevd(frame);
  /* The function a resume starts sits at the bottom of the stack. */
  return frame - 1 <= tvref(L->stack) + 1 + LJ_FR2;
}

/*
** Whether the frame `frame` of L can be restarted, and with which closure
** (the one a hot reload gave it, if any): 0 with it in *to (kept alive in
** the registry), or -1 with the reason in err.
*/
static int target (lua_State *L, TValue *frame, GCfuncL **to, char *err, size_t errlen) {
  GCfunc *fn = frame_func(frame);
  GCproto *pt, *npt;
  if (!isluafunc(fn)) return refuse(err, errlen, "a C function cannot be restarted");
  pt = funcproto(fn);
  if (pt->firstline == 0 && pt->numline != 0)  /* lj_debug.c's "main" */
    return refuse(err, errlen, "a main chunk cannot be restarted");
  if (first_of_coroutine(L, frame))
    return refuse(err, errlen, "the first function of a coroutine cannot be restarted");
  *to = reloaded(L, fn);
  npt = funcproto((GCfunc *)*to);
  if (npt->numparams != pt->numparams ||
      (npt->flags & PROTO_VARARG) != (pt->flags & PROTO_VARARG))
    return refuse(err, errlen,
                  "the reloaded function takes other parameters; its arguments "
                  "can no longer be known");
  if (!lua_checkstack(L, 1)) return refuse(err, errlen, "no stack room to restart the frame");
  setfuncV(L, L->top, (GCfunc *)*to);
  incr_top(L);
  lua_setfield(L, LUA_REGISTRYINDEX, HR_RESTART_NEXT);
  return 0;
}

/*
** Resets the frame whose base is L->base to run `to` from its first
** instruction: the upvalues the old run captured closed, the parameters
** kept, every other slot nil. Returns the pc to run from (the first
** instruction after the FUNCF/FUNCV header, which already ran).
*/
static const BCIns *reset (lua_State *L, GCfuncL *to) {
  GCproto *pt = funcproto((GCfunc *)to);
  TValue *frame, *o;
  const BCIns *pc = proto_bc(pt) + 1;
  lj_trace_abort(G(L));
  lj_func_closeuv(L, L->base);
  L->top = L->base + pt->numparams;
  lj_state_checkstack(L, pt->framesize);  /* may move the stack */
  frame = L->base - 1;
  setfuncV(L, frame - 1, (GCfunc *)to);
  if (frame_isvarg(frame)) {  /* the call's own frame, below the varargs */
    TValue *call = frame_prevd(frame);
    if (tvisfunc(call - 1) && isluafunc(funcV(call - 1))) setfuncV(L, call - 1, (GCfunc *)to);
  }
  for (o = L->base + pt->numparams; o < L->base + pt->framesize; o++) setnilV(o);
  L->top = L->base + pt->framesize;
  L->hr_seenpc = NULL;
  /* The first instruction's line event fires (lj_dispatch_ins: a pc not
     after the last one seen is a new line). */
  setcframe_pc(cframe_raw(L->cframe), pc + 1);
  setgcref(G(L)->cur_L, obj2gco(L));
  return pc;
}

/* ---- From a line or breakpoint stop ---- */

int hr_restart_request (lua_State *L, char *err, size_t errlen) {
  GCfuncL *to;
  hr_restart_L = NULL;
  if (L->cframe == NULL || L->base - 1 <= tvref(L->stack) + LJ_FR2)
    return refuse(err, errlen, "no running frame to restart");
  if (target(L, L->base - 1, &to, err, errlen) != 0) return -1;
  line_base = savestack(L, L->base);
  line_pc = cframe_pc(cframe_raw(L->cframe));
  line_to = to;
  hr_restart_L = L;
  return 0;
}

/* From lj_dispatch_ins and hr_dispatch_trap, once the hooks of a line event
   or trap on L returned: restarts the frame noted, if it is this one. */
void hr_restart_take (lua_State *L) {
  hr_restart_L = NULL;
  if (hook_active(G(L)) || L->base != restorestack(L, line_base) ||
      cframe_pc(cframe_raw(L->cframe)) != line_pc)
    return;  /* not the stop's event: the request is dropped */
  lj_vm_hr_restart(cframe_raw(L->cframe), reset(L, line_to));
}

/* ---- After an error stop ---- */

void hr_set_error_restarts (int on) {
  (void)on;  /* nothing to record beforehand on LuaJIT */
}

int hr_error_restart_pending (lua_State *L) {
  return hr_error_restart_L == L;
}

/*
** Walks L's frames from the running one down to `target`, following the C
** frames as the error unwinder (lj_err.c, err_unwind) does. Returns the C
** frame whose interpreter runs `target`, or NULL when `target` is not
** there or a coroutine's start lies between.
*/
static void *cframe_of (lua_State *L, TValue *target) {
  TValue *frame = L->base - 1, *bot = tvref(L->stack) + LJ_FR2;
  void *cf = L->cframe;
  for (;;) {
    int32_t nres;
    if (cf == NULL) return NULL;
    nres = cframe_nres(cframe_raw(cf));
    if (nres < 0 && frame < restorestack(L, -nres)) {  /* a cpcall's, passed */
      if (cframe_canyield(cf)) return NULL;
      cf = cframe_prev(cf);
      continue;
    }
    if (frame == target) return cf;
    if (frame < target || frame <= bot) return NULL;
    switch (frame_typep(frame)) {
      case FRAME_LUA:
      case FRAME_LUAP:
        frame = frame_prevl(frame);
        break;
      case FRAME_CONT:
        if (frame_iscont_fficb(frame)) goto c_frame;
        frame = frame_prevd(frame);
        break;
      case FRAME_CP:
        if (cframe_canyield(cf)) return NULL;  /* a coroutine's start */
        /* fallthrough */
      case FRAME_C:
      c_frame:
        cf = cframe_prev(cf);
        frame = frame_prevd(frame);
        break;
      default:  /* FRAME_VARG, FRAME_PCALL, FRAME_PCALLH */
        frame = frame_prevd(frame);
        break;
    }
  }
}

int hr_error_restart_request (lua_State *L, int level, char *err, size_t errlen) {
  TValue *frame;
  GCfuncL *to;
  int size;
  hr_error_restart_L = NULL;
  if (level < 0 || (frame = (TValue *)lj_debug_frame(L, level, &size)) == NULL)
    return refuse(err, errlen, "no such frame on the stopped thread");
  if (hook_active(G(L)))
    return refuse(err, errlen, "the error was raised inside a debug hook; its frames cannot be restarted");
  if (cframe_of(L, frame) == NULL)
    return refuse(err, errlen, "the error does not unwind through this frame (a coroutine starts in between)");
  if (target(L, frame, &to, err, errlen) != 0) return -1;
  err_frame = savestack(L, frame);
  err_fn = frame_func(frame);
  err_cf = cframe_raw(L->cframe);
  err_to = to;
  hr_error_restart_L = L;
  return 0;
}

/* From lj_err_throw (L's error about to unwind, L->status reset): unwinds
   to the frame noted instead and runs it again from its first line. Any
   other error of L's stop (the message handler's) is left alone; an error
   that is not a runtime error drops the request. */
void hr_error_restart_throw (lua_State *L, int errcode) {
  TValue *frame;
  void *cf;
  if ((char *)cframe_raw(L->cframe) < (char *)err_cf) return;  /* a handler's own error */
  hr_error_restart_L = NULL;
  if (errcode != LUA_ERRRUN) return;
  frame = restorestack(L, err_frame);
  /* Found among L's frames first: the slot is read only if it is one. */
  if ((cf = cframe_of(L, frame)) == NULL || frame_func(frame) != err_fn) return;
  L->cframe = cf;
  L->base = frame + 1;
  setmref(G(L)->jit_base, NULL);
  lj_vm_hr_restart(cframe_raw(cf), reset(L, err_to));
}
