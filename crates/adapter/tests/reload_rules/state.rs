//! Rule 3, state: upvalues, tables and scalars keep their running values;
//! removed functions go, type changes and new upvalues take the new code's
//! values.

use serde_json::json;

use crate::harness::{lists, Running};

#[test]
fn upvalues_keep_their_values_and_a_shared_upvalue_stays_shared() {
    let mut run = Running::start("upvalues", |i| format!("v1 count={i} peek={i}"));
    // inc and get change; `count` must stay one cell that they and the
    // closure made by peek before the reload all see.
    run.reload(
        "shared",
        r#"local M = {}
local count = 0

function M.inc()
  count = count + 1
  M.last = "inc2"
end

function M.get()
  return "v2 count=" .. count .. " last=" .. tostring(M.last)
end

function M.peek()
  return function()
    return count
  end
end

return M
"#,
    );
    run.expect(|i| format!("v2 count={i} last=inc2 peek={i}"));
    run.finish();
}

#[test]
fn tables_keep_identity_and_contents_and_gain_new_keys() {
    let mut run = Running::start("tables", |i| {
        format!("v1 items={i} speed=7 color=nil same=true")
    });
    let body = run.reload(
        "store",
        r#"local M = {}
M.items = {}
M.config = { speed = 5, color = "red" }

function M.add(i)
  M.items[#M.items + 1] = i
end

function M.describe()
  return "v2 items=" .. #M.items .. " speed=" .. M.config.speed .. " color=" .. tostring(M.config.color)
end

return M
"#,
    );
    if !lists(&body, "added", &["store.config.color"]) {
        run.client
            .fail(&format!("the new key is not listed as added: {body}"));
    }
    run.expect(|i| format!("v2 items={i} speed=7 color=red same=true"));
    // The contents are the same values the program stored, in order.
    let sum = run.eval("(function() local s = 0 for k, v in ipairs(require('store').items) do if v ~= k then return -1 end s = s + 1 end return s end)()");
    if sum.parse::<i64>().map_or(true, |n| n < 6) {
        run.client
            .fail(&format!("items lost entries or order: {sum}"));
    }
    run.finish();
}

#[test]
fn scalars_keep_their_running_values() {
    let mut run = Running::start("scalars", |i| format!("v1 count={i} name=renamed on=false"));
    run.reload(
        "vals",
        r#"local M = {}
M.count = 100
M.name = "fresh"
M.on = true

function M.show()
  return "v2 count=" .. M.count .. " name=" .. M.name .. " on=" .. tostring(M.on)
end

return M
"#,
    );
    run.expect(|i| format!("v2 count={i} name=renamed on=false"));
    run.finish();
}

#[test]
fn a_function_missing_from_the_new_version_is_removed_and_other_keys_stay() {
    let mut run = Running::start("removed", |_| {
        "keep1 old=function fresh=nil data=2 session=s1".into()
    });
    let body = run.reload(
        "api",
        r#"local M = {}

function M.keep()
  return "keep2"
end

function M.fresh()
  return "fresh"
end

return M
"#,
    );
    if !lists(&body, "removed", &["api.old"]) || !lists(&body, "added", &["api.fresh"]) {
        run.client.fail(&format!("removed/added are wrong: {body}"));
    }
    // Keys whose new value is nil are not wiped: only functions go.
    run.expect(|_| "keep2 old=nil fresh=function data=2 session=s1".into());
    run.finish();
}

#[test]
fn a_type_change_takes_the_new_value() {
    let mut run = Running::start("type_change", |_| "string function number string".into());
    let body = run.reload(
        "kind",
        "local M = {}\nM.mode = { name = \"table\" }\nM.opts = { deep = true }\nM.limit = 10\nlocal unit = { name = \"m\" }\n\nfunction M.unit()\n  return type(unit)\nend\n\nreturn M\n",
    );
    let changed = body["changed"].as_array().cloned().unwrap_or_default();
    let names = ["kind.mode", "kind.opts", "kind.limit", "unit"];
    if names.iter().any(|n| !changed.contains(&json!(n))) {
        run.client
            .fail(&format!("type changes are not listed as changed: {body}"));
    }
    // The upvalue `unit` changed type too.
    run.expect(|_| "table number table table".into());
    let mode = run.eval("require('kind').mode.name");
    if !mode.contains("table") {
        run.client
            .fail(&format!("the new table value is not in place: {mode}"));
    }
    run.finish();
}

#[test]
fn new_upvalues_and_locals_start_from_the_new_codes_initial_values() {
    let mut run = Running::start("new_upvalues", |i| format!("v1 count={i}"));
    run.reload(
        "fresh",
        r#"local M = {}
local count = 0
local bonus = 1000

function M.step()
  count = count + 1
  local extra = "x"
  return "v2 count=" .. count .. " bonus=" .. bonus .. " extra=" .. extra
end

return M
"#,
    );
    run.expect(|i| format!("v2 count={i} bonus=1000 extra=x"));
    run.finish();
}
