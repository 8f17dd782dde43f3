//! How values look to the client: display text and type, which values
//! expand, and their children. The pure text rules (quoting, key labels
//! and order) are in `format`.

pub mod format;
pub mod paging;

use mlua::ffi;
use mlua::{Function, Lua, Table, Value};

use crate::debuggee::Vm;
use format::{key_label, key_order, quote};

/// Whether a value has children to show.
pub fn expandable(lua: &Lua, value: &Value) -> bool {
    match value {
        Value::Table(_) => true,
        Value::UserData(_) => raw_metatable(lua, value).is_some(),
        _ => false,
    }
}

/// The metatable of a table or userdata, ignoring `__metatable`.
pub fn raw_metatable(lua: &Lua, value: &Value) -> Option<Table> {
    if !matches!(value, Value::Table(_) | Value::UserData(_)) {
        return None;
    }
    // SAFETY: the value is at the top; lua_getmetatable pushes the metatable
    // or nothing; we leave exactly the result (or nothing).
    let mt: Value = unsafe {
        lua.exec_raw(value.clone(), |s| {
            if ffi::lua_getmetatable(s, -1) != 0 {
                ffi::lua_remove(s, -2);
            } else {
                ffi::lua_pop(s, 1);
            }
        })
    }
    .ok()?;
    match mt {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// The children of a table or userdata: `(name, value, expression)`.
pub fn children(
    lua: &Lua,
    value: &Value,
    eval: Option<&str>,
) -> Vec<(String, Value, Option<String>)> {
    let mut out = Vec::new();
    if let Some(mt) = raw_metatable(lua, value) {
        out.push((
            "[metatable]".to_string(),
            Value::Table(mt),
            eval.map(|e| format!("getmetatable({e})")),
        ));
    }
    if let Value::Table(t) = value {
        let mut pairs: Vec<(Value, Value)> =
            t.pairs::<Value, Value>().filter_map(Result::ok).collect();
        pairs.sort_by(|a, b| key_order(&a.0, &b.0));
        for (k, v) in pairs {
            let (name, suffix) = key_label(&k);
            let child_eval = match (eval, suffix) {
                (Some(e), Some(s)) => Some(format!("{e}{s}")),
                _ => None,
            };
            out.push((name, v, child_eval));
        }
    }
    out
}

/// Display text and type name of a value, REPL style.
pub fn describe(vm: &Vm, value: &Value) -> (String, String) {
    let text = match value {
        Value::Nil => "nil".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(_) => number_text(&vm.lua, value),
        Value::String(s) => quote(&s.as_bytes()),
        Value::Table(t) => table_text(vm, t, 0),
        Value::Function(f) => function_text(f),
        _ => safe_tostring(vm, value),
    };
    (text, value.type_name().to_string())
}

fn number_text(lua: &Lua, value: &Value) -> String {
    match lua.coerce_string(value.clone()) {
        Ok(Some(s)) => s.to_string_lossy(),
        _ => "?".into(),
    }
}

/// `tostring` that never raises.
pub fn safe_tostring(vm: &Vm, value: &Value) -> String {
    vm.helpers
        .safe_tostring
        .call::<String>(value.clone())
        .unwrap_or_else(|_| format!("<{}>", value.type_name()))
}

fn function_text(f: &Function) -> String {
    let info = f.info();
    if info.what == "C" {
        "function: [C]".to_string()
    } else {
        format!(
            "function: {}:{}",
            info.short_src.unwrap_or_default(),
            info.line_defined.unwrap_or(0)
        )
    }
}

/// `{1, 2, 3}` or `{x = 1, y = 2, …}`; a table with `__tostring` shows that.
fn table_text(vm: &Vm, t: &Table, depth: usize) -> String {
    if let Some(mt) = t.metatable() {
        if mt.raw_get::<Value>("__tostring").is_ok_and(|v| !v.is_nil()) {
            return safe_tostring(vm, &Value::Table(t.clone()));
        }
    }
    if depth > 0 {
        return "{…}".into();
    }
    const SHOWN: usize = 5;
    let mut items = Vec::new();
    let mut next_index = 1i64;
    let mut more = false;
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, v)) = pair else { continue };
        if items.len() == SHOWN {
            more = true;
            break;
        }
        let value = match &v {
            Value::Table(inner) => table_text(vm, inner, depth + 1),
            Value::String(s) => {
                let q = quote(&s.as_bytes());
                if q.chars().count() > 40 {
                    format!("{}…\"", q.chars().take(38).collect::<String>())
                } else {
                    q
                }
            }
            other => describe(vm, other).0,
        };
        if matches!(k, Value::Integer(i) if i == next_index) {
            next_index += 1;
            items.push(value);
        } else {
            next_index = 0;
            items.push(format!("{} = {}", key_label(&k).0, value));
        }
    }
    if more {
        items.push("…".into());
    }
    format!("{{{}}}", items.join(", "))
}
