//! Exception breakpoints through `hotreload-dap` and the real Lua 5.4 host:
//! the filters initialize announces, `all` stopping at caught errors,
//! `uncaught` and no filter at all.

mod support;

use serde_json::{json, Value};
use support::{fixture, with_runtime, Client};

/// The 1-based line of `marker` in fixture `name`.
fn line_of(client: &Client, name: &str, marker: &str) -> i64 {
    std::fs::read_to_string(fixture(name))
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| client.fail(&format!("{name} has no {marker} line")))
}

/// initialize, launch `name`, the given filters, configurationDone; returns
/// the capabilities.
fn start(client: &mut Client, name: &str, filters: &[&str]) -> Value {
    let caps = client.ok(
        "initialize",
        json!({"adapterID": "hotreload", "clientID": "test"}),
    );
    client.ok("launch", with_runtime(json!({"program": fixture(name)})));
    client.wait_event("initialized");
    let body = client.ok("setExceptionBreakpoints", json!({"filters": filters}));
    let answers = body["breakpoints"].as_array().cloned().unwrap_or_default();
    if answers.len() != filters.len() || answers.iter().any(|b| b["verified"] != true) {
        client.fail(&format!("filters {filters:?} not accepted: {body}"));
    }
    client.ok("configurationDone", json!({}));
    caps
}

/// Waits for an exception stop whose text contains `text` at `line`.
fn expect_exception(client: &mut Client, text: &str, line: i64) -> Value {
    let stopped = client.wait_stopped("exception");
    if !stopped["text"].as_str().unwrap_or("").contains(text) {
        client.fail(&format!("stop text is not {text:?}: {stopped}"));
    }
    let frames = client.stack(&stopped["threadId"]);
    if frames.first().map(|f| f["line"].clone()) != Some(json!(line)) {
        client.fail(&format!("top frame is not at line {line}: {frames:?}"));
    }
    stopped
}

fn stops(client: &Client) -> usize {
    client
        .event_names()
        .iter()
        .filter(|n| *n == "stopped")
        .count()
}

#[test]
fn initialize_announces_the_uncaught_and_all_filters() {
    support::require_host();
    let mut client = Client::start();
    let caps = start(&mut client, "hello.lua", &["uncaught"]);
    let filters = &caps["exceptionBreakpointFilters"];
    let find = |id: &str| {
        filters
            .as_array()
            .and_then(|f| f.iter().find(|f| f["filter"] == id))
            .cloned()
    };
    match (find("uncaught"), find("all")) {
        (Some(uncaught), Some(all)) if uncaught["default"] == true && all["default"] == false => {}
        _ => client.fail(&format!("exceptionBreakpointFilters: {filters}")),
    }
    client.wait_event("exited");
}

#[test]
fn the_all_filter_stops_at_caught_errors_and_pcall_still_catches_them() {
    support::require_host();
    let mut client = Client::start();
    let name = "exceptions.lua";
    start(&mut client, name, &["uncaught", "all"]);
    let parse = line_of(&client, name, "raise-parse");
    let stopped = expect_exception(&mut client, "not a number: abc", parse);
    let top = client.stack(&stopped["threadId"])[0]["id"].clone();
    let text = client.evaluate("text", Some(&top), "repl");
    if text != "\"abc\"" {
        client.fail(&format!("text in the raising frame: {text}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    let index = line_of(&client, name, "raise-index");
    // Lua 5.2 names the value ("attempt to index upvalue 'config' (a nil value)").
    expect_exception(&mut client, "attempt to index", index);
    client.ok("continue", json!({"threadId": 1}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 0 {
        client.fail(&format!("exit: {exited}"));
    }
    let out = client.wait_output("both errors caught", |o| o.contains("recovered\n"));
    if !out.contains("parse\tfalse\t") || !out.contains("index\tfalse\t") {
        client.fail(&format!("pcall did not catch: {out}"));
    }
    if stops(&client) != 2 {
        client.fail("expected exactly two stops");
    }
}

#[test]
fn the_uncaught_filter_alone_lets_caught_errors_pass() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "exceptions.lua", &["uncaught"]);
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 0 || stops(&client) != 0 {
        client.fail(&format!("expected a clean run: {exited}"));
    }
    client.wait_output("recovered", |o| o.contains("recovered\n"));
}

#[test]
fn an_uncaught_error_stops_once_at_its_raise_with_both_filters() {
    support::require_host();
    let mut client = Client::start();
    let name = "exceptions_uncaught.lua";
    start(&mut client, name, &["all", "uncaught"]);
    expect_exception(&mut client, "caught first", 2);
    client.ok("continue", json!({"threadId": 1}));
    let fatal = line_of(&client, name, "raise-fatal");
    expect_exception(&mut client, "fatal end", fatal);
    client.ok("continue", json!({"threadId": 1}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 1 || stops(&client) != 2 {
        client.fail(&format!("expected exit 1 after two stops: {exited}"));
    }
}

#[test]
fn with_no_filter_an_uncaught_error_ends_the_program_without_stopping() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "exceptions_uncaught.lua", &[]);
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 1 || stops(&client) != 0 {
        client.fail(&format!("expected exit 1 without a stop: {exited}"));
    }
    client.wait_output_of("stderr", "the traceback", |o| {
        o.contains("fatal end") && o.contains("stack traceback")
    });
    client.wait_event("terminated");
}
