//! `exceptionInfo` through `hotreload-dap` and the real Lua 5.4 host: the
//! error value, its message, type and the traceback of the stop, for both
//! exception filters; a clear refusal for stops that are not errors.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

/// initialize (checking the capability), launch `name` with the filters.
fn start(client: &mut Client, name: &str, filters: &[&str]) {
    let caps = client.ok(
        "initialize",
        json!({"adapterID": "hotreload", "clientID": "test"}),
    );
    if caps["supportsExceptionInfoRequest"] != true {
        client.fail(&format!(
            "supportsExceptionInfoRequest not announced: {caps}"
        ));
    }
    client.ok("launch", json!({"program": fixture(name)}));
    client.wait_event("initialized");
    client.ok("setExceptionBreakpoints", json!({"filters": filters}));
}

fn info(client: &mut Client, stopped: &Value) -> Value {
    client.ok("exceptionInfo", json!({"threadId": stopped["threadId"]}))
}

#[test]
fn an_uncaught_error_has_its_message_and_traceback() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "exceptions_uncaught.lua", &["uncaught"]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("exception");
    let body = info(&mut client, &stopped);
    let trace = body["details"]["stackTrace"].as_str().unwrap_or("");
    if body["exceptionId"] != "error"
        || body["breakMode"] != "unhandled"
        || !body["description"]
            .as_str()
            .unwrap_or("")
            .contains("fatal end")
        || body["details"]["typeName"] != "string"
        || !trace.contains("stack traceback")
        || !trace.contains("fail")
    {
        client.fail(&format!("exceptionInfo: {body}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}

#[test]
fn a_caught_error_stopped_at_its_raise_breaks_always() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "exceptions.lua", &["all"]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("exception");
    let body = info(&mut client, &stopped);
    let trace = body["details"]["stackTrace"].as_str().unwrap_or("");
    if body["breakMode"] != "always"
        || body["details"]["message"] != json!(stopped["text"])
        || !trace.contains("exceptions.lua:6:")
        || !trace.contains("pcall")
    {
        client.fail(&format!("exceptionInfo: {body} for {stopped}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_stopped("exception");
    client.ok("continue", json!({"threadId": 1}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 0 {
        client.fail(&format!("pcall no longer caught: {exited}"));
    }
}

#[test]
fn a_table_error_shows_its_tostring_and_type() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "debugger/table_error.lua", &["uncaught"]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("exception");
    let body = info(&mut client, &stopped);
    if body["description"] != "E42" || body["details"]["typeName"] != "table" {
        client.fail(&format!("exceptionInfo: {body}"));
    }
}

#[test]
fn exception_info_is_refused_clearly_outside_an_error_stop() {
    support::require_host();
    let mut client = Client::start();
    start(&mut client, "exceptions_uncaught.lua", &["uncaught"]);
    let path = fixture("exceptions_uncaught.lua");
    client.set_breakpoints(&path, &[3]);
    client.ok("configurationDone", json!({}));
    client.wait_stopped("breakpoint");
    let refused = client.err("exceptionInfo", json!({"threadId": 1}));
    if refused.kind != "refused" {
        client.fail(&format!("refusal: {refused}"));
    }
    // The stop goes on as before: the error stop still follows.
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": path}, "breakpoints": []}),
    );
    client.ok("continue", json!({"threadId": 1}));
    let stopped = client.wait_stopped("exception");
    let body = info(&mut client, &stopped);
    if !body["description"]
        .as_str()
        .unwrap_or("")
        .contains("fatal end")
    {
        client.fail(&format!("exceptionInfo after a breakpoint stop: {body}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let gone = client.err("exceptionInfo", json!({"threadId": 1}));
    // Refused by the host while it ends, or by the session once it is gone.
    if !matches!(gone.kind.as_str(), "refused" | "notRunning") {
        client.fail(&format!("exceptionInfo after the end: {gone}"));
    }
}
