//! Large tables in pages: a table with an array part is shown as its
//! *indexed* children (keys `1..#t`, raw) and its *named* ones (the
//! metatable, then every other key), counted for the client
//! (`indexedVariables`, `namedVariables`) so it asks for pages
//! (`filter`, `start`, `count`) instead of the whole table.
//!
//! Cost: an indexed page reads only its own keys. The named keys of a
//! table with a long array part are walked from the slot after key `#t`,
//! so a page or a count never walks the array part: Lua's `next` visits
//! the array part first, and a border that long lies in it (tables that
//! grow that far are rehashed, which moves keys `1..#t` there). Shorter
//! tables are walked whole.

use mlua::{ffi, Lua, Table, Value};

use super::format::{key_label, key_order};
use super::raw_metatable;

/// From this border on, named keys are walked from after key `#t`.
const CONTINUE_FROM: usize = 1024;

/// How many children of each kind a table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Keys `1..#t` (its raw border).
    pub indexed: usize,
    /// The metatable (one child) and every other key.
    pub named: usize,
}

/// A child: `(name, value, expression naming it)`.
pub type Child = (String, Value, Option<String>);

/// The counts of a table with an array part; `None` for anything else
/// (shown whole).
pub fn counts(lua: &Lua, value: &Value) -> Option<Counts> {
    let Value::Table(t) = value else {
        return None;
    };
    let indexed = t.raw_len();
    if indexed == 0 {
        return None;
    }
    let (named, _) = walk_named(lua, t, indexed, false).ok()?;
    let meta = usize::from(raw_metatable(lua, value).is_some());
    Some(Counts {
        indexed,
        named: named + meta,
    })
}

/// Indexed children `start + 1 ..= start + count` (clamped to `#t`).
pub fn indexed(t: &Table, eval: Option<&str>, start: usize, count: usize) -> Vec<Child> {
    let border = t.raw_len();
    let first = start.saturating_add(1);
    let last = start.saturating_add(count).min(border);
    (first..=last)
        .map(|i| {
            let key = Value::Integer(i as i64);
            let (name, suffix) = key_label(&key);
            let value = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
            let child_eval = match (eval, suffix) {
                (Some(e), Some(s)) => Some(format!("{e}{s}")),
                _ => None,
            };
            (name, value, child_eval)
        })
        .collect()
}

/// Named children: the metatable, then the keys outside `1..#t` in display
/// order.
pub fn named(lua: &Lua, value: &Value, eval: Option<&str>) -> Vec<Child> {
    let mut out = Vec::new();
    if let Some(mt) = raw_metatable(lua, value) {
        out.push((
            "[metatable]".to_string(),
            Value::Table(mt),
            eval.map(|e| format!("getmetatable({e})")),
        ));
    }
    let Value::Table(t) = value else {
        return out;
    };
    let border = t.raw_len();
    let Ok((_, Some(flat))) = walk_named(lua, t, border, true) else {
        return out;
    };
    let flat: Vec<Value> = flat.sequence_values().filter_map(Result::ok).collect();
    let mut pairs: Vec<(Value, Value)> = flat
        .chunks_exact(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect();
    pairs.sort_by(|a, b| key_order(&a.0, &b.0));
    out.extend(pairs.into_iter().map(|(k, v)| {
        let (name, suffix) = key_label(&k);
        let child_eval = match (eval, suffix) {
            (Some(e), Some(s)) => Some(format!("{e}{s}")),
            _ => None,
        };
        (name, v, child_eval)
    }));
    out
}

/// Counts the keys of `t` that are not integers in `1..=border` and, with
/// `collect`, returns them as `{k1, v1, k2, v2, ...}`. Raw: no metamethod
/// runs.
fn walk_named(
    lua: &Lua,
    t: &Table,
    border: usize,
    collect: bool,
) -> mlua::Result<(usize, Option<Table>)> {
    let from_border = border >= CONTINUE_FROM;
    let border = border as ffi::lua_Integer;
    // SAFETY: the table is at index 1; everything pushed is balanced, and
    // we leave exactly the two results (count, list or nil). `lua_next`
    // starts from nil or from key `border`, which holds a value (a border),
    // so it never raises.
    let (count, list): (i64, Option<Table>) = unsafe {
        lua.exec_raw(t.clone(), |s| {
            ffi::lua_settop(s, 1);
            ffi::lua_checkstack(s, 8);
            if collect {
                ffi::lua_createtable(s, 0, 0);
            } else {
                ffi::lua_pushnil(s);
            }
            if from_border {
                ffi::lua_pushinteger(s, border);
            } else {
                ffi::lua_pushnil(s);
            }
            let mut count: ffi::lua_Integer = 0;
            while ffi::lua_next(s, 1) != 0 {
                let indexed = ffi::lua_isinteger(s, -2) != 0
                    && (1..=border).contains(&ffi::lua_tointegerx(s, -2, std::ptr::null_mut()));
                if !indexed {
                    count += 1;
                    if collect {
                        ffi::lua_pushvalue(s, -2);
                        ffi::lua_rawseti(s, 2, 2 * count - 1);
                        ffi::lua_pushvalue(s, -1);
                        ffi::lua_rawseti(s, 2, 2 * count);
                    }
                }
                ffi::lua_pop(s, 1);
            }
            ffi::lua_pushinteger(s, count);
            ffi::lua_rotate(s, 2, 1);
            ffi::lua_remove(s, 1);
        })?
    };
    Ok((usize::try_from(count).unwrap_or(0), list))
}
