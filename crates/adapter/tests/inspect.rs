//! Breakpoints, stack, scopes, variables, evaluate, steps and pause through
//! `hotreload-dap` and the real Lua 5.4 host.

mod support;

use serde_json::{json, Value};
use support::{fixture, with_runtime, Client};

/// Starts inspect.lua stopped at the breakpoint in `compute` (line 9).
fn stopped_in_compute() -> (Client, String, Value) {
    let mut client = Client::start();
    let program = fixture("inspect.lua");
    client.launch(json!({"program": program}));
    let breakpoints = client.set_breakpoints(&program, &[9]);
    if breakpoints.len() != 1 || breakpoints[0]["verified"] != true || breakpoints[0]["line"] != 9 {
        client.fail(&format!(
            "breakpoint not verified at line 9: {breakpoints:?}"
        ));
    }
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let thread = stopped["threadId"].clone();
    (client, program, thread)
}

fn line_of(frame: &Value) -> i64 {
    frame["line"].as_i64().unwrap_or(-1)
}

#[test]
fn breakpoint_stack_scopes_variables_and_evaluate() {
    let (mut client, program, thread) = stopped_in_compute();
    let threads = client.ok("threads", json!({}));
    if !threads["threads"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["id"] == thread))
    {
        client.fail("the stopped thread is not among the threads");
    }

    let frames = client.stack(&thread);
    if frames.len() < 2 {
        client.fail("expected compute and the main chunk on the stack");
    }
    let (top, main) = (frames[0].clone(), frames[1].clone());
    if line_of(&top) != 9 || !top["name"].as_str().unwrap_or("").contains("compute") {
        client.fail(&format!("top frame is not compute at line 9: {top}"));
    }
    if top["source"]["path"] != program.as_str() {
        client.fail(&format!("top frame source is not the program: {top}"));
    }
    if line_of(&main) != 18 {
        client.fail(&format!("caller frame is not at line 18: {main}"));
    }

    let scopes = client.ok("scopes", json!({"frameId": top["id"]}));
    let scopes = scopes["scopes"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = scopes.iter().filter_map(|s| s["name"].as_str()).collect();
    if !names.contains(&"Locals") || !names.contains(&"Globals") {
        client.fail(&format!("scopes lack Locals/Globals: {names:?}"));
    }
    let locals = scopes
        .iter()
        .find(|s| s["name"] == "Locals")
        .map(|s| s["variablesReference"].clone())
        .unwrap_or_default();
    let n = client.variable(&locals, "n");
    if n["value"] != "20" {
        client.fail(&format!("n is not 20: {n}"));
    }

    // The main chunk's locals hold a nested table: expand it twice.
    let scopes = client.ok("scopes", json!({"frameId": main["id"]}));
    let main_locals = scopes["scopes"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "Locals"))
        .map(|s| s["variablesReference"].clone())
        .unwrap_or_default();
    let config = client.variable(&main_locals, "config");
    if config["variablesReference"].as_i64().unwrap_or(0) <= 0 {
        client.fail(&format!("config is not expandable: {config}"));
    }
    let name = client.variable(&config["variablesReference"], "name");
    if !name["value"].as_str().unwrap_or("").contains("demo") {
        client.fail(&format!("config.name is not demo: {name}"));
    }
    let inner = client.variable(&config["variablesReference"], "inner");
    let x = client.variable(&inner["variablesReference"], "x");
    if x["value"] != "42" {
        client.fail(&format!("config.inner.x is not 42: {x}"));
    }
    let list = client.variable(&inner["variablesReference"], "list");
    let items = client.variables(&list["variablesReference"]);
    if items.len() != 3 {
        client.fail(&format!(
            "config.inner.list does not have 3 items: {items:?}"
        ));
    }

    let result = client.evaluate("n * 2", Some(&top["id"]), "repl");
    if result != "40" {
        client.fail(&format!("n * 2 in compute's frame gave {result}"));
    }
    let result = client.evaluate("config.inner.x + 1", Some(&main["id"]), "repl");
    if result != "43" {
        client.fail(&format!(
            "config.inner.x + 1 in the main frame gave {result}"
        ));
    }
    let result = client.evaluate("config.name", Some(&main["id"]), "hover");
    if !result.contains("demo") {
        client.fail(&format!("hover on config.name gave {result}"));
    }
    let failed = client.request(
        "evaluate",
        json!({"expression": "nil + 1", "frameId": top["id"], "context": "repl"}),
    );
    if failed.success {
        client.fail("evaluating an erroring expression succeeded");
    }

    client.set_breakpoints(&program, &[]);
    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
    client.wait_event("terminated");
    if !client.stdout_text().contains("value\t41\tdemo") {
        client.fail("the program did not finish with its own output");
    }
}

#[test]
fn step_in_next_and_step_out() {
    let (mut client, program, thread) = stopped_in_compute();
    client.set_breakpoints(&program, &[]);

    client.ok("stepIn", json!({"threadId": thread}));
    client.wait_stopped("step");
    let frames = client.stack(&thread);
    if line_of(&frames[0]) != 4 || !frames[0]["name"].as_str().unwrap_or("").contains("add") {
        client.fail(&format!(
            "stepIn did not enter add at line 4: {}",
            frames[0]
        ));
    }

    client.ok("next", json!({"threadId": thread}));
    client.wait_stopped("step");
    let frames = client.stack(&thread);
    if line_of(&frames[0]) != 5 {
        client.fail(&format!("next did not reach line 5: {}", frames[0]));
    }

    client.ok("stepOut", json!({"threadId": thread}));
    client.wait_stopped("step");
    let frames = client.stack(&thread);
    let line = line_of(&frames[0]);
    if !(9..=10).contains(&line) || !frames[0]["name"].as_str().unwrap_or("").contains("compute") {
        client.fail(&format!("stepOut did not return to compute: {}", frames[0]));
    }

    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
}

#[test]
fn step_out_returns_to_the_main_chunk_after_an_evaluation() {
    let (mut client, program, thread) = stopped_in_compute();
    client.set_breakpoints(&program, &[]);
    // An evaluation before the step: on LuaJIT, whose hook is the whole
    // VM's, it once left the step without its return event.
    let top = client.stack(&thread)[0]["id"].clone();
    let n = client.evaluate("n", Some(&top), "hover");
    if n != "20" {
        client.fail(&format!("n at the stop: {n}"));
    }
    client.ok("stepOut", json!({"threadId": thread}));
    let stopped = client.wait_stopped("step");
    if stopped["threadId"] != thread {
        client.fail(&format!("stepOut stopped on another thread: {stopped}"));
    }
    let frames = client.stack(&thread);
    let line = line_of(&frames[0]);
    // The rest of line 18 stores compute's result; Lua reports no new line
    // for it, so the step ends at line 19.
    if !(18..=19).contains(&line) || !frames[0]["name"].as_str().unwrap_or("").contains("main") {
        client.fail(&format!(
            "stepOut did not return to the main chunk: {frames:?}"
        ));
    }
    let value = client.evaluate("value", Some(&frames[0]["id"]), "watch");
    if line == 19 && value != "41" {
        client.fail(&format!("value after compute returned: {value}"));
    }
    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
    if !client.stdout_text().contains("value\t41\tdemo") {
        client.fail("the program did not finish with its own output");
    }
}

#[test]
fn pause_stops_a_tight_loop() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    // Not a sleep: a loaded machine may not have started the loop yet, and
    // a pause there stops before it (counter = 0). Evaluating runs meanwhile.
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    while client.evaluate("counter ~= nil and counter > 0", None, "repl") != "true" {
        if std::time::Instant::now() > deadline {
            client.fail("the loop did not start");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    client.ok("pause", json!({"threadId": 1}));
    let stopped = client.wait_stopped("pause");
    let thread = stopped["threadId"].clone();
    let frames = client.stack(&thread);
    if !(3..=4).contains(&line_of(&frames[0])) {
        client.fail(&format!("paused outside the loop: {}", frames[0]));
    }
    let positive = client.evaluate("counter > 0", Some(&frames[0]["id"]), "repl");
    if positive != "true" {
        client.fail(&format!("counter > 0 gave {positive}"));
    }
    // It runs again after continue, and pauses again.
    client.ok("continue", json!({"threadId": thread}));
    client.ok("pause", json!({"threadId": thread}));
    client.wait_stopped("pause");
    client.ok("disconnect", json!({}));
}

/// Runs conditions.lua with one breakpoint on line 5 described by `bp`.
fn conditions_with(bp: Value) -> (Client, String) {
    let mut client = Client::start();
    let program = fixture("conditions.lua");
    let caps = client.ok("initialize", json!({"adapterID": "hotreload"}));
    for cap in [
        "supportsConditionalBreakpoints",
        "supportsHitConditionalBreakpoints",
        "supportsLogPoints",
    ] {
        if caps[cap] != true {
            client.fail(&format!("{cap} is not advertised"));
        }
    }
    client.ok("launch", with_runtime(json!({"program": program})));
    client.wait_event("initialized");
    let mut bp = bp;
    bp["line"] = json!(5);
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [bp]}),
    );
    client.ok("configurationDone", json!({}));
    (client, program)
}

#[test]
fn a_conditional_breakpoint_stops_only_when_true() {
    let (mut client, _) = conditions_with(json!({"condition": "i == 7"}));
    let thread = client.wait_stopped("breakpoint")["threadId"].clone();
    let frames = client.stack(&thread);
    let i = client.evaluate("i", Some(&frames[0]["id"]), "watch");
    if i != "7" {
        client.fail(&format!("stopped with i = {i}, expected 7"));
    }
    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
    if client
        .event_names()
        .iter()
        .filter(|n| *n == "stopped")
        .count()
        != 1
    {
        client.fail("the conditional breakpoint stopped more than once");
    }
}

#[test]
fn a_hit_count_breakpoint_stops_on_that_hit() {
    let (mut client, _) = conditions_with(json!({"hitCondition": "3"}));
    let thread = client.wait_stopped("breakpoint")["threadId"].clone();
    let frames = client.stack(&thread);
    let i = client.evaluate("i", Some(&frames[0]["id"]), "repl");
    if i != "3" {
        client.fail(&format!("stopped with i = {i}, expected 3"));
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn a_logpoint_prints_without_stopping() {
    let (mut client, _) = conditions_with(json!({"logMessage": "i={i} total={total}"}));
    client.wait_event("exited");
    if client.event_names().iter().any(|n| n == "stopped") {
        client.fail("a logpoint stopped the program");
    }
    let all: String = ["console", "stdout", "stderr", "important"]
        .iter()
        .map(|c| client.output_of(c))
        .collect();
    if !all.contains("i=1 total=0") || !all.contains("i=10 total=45") {
        client.fail("logpoint messages missing or not interpolated");
    }
}

#[test]
fn stack_trace_pages_with_start_frame_and_levels() {
    let (mut client, _, thread) = stopped_in_compute();
    let all = client.ok("stackTrace", json!({"threadId": thread}));
    let page = client.ok(
        "stackTrace",
        json!({"threadId": thread, "startFrame": 1, "levels": 1}),
    );
    let frames = page["stackFrames"].as_array().cloned().unwrap_or_default();
    if frames.len() != 1 || frames[0]["id"] != all["stackFrames"][1]["id"] {
        client.fail("startFrame/levels did not return the second frame alone");
    }
    if page["totalFrames"].as_i64().unwrap_or(0) < 2 {
        client.fail("totalFrames is missing or too small");
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn breakpoints_set_while_running_take_effect() {
    let mut client = Client::start();
    let dir = support::fixtures().join("reload").display().to_string();
    let program = fixture("reload/running.lua");
    client.run(json!({"program": program, "luaPath": format!("{dir}/?.lua")}));
    client.wait_output("a tick", |o| o.contains("v1 count=2\n"));
    let placed = client.set_breakpoints(&program, &[11]);
    if placed.first().map(|b| b["verified"].clone()) != Some(json!(true)) {
        client.fail("breakpoint set while running is not verified");
    }
    let thread = client.wait_stopped("breakpoint")["threadId"].clone();
    let frames = client.stack(&thread);
    if frames.first().map(|f| f["line"].clone()) != Some(json!(11)) {
        client.fail("did not stop at line 11");
    }
    client.ok("disconnect", json!({}));
}

/// A tail call on the stack: Lua 5.1 keeps no frame of the function that
/// made it and lists one level "(tail call)" instead, shown as such, with no
/// source (it is no chunk); 5.2+ and LuaJIT list no such level.
#[test]
fn a_tail_call_on_the_stack_is_named_and_has_no_source() {
    let program = Client::temp_program(
        "tailcall.lua",
        "local function g(n)\n  local x = n + 1\n  return x\nend\nlocal function f(n)\n  return g(n)\nend\nprint(f(1))\n",
    );
    let mut client = Client::start();
    client.launch(json!({ "program": program }));
    client.set_breakpoints(&program, &[2]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    if frames.first().map(line_of) != Some(2) {
        client.fail(&format!("the top frame is not g's line 2: {frames:?}"));
    }
    let tail: Vec<&Value> = frames
        .iter()
        .filter(|f| f["name"] == "(tail call)")
        .collect();
    // LuaJIT, though it speaks 5.1's API, lists no such level either.
    let lua51 = support::runtime() == "lua5.1";
    if tail.len() != usize::from(lua51) {
        client.fail(&format!("tail call levels: {frames:?}"));
    }
    if tail.iter().any(|f| !f["source"].is_null()) {
        client.fail(&format!("a tail call level has a source: {tail:?}"));
    }
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    client.wait_event("terminated");
}
