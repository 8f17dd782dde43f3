//! Stopping: what happens when a breakpoint, step, pause or uncaught error
//! stops the program, the request loop while stopped, and the requests served
//! from the interrupt hook while the program runs.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;

use dap::types::{ContinuedEventBody, StoppedEventBody};
use host_protocol::{HostCommand, HostError, HostEvent, HostRequest, Outcome};
use mlua::ffi::{self, lua_Debug, lua_State};
use serde::Serialize;
use serde_json::Value;

use crate::breakpoints::{self, hit_matches, parse_log_message, LogPart};
use crate::debuggee::{Debuggee, DEBUGGEE};
use crate::frames::{self, Frame};
use crate::hooks::{self, Step, StepKind};
use crate::inspect;
use crate::queue::{self, RunState};
use crate::references::StopContext;
use crate::routing::{self, Refusal, Route, Situation};
use crate::{
    completions, coroutines, data_breakpoints, evaluate, exceptions, follow, function_breakpoints,
    inflight, interrupt, io, lua_c, memory, native, panics, restart, set_variable, sources,
    threads,
};
use hotreload_host::reload;

thread_local! {
    /// Breakpoints whose condition could not be evaluated (reported once).
    static UNEVALUATED: std::cell::RefCell<std::collections::HashSet<(std::path::PathBuf, i32)>> =
        std::cell::RefCell::new(std::collections::HashSet::new());
}

/// How the program goes on after a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run freely.
    Continue,
    /// Run until the step ends.
    Step(StepKind),
}

fn ok<T: Serialize>(body: T) -> Outcome {
    Ok(body).into()
}

fn outcome<T: Serialize>(result: Result<T, HostError>) -> Outcome {
    result.into()
}

/// What a request the VM thread took leaves for its loop to do.
#[derive(Debug)]
pub enum Taken {
    /// Answered; nothing else.
    Answered,
    /// `launch` or `configurationDone`, for the loop before the program runs.
    /// (Boxed: launch arguments are large beside the other variants.)
    Configure(Box<HostRequest>),
    /// Resume the stopped program (the request is answered).
    Resume(Resume),
    /// Stop the running program (the request is answered).
    Pause,
}

/// Routes a request the VM thread took from its queue in `state` (see
/// `routing`), answers it, serving it when it is routed so, and hands back
/// what only the caller's loop can do.
pub fn take(debuggee: &mut Debuggee, request: HostRequest, state: RunState) -> Taken {
    let situation = Situation {
        state,
        no_debug: queue::no_debug(),
        busy: false,
    };
    let id = request.id;
    let acknowledge = || io::respond(id, Outcome::Ok(Value::Null));
    match routing::route(situation, &request.command) {
        Route::Serve | Route::LastThreads => serve(debuggee, request),
        Route::Acknowledge | Route::Cancel(_) | Route::PauseEvaluation => acknowledge(),
        Route::Refuse(refusal) => io::respond(id, Outcome::Failure(refusal.into())),
        Route::Terminate => {
            acknowledge();
            io::exit_now();
        }
        Route::Configure => return Taken::Configure(Box::new(request)),
        Route::Resume(resume) => {
            acknowledge();
            return Taken::Resume(resume);
        }
        Route::Restart => {
            let HostCommand::RestartFrame(args) = &request.command else {
                unreachable!("only restartFrame routes to Restart")
            };
            match panics::catch("restartFrame", || restart::request(debuggee, args)) {
                Ok(Ok(())) => {
                    acknowledge();
                    return Taken::Resume(Resume::Step(StepKind::Restart));
                }
                Ok(Err(e)) | Err(e) => io::respond(id, Outcome::Failure(e)),
            }
        }
        Route::Pause => {
            acknowledge();
            return Taken::Pause;
        }
    }
    Taken::Answered
}

/// Serves `request` and answers it, unless someone answered for it while
/// it ran (see `inflight`).
pub fn serve(debuggee: &mut Debuggee, request: HostRequest) {
    inflight::begin(request.id, serving(&request.command));
    let outcome = handle(debuggee, request.command);
    if inflight::end() {
        io::respond(request.id, outcome);
    }
}

/// Whether `cancel` and `pause` can stop a request, and its time limit
/// (watch and hover evaluations).
fn serving(command: &HostCommand) -> inflight::Serving {
    match command {
        HostCommand::Evaluate(args) => inflight::Serving::Evaluation(
            evaluate::Budget::for_context(args.context.as_deref()).time_limit(),
        ),
        HostCommand::SetVariable(_) | HostCommand::SetExpression(_) => {
            inflight::Serving::Evaluation(None)
        }
        _ => inflight::Serving::ToTheEnd,
    }
}

/// Serves a request that does not change the run state (stopped or not).
/// A panic while serving it becomes its error response.
pub fn handle(debuggee: &mut Debuggee, command: HostCommand) -> Outcome {
    let name = command.name();
    let outcome = panics::catch(name, || handle_unguarded(debuggee, command))
        .unwrap_or_else(Outcome::Failure);
    // Files the debugger's own Lua loaded (a `require` in an evaluation).
    function_breakpoints::bind_pending(debuggee);
    outcome
}

fn handle_unguarded(debuggee: &mut Debuggee, command: HostCommand) -> Outcome {
    match command {
        HostCommand::SetBreakpoints(args) => {
            let result = debuggee.bps.set(&args);
            hooks::breakpoints_changed(&debuggee.bps);
            outcome(result)
        }
        HostCommand::SetExceptionBreakpoints(args) => ok(exceptions::set(debuggee, &args)),
        HostCommand::Threads => {
            let body = ok(threads::list(debuggee));
            if let Outcome::Ok(threads) = &body {
                inflight::remember_threads(threads);
            }
            body
        }
        HostCommand::StackTrace(args) => outcome(inspect::stack_trace(debuggee, &args)),
        HostCommand::Scopes(args) => outcome(inspect::scopes(debuggee, &args)),
        HostCommand::Variables(args) => outcome(inspect::variables(debuggee, &args)),
        HostCommand::SetVariable(args) => {
            let result = set_variable::request(debuggee, &args);
            forget_other_threads(debuggee);
            outcome(result)
        }
        HostCommand::SetExpression(args) => {
            let result = set_variable::set_expression(debuggee, &args);
            forget_other_threads(debuggee);
            outcome(result)
        }
        HostCommand::Completions(args) => outcome(completions::request(debuggee, &args)),
        HostCommand::ExceptionInfo(_) => outcome(exceptions::info(debuggee)),
        HostCommand::LoadedSources => ok(sources::list()),
        HostCommand::Source(args) => outcome(sources::text(&args)),
        HostCommand::SetFunctionBreakpoints(args) => ok(function_breakpoints::set(debuggee, &args)),
        HostCommand::DataBreakpointInfo(args) => outcome(data_breakpoints::info(debuggee, &args)),
        HostCommand::SetDataBreakpoints(args) => ok(data_breakpoints::set(debuggee, &args)),
        HostCommand::BreakpointLocations(args) => outcome(breakpoints::locations(&args)),
        HostCommand::Evaluate(args) => {
            let result = evaluate::request(debuggee, &args);
            forget_other_threads(debuggee);
            outcome(result)
        }
        HostCommand::HotReload(args) => {
            let result = match debuggee.vm.as_mut() {
                Some(vm) => match refresh_threads(&vm.lua)
                    .map_err(reload::ReloadError::from)
                    .and_then(|()| vm.engine.reload(&vm.lua, &args))
                {
                    Ok(body) => {
                        follow::after_reload(debuggee, &body.path, args.source.as_deref());
                        ok(body)
                    }
                    Err(e) => Outcome::Failure(e.into()),
                },
                None => Outcome::Failure(Refusal::NotLaunched.into()),
            };
            forget_other_threads(debuggee);
            result
        }
        // `routing` never sends these here (they change the run state or
        // are answered by the reader thread).
        command @ (HostCommand::Launch(_)
        | HostCommand::ConfigurationDone
        | HostCommand::Continue
        | HostCommand::Next
        | HostCommand::StepIn
        | HostCommand::StepOut
        | HostCommand::RestartFrame(_)
        | HostCommand::Pause
        | HostCommand::Terminate
        | HostCommand::Cancel(_)) => Outcome::Failure(HostError::internal(format!(
            "internal error: {} is not served in this state",
            command.name()
        ))),
    }
}

/// Hands the engine every coroutine alive now (found by the VM, not by
/// wrapping `coroutine.create`), so a reload sees all running frames.
fn refresh_threads(lua: &mlua::Lua) -> mlua::Result<()> {
    let tracking: mlua::Table = lua.named_registry_value("hotreload.tracking")?;
    let Some(threads) = tracking.raw_get::<Option<mlua::Table>>(7)? else {
        return Ok(());
    };
    // SAFETY: a C function that only reads the collector's list.
    let all: mlua::Table = unsafe { lua.create_c_function(native::ALL_THREADS)? }.call(())?;
    for thread in all.sequence_values::<mlua::Thread>() {
        threads.raw_set(thread?, true)?;
    }
    Ok(())
}

fn forget_other_threads(debuggee: &mut Debuggee) {
    if let Some(stop) = debuggee.stop.as_mut() {
        stop.forget_other_threads();
    }
}

/// Reports the stop and serves requests until one resumes the program.
fn serve_stopped(debuggee: &mut Debuggee, mut body: StoppedEventBody) -> Resume {
    exceptions::note_stop();
    // Reported on the thread that was running: its innermost frame's.
    let thread_id = match debuggee.stop.as_ref().and_then(|s| s.frames.first()) {
        Some(frame) => threads::id_of(debuggee, frame.state),
        None => 1,
    };
    body.thread_id = Some(thread_id);
    queue::set_state(RunState::Stopped);
    // Everything the program wrote before the stop reaches the client first.
    io::drain();
    io::event(HostEvent::Stopped(body));
    let resume = loop {
        let request = queue::pop_blocking();
        // `launch`, `configurationDone` and `pause` are answered in `take`.
        if let Taken::Resume(resume) = take(debuggee, request, RunState::Stopped) {
            break resume;
        }
    };
    debuggee.stop = None;
    if queue::set_state(RunState::Running) {
        interrupt::mark_pending();
    }
    io::event(HostEvent::Continued(ContinuedEventBody {
        thread_id,
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

/// Stops in a hook (or a trap) on thread `l`, serves requests, then arms
/// the hooks for the way the program resumes.
///
/// # Safety
/// `l` is the running thread, in the debugger's hook.
pub unsafe fn stop_in_hook(
    debuggee: &mut Debuggee,
    l: *mut lua_State,
    reason: &str,
    hit_ids: Vec<i64>,
) {
    // SAFETY: per the contract above.
    unsafe {
        // Deep in a recursion, only the innermost frames (each level costs
        // a walk of the stack).
        let deep = native::stack_depth(l) > DEEP_ERROR_FRAMES as i32;
        let frames = frames::capture(l, 0, deep.then_some(DEEP_ERROR_FRAMES));
        let body = stopped_body(reason, hit_ids, None);
        stop_at(debuggee, l, StopContext::new(frames), body);
    }
}

/// A data breakpoint saw its value change (`text` says how): stops like a
/// breakpoint, with reason `data breakpoint`.
///
/// # Safety
/// `l` is the running thread, in the debugger's hook.
pub unsafe fn stop_for_data(debuggee: &mut Debuggee, l: *mut lua_State, id: i64, text: String) {
    // SAFETY: per the contract above.
    unsafe {
        let frames = frames::capture(l, 0, None);
        let body = StoppedEventBody {
            reason: "data breakpoint".into(),
            description: Some(text.clone()),
            thread_id: Some(1),
            all_threads_stopped: true,
            hit_breakpoint_ids: vec![id],
            text: Some(text),
        };
        stop_at(debuggee, l, StopContext::new(frames), body);
    }
}

/// Stops showing `stop` (frames of thread `l`), serves requests, then arms
/// the hooks for the way the program resumes from its running frame.
///
/// # Safety
/// `l` is the running thread, stopped in a hook or a trap.
pub unsafe fn stop_at(
    debuggee: &mut Debuggee,
    l: *mut lua_State,
    stop: StopContext,
    body: StoppedEventBody,
) {
    debuggee.stop = Some(stop);
    let resume = serve_stopped(debuggee, body);
    let mut config = hooks::config();
    config.any_bps = debuggee.bps.any();
    config.step = match resume {
        Resume::Continue => None,
        Resume::Step(kind) => Some(Step {
            kind,
            thread: l,
            // SAFETY: `l` is the running thread.
            depth: (kind == StepKind::Restart)
                .then(|| restart::take_target_depth(l))
                .flatten()
                .unwrap_or_else(|| unsafe { native::stack_depth(l) }),
            chain_pos: coroutines::position(l).unwrap_or(0),
        }),
    };
    hooks::set_config(config);
    // SAFETY: `l` is the running thread.
    unsafe {
        let mask = hooks::mask_for(l, || native::stack_depth(l));
        hooks::set_mask(l, mask);
    }
}

/// The line of a breakpoint was reached: conditions, hit counts, logpoints.
///
/// # Safety
/// `l` is the running thread and `ar` its hook record.
pub unsafe fn on_breakpoint(
    debuggee: &mut Debuggee,
    l: *mut lua_State,
    ar: *mut lua_Debug,
    path: &Path,
    line: i32,
) {
    let Some(bp) = debuggee.bps.get_mut(path, line) else {
        return;
    };
    let (id, condition, log) = (bp.id, bp.condition.clone(), bp.log_message.clone());
    if let Some(def) = bp.function_line {
        // SAFETY: `ar` is the hook record of the running function.
        let defined = unsafe {
            ffi::lua_getinfo(l, c"S".as_ptr(), ar);
            (*ar).linedefined
        };
        if defined != def {
            return;
        }
    }
    let needs_frame = condition.is_some() || log.is_some();
    // SAFETY: per the contract above.
    let frame = if needs_frame {
        unsafe { frames::capture(l, 0, Some(1)) }
    } else {
        Vec::new()
    };
    if let (Some(condition), Some(vm)) = (condition, debuggee.vm.as_ref()) {
        // A program that recursed to the brink of a stack overflow leaves
        // no room to evaluate: the condition counts as false there (said
        // once per breakpoint), so the program goes on as it would.
        // SAFETY: `l` is the running thread.
        if !unsafe { native::room_to_evaluate(l) } {
            if UNEVALUATED.with_borrow_mut(|seen| seen.insert((path.to_path_buf(), line))) {
                io::output(
                    "console",
                    &format!("breakpoint condition `{condition}` not evaluated: the stack is full (taken as false)\n"),
                );
            }
            return;
        }
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
    let Some(bp) = debuggee.bps.get_mut(path, line) else {
        return;
    };
    bp.hits += 1;
    if let Some(hit) = &bp.hit_condition {
        if !hit_matches(hit, bp.hits) {
            return;
        }
    }
    if let (Some(log), Some(vm)) = (log, debuggee.vm.as_ref()) {
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
    unsafe { stop_in_hook(debuggee, l, "breakpoint", vec![id]) };
}

/// Serves the requests queued while the program ran (at a line event),
/// stops if one was `pause` (returns true then), and restores the thread's
/// normal mask.
///
/// # Safety
/// `l` is the running thread, in the debugger's hook.
pub unsafe fn serve_interrupt(debuggee: &mut Debuggee, l: *mut lua_State) -> bool {
    let mut pause = false;
    while let Some(request) = queue::try_pop() {
        if let Taken::Pause = take(debuggee, request, RunState::Running) {
            pause = true;
        }
    }
    if pause {
        // SAFETY: per the contract above.
        unsafe { stop_in_hook(debuggee, l, "pause", Vec::new()) };
        return true;
    }
    // SAFETY: per the contract above.
    unsafe {
        let mask = hooks::mask_for(l, || native::stack_depth(l));
        hooks::set_mask(l, mask);
    }
    false
}

/// Message handler of the program's outermost call. It returns what this
/// version's `lua.c` handler returns (`lua_c`), which a
/// program sees only where `load` catches an error raised while parsing
/// (a failing reader): those pass through untouched. Any other error ends
/// the program: print what `lua` prints to stderr and stop with reason
/// `exception` (unless `noDebug`, the `uncaught` filter is off, or the `all`
/// filter stopped at this raise already) while the failing stack is there.
///
/// # Safety
/// Called by Lua only, as a message handler.
pub unsafe extern "C-unwind" fn on_error(l: *mut lua_State) -> c_int {
    // SAFETY: Lua calls us with the error object at index 1.
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            ffi::lua_pushvalue(l, 1);
            return 1;
        }
        if native::parsing(l) {
            return lua_c::message_handler(l);
        }
        // A stop where it was raised chose to restart a frame: the error
        // does not end the program, say nothing.
        if native::error_restart_pending(l) {
            exceptions::take_raise_stop();
            return lua_c::message_handler(l);
        }
        let message = error_message(l);
        let type_name = lossy(ffi::lua_typename(l, ffi::lua_type(l, 1)));
        lua_c::message_handler(l);
        // What `lua` prints (its name is `arg[-1]`): this version's handler
        // and report (5.1 and 5.2 print nothing for a nil error).
        let report = lua_c::report(l);
        io::drain();
        if let Some(text) = &report {
            io::output("stderr", &format!("lua: {text}\n"));
        }
        // The `all` filter already stopped where this error was raised.
        let stopped_at_raise = exceptions::take_raise_stop();
        if !queue::no_debug() && !stopped_at_raise {
            // A panic must not unwind into Lua's C frames; the panic hook
            // has reported it, and the error goes on as if not stopped.
            let _ = panics::catch("an exception stop", || {
                DEBUGGEE.with(|cell| {
                    let Ok(mut debuggee) = cell.try_borrow_mut() else {
                        return;
                    };
                    if !debuggee.exceptions.uncaught {
                        return;
                    }
                    let frames = error_frames(l, 1);
                    let exception = exceptions::ExceptionStop {
                        id: exceptions::ERROR_ID,
                        break_mode: "unhandled",
                        message: message.clone(),
                        type_name,
                        traceback: report,
                    };
                    debuggee.stop = Some(StopContext::new(frames).with_exception(exception));
                    let body = stopped_body("exception", Vec::new(), Some(message));
                    if serve_stopped(&mut debuggee, body) == Resume::Step(StepKind::Restart) {
                        // `l` is the failing thread; the error unwinds to
                        // the restarted frame, which runs on it.
                        arm_restart_step(l);
                    }
                })
            });
        }
        1
    }
}

/// After an error stop that restarts a frame: the next line (the frame's
/// first, once the error has unwound to it) stops with reason `restart`.
///
/// # Safety
/// `l` is the failing thread, in its error stop.
unsafe fn arm_restart_step(l: *mut lua_State) {
    let mut config = hooks::config();
    config.step = Some(Step {
        kind: StepKind::Restart,
        thread: l,
        // SAFETY: per the contract above.
        depth: restart::take_target_depth(l).unwrap_or_else(|| unsafe { native::stack_depth(l) }),
        chain_pos: coroutines::position(l).unwrap_or(0),
    });
    hooks::set_config(config);
    // SAFETY: per the contract above.
    unsafe { hooks::set_mask(l, hooks::mask_for(l, || native::stack_depth(l))) };
}

/// An uncaught "not enough memory" error ended the program's main chunk.
/// Lua calls no message handler for memory errors (running Lua code then
/// could need memory), so the failing stack is gone: this prints the error
/// as `lua` does and stops with reason `exception` and no frames (globals
/// can still be inspected) under the same rules as `on_error`.
fn report_memory_error() {
    let message = "not enough memory";
    if memory::take_limit_hit() {
        io::output(
            "console",
            "hotreload-host: the program reached its memoryLimit\n",
        );
    }
    io::output("stderr", &format!("{message}\n"));
    if queue::no_debug() {
        return;
    }
    DEBUGGEE.with_borrow_mut(|debuggee| {
        if debuggee.exceptions.uncaught {
            let exception = exceptions::ExceptionStop {
                id: exceptions::MEMORY_ID,
                break_mode: "unhandled",
                message: message.into(),
                type_name: "string".into(),
                traceback: None,
            };
            debuggee.stop = Some(StopContext::new(Vec::new()).with_exception(exception));
            let body = stopped_body("exception", Vec::new(), Some(message.into()));
            serve_stopped(debuggee, body);
        }
    });
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
pub unsafe fn error_frames(l: *mut lua_State, first_level: c_int) -> Vec<Frame> {
    // SAFETY: per the contract above.
    let frames = unsafe {
        let deep = native::stack_depth(l) > DEEP_ERROR_FRAMES as i32;
        frames::capture(l, first_level, deep.then_some(DEEP_ERROR_FRAMES))
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

/// Runs this version's init code (`LUA_INIT_5_x` or `LUA_INIT`) before the
/// program, as `lua` does: `@file` runs that file, anything else runs as a
/// chunk named after its variable. A failure is what `lua` prints for it
/// (`None`: nothing, as 5.1 and 5.2 say of a nil error).
fn run_lua_init(lua: &mlua::Lua) -> Result<(), Option<String>> {
    let Some((var, value)) = lua_c::INIT_VARS
        .iter()
        .find_map(|var| std::env::var_os(var).map(|v| (*var, v)))
    else {
        return Ok(());
    };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(value.as_os_str()).to_vec();
    let name = CString::new(format!("={var}")).map_err(|e| Some(e.to_string()))?;
    let file = match bytes.strip_prefix(b"@") {
        Some(path) => Some(CString::new(path).map_err(|e| Some(e.to_string()))?),
        None => None,
    };
    let mut failed = false;
    let mut report = None;
    // SAFETY: everything pushed is popped (settop to the base); the chunk
    // runs under lua_pcall with a message handler.
    let ran = unsafe {
        lua.exec_raw::<()>((), |s| {
            let base = ffi::lua_gettop(s);
            let mut status = match &file {
                Some(path) => ffi::luaL_loadfile(s, path.as_ptr()),
                None => ffi::luaL_loadbuffer(
                    s,
                    bytes.as_ptr() as *const std::os::raw::c_char,
                    bytes.len(),
                    name.as_ptr(),
                ),
            };
            if status == ffi::LUA_OK {
                ffi::lua_pushcfunction(s, init_handler);
                ffi::lua_insert(s, -2);
                status = ffi::lua_pcall(s, 0, 0, base + 1);
            }
            if status != ffi::LUA_OK {
                failed = true;
                report = lua_c::report(s);
            }
            ffi::lua_settop(s, base);
        })
    };
    ran.map_err(|e| Some(e.to_string()))?;
    if failed {
        Err(report)
    } else {
        Ok(())
    }
}

/// Message handler of the init code: what `lua`'s handler returns.
unsafe extern "C-unwind" fn init_handler(l: *mut lua_State) -> c_int {
    // SAFETY: Lua calls us as a message handler, the error at index 1.
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            ffi::lua_pushvalue(l, 1);
            return 1;
        }
        lua_c::message_handler(l)
    }
}

/// Runs the program's main chunk (on `configurationDone`) and ends the host
/// with its exit code.
pub fn run_program() -> ! {
    let prepared = DEBUGGEE.with_borrow_mut(|debuggee| {
        let vm = debuggee.vm.as_mut()?;
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
    if let Err(report) = run_lua_init(&lua) {
        if let Some(text) = report {
            io::output("stderr", &format!("lua: {text}\n"));
        }
        io::finish(1);
    }
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
    if status == ffi::LUA_ERRMEM {
        // Frees the dead program's heap so that evaluating at the stop
        // works on every VM (5.1 and LuaJIT do not collect on a failure).
        let _ = memory::collect_at_limit(&lua);
        report_memory_error();
    }
    io::finish(if status == ffi::LUA_OK { 0 } else { 1 })
}
