//! The inspection requests of a stopped program: `stackTrace`, `scopes`,
//! `variables`, built from its frames (`frames`), the ids of the stop
//! (`references`), raw slot access (`slots`) and value display (`display`).

use dap::types::{
    Scope, ScopesArguments, ScopesResponseBody, StackFrame, StackTraceArguments,
    StackTraceResponseBody, Variable, VariablesArguments, VariablesResponseBody,
};
use host_protocol::HostError;
use mlua::Value;

use crate::debuggee::{Debuggee, Vm};
use crate::display;
use crate::references::{frame_gone, frame_index, StopContext, VarRef};
use crate::routing::Refusal;
use crate::{slots, threads};

/// `stackTrace` of a thread (see `threads`).
pub fn stack_trace(
    debuggee: &mut Debuggee,
    args: &StackTraceArguments,
) -> Result<StackTraceResponseBody, HostError> {
    let range = threads::stack_range(debuggee, args.thread_id)?;
    let stop = debuggee.stop.as_ref().ok_or_else(Refusal::not_stopped)?;
    let start = usize::try_from(args.start_frame.unwrap_or(0)).unwrap_or(0);
    let levels = match args.levels {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let total = range.len();
    let stack_frames = stop.frames[range.clone()]
        .iter()
        .zip(range)
        .skip(start)
        .take(levels)
        .map(|(f, i)| StackFrame {
            id: i as i64 + 1,
            name: f.name.clone(),
            source: f.source.clone(),
            line: f.line,
            column: if f.is_lua { 1 } else { 0 },
            presentation_hint: (!f.is_lua).then(|| "subtle".to_string()),
        })
        .collect();
    Ok(StackTraceResponseBody {
        stack_frames,
        total_frames: Some(total as i64),
    })
}

/// `scopes`.
pub fn scopes(
    debuggee: &mut Debuggee,
    args: &ScopesArguments,
) -> Result<ScopesResponseBody, HostError> {
    let (vm, stop) = debuggee.stopped()?;
    let index = frame_index(stop, args.frame_id)?;
    let mut scopes = Vec::new();
    if stop.frames[index].is_lua {
        scopes.push(Scope {
            name: "Locals".into(),
            presentation_hint: Some("locals".into()),
            variables_reference: stop.add(VarRef::Locals(index)),
            named_variables: None,
            expensive: false,
        });
        scopes.push(Scope {
            name: "Upvalues".into(),
            presentation_hint: None,
            variables_reference: stop.add(VarRef::Upvalues(index)),
            named_variables: None,
            expensive: false,
        });
    }
    let globals = Value::Table(vm.lua.globals());
    scopes.push(Scope {
        name: "Globals".into(),
        presentation_hint: None,
        variables_reference: stop.add(VarRef::Value(globals, Some("_G".into()), Some(index))),
        named_variables: None,
        expensive: true,
    });
    Ok(ScopesResponseBody { scopes })
}

/// `variables`.
pub fn variables(
    debuggee: &mut Debuggee,
    args: &VariablesArguments,
) -> Result<VariablesResponseBody, HostError> {
    let (vm, stop) = debuggee.stopped()?;
    let r = stop.get(args.variables_reference)?;
    let frame = r.frame();
    let lua = &vm.lua;
    let start = usize::try_from(args.start.unwrap_or(0)).unwrap_or(0);
    let count = match args.count {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let filter = match args.filter.as_deref() {
        None => None,
        Some(f @ ("indexed" | "named")) => Some(f),
        Some(other) => {
            return Err(HostError::invalid(format!(
                "unknown variables filter '{other}' (known: indexed, named)"
            )))
        }
    };
    // A table with an array part, paged: only the page is read.
    if let (VarRef::Value(value, eval, _), Some(filter)) = (&r, filter) {
        let page = match (filter, value) {
            ("indexed", Value::Table(t)) => {
                display::paging::indexed(t, eval.as_deref(), start, count)
            }
            ("indexed", _) => Vec::new(),
            _ => display::paging::named(lua, value, eval.as_deref())
                .into_iter()
                .skip(start)
                .take(count)
                .collect(),
        };
        let variables = page
            .into_iter()
            .map(|(name, value, eval)| make_variable(vm, stop, name, value, eval, frame))
            .collect();
        return Ok(VariablesResponseBody { variables });
    }
    if filter == Some("indexed") {
        // Scopes have named children only.
        return Ok(VariablesResponseBody {
            variables: Vec::new(),
        });
    }
    // (name, value, expression naming it)
    let entries: Vec<(String, Value, Option<String>)> = match r {
        VarRef::Locals(i) => slots::locals(lua, stop.frames.get(i).ok_or_else(frame_gone)?)
            .into_iter()
            .map(|(name, value, _)| {
                let eval = (!name.starts_with("...")).then(|| name.clone());
                (name, value, eval)
            })
            .collect(),
        VarRef::Upvalues(i) => {
            match slots::frame_function(lua, stop.frames.get(i).ok_or_else(frame_gone)?) {
                Some(f) => slots::upvalues(lua, &f)
                    .into_iter()
                    .map(|(name, value, _)| (name.clone(), value, Some(name)))
                    .collect(),
                None => Vec::new(),
            }
        }
        VarRef::Value(value, eval, _) => display::children(lua, &value, eval.as_deref()),
        VarRef::Gone => return Err(frame_gone()),
    };
    let variables = entries
        .into_iter()
        .skip(start)
        .take(count)
        .map(|(name, value, eval)| make_variable(vm, stop, name, value, eval, frame))
        .collect();
    Ok(VariablesResponseBody { variables })
}

/// A variable for the client, with a reference when it can be expanded.
pub fn make_variable(
    vm: &Vm,
    stop: &mut StopContext,
    name: String,
    value: Value,
    eval: Option<String>,
    frame: Option<usize>,
) -> Variable {
    let (text, type_name) = display::describe(vm, &value);
    let counts = display::paging::counts(&vm.lua, &value);
    let variables_reference = if display::expandable(&vm.lua, &value) {
        stop.add(VarRef::Value(value, eval.clone(), frame))
    } else {
        0
    };
    Variable {
        name,
        value: text,
        type_: Some(type_name),
        variables_reference,
        evaluate_name: eval,
        indexed_variables: counts.map(|c| c.indexed as i64),
        named_variables: counts.map(|c| c.named as i64),
    }
}
