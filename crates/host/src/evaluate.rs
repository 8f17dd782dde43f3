//! `evaluate`: an expression or statement in a frame (its locals and upvalues
//! readable and assignable) or in the global scope.

use std::collections::HashMap;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dap::types::{EvaluateArguments, EvaluateResponseBody};
use host_protocol::{ErrorKind, HostError};
use mlua::{Function, MultiValue, Table, Value};

use crate::debuggee::{Debuggee, Vm};
use crate::display;
use crate::frames::Frame;
use crate::inflight::{self, Interruption};
use crate::references::{frame_index, VarRef};
use crate::routing::Refusal;
use crate::slots;

/// The user-facing message of a Lua error, without mlua's traceback.
pub fn clean_error(error: &mlua::Error) -> String {
    let text = match error {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => return clean_error(cause),
        mlua::Error::WithContext { cause, .. } => return clean_error(cause),
        other => other.to_string(),
    };
    match text.find("\nstack traceback:") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A Lua error as a host error: `compile` for a syntax error, else `runtime`.
pub fn runtime_error(error: &mlua::Error) -> HostError {
    let kind = match error {
        mlua::Error::SyntaxError { .. } => ErrorKind::Compile,
        _ => ErrorKind::Runtime,
    };
    HostError::new(kind, clean_error(error))
}

/// How many VM instructions an evaluation may run before it is stopped: a
/// hover or a watch over `while true do end` must not hang the debugger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Hovers, watches, conditions and log messages: a glance.
    Glance,
    /// The REPL: real work, but a runaway loop still ends.
    Repl,
}

impl Budget {
    fn instructions(self) -> u64 {
        match self {
            Budget::Glance => 10_000_000,
            Budget::Repl => 2_000_000_000,
        }
    }

    /// Instructions between two checks of the budget, the clock and
    /// `cancel`: each check costs some microseconds, so the REPL checks
    /// every 100000 (about a millisecond of a busy loop, as before the
    /// clock existed), a glance densely enough that a loop around slow C
    /// functions still sees its clock.
    fn check_every(self) -> u32 {
        match self {
            Budget::Glance => 1_000,
            Budget::Repl => 100_000,
        }
    }

    /// Wall-clock time an evaluation may take (only the instruction count
    /// bounds the REPL: `cancel` and `pause` stop it).
    pub fn time_limit(self) -> Option<Duration> {
        match self {
            Budget::Glance => Some(Duration::from_secs(1)),
            Budget::Repl => None,
        }
    }

    /// The budget for a DAP `evaluate` context.
    pub fn for_context(context: Option<&str>) -> Budget {
        match context {
            Some("repl") | None => Budget::Repl,
            Some(_) => Budget::Glance,
        }
    }
}

/// Calls `chunk` in a thread of its own whose count hook stops it once it
/// has used up `budget` (instructions or time), or when `cancel` or `pause`
/// asks (see `inflight`). Hooks of the stopped thread are off while the
/// debugger serves requests, so the budget needs a thread of its own; the
/// thread is also why breakpoints never fire inside an evaluation.
fn call_bounded(
    lua: &mlua::Lua,
    chunk: Function,
    args: Vec<Value>,
    budget: Budget,
) -> Result<MultiValue, HostError> {
    let thread = lua.create_thread(chunk).map_err(|e| runtime_error(&e))?;
    // Why the hook stopped it (an `ErrorKind` as u8; 0: it did not).
    let stopped_by = Arc::new(AtomicU8::new(0));
    let stop = stopped_by.clone();
    let limit = budget.instructions();
    let used = std::cell::Cell::new(0u64);
    let time_limit = budget.time_limit();
    let step = budget.check_every();
    let deadline = time_limit.map(|l| Instant::now() + l);
    // Err: the message the evaluation stops with.
    let check = move || {
        used.set(used.get().saturating_add(u64::from(step)));
        if let Some(why) = inflight::interruption() {
            stop.store(why.kind() as u8, Ordering::Relaxed);
            return Err(why.message(time_limit));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            stop.store(ErrorKind::TimedOut as u8, Ordering::Relaxed);
            return Err(Interruption::TimedOut.message(time_limit));
        }
        if used.get() > limit {
            stop.store(ErrorKind::TimedOut as u8, Ordering::Relaxed);
            Err(format!(
                "evaluation stopped after {} million instructions",
                limit / 1_000_000
            ))
        } else {
            Ok(())
        }
    };
    let args = MultiValue::from_vec(args);
    // LuaJIT's hook is the whole VM's: the VM lends it to the evaluation.
    #[cfg(all(feature = "luajit", hr_host_vm))]
    let resumed =
        crate::interrupt::evaluations::bounded(lua, step, Box::new(check), || thread.resume(args))
            .map_err(|e| HostError::new(ErrorKind::Runtime, e))?;
    #[cfg(not(all(feature = "luajit", hr_host_vm)))]
    let resumed = {
        thread
            .set_hook(
                mlua::HookTriggers::new().every_nth_instruction(step),
                move |_, _| {
                    check()
                        .map(|()| mlua::VmState::Continue)
                        .map_err(mlua::Error::runtime)
                },
            )
            .map_err(|e| runtime_error(&e))?;
        thread.resume(args)
    };
    resumed.map_err(|e| match stopped_by.load(Ordering::Relaxed) {
        k if k == ErrorKind::TimedOut as u8 => HostError::new(ErrorKind::TimedOut, clean_error(&e)),
        k if k == ErrorKind::Cancelled as u8 => {
            HostError::new(ErrorKind::Cancelled, clean_error(&e))
        }
        _ => runtime_error(&e),
    })
}

/// Runs `code` in `frame` (or globally) within `budget` and returns its values.
pub fn run(
    vm: &Vm,
    frame: Option<&Frame>,
    code: &str,
    budget: Budget,
) -> Result<Vec<Value>, HostError> {
    let lua = &vm.lua;
    let fail = |e: mlua::Error| runtime_error(&e);
    let locals = lua.create_table().map_err(fail)?;
    let upvalues = lua.create_table().map_err(fail)?;
    let mut globals = Value::Table(lua.globals());
    let mut local_slots: HashMap<String, c_int> = HashMap::new();
    let mut upvalue_slots: HashMap<String, c_int> = HashMap::new();
    let mut varargs = Vec::new();
    let mut function: Option<Function> = None;
    let sentinel = |v: Value| {
        if v.is_nil() {
            Value::Table(vm.helpers.nil.clone())
        } else {
            v
        }
    };

    if let Some(frame) = frame.filter(|f| f.is_lua) {
        // Later locals with the same name shadow earlier ones.
        for (name, value, slot) in slots::locals(lua, frame) {
            if slot < 0 {
                varargs.push(value);
            } else {
                locals
                    .raw_set(name.as_str(), sentinel(value))
                    .map_err(fail)?;
                local_slots.insert(name, slot);
            }
        }
        if let Some(f) = slots::frame_function(lua, frame) {
            // 5.1 and LuaJIT: the function's environment (setfenv); from
            // 5.2 its _ENV upvalue, below.
            if let Some(env) = f.environment() {
                globals = Value::Table(env);
            }
            for (name, value, index) in slots::upvalues(lua, &f) {
                if name == "_ENV" {
                    globals = value.clone();
                }
                upvalues
                    .raw_set(name.as_str(), sentinel(value))
                    .map_err(fail)?;
                upvalue_slots.insert(name, index);
            }
            function = Some(f);
        }
    }

    let (env, dirty_locals, dirty_upvalues): (Table, Table, Table) = vm
        .helpers
        .make_env
        .call((locals.clone(), upvalues.clone(), globals))
        .map_err(fail)?;
    let (chunk, error): (Option<Function>, Option<String>) =
        vm.helpers.compile.call((code, env)).map_err(fail)?;
    let chunk = chunk.ok_or_else(|| {
        HostError::new(
            ErrorKind::Compile,
            error.unwrap_or_else(|| "cannot compile".into()),
        )
    })?;
    let results = call_bounded(lua, chunk, varargs, budget)?;

    let unsentinel = |v: Value| match &v {
        Value::Table(t) if *t == vm.helpers.nil => Value::Nil,
        _ => v,
    };
    if let Some(frame) = frame {
        for pair in dirty_locals.pairs::<String, Value>() {
            let (name, _) = pair.map_err(fail)?;
            if let Some(&slot) = local_slots.get(&name) {
                let value = unsentinel(locals.raw_get(name.as_str()).map_err(fail)?);
                slots::set_local(lua, frame, slot, value)?;
            }
        }
    }
    if let Some(f) = &function {
        for pair in dirty_upvalues.pairs::<String, Value>() {
            let (name, _) = pair.map_err(fail)?;
            if let Some(&index) = upvalue_slots.get(&name) {
                let value = unsentinel(upvalues.raw_get(name.as_str()).map_err(fail)?);
                slots::set_upvalue(lua, f, index, value)?;
            }
        }
    }
    Ok(results.into_vec())
}

/// The text of `{expr}` in a log message.
pub fn interpolate(vm: &Vm, frame: Option<&Frame>, expr: &str) -> String {
    match run(vm, frame, expr, Budget::Glance) {
        Ok(values) if values.is_empty() => "nil".into(),
        Ok(values) => values
            .iter()
            .map(|v| display::safe_tostring(vm, v))
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("<error: {e}>"),
    }
}

/// `evaluate`: in the given frame (default: the top one) while stopped, in
/// the global scope while running.
pub fn request(
    debuggee: &mut Debuggee,
    args: &EvaluateArguments,
) -> Result<EvaluateResponseBody, HostError> {
    let vm = debuggee.vm.as_ref().ok_or(Refusal::NotLaunched)?;
    let values = {
        let frame = match &debuggee.stop {
            Some(stop) => stop.requested_frame(args.frame_id)?,
            None => None,
        };
        run(
            vm,
            frame,
            &args.expression,
            Budget::for_context(args.context.as_deref()),
        )?
    };
    match values.as_slice() {
        [] => Ok(EvaluateResponseBody {
            result: String::new(),
            type_: None,
            variables_reference: 0,
            ..Default::default()
        }),
        [value] => {
            let (text, type_name) = display::describe(vm, value);
            let variables_reference = match debuggee.stop.as_mut() {
                Some(stop) if display::expandable(&vm.lua, value) => {
                    let frame = match args.frame_id {
                        Some(id) => frame_index(stop, id).ok(),
                        None => (!stop.frames.is_empty()).then_some(0),
                    };
                    stop.add(VarRef::Value(
                        value.clone(),
                        Some(format!("({})", args.expression)),
                        frame,
                    ))
                }
                _ => 0,
            };
            let counts =
                display::paging::counts(&vm.lua, value).filter(|_| variables_reference != 0);
            Ok(EvaluateResponseBody {
                result: text,
                type_: Some(type_name),
                variables_reference,
                indexed_variables: counts.map(|c| c.indexed as i64),
                named_variables: counts.map(|c| c.named as i64),
            })
        }
        many => Ok(EvaluateResponseBody {
            result: many
                .iter()
                .map(|v| display::describe(vm, v).0)
                .collect::<Vec<_>>()
                .join(", "),
            type_: None,
            variables_reference: 0,
            ..Default::default()
        }),
    }
}

/// The one value of the expression `expr` in `frame` (or globally). A
/// statement or a list of values is an error, so nothing runs that the user
/// did not write as a value.
pub fn value(
    vm: &Vm,
    frame: Option<&Frame>,
    expr: &str,
    budget: Budget,
) -> Result<Value, HostError> {
    if expr.trim().is_empty() {
        return Err(HostError::invalid(
            "the new value is empty: write a Lua expression",
        ));
    }
    // The parentheses keep it to one expression and one value; the newline
    // lets a trailing `-- comment` through.
    let values = run(vm, frame, &format!("return ({expr}\n)"), budget)?;
    Ok(values.into_iter().next().unwrap_or(Value::Nil))
}
