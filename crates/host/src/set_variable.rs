//! `setVariable`: assign a local, an upvalue, a global or a table field of
//! the stopped program. The new value is an expression evaluated in the frame
//! the variable belongs to, within the REPL's instruction budget.

use dap::types::{SetVariableArguments, SetVariableResponseBody};
use host_protocol::HostError;
use mlua::Value;

use crate::debuggee::Debuggee;
use crate::display::format::key_label;
use crate::evaluate::{self, Budget};
use crate::inspect;
use crate::references::{frame_gone, VarRef};
use crate::slots;

/// `setVariable` (only while stopped).
pub fn request(
    debuggee: &mut Debuggee,
    args: &SetVariableArguments,
) -> Result<SetVariableResponseBody, HostError> {
    let (vm, stop) = debuggee.stopped()?;
    let target = stop.get(args.variables_reference)?;
    let frame_index = target.frame();
    let frame = frame_index.and_then(|i| stop.frames.get(i));
    let lua = &vm.lua;
    let name = args.name.as_str();
    let unknown = || {
        HostError::invalid(format!(
            "no variable '{name}' in variables reference {}",
            args.variables_reference
        ))
    };

    // Find the slot first: a bad name changes nothing and runs nothing.
    enum Slot {
        Local(std::os::raw::c_int),
        Upvalue(mlua::Function, std::os::raw::c_int),
        Field(mlua::Table, Value),
    }
    let (slot, eval) = match &target {
        VarRef::Locals(_) => {
            let frame = frame.ok_or_else(frame_gone)?;
            // The last local of that name is the one the code sees.
            let (_, _, n) = slots::locals(lua, frame)
                .into_iter()
                .rev()
                .find(|(n, _, _)| n == name)
                .ok_or_else(unknown)?;
            let eval = (n > 0).then(|| name.to_string());
            (Slot::Local(n), eval)
        }
        VarRef::Upvalues(_) => {
            let frame = frame.ok_or_else(frame_gone)?;
            let f = slots::frame_function(lua, frame).ok_or_else(unknown)?;
            let (_, _, n) = slots::upvalues(lua, &f)
                .into_iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(unknown)?;
            (Slot::Upvalue(f, n), Some(name.to_string()))
        }
        VarRef::Value(Value::Table(t), parent, _) => {
            if name == "[metatable]" {
                return Err(HostError::unsupported(
                    "the metatable cannot be set here: evaluate setmetatable(...)",
                ));
            }
            let key = t
                .pairs::<Value, Value>()
                .filter_map(Result::ok)
                .map(|(k, _)| k)
                .find(|k| key_label(k).0 == name)
                .ok_or_else(unknown)?;
            let suffix = key_label(&key).1;
            let eval = match (parent, suffix) {
                (Some(p), Some(s)) => Some(format!("{p}{s}")),
                _ => None,
            };
            (Slot::Field(t.clone(), key), eval)
        }
        VarRef::Value(other, _, _) => {
            return Err(HostError::unsupported(format!(
                "the fields of a {} cannot be set",
                other.type_name()
            )))
        }
        VarRef::Gone => return Err(frame_gone()),
    };

    let value = evaluate::value(vm, frame, &args.value, Budget::Repl)?;
    match slot {
        Slot::Local(n) => {
            let frame = frame.ok_or_else(frame_gone)?;
            slots::set_local(lua, frame, n, value.clone())?;
        }
        Slot::Upvalue(f, n) => slots::set_upvalue(lua, &f, n, value.clone())?,
        // Raw: the key exists, so a plain assignment would not reach
        // `__newindex` either, and this one cannot run program code.
        Slot::Field(t, key) => t
            .raw_set(key, value.clone())
            .map_err(|e| evaluate::runtime_error(&e))?,
    }
    let variable = inspect::make_variable(vm, stop, args.name.clone(), value, eval, frame_index);
    Ok(SetVariableResponseBody {
        value: variable.value,
        type_: variable.type_,
        variables_reference: variable.variables_reference,
    })
}
