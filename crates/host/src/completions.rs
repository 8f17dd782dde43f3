//! `completions` for the REPL: names visible in a frame (locals, upvalues,
//! globals, keywords) and the fields or methods after `a.b.` / `obj:`.
//!
//! Completing never runs program code: tables are read raw, `__index` is
//! followed only when it is a table (an `__index` function is skipped), and
//! values are described by their type, never by `tostring`.

use host_protocol::HostError;
use std::collections::HashSet;

use dap::types::{CompletionItem, CompletionsArguments, CompletionsResponseBody};
use mlua::ffi;
use mlua::{Lua, Table, Value};

use crate::debuggee::Debuggee;
use crate::display::format::{is_identifier, KEYWORDS};
use crate::frames::Frame;
use crate::routing::Refusal;
use crate::slots;

/// How many `__index` tables are followed (a cycle must end).
const MAX_INDEX_DEPTH: usize = 16;

/// Most items in one answer.
const MAX_ITEMS: usize = 1000;

/// What the text before the cursor asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    /// `a.b` of `a.b.pre`, outermost first; empty for a plain name.
    pub path: Vec<String>,
    /// `obj:pre` (methods only).
    pub method: bool,
    /// The part of the name already typed.
    pub prefix: String,
    /// Column (1-based, UTF-16 units) where the prefix starts.
    pub start: i64,
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Splits off the identifier at the end of `chars[..end]`; returns its start.
fn ident_start(chars: &[char], end: usize) -> usize {
    let mut i = end;
    while i > 0 && is_ident_char(chars[i - 1]) {
        i -= 1;
    }
    i
}

/// The text of line `line` (1-based) up to `column` (1-based, UTF-16 units).
pub fn before_cursor(text: &str, line: i64, column: i64) -> String {
    let index = usize::try_from(line.saturating_sub(1)).unwrap_or(0);
    let line_text = text.split('\n').nth(index).unwrap_or("");
    let mut units = 0i64;
    let mut out = String::new();
    for c in line_text.chars() {
        units += c.len_utf16() as i64;
        if units > column.saturating_sub(1) {
            break;
        }
        out.push(c);
    }
    out
}

/// Reads the query at the end of `before`; `None` where no name can go
/// (inside a string, after a number, after a call or an index expression).
pub fn parse(before: &str) -> Option<Query> {
    let chars: Vec<char> = before.chars().collect();
    let quotes = chars.iter().filter(|c| **c == '"' || **c == '\'').count();
    if quotes % 2 == 1 {
        return None;
    }
    let prefix_start = ident_start(&chars, chars.len());
    let prefix: String = chars[prefix_start..].iter().collect();
    if prefix.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let start = chars[..prefix_start]
        .iter()
        .map(|c| c.len_utf16() as i64)
        .sum::<i64>()
        + 1;
    let separator = prefix_start.checked_sub(1).map(|i| chars[i]);
    // `..` is concatenation and `::` a label, not an index.
    let doubled = prefix_start.checked_sub(2).map(|i| chars[i]) == separator;
    let method = match separator {
        Some('.') if !doubled => false,
        Some(':') if !doubled => true,
        _ => {
            return Some(Query {
                path: Vec::new(),
                method: false,
                prefix,
                start,
            })
        }
    };
    let mut path = Vec::new();
    let mut end = prefix_start - 1;
    loop {
        let seg_start = ident_start(&chars, end);
        let seg: String = chars[seg_start..end].iter().collect();
        if seg.is_empty() || seg.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        path.push(seg);
        let dot = seg_start.checked_sub(1).map(|i| chars[i]);
        let concat = seg_start >= 2 && chars[seg_start - 2] == '.';
        if dot == Some('.') && !concat {
            end = seg_start - 1;
        } else {
            break;
        }
    }
    path.reverse();
    Some(Query {
        path,
        method,
        prefix,
        start,
    })
}

/// The metatable of any value (strings have one), ignoring `__metatable`.
fn metatable(lua: &Lua, value: &Value) -> Option<Table> {
    if let Value::Table(t) = value {
        return t.metatable();
    }
    // SAFETY: the value is at the top; lua_getmetatable pushes the metatable
    // or nothing; we leave exactly the result (or nil).
    let mt: Value = unsafe {
        lua.exec_raw(value.clone(), |s| {
            if ffi::lua_getmetatable(s, -1) != 0 {
                ffi::lua_remove(s, -2);
            } else {
                ffi::lua_pop(s, 1);
                ffi::lua_pushnil(s);
            }
        })
    }
    .ok()?;
    match mt {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// The `__index` table of a value's metatable (not a function).
fn index_table(lua: &Lua, value: &Value) -> Option<Table> {
    match metatable(lua, value)?.raw_get::<Value>("__index").ok()? {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// `value.key` without metamethod calls: raw, then `__index` tables.
fn field(lua: &Lua, value: &Value, key: &str) -> Option<Value> {
    let mut current = value.clone();
    for _ in 0..MAX_INDEX_DEPTH {
        if let Value::Table(t) = &current {
            match t.raw_get::<Value>(key) {
                Ok(Value::Nil) => {}
                Ok(v) => return Some(v),
                Err(_) => return None,
            }
        }
        current = Value::Table(index_table(lua, &current)?);
    }
    None
}

/// The identifier keys of a value and of its `__index` tables (own first).
fn fields(lua: &Lua, value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut current = value.clone();
    for _ in 0..MAX_INDEX_DEPTH {
        if let Value::Table(t) = &current {
            for (k, v) in t.pairs::<Value, Value>().filter_map(Result::ok) {
                if let Value::String(s) = k {
                    if let Ok(name) = s.to_str() {
                        if is_identifier(&name) {
                            out.push((name.to_string(), v));
                        }
                    }
                }
            }
        }
        match index_table(lua, &current) {
            Some(t) => current = Value::Table(t),
            None => break,
        }
    }
    out
}

/// What the frame sees: its locals (innermost last), upvalues and env.
struct Scope {
    locals: Vec<(String, Value)>,
    upvalues: Vec<(String, Value)>,
    env: Value,
}

impl Scope {
    fn of(lua: &Lua, frame: Option<&Frame>) -> Scope {
        let mut scope = Scope {
            locals: Vec::new(),
            upvalues: Vec::new(),
            env: Value::Table(lua.globals()),
        };
        let Some(frame) = frame.filter(|f| f.is_lua) else {
            return scope;
        };
        scope.locals = slots::locals(lua, frame)
            .into_iter()
            .filter(|(_, _, slot)| *slot > 0)
            .map(|(name, value, _)| (name, value))
            .collect();
        if let Some(f) = slots::frame_function(lua, frame) {
            for (name, value, _) in slots::upvalues(lua, &f) {
                if name == "_ENV" {
                    scope.env = value;
                } else {
                    scope.upvalues.push((name, value));
                }
            }
        }
        scope
    }

    /// What a name means in the frame, as the compiler resolves it.
    fn lookup(&self, lua: &Lua, name: &str) -> Option<Value> {
        if let Some((_, v)) = self.locals.iter().rev().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        if let Some((_, v)) = self.upvalues.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        field(lua, &self.env, name)
    }
}

fn item(label: String, type_: &str, detail: String) -> CompletionItem {
    CompletionItem {
        text: Some(label.clone()),
        label,
        type_: Some(type_.into()),
        detail: Some(detail),
        start: None,
        length: None,
    }
}

/// The name Lua's `type` gives (mlua says `integer` for some numbers).
fn lua_type(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) | Value::Number(_) => "number",
        Value::LightUserData(_) => "userdata",
        other => other.type_name(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    if matches!(value, Value::Function(_)) {
        "function"
    } else {
        "variable"
    }
}

/// The completions of `query` in `frame` (or the global scope).
pub fn complete(lua: &Lua, frame: Option<&Frame>, query: &Query) -> Vec<CompletionItem> {
    let scope = Scope::of(lua, frame);
    let mut items = Vec::new();
    if query.path.is_empty() {
        for (name, value) in scope.locals.iter().rev() {
            items.push(item(
                name.clone(),
                "variable",
                format!("local {}", lua_type(value)),
            ));
        }
        for (name, value) in &scope.upvalues {
            items.push(item(
                name.clone(),
                "variable",
                format!("upvalue {}", lua_type(value)),
            ));
        }
        for (name, value) in fields(lua, &scope.env) {
            let detail = format!("global {}", lua_type(&value));
            items.push(item(name, kind_of(&value), detail));
        }
        for keyword in KEYWORDS {
            items.push(item(keyword.to_string(), "keyword", "keyword".into()));
        }
    } else {
        let mut value = match scope.lookup(lua, &query.path[0]) {
            Some(v) => v,
            None => return Vec::new(),
        };
        for segment in &query.path[1..] {
            value = match field(lua, &value, segment) {
                Some(v) => v,
                None => return Vec::new(),
            };
        }
        for (name, v) in fields(lua, &value) {
            let is_function = matches!(v, Value::Function(_));
            if query.method && !is_function {
                continue;
            }
            let kind = match (query.method, is_function) {
                (true, _) => "method",
                (false, true) => "function",
                (false, false) => "field",
            };
            items.push(item(name, kind, format!("field {}", lua_type(&v))));
        }
    }
    let mut seen = HashSet::new();
    let length = query.prefix.encode_utf16().count() as i64;
    let mut out: Vec<CompletionItem> = items
        .into_iter()
        .filter(|i| i.label.starts_with(&query.prefix) && seen.insert(i.label.clone()))
        .map(|mut i| {
            i.start = Some(query.start);
            i.length = Some(length);
            i
        })
        .collect();
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out.truncate(MAX_ITEMS);
    out
}

/// `completions`: in the given frame (default: the top one) while stopped,
/// in the global scope while running.
pub fn request(
    debuggee: &mut Debuggee,
    args: &CompletionsArguments,
) -> Result<CompletionsResponseBody, HostError> {
    let vm = debuggee.vm.as_ref().ok_or(Refusal::NotLaunched)?;
    let frame = match &debuggee.stop {
        Some(stop) => stop.requested_frame(args.frame_id)?,
        None => None,
    };
    let before = before_cursor(&args.text, args.line.unwrap_or(1), args.column);
    let targets = match parse(&before) {
        Some(query) => complete(&vm.lua, frame, &query),
        None => Vec::new(),
    };
    Ok(CompletionsResponseBody { targets })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(path: &[&str], method: bool, prefix: &str, start: i64) -> Option<Query> {
        Some(Query {
            path: path.iter().map(|s| s.to_string()).collect(),
            method,
            prefix: prefix.into(),
            start,
        })
    }

    #[test]
    fn reads_the_name_before_the_cursor() {
        assert_eq!(parse("pri"), q(&[], false, "pri", 1));
        assert_eq!(parse("x = pri"), q(&[], false, "pri", 5));
        assert_eq!(parse("t."), q(&["t"], false, "", 3));
        assert_eq!(parse("a.b.na"), q(&["a", "b"], false, "na", 5));
        assert_eq!(parse("obj:"), q(&["obj"], true, "", 5));
        assert_eq!(parse("s .. t.x"), q(&["t"], false, "x", 8));
        assert_eq!(parse("\"a\"..na"), q(&[], false, "na", 6));
        assert_eq!(parse(""), q(&[], false, "", 1));
        assert_eq!(parse("::lab"), q(&[], false, "lab", 3));
    }

    #[test]
    fn no_names_where_none_can_go() {
        assert_eq!(parse("f()."), None);
        assert_eq!(parse("t[1]."), None);
        assert_eq!(parse("3."), None);
        assert_eq!(parse("print(\"a.b"), None);
        assert_eq!(parse("12"), None);
    }

    #[test]
    fn cursor_columns_count_utf16_units() {
        assert_eq!(before_cursor("print(x)", 1, 6), "print");
        assert_eq!(before_cursor("a\nbcd", 2, 3), "bc");
        assert_eq!(before_cursor("é.x", 1, 3), "é.");
        assert_eq!(before_cursor("𝄞x", 1, 3), "𝄞");
        assert_eq!(before_cursor("abc", 1, 99), "abc");
        // Numbers from the client are untrusted: the extremes must not overflow.
        assert_eq!(before_cursor("abc", i64::MIN, i64::MIN), "");
        assert_eq!(before_cursor("abc", i64::MAX, i64::MAX), "");
        assert_eq!(before_cursor("abc", 1, i64::MAX), "abc");
    }
}
