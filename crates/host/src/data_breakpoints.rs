//! Data breakpoints: stop when a table field, a local or an upvalue is
//! written. Lua has no write trap, so while any exists the line hook runs
//! in every function and compares each watched value with the last one
//! seen (raw equality); a change stops at the line after the write, with
//! the old and new value in the stop's description. Costly by nature:
//! they exist only while the user keeps one.
//!
//! A local is watched in its own activation (thread, stack depth,
//! function); when that call returns, the watch ends.

use host_protocol::HostError;
use std::cell::RefCell;
use std::os::raw::c_int;

use dap::types::{
    Breakpoint, DataBreakpointInfoArguments, DataBreakpointInfoResponseBody,
    SetBreakpointsResponseBody, SetDataBreakpointsArguments,
};
use mlua::ffi::{self, lua_Debug, lua_State};
use mlua::{Function, Lua, Table, Value};

use crate::breakpoints::hit_matches;
use crate::debuggee::{Debuggee, Vm};
use crate::references::VarRef;
use crate::{display, hooks, native, slots, stop};

/// What a data breakpoint watches.
#[derive(Clone)]
enum Target {
    Field {
        table: Table,
        key: Value,
    },
    Upvalue {
        function: Function,
        n: c_int,
    },
    Local {
        thread: usize,
        depth: i32,
        function: Function,
        n: c_int,
        value: Value,
    },
}

#[derive(Clone)]
struct Candidate {
    name: String,
    target: Target,
    /// Its value when it was named (a local cannot be read from outside
    /// its running frame).
    value: Value,
}

struct Watch {
    id: i64,
    /// The `dataId` it was set with.
    data_id: String,
    name: String,
    target: Target,
    last: Value,
    condition: Option<String>,
    hit_condition: Option<String>,
    hits: u64,
}

thread_local! {
    /// `dataId` -> what it names, from `dataBreakpointInfo`.
    static CANDIDATES: RefCell<Vec<Candidate>> = const { RefCell::new(Vec::new()) };
    static WATCHES: RefCell<Vec<Watch>> = const { RefCell::new(Vec::new()) };
}

/// At most this many `dataBreakpointInfo` answers are remembered.
const MAX_CANDIDATES: usize = 10_000;

/// Whether any data breakpoint is set (the hooks then watch every line).
pub fn any() -> bool {
    WATCHES.with_borrow(|w| !w.is_empty())
}

/// `dataBreakpointInfo`: whether the child `name` of a variables reference
/// can be watched, and its id.
pub fn info(
    debuggee: &mut Debuggee,
    args: &DataBreakpointInfoArguments,
) -> Result<DataBreakpointInfoResponseBody, HostError> {
    let (vm, stop) = debuggee.stopped()?;
    let Some(reference) = args.variables_reference.filter(|r| *r > 0) else {
        return Ok(refused(
            "only variables shown under a scope or a table can be watched",
        ));
    };
    let lua = &vm.lua;
    // The frame a scope reference belongs to, and the function running there.
    let frame_and_function = |i: usize| {
        let frame = stop
            .frames
            .get(i)
            .ok_or_else(crate::references::frame_gone)?;
        let function = slots::frame_function(lua, frame)
            .ok_or_else(|| HostError::invalid("no function in that frame"))?;
        Ok::<_, HostError>((frame, function))
    };
    let target = match stop.get(reference)? {
        VarRef::Value(Value::Table(table), _, _) => match key_named(lua, &table, &args.name) {
            Some(key) => Target::Field { table, key },
            None => return Ok(refused(&format!("no field {} to watch", args.name))),
        },
        VarRef::Upvalues(i) => {
            let (_, function) = frame_and_function(i)?;
            match slots::upvalues(lua, &function)
                .into_iter()
                .find(|(n, ..)| *n == args.name)
            {
                Some((_, _, n)) => Target::Upvalue { function, n },
                None => return Ok(refused(&format!("no upvalue {}", args.name))),
            }
        }
        VarRef::Locals(i) => {
            let (frame, function) = frame_and_function(i)?;
            let slot = slots::locals(lua, frame)
                .into_iter()
                .rev()
                .find(|(n, _, slot)| *n == args.name && *slot > 0);
            match slot {
                Some((_, value, n)) => Target::Local {
                    thread: frame.state as usize,
                    // SAFETY: the frame's thread is alive while stopped.
                    depth: unsafe { native::stack_depth(frame.state) } - frame.level,
                    function,
                    n,
                    value,
                },
                None => return Ok(refused(&format!("no local {} to watch", args.name))),
            }
        }
        _ => {
            return Ok(refused(
                "only table fields, locals and upvalues can be watched",
            ))
        }
    };
    let id = CANDIDATES.with_borrow_mut(|c| {
        if c.len() >= MAX_CANDIDATES {
            c.clear();
        }
        let value = match &target {
            Target::Local { value, .. } => value.clone(),
            other => current(vm, other, None).unwrap_or(Value::Nil),
        };
        c.push(Candidate {
            name: args.name.clone(),
            target,
            value,
        });
        c.len()
    });
    Ok(DataBreakpointInfoResponseBody {
        data_id: Some(format!("data:{id}")),
        description: format!("when {} is written", args.name),
        access_types: Some(vec!["write".into()]),
        can_persist: Some(false),
    })
}

fn refused(why: &str) -> DataBreakpointInfoResponseBody {
    DataBreakpointInfoResponseBody {
        data_id: None,
        description: why.to_string(),
        access_types: None,
        can_persist: None,
    }
}

/// The key of `table` whose display name is `name`: `[3]` and plain names
/// directly, others (quoted strings, booleans) by a walk of the table.
fn key_named(lua: &Lua, table: &Table, name: &str) -> Option<Value> {
    if let Some(i) = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse::<i64>().ok())
    {
        return Some(Value::Integer(i));
    }
    if display::format::is_identifier(name) {
        return lua.create_string(name).ok().map(Value::String);
    }
    table
        .pairs::<Value, Value>()
        .filter_map(Result::ok)
        .map(|(k, _)| k)
        .find(|k| display::format::key_label(k).0 == name)
}

/// `setDataBreakpoints`: replaces them all.
pub fn set(
    debuggee: &mut Debuggee,
    args: &SetDataBreakpointsArguments,
) -> SetBreakpointsResponseBody {
    let Some(vm) = debuggee.vm.as_ref() else {
        return SetBreakpointsResponseBody {
            breakpoints: args
                .breakpoints
                .iter()
                .map(|_| unverified("no program is launched"))
                .collect(),
        };
    };
    let mut watches = Vec::new();
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|want| {
            if want.access_type.as_deref().is_some_and(|a| a != "write") {
                return unverified("only writes can be watched");
            }
            let candidate = want
                .data_id
                .strip_prefix("data:")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| CANDIDATES.with_borrow(|c| c.get(i).cloned()));
            let Some(candidate) = candidate else {
                return unverified(&format!("unknown dataId '{}'", want.data_id));
            };
            let id = debuggee.bps.next_id();
            // A watch set again keeps the value it last saw: a write the
            // program made since (the request may come while it runs) still
            // stops it.
            let kept = WATCHES.with_borrow(|w| {
                w.iter()
                    .find(|w| w.data_id == want.data_id)
                    .map(|w| w.last.clone())
            });
            let last = match kept {
                Some(last) => last,
                None => current(vm, &candidate.target, None).unwrap_or(candidate.value),
            };
            watches.push(Watch {
                id,
                data_id: want.data_id.clone(),
                name: candidate.name,
                target: candidate.target,
                last,
                condition: want.condition.clone().filter(|c| !c.trim().is_empty()),
                hit_condition: want.hit_condition.clone().filter(|c| !c.trim().is_empty()),
                hits: 0,
            });
            Breakpoint {
                id: Some(id),
                verified: true,
                ..Breakpoint::default()
            }
        })
        .collect();
    WATCHES.set(watches);
    let mut config = hooks::config();
    config.data = any();
    hooks::set_config(config);
    SetBreakpointsResponseBody { breakpoints }
}

fn unverified(why: &str) -> Breakpoint {
    Breakpoint {
        verified: false,
        message: Some(why.to_string()),
        ..Breakpoint::default()
    }
}

/// The watched value now; for a local, only when `running` (thread, depth,
/// hook record) is its activation.
fn current(
    vm: &Vm,
    target: &Target,
    running: Option<(*mut lua_State, i32, *mut lua_Debug)>,
) -> Option<Value> {
    let lua = &vm.lua;
    match target {
        Target::Field { table, key } => table.raw_get::<Value>(key.clone()).ok(),
        Target::Upvalue { function, n } => slots::upvalues(lua, function)
            .into_iter()
            .find(|(_, _, i)| i == n)
            .map(|(_, v, _)| v),
        Target::Local {
            thread,
            depth,
            function,
            n,
            ..
        } => {
            let (l, running_depth, ar) = running?;
            if l as usize != *thread || running_depth != *depth {
                return None;
            }
            // SAFETY: `ar` is the hook record of `l`'s running function.
            let (same, value): (bool, Value) = unsafe {
                lua.exec_raw(function.clone(), |s| {
                    ffi::lua_getinfo(l, c"f".as_ptr(), ar);
                    ffi::lua_xmove(l, s, 1);
                    let same = ffi::lua_rawequal(s, -1, -2) != 0;
                    ffi::lua_settop(s, 0);
                    ffi::lua_pushboolean(s, c_int::from(same));
                    if same && ffi::lua_getlocal(l, ar, *n).is_null() {
                        ffi::lua_pushnil(s);
                    } else if same {
                        ffi::lua_xmove(l, s, 1);
                    } else {
                        ffi::lua_pushnil(s);
                    }
                })
            }
            .ok()?;
            same.then_some(value)
        }
    }
}

/// At a line event on thread `l`: compares every watch; stops at the first
/// that changed (after its condition and hit count). Returns whether it
/// stopped.
///
/// # Safety
/// `l` is the running thread and `ar` its hook record.
pub unsafe fn check(debuggee: &mut Debuggee, l: *mut lua_State, ar: *mut lua_Debug) -> bool {
    let Some(vm) = debuggee.vm.as_ref() else {
        return false;
    };
    // SAFETY: `l` is the running thread.
    let depth = unsafe { native::stack_depth(l) };
    let mut fired = None;
    WATCHES.with_borrow_mut(|watches| {
        // A local's call returned: nothing of it is left to watch.
        watches.retain(|w| match &w.target {
            Target::Local {
                thread, depth: d, ..
            } => *thread != l as usize || depth >= *d,
            _ => true,
        });
        for w in watches.iter_mut() {
            let Some(now) = current(vm, &w.target, Some((l, depth, ar))) else {
                continue;
            };
            if same_value(&now, &w.last) {
                continue;
            }
            let old = std::mem::replace(&mut w.last, now.clone());
            if fired.is_none() {
                fired = Some((
                    w.id,
                    w.name.clone(),
                    old,
                    now,
                    w.condition.clone(),
                    w.hit_condition.clone(),
                ));
                w.hits += 1;
                if let Some(hit) = &w.hit_condition {
                    if !hit_matches(hit, w.hits) {
                        fired = None;
                    }
                }
            }
        }
    });
    let Some((id, name, old, new, condition, _)) = fired else {
        return false;
    };
    if let Some(condition) = condition {
        // SAFETY: `l` is the running thread.
        let frame = unsafe { crate::frames::capture(l, 0, Some(1)) };
        let truthy = crate::evaluate::run(
            vm,
            frame.first(),
            &condition,
            crate::evaluate::Budget::Glance,
        )
        .map(|values| {
            !matches!(
                values.first(),
                None | Some(Value::Nil) | Some(Value::Boolean(false))
            )
        })
        .unwrap_or(true);
        if !truthy {
            return false;
        }
    }
    let text = format!(
        "{name} changed: {} -> {}",
        display::describe(vm, &old).0,
        display::describe(vm, &new).0
    );
    // SAFETY: per the contract above.
    unsafe { stop::stop_for_data(debuggee, l, id, text) };
    true
}

/// Raw equality, with NaN equal to itself (a NaN kept is not a write).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan() => true,
        _ => a == b,
    }
}
