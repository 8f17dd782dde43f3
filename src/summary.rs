//! `reload_summary(body)`: the session's one-line reload summary for a
//! `hotReload` response body held in Lua, so the glue shows the wording the
//! DAP console shows instead of formatting its own.

use nvim_oxi::conversion::FromObject;
use nvim_oxi::{Array, Dictionary, Object, ObjectKind};

use dap::types::{HotReloadResponseBody, ReloadWarning};

use crate::error::NativeError;

/// The summary of `body` (a table with the response body's camelCase keys;
/// missing keys count as empty).
pub fn reload_summary(body: Object) -> Result<String, NativeError> {
    let body = response_body(body)?;
    Ok(session::reload_summary(&body))
}

fn response_body(body: Object) -> Result<HotReloadResponseBody, NativeError> {
    let body = table(body, "body")?;
    let warnings = list(&body, "warnings")?
        .into_iter()
        .map(|w| {
            let w = table(w, "warnings")?;
            Ok(ReloadWarning {
                message: text(&table_get(&w, "message"), "warnings")?,
                // The summary counts warnings; their other fields stay in Lua.
                ..ReloadWarning::default()
            })
        })
        .collect::<Result<_, NativeError>>()?;
    Ok(HotReloadResponseBody {
        module: text(&table_get(&body, "module"), "module")?,
        path: text(&table_get(&body, "path"), "path")?,
        changed: names(&body, "changed")?,
        added: names(&body, "added")?,
        removed: names(&body, "removed")?,
        warnings,
        duration_ms: number(&table_get(&body, "durationMs"), "durationMs")?,
    })
}

fn invalid(key: &'static str, reason: impl ToString) -> NativeError {
    NativeError::InvalidOption {
        key,
        reason: reason.to_string(),
    }
}

/// A dictionary; `{}` reaches nvim-oxi as an empty array.
fn table(obj: Object, key: &'static str) -> Result<Dictionary, NativeError> {
    if let Ok(array) = Array::from_object(obj.clone()) {
        if array.is_empty() {
            return Ok(Dictionary::new());
        }
    }
    Dictionary::from_object(obj).map_err(|e| invalid(key, e))
}

fn table_get(table: &Dictionary, key: &str) -> Object {
    table.get(key).cloned().unwrap_or_default()
}

fn list(table: &Dictionary, key: &'static str) -> Result<Vec<Object>, NativeError> {
    let obj = table_get(table, key);
    if obj.is_nil() {
        return Ok(Vec::new());
    }
    if let Ok(dict) = Dictionary::from_object(obj.clone()) {
        // An empty Lua table may arrive as a dictionary too.
        if dict.is_empty() {
            return Ok(Vec::new());
        }
    }
    Ok(Array::from_object(obj)
        .map_err(|e| invalid(key, e))?
        .into_iter()
        .collect())
}

fn names(table: &Dictionary, key: &'static str) -> Result<Vec<String>, NativeError> {
    list(table, key)?
        .iter()
        .map(|name| text(name, key))
        .collect()
}

fn text(obj: &Object, key: &'static str) -> Result<String, NativeError> {
    if obj.is_nil() {
        return Ok(String::new());
    }
    String::from_object(obj.clone()).map_err(|e| invalid(key, e))
}

fn number(obj: &Object, key: &'static str) -> Result<f64, NativeError> {
    match obj.kind() {
        ObjectKind::Nil => Ok(0.0),
        // Whole numbers reach us as integers; milliseconds fit an f64.
        #[allow(clippy::cast_precision_loss)]
        ObjectKind::Integer => i64::from_object(obj.clone())
            .map(|n| n as f64)
            .map_err(|e| invalid(key, e)),
        _ => f64::from_object(obj.clone()).map_err(|e| invalid(key, e)),
    }
}
