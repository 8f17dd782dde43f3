//! `setVariable` and `setExpression`: assign a local, an upvalue, a global
//! or a table field of the stopped program. The new value is an expression
//! evaluated in the frame the variable belongs to, within the REPL's
//! instruction budget.

use dap::types::{
    EvaluateArguments, SetExpressionArguments, SetExpressionResponseBody, SetVariableArguments,
    SetVariableResponseBody,
};
use host_protocol::{ErrorKind, HostError};
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

/// `setExpression` (only while stopped): `expression = value` in the frame
/// `frame_id` (default: the top one), where `expression` is one assignable
/// expression (a name or a field); answers the new value as `evaluate`
/// shows it.
pub fn set_expression(
    debuggee: &mut Debuggee,
    args: &SetExpressionArguments,
) -> Result<SetExpressionResponseBody, HostError> {
    let target = args.expression.trim();
    if target.is_empty() {
        return Err(HostError::invalid(
            "setExpression needs an expression to assign to",
        ));
    }
    if args.value.trim().is_empty() {
        return Err(HostError::invalid(
            "the new value is empty: write a Lua expression",
        ));
    }
    {
        let (vm, stop) = debuggee.stopped()?;
        let frame = stop.requested_frame(args.frame_id)?;
        // One expression (`return (...)` compiles), and assignable (the
        // assignment compiles): nothing else runs, a bad target changes
        // nothing.
        let (_, error): (Option<mlua::Function>, Option<String>) = vm
            .helpers
            .compile
            .call((
                format!("({target}\n)"),
                vm.lua
                    .create_table()
                    .map_err(|e| evaluate::runtime_error(&e))?,
            ))
            .map_err(|e| evaluate::runtime_error(&e))?;
        if let Some(error) = error {
            return Err(HostError::new(
                ErrorKind::Compile,
                format!("`{target}` is not an expression: {error}"),
            ));
        }
        if vm
            .lua
            .load(format!("{target} = nil"))
            .into_function()
            .is_err()
        {
            return Err(HostError::invalid(format!(
                "`{target}` cannot be assigned: set a local, an upvalue, a global or a field"
            )));
        }
        evaluate::run(
            vm,
            frame,
            &format!("{target} = ({}\n)", args.value),
            Budget::Repl,
        )?;
    }
    let shown = evaluate::request(
        debuggee,
        &EvaluateArguments {
            expression: target.to_string(),
            frame_id: args.frame_id,
            context: Some("watch".into()),
        },
    )?;
    Ok(SetExpressionResponseBody {
        value: shown.result,
        type_: shown.type_,
        variables_reference: shown.variables_reference,
    })
}
