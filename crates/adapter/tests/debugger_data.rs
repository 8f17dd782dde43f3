//! Data breakpoints through `hotreload-dap` and the real host (each runtime): a
//! table field, a local and an upvalue, each stopping after it is written
//! with the old and new value in the stop's description, also in a loop
//! the JIT compiled.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

const PROGRAM: &str = "debugger/data.lua";

fn line_of(marker: &str) -> i64 {
    std::fs::read_to_string(fixture(PROGRAM))
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or(0)
}

/// Stopped in `play` at the loop; returns (Locals, Upvalues) references.
fn stop_in_play(client: &mut Client) -> (Value, Value) {
    let program = fixture(PROGRAM);
    let caps = client.ok("initialize", json!({"adapterID": "hotreload"}));
    if caps["supportsDataBreakpoints"] != true {
        client.fail(&format!("capabilities: {caps}"));
    }
    client.ok("launch", support::with_runtime(json!({"program": program})));
    client.wait_event("initialized");
    client.set_breakpoints(&program, &[line_of("-- loop")]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frame = client.stack(&stopped["threadId"])[0]["id"].clone();
    let scopes = client.ok("scopes", json!({"frameId": frame}));
    client.set_breakpoints(&program, &[]);
    (
        scopes["scopes"][0]["variablesReference"].clone(),
        scopes["scopes"][1]["variablesReference"].clone(),
    )
}

fn data_id(client: &mut Client, reference: &Value, name: &str) -> Value {
    let info = client.ok(
        "dataBreakpointInfo",
        json!({"variablesReference": reference, "name": name}),
    );
    if !info["dataId"].is_string() || info["accessTypes"] != json!(["write"]) {
        client.fail(&format!("dataBreakpointInfo {name}: {info}"));
    }
    info["dataId"].clone()
}

fn expect(client: &mut Client, description: &str, line: i64) {
    let stopped = client.wait_stopped("data breakpoint");
    if stopped["description"] != description
        || stopped["hitBreakpointIds"].as_array().map(Vec::len) != Some(1)
    {
        client.fail(&format!("stop: {stopped}, expected {description:?}"));
    }
    let top = client.stack(&stopped["threadId"])[0]["line"].clone();
    if top != line {
        client.fail(&format!("{description}: stopped at {top}, expected {line}"));
    }
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
}

#[test]
fn writes_to_a_field_a_local_and_an_upvalue_stop_after_the_write() {
    support::require_host();
    let mut client = Client::start();
    let (locals, upvalues) = stop_in_play(&mut client);
    let total = data_id(&mut client, &locals, "total");
    let counter = data_id(&mut client, &upvalues, "counter");
    let state = client.variable(&upvalues, "state")["variablesReference"].clone();
    let score = data_id(&mut client, &state, "score");
    let body = client.ok(
        "setDataBreakpoints",
        json!({"breakpoints": [{"dataId": total}, {"dataId": counter}, {"dataId": score}]}),
    );
    let verified = body["breakpoints"]
        .as_array()
        .map(|b| b.iter().all(|b| b["verified"] == true));
    if verified != Some(true) {
        client.fail(&format!("setDataBreakpoints: {body}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    expect(&mut client, "total changed: 0 -> 1", line_of("field-write"));
    expect(&mut client, "counter changed: 0 -> 1", line_of("-- loop"));
    expect(&mut client, "total changed: 1 -> 3", line_of("field-write"));
    client.ok(
        "setDataBreakpoints",
        json!({"breakpoints": [{"dataId": score}]}),
    );
    expect(
        &mut client,
        "score changed: 0 -> 10",
        line_of("upvalue-write"),
    );
    client.wait_event("exited");
    let out = client.output_of("stdout");
    if out != "6\t10\t3\n" {
        client.fail(&format!("the program's output changed: {out:?}"));
    }
}

#[test]
fn what_cannot_be_watched_is_said_and_nothing_changes() {
    support::require_host();
    let mut client = Client::start();
    let (locals, _) = stop_in_play(&mut client);
    for (args, why) in [
        (
            json!({"variablesReference": locals, "name": "nosuch"}),
            "no local nosuch",
        ),
        (json!({"name": "total"}), "only variables shown"),
    ] {
        let info = client.ok("dataBreakpointInfo", args.clone());
        if !info["dataId"].is_null() || !info["description"].as_str().unwrap_or("").contains(why) {
            client.fail(&format!("dataBreakpointInfo {args}: {info}"));
        }
    }
    let refused = client.err(
        "dataBreakpointInfo",
        json!({"variablesReference": 999, "name": "x"}),
    );
    if refused.kind != "invalidArguments" || !refused.message.contains("999") {
        client.fail(&format!("unknown reference: {refused}"));
    }
    let body = client.ok(
        "setDataBreakpoints",
        json!({"breakpoints": [{"dataId": "data:999"}, {"dataId": "bogus"}, {"dataId": "data:1", "accessType": "read"}]}),
    );
    let answers = body["breakpoints"].as_array().cloned().unwrap_or_default();
    if answers.len() != 3
        || answers
            .iter()
            .any(|b| b["verified"] != false || b["message"].is_null())
    {
        client.fail(&format!("setDataBreakpoints with bad ids: {body}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    if client
        .event_names()
        .iter()
        .filter(|n| *n == "stopped")
        .count()
        != 1
    {
        client.fail("a refused data breakpoint stopped the program");
    }
    let running = client.err(
        "dataBreakpointInfo",
        json!({"variablesReference": 1, "name": "x"}),
    );
    // Refused by the host while it ends, or by the session once it is gone.
    if !matches!(running.kind.as_str(), "refused" | "notRunning") {
        client.fail(&format!("dataBreakpointInfo after the end: {running}"));
    }
}

/// A loop that writes a field every 1000 iterations, long enough to be
/// compiled where the VM has a JIT (compiled code runs no hooks).
const COMPILED_LOOP: &str = "local t = { count = 0 }\nlocal function run()\n  local acc = 0\n  while true do\n    acc = acc + 1\n    if acc == 200000 then print('spinning') end\n    if acc % 1000 == 0 then t.count = t.count + 1 end\n    if t.count < 0 then break end\n  end\nend\nrun()\n";

#[test]
fn a_field_written_in_a_compiled_loop_stops() {
    support::require_host();
    let program = Client::temp_program("data-compiled.lua", COMPILED_LOOP);
    let mut client = Client::start();
    client.launch(json!({ "program": program }));
    client.ok("configurationDone", json!({}));
    let stack = client.pause_in_loop("spinning", "run");
    let frame = stack[0]["id"].clone();
    let scopes = client.ok("scopes", json!({"frameId": frame}));
    let upvalues = scopes["scopes"][1]["variablesReference"].clone();
    let t = client.variable(&upvalues, "t")["variablesReference"].clone();
    let count = data_id(&mut client, &t, "count");
    let before: i64 = client
        .evaluate("t.count", Some(&frame), "watch")
        .parse()
        .unwrap_or_else(|_| client.fail("t.count is not a number"));
    client.ok(
        "setDataBreakpoints",
        json!({"breakpoints": [{"dataId": count}]}),
    );
    client.ok("continue", json!({"threadId": 1}));
    let stopped = client.wait_stopped("data breakpoint");
    let expected = format!("count changed: {before} -> {}", before + 1);
    if stopped["description"] != expected {
        client.fail(&format!("stop: {stopped}, expected {expected:?}"));
    }
}
