//! `setVariable` and REPL `completions` through `hotreload-dap` and the real
//! Lua 5.4 host, on tests/fixtures/edit.lua.

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
