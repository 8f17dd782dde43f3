//! Pure display rules: quoting strings, naming table keys, ordering keys.

use std::cmp::Ordering;

use mlua::Value;

/// Lua's reserved words.
pub const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Longest string shown before it is cut.
const MAX_STRING: usize = 4096;

/// A Lua string literal for `bytes` (escapes control characters; invalid
/// UTF-8 bytes appear as `\ddd`).
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut rest = bytes;
    let mut shown = 0usize;
    while !rest.is_empty() {
        if shown >= MAX_STRING {
            out.push('…');
            break;
        }
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, None),
            Err(e) => {
                let (good, tail) = rest.split_at(e.valid_up_to());
                // SAFETY: the prefix was just validated.
                (
                    unsafe { std::str::from_utf8_unchecked(good) },
                    tail.first().copied(),
                )
            }
        };
        for c in valid.chars() {
            if shown >= MAX_STRING {
                break;
            }
            shown += 1;
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\{}", c as u32)),
                c => out.push(c),
            }
        }
        rest = &rest[valid.len()..];
        if let Some(b) = bad {
            out.push_str(&format!("\\{b}"));
            rest = &rest[1..];
            shown += 1;
        }
    }
    out.push('"');
    out
}

/// Whether `s` can be written as `t.s`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !KEYWORDS.contains(&s)
}

/// The display name of a table key, and how to append it to an expression
/// naming the table (`None` when no expression reaches it).
pub fn key_label(key: &Value) -> (String, Option<String>) {
    match key {
        Value::String(s) => {
            let bytes = s.as_bytes();
            match std::str::from_utf8(&bytes) {
                Ok(text) if is_identifier(text) => (text.to_string(), Some(format!(".{text}"))),
                _ => {
                    let q = quote(&bytes);
                    (format!("[{q}]"), Some(format!("[{q}]")))
                }
            }
        }
        Value::Integer(i) => (format!("[{i}]"), Some(format!("[{i}]"))),
        Value::Number(n) => (format!("[{n}]"), Some(format!("[{n}]"))),
        Value::Boolean(b) => (format!("[{b}]"), Some(format!("[{b}]"))),
        other => (
            format!("[{}: {:?}]", other.type_name(), other.to_pointer()),
            None,
        ),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Integer(_) | Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Boolean(_) => 2,
        _ => 3,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        _ => 0.0,
    }
}

/// Order of keys in a table view: numbers ascending, then strings, then
/// booleans, then everything else.
pub fn key_order(a: &Value, b: &Value) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(&y.as_bytes()),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (x, y) if rank(x) == 0 => as_f64(x).partial_cmp(&as_f64(y)).unwrap_or(Ordering::Equal),
        (x, y) => (x.to_pointer() as usize).cmp(&(y.to_pointer() as usize)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_lua() {
        assert_eq!(quote(b"hi"), "\"hi\"");
        assert_eq!(quote(b"a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
        assert_eq!(quote(b"\x01\xff\xc3\xa9"), "\"\\1\\255é\"");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("foo_1") && is_identifier("_x"));
        assert!(
            !is_identifier("1a")
                && !is_identifier("end")
                && !is_identifier("a-b")
                && !is_identifier("")
        );
    }

    #[test]
    fn labels_and_order() -> mlua::Result<()> {
        let lua = mlua::Lua::new();
        let name = Value::String(lua.create_string("name")?);
        let spaced = Value::String(lua.create_string("two words")?);
        assert_eq!(key_label(&name), ("name".into(), Some(".name".into())));
        assert_eq!(key_label(&spaced).0, "[\"two words\"]");
        assert_eq!(key_label(&Value::Integer(3)).0, "[3]");
        let mut keys = [
            spaced.clone(),
            Value::Integer(10),
            name.clone(),
            Value::Boolean(true),
            Value::Integer(2),
            Value::Number(2.5),
        ];
        keys.sort_by(key_order);
        let labels: Vec<String> = keys.iter().map(|k| key_label(k).0).collect();
        assert_eq!(
            labels,
            ["[2]", "[2.5]", "[10]", "name", "[\"two words\"]", "[true]"]
        );
        Ok(())
    }
}
