//! `setVariable` and REPL `completions` through `hotreload-dap` and the real
//! host of each runtime, on tests/fixtures/edit.lua (and loops the JIT
//! compiled, where there is one).

mod support;

use serde_json::{json, Value};
use support::{fixture, with_runtime, Client};

/// Starts edit.lua stopped at its `stop-here` line in `step`, after an
/// `initialize` that declares the client's column base; returns the client,
/// the capabilities and the top frame's id.
fn stopped_in_step(columns_start_at1: bool) -> (Client, Value, Value) {
    support::require_host();
    let mut client = Client::start();
    let program = fixture("edit.lua");
    let line = std::fs::read_to_string(&program)
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains("stop-here"))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| client.fail("edit.lua has no stop-here line"));
    let caps = client.ok(
        "initialize",
        json!({"adapterID": "hotreload", "clientID": "test",
               "linesStartAt1": true, "columnsStartAt1": columns_start_at1}),
    );
    client.ok("launch", with_runtime(json!({"program": program})));
    client.wait_event("initialized");
    let bps = client.set_breakpoints(&program, &[line]);
    if bps.first().map(|b| &b["verified"]) != Some(&json!(true)) {
        client.fail(&format!("breakpoint not verified: {bps:?}"));
    }
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    let top = frames
        .first()
        .map(|f| f["id"].clone())
        .unwrap_or_else(|| client.fail("no frames"));
    (client, caps, top)
}

fn scope(client: &mut Client, frame: &Value, name: &str) -> Value {
    let body = client.ok("scopes", json!({"frameId": frame}));
    body["scopes"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .map(|s| s["variablesReference"].clone())
        .unwrap_or_else(|| client.fail(&format!("no scope {name}: {body}")))
}

fn set(client: &mut Client, reference: &Value, name: &str, value: &str) -> Value {
    client.ok(
        "setVariable",
        json!({"variablesReference": reference, "name": name, "value": value}),
    )
}

fn complete(client: &mut Client, frame: &Value, text: &str, column: usize) -> Vec<Value> {
    let body = client.ok(
        "completions",
        json!({"frameId": frame, "text": text, "column": column}),
    );
    body["targets"].as_array().cloned().unwrap_or_default()
}

fn labels(items: &[Value]) -> Vec<&str> {
    items.iter().filter_map(|i| i["label"].as_str()).collect()
}

#[test]
fn capabilities_announce_set_variable_and_completions() {
    let (mut client, caps, _) = stopped_in_step(true);
    if caps["supportsSetVariable"] != true
        || caps["supportsCompletionsRequest"] != true
        || caps["completionTriggerCharacters"] != json!([".", ":"])
    {
        client.fail(&format!("capabilities: {caps}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("terminated");
}

#[test]
fn set_variables_and_the_program_uses_the_new_values() {
    let (mut client, _, top) = stopped_in_step(true);

    let locals = scope(&mut client, &top, "Locals");
    let body = set(&mut client, &locals, "bonus", "100");
    if body["value"] != "100" || body["variablesReference"] != 0 {
        client.fail(&format!("set bonus: {body}"));
    }
    let upvalues = scope(&mut client, &top, "Upvalues");
    // Evaluated in the frame: the upvalue is 11 there.
    let body = set(&mut client, &upvalues, "count", "count * 2");
    if body["value"] != "22" {
        client.fail(&format!("set count: {body}"));
    }
    let globals = scope(&mut client, &top, "Globals");
    let body = set(&mut client, &globals, "level", "bonus + 1");
    if body["value"] != "101" {
        client.fail(&format!("set level: {body}"));
    }
    let settings = client.variable(&upvalues, "settings");
    let inner = client.variable(&settings["variablesReference"], "inner");
    let body = set(&mut client, &inner["variablesReference"], "depth", "7");
    if body["value"] != "7" {
        client.fail(&format!("set depth: {body}"));
    }
    let shown = client.variable(&inner["variablesReference"], "depth");
    if shown["value"] != "7" {
        client.fail(&format!("variables after set: {shown}"));
    }

    // A bad expression fails plainly and changes nothing.
    let message = client.err(
        "setVariable",
        json!({"variablesReference": locals, "name": "bonus", "value": "1 +"}),
    );
    if message.kind != "compile" {
        client.fail(&format!("bad expression message: {message}"));
    }
    let message = client.err(
        "setVariable",
        json!({"variablesReference": 9999, "name": "bonus", "value": "1"}),
    );
    if message.kind != "invalidArguments" || !message.message.contains("9999") {
        client.fail(&format!("unknown reference message: {message}"));
    }
    if client.evaluate("bonus", Some(&top), "repl") != "100" {
        client.fail("a failed setVariable changed bonus");
    }

    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("terminated");
    let out = client.stdout_text();
    if !out.contains("result\t230\tcalls\t0") {
        client.fail(&format!("the program did not use the new values: {out:?}"));
    }
    // Not stopped any more: refused.
    let message = client.err(
        "setVariable",
        json!({"variablesReference": locals, "name": "bonus", "value": "1"}),
    );
    if !matches!(message.kind.as_str(), "refused" | "notRunning") {
        client.fail(&format!("setVariable after the end: {message}"));
    }
}

#[test]
fn completions_for_names_fields_methods_without_side_effects() {
    let (mut client, _, top) = stopped_in_step(true);

    let items = complete(&mut client, &top, "pri", 4);
    if labels(&items) != ["print"] || items[0]["start"] != 1 || items[0]["length"] != 3 {
        client.fail(&format!("pri: {items:?}"));
    }
    let items = complete(&mut client, &top, "x = t.", 7);
    if labels(&items) != ["alpha", "beta"] || items[0]["start"] != 7 {
        client.fail(&format!("t.: {items:?}"));
    }
    let items = complete(&mut client, &top, "obj:", 5);
    if labels(&items) != ["deposit", "new"] {
        client.fail(&format!("obj:: {items:?}"));
    }
    let items = complete(&mut client, &top, "sha", 4);
    if labels(&items) != ["shadow"] || items[0]["detail"] != "local number" {
        client.fail(&format!("the local should shadow the global: {items:?}"));
    }
    // The cursor in the middle: only the text before it counts.
    let items = complete(&mut client, &top, "prixyz", 4);
    if labels(&items) != ["print"] {
        client.fail(&format!("cursor inside the word: {items:?}"));
    }
    // An __index function is not called.
    let items = complete(&mut client, &top, "trap.", 6);
    if !items.is_empty() {
        client.fail(&format!("trap.: {items:?}"));
    }
    if client.evaluate("calls", Some(&top), "repl") != "0" {
        client.fail("completing called an __index function");
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("terminated");
}

#[test]
fn completion_columns_follow_a_zero_based_client() {
    let (mut client, _, top) = stopped_in_step(false);
    // Cursor after "x = t.al": 0-based column 8.
    let items = complete(&mut client, &top, "x = t.al", 8);
    if labels(&items) != ["alpha"] || items[0]["start"] != 6 || items[0]["length"] != 2 {
        client.fail(&format!("0-based t.al: {items:?}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("terminated");
}

#[test]
fn set_expression_assigns_locals_upvalues_globals_and_fields() {
    let (mut client, caps, top) = stopped_in_step(true);
    if caps["supportsSetExpression"] != true {
        client.fail(&format!("capabilities: {caps}"));
    }
    let set_expr = |client: &mut Client, expression: &str, value: &str| {
        client.request(
            "setExpression",
            json!({"expression": expression, "value": value, "frameId": top}),
        )
    };
    // What cannot be assigned is refused and changes nothing.
    for bad in ["bonus + 1", "Account.new(1)", "bonus = 3; x", ""] {
        let reply = set_expr(&mut client, bad, "99");
        if reply.success {
            client.fail(&format!("`{bad}` was assigned: {:?}", reply.body));
        }
    }
    if client.evaluate("bonus", Some(&top), "watch") != "10" {
        client.fail("a refused setExpression changed bonus");
    }
    for (expression, value, shown) in [
        ("bonus", "100", "100"),
        ("count", "count + 1", "12"),
        ("level", "5", "5"),
        ("settings.inner.depth", "bonus - 93", "7"),
    ] {
        let reply = set_expr(&mut client, expression, value);
        let body = reply.body.clone().unwrap_or_default();
        if !reply.success || body["value"] != shown {
            client.fail(&format!("{expression} = {value}: {:?}", reply.body));
        }
    }
    client.wait_event("invalidated");
    client.ok("continue", json!({"threadId": 1}));
    let out = client.wait_output("the result", |o| o.contains("result"));
    if !out.contains("result\t124\tcalls\t0") {
        client.fail(&format!("the program did not see the assignments: {out:?}"));
    }
}

/// A loop adding the upvalue `step` (no code writes it: LuaJIT constifies
/// it into the loop's trace) until `i` reaches the local `last`.
const STEP_LOOP: &str = "local step = 1\nlocal function run()\n  local acc, i, last = 0, 0, -1\n  while true do\n    i = i + 1 -- count\n    acc = acc + step -- add\n    if i == 200000 then print('spinning') end\n    if i == last then break end\n  end\n  return acc\nend\nprint('acc ' .. run())\n";

/// Paused in STEP_LOOP's loop (compiled by then where there is a JIT):
/// sets `last` 1000 iterations ahead and `step` to 2 through `set_step`
/// (given the client and the stack), continues, and checks the sum: every
/// iteration after the stop adds the new step.
fn set_step_in_a_compiled_loop(name: &str, set_step: impl FnOnce(&mut Client, &[Value])) {
    support::require_host();
    let program = Client::temp_program(name, STEP_LOOP);
    let mut client = Client::start();
    client.launch(json!({ "program": program }));
    client.ok("configurationDone", json!({}));
    let stack = client.pause_in_loop("spinning", "run");
    let frame = stack[0]["id"].clone();
    let number = |client: &mut Client, e: &str| -> i64 {
        let text = client.evaluate(e, Some(&frame), "watch");
        text.parse()
            .unwrap_or_else(|_| client.fail(&format!("{e} = {text}")))
    };
    let (i, acc) = (number(&mut client, "i"), number(&mut client, "acc"));
    // Iterations whose `acc = acc + step` has yet to run: this one's too
    // when stopped before that line.
    let count_line = STEP_LOOP
        .lines()
        .position(|l| l.contains("-- count"))
        .unwrap_or(0) as i64
        + 1;
    let before_add = stack[0]["line"] == json!(count_line + 1);
    let last = i + 1000;
    client.ok(
        "setExpression",
        json!({"expression": "last", "value": last.to_string(), "frameId": frame}),
    );
    set_step(&mut client, &stack);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let adds = last - i + i64::from(before_add);
    let expected = format!("acc {}", acc + 2 * adds);
    if !client.stdout_text().contains(&expected) {
        client.fail(&format!(
            "expected {expected:?}, output: {:?}",
            client.stdout_text()
        ));
    }
}

#[test]
fn an_upvalue_set_while_paused_in_a_compiled_loop_is_what_the_loop_reads() {
    set_step_in_a_compiled_loop("step-upvalue", |client, stack| {
        let upvalues = scope(client, &stack[0]["id"], "Upvalues");
        set(client, &upvalues, "step", "2");
    });
}

#[test]
fn a_captured_local_set_while_paused_in_a_compiled_loop_is_what_the_loop_reads() {
    // The main chunk's local, which `run` reads as an open upvalue.
    set_step_in_a_compiled_loop("step-local", |client, stack| {
        client.ok(
            "setExpression",
            json!({"expression": "step", "value": "2", "frameId": stack[1]["id"]}),
        );
    });
}
