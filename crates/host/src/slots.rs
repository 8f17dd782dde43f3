//! Raw access to the locals and upvalues of a stopped frame: reading and
//! assigning them through the debug API, without running program code.

use host_protocol::HostError;
use std::ffi::CStr;
use std::os::raw::c_int;

use mlua::ffi;
use mlua::{Function, Lua, Value};

use crate::frames::Frame;

/// Locals of a frame: `(name, value, slot)`; varargs come last as `...[i]`
/// with negative slots. Temporaries are left out.
pub fn locals(lua: &Lua, frame: &Frame) -> Vec<(String, Value, c_int)> {
    let mut out = Vec::new();
    if !frame.is_lua {
        return out;
    }
    for n in 1.. {
        match get_local(lua, frame, n) {
            Some((name, value)) => {
                if !name.starts_with('(') {
                    out.push((name, value, n));
                }
            }
            None => break,
        }
    }
    for n in 1.. {
        match get_local(lua, frame, -n) {
            Some((_, value)) => out.push((format!("...[{n}]"), value, -n)),
            None => break,
        }
    }
    out
}

fn get_local(lua: &Lua, frame: &Frame, n: c_int) -> Option<(String, Value)> {
    let mut name = None;
    let ar = frame.ar();
    // SAFETY: the frame is alive while stopped; lua_getlocal pushes one value
    // on the frame's thread when it finds the local, which we move to ours.
    let value: Value = unsafe {
        lua.exec_raw((), |s| {
            let p = ffi::lua_getlocal(frame.state, &ar, n);
            if !p.is_null() {
                name = Some(CStr::from_ptr(p).to_string_lossy().into_owned());
                ffi::lua_xmove(frame.state, s, 1);
            }
        })
    }
    .ok()?;
    name.map(|n| (n, value))
}

/// Assigns a local of a frame.
pub fn set_local(lua: &Lua, frame: &Frame, n: c_int, value: Value) -> Result<(), HostError> {
    let ar = frame.ar();
    // SAFETY: the value is moved onto the frame's thread and popped by
    // lua_setlocal (or by us when the slot does not exist).
    unsafe {
        lua.exec_raw::<()>(value, |s| {
            ffi::lua_xmove(s, frame.state, 1);
            if ffi::lua_setlocal(frame.state, &ar, n).is_null() {
                ffi::lua_pop(frame.state, 1);
            } else {
                crate::native::values_written(s);
            }
        })
    }
    .map_err(|e| crate::evaluate::runtime_error(&e))
}

/// The function running in a frame.
pub fn frame_function(lua: &Lua, frame: &Frame) -> Option<Function> {
    let mut ar = frame.ar();
    // SAFETY: lua_getinfo("f") pushes the frame's function on its thread.
    let value: Value = unsafe {
        lua.exec_raw((), |s| {
            ffi::lua_getinfo(frame.state, c"f".as_ptr(), &mut ar);
            ffi::lua_xmove(frame.state, s, 1);
        })
    }
    .ok()?;
    match value {
        Value::Function(f) => Some(f),
        _ => None,
    }
}

/// Upvalues of a Lua function: `(name, value, index)`.
pub fn upvalues(lua: &Lua, f: &Function) -> Vec<(String, Value, c_int)> {
    let mut out = Vec::new();
    for n in 1.. {
        let mut name = None;
        // SAFETY: the function is at the top; lua_getupvalue pushes one value
        // when the upvalue exists; we drop the function below it.
        let value: Option<Value> = unsafe {
            lua.exec_raw(f.clone(), |s| {
                let p = ffi::lua_getupvalue(s, -1, n);
                if !p.is_null() {
                    name = Some(CStr::from_ptr(p).to_string_lossy().into_owned());
                    ffi::lua_remove(s, -2);
                } else {
                    ffi::lua_pop(s, 1);
                }
            })
        }
        .ok();
        match (name, value) {
            (Some(name), Some(value)) if !name.is_empty() => out.push((name, value, n)),
            (Some(_), _) => {}
            (None, _) => break,
        }
    }
    out
}

/// Assigns upvalue `n` of a function.
pub fn set_upvalue(lua: &Lua, f: &Function, n: c_int, value: Value) -> Result<(), HostError> {
    // SAFETY: stack is [f, value]; lua_setupvalue pops the value (or we do).
    unsafe {
        lua.exec_raw::<()>((f.clone(), value), |s| {
            if ffi::lua_setupvalue(s, -2, n).is_null() {
                ffi::lua_pop(s, 1);
            } else {
                crate::native::values_written(s);
            }
            ffi::lua_pop(s, 1);
        })
    }
    .map_err(|e| crate::evaluate::runtime_error(&e))
}
