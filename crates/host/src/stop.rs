//! Stopping: what happens when a breakpoint, step, pause or uncaught error
//! stops the program, the request loop while stopped, and the requests served
//! from the interrupt hook while the program runs.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::path::Path;

use dap::types::{ContinuedEventBody, StoppedEventBody};
use host_protocol::{HostCommand, HostEvent, Outcome};
use mlua::ffi::{self, lua_Debug, lua_State};
use serde::Serialize;
use serde_json::Value;

use crate::breakpoints::{hit_matches, parse_log_message, LogPart};
use crate::hooks::{self, Step, StepKind};
use crate::inspect::{self, StopContext};
use crate::queue::{self, RunState};
use crate::session::{Session, SESSION};
use crate::{
    completions, coroutines, evaluate, exceptions, interrupt, io, native, set_variable, threads,
};

/// How the program goes on after a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run freely.
    Continue,
    /// Run until the step ends.
    Step(StepKind),
}

fn ok<T: Serialize>(body: T) -> Outcome {
    match serde_json::to_value(body) {
        Ok(v) => Outcome::Ok(v),
        Err(e) => Outcome::Error(format!("cannot encode the reply: {e}")),
    }
}

fn outcome<T: Serialize>(result: Result<T, String>) -> Outcome {
    match result {
        Ok(body) => ok(body),
        Err(e) => Outcome::Error(e),
    }
}

/// Serves a request that does not change the run state (stopped or not).
pub fn handle(session: &mut Session, command: HostCommand) -> Outcome {
    let stopped = session.stop.is_some();
    match command {
        HostCommand::SetBreakpoints(args) => {
            let result = session.bps.set(&args);
            hooks::breakpoints_changed(&session.bps);
            outcome(result)
        }
        HostCommand::SetExceptionBreakpoints(args) => ok(exceptions::set(session, &args)),
        HostCommand::Threads => ok(threads::list(session)),
        HostCommand::StackTrace(args) if stopped => outcome(inspect::stack_trace(session, &args)),
        HostCommand::Scopes(args) if stopped => outcome(inspect::scopes(session, &args)),
        HostCommand::Variables(args) if stopped => outcome(inspect::variables(session, &args)),
        HostCommand::SetVariable(args) if stopped => {
            let result = set_variable::request(session, &args);
            forget_other_threads(session);
            outcome(result)
        }
        HostCommand::StackTrace(_)
        | HostCommand::Scopes(_)
        | HostCommand::Variables(_)
        | HostCommand::SetVariable(_) => Outcome::Error("the program is not stopped".into()),
        HostCommand::Completions(args) => outcome(completions::request(session, &args)),
        HostCommand::Evaluate(args) => {
            let result = evaluate::request(session, &args);
            forget_other_threads(session);
            outcome(result)
        }
        HostCommand::HotReload(args) => {
            let result = match session.vm.as_mut() {
                Some(vm) => match vm.engine.reload(&vm.lua, &args) {
                    Ok(body) => ok(body),
                    Err(e) => Outcome::Error(e.to_string()),
                },
                None => Outcome::Error("no program is launched".into()),
            };
            forget_other_threads(session);
            result
        }
        HostCommand::Launch(_) => Outcome::Error("a program is already launched".into()),
        HostCommand::ConfigurationDone => Outcome::Error("the program already started".into()),
        // The reader thread answers `terminate` itself; this is never reached.
        HostCommand::Terminate => io::exit_now(),
        // Nothing here runs long enough to cancel: it finishes normally.
        HostCommand::Cancel(_) => Outcome::Ok(Value::Null),
        HostCommand::Continue
        | HostCommand::Next
        | HostCommand::StepIn
        | HostCommand::StepOut
        | HostCommand::Pause => Outcome::Error("the program is not stopped".into()),
    }
}

fn forget_other_threads(session: &mut Session) {
    if let Some(stop) = session.stop.as_mut() {
        stop.forget_other_threads();
    }
}

/// Reports the stop and serves requests until one resumes the program.
fn serve_stopped(session: &mut Session, body: StoppedEventBody) -> Resume {
    exceptions::note_stop();
    queue::set_state(RunState::Stopped);
    io::event(HostEvent::Stopped(body));
    let resume = loop {
        let request = queue::pop_blocking();
        let resume = match request.command {
            HostCommand::Continue => Some(Resume::Continue),
            HostCommand::Next => Some(Resume::Step(StepKind::Over)),
            HostCommand::StepIn => Some(Resume::Step(StepKind::In)),
            HostCommand::StepOut => Some(Resume::Step(StepKind::Out)),
            HostCommand::Pause => None,
            command => {
                let result = handle(session, command);
                io::respond(request.id, result);
                continue;
            }
        };
        io::respond(request.id, Outcome::Ok(Value::Null));
        if let Some(resume) = resume {
            break resume;
        }
    };
    session.stop = None;
    if queue::set_state(RunState::Running) {
        interrupt::mark_pending();
    }
    io::event(HostEvent::Continued(ContinuedEventBody {
        thread_id: 1,
        all_threads_continued: true,
    }));
    resume
}

/// The `stopped` event body for `reason` (`text`: an exception's message).
pub fn stopped_body(reason: &str, hit_ids: Vec<i64>, text: Option<String>) -> StoppedEventBody {
    StoppedEventBody {
        reason: reason.to_string(),
        description: text.as_ref().map(|t| format!("Exception: {t}")),
        thread_id: Some(1),
        all_threads_stopped: true,
        hit_breakpoint_ids: hit_ids,
        text,
    }
}

/// Stops in a hook on thread `l` (frame `ar` is level 0), serves requests,
/// then arms the hooks for the way the program resumes.
///
/// # Safety
/// `l` is the running thread and `ar` its hook record.
pub unsafe fn stop_in_hook(
    session: &mut Session,
    l: *mut lua_State,
    ar: *mut lua_Debug,
    reason: &str,
    hit_ids: Vec<i64>,
) {
    // SAFETY: per the contract above.
    unsafe {
        let frames = inspect::capture(l, 0, None);
        stop_at(session, l, ar, frames, stopped_body(reason, hit_ids, None));
    }
}

/// Stops showing `frames` of thread `l`, serves requests, then arms the
/// hooks for the way the program resumes from frame `ar` (level 0).
///
/// # Safety
/// `l` is the running thread and `ar` describes its level 0.
pub unsafe fn stop_at(
    session: &mut Session,
    l: *mut lua_State,
    ar: *mut lua_Debug,
    frames: Vec<inspect::Frame>,
    body: StoppedEventBody,
) {
    session.stop = Some(StopContext::new(frames));
    let resume = serve_stopped(session, body);
    let mut config = hooks::config();
    config.any_bps = session.bps.any();
    config.step = match resume {
        Resume::Continue => None,
        Resume::Step(kind) => Some(Step {
            kind,
            thread: l,
            // SAFETY: `l` is the running thread.
            depth: unsafe { native::stack_depth(l) },
            chain_pos: coroutines::position(l).unwrap_or(0),
        }),
    };
    hooks::set_config(config);
    // SAFETY: `ar` still describes level 0 of `l`.
    unsafe {
        let mask = hooks::mask_for(session, l, ar, || native::stack_depth(l));
        hooks::set_mask(l, mask);
    }
}

/// The line of a breakpoint was reached: conditions, hit counts, logpoints.
///
/// # Safety
/// `l` is the running thread and `ar` its hook record.
pub unsafe fn on_breakpoint(
    session: &mut Session,
    l: *mut lua_State,
    ar: *mut lua_Debug,
    path: &Path,
    line: i32,
) {
    let Some(bp) = session.bps.get_mut(path, line) else {
        return;
    };
    let (id, condition, log) = (bp.id, bp.condition.clone(), bp.log_message.clone());
    let needs_frame = condition.is_some() || log.is_some();
    // SAFETY: per the contract above.
    let frame = if needs_frame {
        unsafe { inspect::capture(l, 0, Some(1)) }
    } else {
        Vec::new()
    };
    if let (Some(condition), Some(vm)) = (condition, session.vm.as_ref()) {
        match evaluate::run(vm, frame.first(), &condition, evaluate::Budget::Glance) {
            Ok(values) => {
                let truthy = !matches!(
                    values.first(),
                    None | Some(mlua::Value::Nil) | Some(mlua::Value::Boolean(false))
                );
                if !truthy {
                    return;
                }
            }
            Err(e) => io::output(
                "console",
                &format!("breakpoint condition `{condition}` failed: {e}\n"),
            ),
        }
    }
    let Some(bp) = session.bps.get_mut(path, line) else {
        return;
    };
    bp.hits += 1;
    if let Some(hit) = &bp.hit_condition {
        if !hit_matches(hit, bp.hits) {
            return;
        }
    }
    if let (Some(log), Some(vm)) = (log, session.vm.as_ref()) {
        let mut text = String::new();
        for part in parse_log_message(&log) {
            match part {
                LogPart::Text(t) => text.push_str(&t),
                LogPart::Expr(e) => text.push_str(&evaluate::interpolate(vm, frame.first(), &e)),
            }
        }
        text.push('\n');
        io::output("console", &text);
        return;
    }
    drop(frame);
    // SAFETY: per the contract above.
    unsafe { stop_in_hook(session, l, ar, "breakpoint", vec![id]) };
}

/// Serves the requests queued while the program ran (at a line event),
/// stops if one was `pause` (returns true then), and restores the thread's
/// normal mask.
///
/// # Safety
/// `l` is the running thread and `ar` its hook record.
pub unsafe fn serve_interrupt(
    session: &mut Session,
    l: *mut lua_State,
    ar: *mut lua_Debug,
) -> bool {
    let mut pause = false;
    while let Some(request) = queue::try_pop() {
        match request.command {
            HostCommand::Pause => {
                pause = true;
                io::respond(request.id, Outcome::Ok(Value::Null));
            }
            HostCommand::Continue => io::respond(request.id, Outcome::Ok(Value::Null)),
            command => {
                let result = handle(session, command);
                io::respond(request.id, result);
            }
        }
    }
    if pause && !queue::no_debug() {
        // SAFETY: per the contract above.
        unsafe { stop_in_hook(session, l, ar, "pause", Vec::new()) };
        return true;
    }
    // SAFETY: per the contract above.
    unsafe {
        let mask = hooks::mask_for(session, l, ar, || native::stack_depth(l));
        hooks::set_mask(l, mask);
    }
    false
}

/// Message handler of the program's outermost call, as in `lua.c`: prints
/// the traceback to stderr and stops with reason `exception` (unless
/// `noDebug`, the `uncaught` filter is off, or the `all` filter stopped at
/// this raise already) while the failing stack is still there.
///
/// # Safety
/// Called by Lua only, as a message handler.
pub unsafe extern "C-unwind" fn on_error(l: *mut lua_State) -> c_int {
    // SAFETY: Lua calls us with the error object at index 1.
    unsafe {
        let message = error_message(l);
        let traceback = {
            let bytes = message.as_bytes();
            ffi::lua_pushlstring(l, bytes.as_ptr() as *const _, bytes.len());
            ffi::luaL_traceback(l, l, ffi::lua_tostring(l, -1), 1);
            let text = lossy(ffi::lua_tostring(l, -1));
            ffi::lua_pop(l, 2);
            text
        };
        io::output("stderr", &format!("{traceback}\n"));
        // The `all` filter already stopped where this error was raised.
        let stopped_at_raise = exceptions::take_raise_stop();
        if !queue::no_debug() && !stopped_at_raise {
            SESSION.with(|cell| {
                let Ok(mut session) = cell.try_borrow_mut() else {
                    return;
                };
                if !session.exceptions.uncaught {
                    return;
                }
                let frames = error_frames(l, 1);
                session.stop = Some(StopContext::new(frames));
                let body = stopped_body("exception", Vec::new(), Some(message));
                serve_stopped(&mut session, body);
            });
        }
        ffi::lua_pushvalue(l, 1);
        1
    }
}

/// Frames shown at most for an error raised deep in a recursion (a stack
/// overflow leaves some 200000 frames, too many to walk one by one).
const DEEP_ERROR_FRAMES: usize = 1000;

/// The frames of an error stop on thread `l` from `first_level`, starting
/// at the Lua function that raised it (not `error` itself); only the
/// innermost ones when the stack is very deep.
///
/// # Safety
/// `l` is the running thread.
pub unsafe fn error_frames(l: *mut lua_State, first_level: c_int) -> Vec<inspect::Frame> {
    // SAFETY: per the contract above.
    let frames = unsafe {
        let deep = native::stack_depth(l) > DEEP_ERROR_FRAMES as i32;
        inspect::capture(l, first_level, deep.then_some(DEEP_ERROR_FRAMES))
    };
    let skip = frames.iter().take_while(|f| !f.is_lua).count();
    if skip < frames.len() {
        frames.into_iter().skip(skip).collect()
    } else {
        frames
    }
}

unsafe fn lossy(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: Lua strings are NUL-terminated.
        unsafe { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

/// The error object as text, like `lua.c`'s message handler.
unsafe fn error_message(l: *mut lua_State) -> String {
    // SAFETY: index 1 holds the error object.
    unsafe {
        match ffi::lua_type(l, 1) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, 1, &mut len);
                String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len))
                    .into_owned()
            }
            t => {
                if ffi::luaL_callmeta(l, 1, c"__tostring".as_ptr()) != 0 {
                    let text = if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                        Some(lossy(ffi::lua_tostring(l, -1)))
                    } else {
                        None
                    };
                    ffi::lua_pop(l, 1);
                    if let Some(text) = text {
                        return text;
                    }
                }
                format!(
                    "(error object is a {} value)",
                    lossy(ffi::lua_typename(l, t))
                )
            }
        }
    }
}

/// Runs the program's main chunk (on `configurationDone`) and ends the host
/// with its exit code.
pub fn run_program() -> ! {
    let prepared = SESSION.with_borrow_mut(|session| {
        let vm = session.vm.as_mut()?;
        Some((
            vm.lua.clone(),
            vm.main.take()?,
            vm.args.clone(),
            vm.stop_on_entry,
            vm.no_debug,
            vm.main_state,
        ))
    });
    let Some((lua, main, args, stop_on_entry, no_debug, main_state)) = prepared else {
        io::output("stderr", "hotreload-host: no program to run\n");
        io::finish(1);
    };
    let main_state = main_state as *mut lua_State;
    let mut config = hooks::config();
    config.no_debug = no_debug;
    config.step = (stop_on_entry && !no_debug).then_some(Step {
        kind: StepKind::Entry,
        thread: main_state,
        depth: 0,
        chain_pos: 0,
    });
    hooks::set_config(config);
    if queue::set_state(RunState::Running) {
        interrupt::mark_pending();
    }
    // SAFETY: the main thread is live; the VM thread runs this.
    unsafe { hooks::apply_base_mask(main_state) };
    let mut status = ffi::LUA_OK;
    // SAFETY: the stack holds [main, args...]; we insert the message handler
    // below them, call, and clear everything we pushed.
    let ran = unsafe {
        let mut call_args = mlua::MultiValue::new();
        call_args.push_back(mlua::Value::Function(main));
        for a in &args {
            call_args.push_back(mlua::Value::String(match lua.create_string(a) {
                Ok(s) => s,
                Err(_) => continue,
            }));
        }
        let nargs = call_args.len() as c_int - 1;
        lua.exec_raw::<()>(call_args, |s| {
            let base = ffi::lua_gettop(s) - nargs - 1;
            ffi::lua_pushcfunction(s, on_error);
            ffi::lua_rotate(s, base + 1, 1);
            status = ffi::lua_pcall(s, nargs, 0, base + 1);
            ffi::lua_settop(s, base);
        })
    };
    if let Err(e) = ran {
        io::output("stderr", &format!("hotreload-host: {e}\n"));
        io::finish(1);
    }
    io::finish(if status == ffi::LUA_OK { 0 } else { 1 })
}
