//! `setVariable` and `completions` through the real host.

mod common;

use common::{kind, line_of, ErrorKind, Host, HostError, Scratch};
use serde_json::{json, Value};

const EDIT: &str = r#"local config = { speed = 1, inner = { depth = 2 } }
local count = 10
level = 1

local function step(n)
  local bonus = n * 2
  count = count + 1
  return bonus + count + level + config.inner.depth -- stop-here
end

print("result", step(5))
"#;

fn find(host: &Host, vars: &[(String, String, i64)], name: &str) -> (String, String, i64) {
    vars.iter()
        .find(|v| v.0 == name)
        .cloned()
        .unwrap_or_else(|| host.fail(&format!("no variable {name} in {vars:?}")))
}

fn set(host: &mut Host, reference: i64, name: &str, value: &str) -> Result<Value, HostError> {
    host.request(
        "setVariable",
        Some(json!({"variablesReference": reference, "name": name, "value": value})),
    )
}

fn eval_text(host: &mut Host, expression: &str) -> String {
    match host.eval(expression, 1) {
        Ok(v) => v["result"].as_str().unwrap_or("?").to_string(),
        Err(e) => host.fail(&format!("evaluate {expression}: {e}")),
    }
}

#[test]
fn set_local_upvalue_global_and_nested_field_then_the_program_uses_them() {
    let dir = Scratch::new("set-variable");
    let (mut host, _) = Host::launched_at(&dir, EDIT, json!({}), "stop-here");
    host.stopped("breakpoint");

    let locals = host.scope(1, "Locals");
    let body = set(&mut host, locals, "bonus", "100").unwrap_or_else(|e| host.fail(&e.message));
    assert_eq!(body["value"], "100", "{body}");
    // Typed as `variables` types it.
    assert_eq!(body["type"], "integer", "{body}");
    assert_eq!(body["variablesReference"], 0, "{body}");

    // Evaluated in the frame: `count` is the upvalue's current value (11).
    let upvalues = host.scope(1, "Upvalues");
    let body =
        set(&mut host, upvalues, "count", "count * 2").unwrap_or_else(|e| host.fail(&e.message));
    assert_eq!(body["value"], "22", "{body}");

    // A global through the Globals scope, evaluated in the frame (sees `bonus`).
    let globals = host.scope(1, "Globals");
    let body =
        set(&mut host, globals, "level", "bonus + 1").unwrap_or_else(|e| host.fail(&e.message));
    assert_eq!(body["value"], "101", "{body}");

    // A field of a nested table reached through `variables`.
    let vars = host.variables(upvalues);
    let config = find(&host, &vars, "config");
    let children = host.variables(config.2);
    let inner = find(&host, &children, "inner");
    let body = set(&mut host, inner.2, "depth", "7").unwrap_or_else(|e| host.fail(&e.message));
    assert_eq!(body["value"], "7", "{body}");
    // A table value comes back expandable.
    let body =
        set(&mut host, config.2, "speed", "{ 1, 2 }").unwrap_or_else(|e| host.fail(&e.message));
    assert_eq!(body["type"], "table", "{body}");
    assert!(
        body["variablesReference"].as_i64().unwrap_or(0) > 0,
        "{body}"
    );
    let items = host.variables(body["variablesReference"].as_i64().unwrap_or(0));
    assert_eq!(items.len(), 2, "{items:?}");

    assert_eq!(eval_text(&mut host, "bonus"), "100");
    assert_eq!(eval_text(&mut host, "config.inner.depth"), "7");

    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), "result\t230\n");
}

#[test]
fn bad_values_and_references_are_errors_that_change_nothing() {
    let dir = Scratch::new("set-variable-errors");
    let program = dir.file("main.lua", EDIT);
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    // Not stopped yet.
    let early = set(&mut host, 1, "bonus", "1");
    assert_eq!(kind(&early), Some(ErrorKind::Refused), "{early:?}");
    host.set_breakpoints(&program, &[line_of(EDIT, "stop-here")]);
    host.ok("configurationDone", None);
    host.stopped("breakpoint");
    let locals = host.scope(1, "Locals");

    for bad in ["1 +", "bonus = 5", "", "1, 2", "error('boom')"] {
        let result = set(&mut host, locals, "bonus", bad);
        assert!(result.is_err(), "{bad:?} was accepted: {result:?}");
    }
    let syntax = set(&mut host, locals, "bonus", "1 +");
    assert_eq!(kind(&syntax), Some(ErrorKind::Compile), "{syntax:?}");
    let raised = set(&mut host, locals, "bonus", "error('boom')");
    assert_eq!(kind(&raised), Some(ErrorKind::Runtime), "{raised:?}");
    // The program's own error value reaches the user.
    assert!(raised.is_err_and(|e| e.message.contains("boom")));
    assert_eq!(eval_text(&mut host, "bonus"), "10");

    let unknown = set(&mut host, locals, "nope", "1");
    assert_eq!(
        kind(&unknown),
        Some(ErrorKind::InvalidArguments),
        "{unknown:?}"
    );
    assert!(unknown.is_err_and(|e| e.message.contains("'nope'")));
    let reference = set(&mut host, 999, "bonus", "1");
    assert_eq!(
        kind(&reference),
        Some(ErrorKind::InvalidArguments),
        "{reference:?}"
    );
    assert!(reference.is_err_and(|e| e.message.contains("999")));

    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), "result\t24\n");
}

#[test]
fn set_variable_while_running_is_refused() {
    let dir = Scratch::new("set-variable-running");
    let program = dir.file("main.lua", "local n = 0\nwhile true do n = n + 1 end\n");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    let result = set(&mut host, 1, "n", "1");
    assert_eq!(kind(&result), Some(ErrorKind::Refused), "{result:?}");
    // Completions still work while running, in the global scope.
    let labels = labels(&complete(&mut host, "pri", None));
    assert_eq!(labels, ["print"]);
}

const COMPLETE: &str = r#"local Account = {}
Account.__index = Account
function Account.new(b) return setmetatable({ balance = b }, Account) end
function Account:deposit(v) self.balance = self.balance + v end
function Account:report() return self.balance end
calls = 0
local trap = setmetatable({ real = 1 }, { __index = function(_, k) calls = calls + 1 return k end })
shadow = "global"
local function main()
  local shadow = 42
  local t = { alpha = 1, beta = { gamma = 2 }, [3] = "x", ["two words"] = 1 }
  local obj = Account.new(5)
  local _ = trap
  print(shadow, t, obj) -- stop-here
end
main()
print("calls", calls)
"#;

fn complete(host: &mut Host, text: &str, frame: Option<i64>) -> Vec<Value> {
    let column = text.encode_utf16().count() as i64 + 1;
    let mut args = json!({"text": text, "column": column});
    if let Some(f) = frame {
        args["frameId"] = json!(f);
    }
    let body = host.ok("completions", Some(args));
    body["targets"].as_array().cloned().unwrap_or_default()
}

fn labels(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["label"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn completions_of_names_fields_and_methods_without_side_effects() {
    let dir = Scratch::new("completions");
    let (mut host, _) = Host::launched_at(&dir, COMPLETE, json!({}), "stop-here");
    host.stopped("breakpoint");

    let items = complete(&mut host, "pri", Some(1));
    assert_eq!(labels(&items), ["print"], "{items:?}");
    assert_eq!(items[0]["type"], "function");
    assert_eq!(items[0]["start"], 1);
    assert_eq!(items[0]["length"], 3);

    let items = complete(&mut host, "t.", Some(1));
    assert_eq!(labels(&items), ["alpha", "beta"], "{items:?}");
    assert_eq!(items[0]["type"], "field");
    let items = complete(&mut host, "x = t.beta.g", Some(1));
    assert_eq!(labels(&items), ["gamma"], "{items:?}");
    assert_eq!(items[0]["start"], 12, "{items:?}");

    // Methods through the metatable's __index table.
    let items = complete(&mut host, "obj:", Some(1));
    assert_eq!(labels(&items), ["deposit", "new", "report"], "{items:?}");
    assert!(items.iter().all(|i| i["type"] == "method"), "{items:?}");
    let items = complete(&mut host, "obj.", Some(1));
    assert!(labels(&items).contains(&"balance".to_string()), "{items:?}");
    // Upvalue path and string methods.
    let items = complete(&mut host, "Account.ne", Some(1));
    assert_eq!(labels(&items), ["new"], "{items:?}");
    let items = complete(&mut host, "string.up", Some(1));
    assert_eq!(labels(&items), ["upper"], "{items:?}");

    // The local shadows the global: one item, the local.
    let items = complete(&mut host, "sha", Some(1));
    assert_eq!(labels(&items), ["shadow"], "{items:?}");
    assert_eq!(items[0]["detail"], "local number", "{items:?}");
    // In the main chunk's frame there is only the global.
    let items = complete(&mut host, "sha", Some(2));
    assert_eq!(items[0]["detail"], "global string", "{items:?}");

    // Keywords and locals mix; nothing after a call or inside a string.
    let items = complete(&mut host, "ret", Some(1));
    assert_eq!(labels(&items), ["return"], "{items:?}");
    assert!(complete(&mut host, "main().", Some(1)).is_empty());
    assert!(complete(&mut host, "print(\"t.", Some(1)).is_empty());

    // An __index function is never called.
    let items = complete(&mut host, "trap.", Some(1));
    assert_eq!(labels(&items), ["real"], "{items:?}");
    assert!(complete(&mut host, "trap.missing.", Some(1)).is_empty());
    assert_eq!(eval_text(&mut host, "calls"), "0");

    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
    assert!(
        host.output("stdout").ends_with("calls\t0\n"),
        "{}",
        host.output("stdout")
    );
}
