//! Function breakpoints, loadedSources and the `source` request through
//! `hotreload-dap` and the real Lua 5.4 host.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

fn dir() -> String {
    fixture("debugger/functions")
}

fn main_lua() -> String {
    format!("{}/main.lua", dir())
}

fn line_of(file: &str, marker: &str) -> i64 {
    std::fs::read_to_string(format!("{}/{file}", dir()))
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("{file} has no {marker} line"))
}

/// Launches main.lua with its folder on package.path; checks capabilities.
fn launch(client: &mut Client) {
    let caps = client.ok(
        "initialize",
        json!({"adapterID": "hotreload", "clientID": "test"}),
    );
    if caps["supportsFunctionBreakpoints"] != true || caps["supportsLoadedSourcesRequest"] != true {
        client.fail(&format!("capabilities: {caps}"));
    }
    client.ok(
        "launch",
        json!({"program": main_lua(), "luaPath": format!("{}/?.lua", dir())}),
    );
    client.wait_event("initialized");
}

/// The stop's top frame: (file name, line).
fn top(client: &mut Client, stopped: &Value) -> (String, i64) {
    let frames = client.stack(&stopped["threadId"]);
    let f = frames.first().cloned().unwrap_or_default();
    (
        f["source"]["name"].as_str().unwrap_or("").to_owned(),
        f["line"].as_i64().unwrap_or(0),
    )
}

#[test]
fn function_breakpoints_stop_on_entry_and_bind_when_their_module_loads() {
    support::require_host();
    let mut client = Client::start();
    launch(&mut client);
    let body = client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [
            {"name": "helper", "condition": "x == 1"},
            {"name": "greet"},
            {"name": "M.Square:area"},
            {"name": "nosuch.fn"},
            {"name": "1bad"},
        ]}),
    );
    let bps = body["breakpoints"].as_array().cloned().unwrap_or_default();
    let verified: Vec<bool> = bps.iter().map(|b| b["verified"] == true).collect();
    if verified != [true, true, false, false, false]
        || bps[0]["line"] != line_of("main.lua", "helper-entry")
        || bps[1]["line"] != line_of("main.lua", "greet-def")
        || !bps[2]["message"]
            .as_str()
            .unwrap_or("")
            .contains("is loaded yet")
        || !bps[4]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not a function name")
    {
        client.fail(&format!("setFunctionBreakpoints: {body}"));
    }
    let area_id = bps[2]["id"].clone();
    client.ok("configurationDone", json!({}));

    // helper's condition holds on its second call only.
    let stopped = client.wait_stopped("breakpoint");
    if stopped["hitBreakpointIds"] != json!([bps[0]["id"]])
        || top(&mut client, &stopped) != ("main.lua".into(), line_of("main.lua", "helper-entry"))
    {
        client.fail(&format!("helper stop: {stopped}"));
    }
    let frame = client.stack(&stopped["threadId"])[0]["id"].clone();
    if client.evaluate("x", Some(&frame), "watch") != "1" {
        client.fail("helper stopped with x other than 1");
    }
    client.ok("continue", json!({"threadId": 1}));

    // The method is bound once shapes.lua loads, and the client is told.
    let event = client.wait_event("breakpoint");
    if event["breakpoint"]["id"] != area_id
        || event["breakpoint"]["verified"] != true
        || event["breakpoint"]["line"] != line_of("shapes.lua", "area-entry")
    {
        client.fail(&format!("breakpoint event: {event}"));
    }
    let stopped = client.wait_stopped("breakpoint");
    if top(&mut client, &stopped) != ("shapes.lua".into(), line_of("shapes.lua", "area-entry")) {
        client.fail(&format!("area stop: {stopped}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    // greet is a one-liner: it stops in greet, never where the chunk defines it.
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    if frames[0]["line"] != line_of("main.lua", "greet-def") || frames[0]["name"] == "main chunk" {
        client.fail(&format!("greet stop: {frames:?}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.output_of("stdout");
    if !out.contains("4\thi x\t3") || !out.contains("42") {
        client.fail(&format!("the program's output changed: {out:?}"));
    }
}

#[test]
fn loaded_sources_list_files_and_load_chunks_whose_text_the_source_request_gives() {
    support::require_host();
    let mut client = Client::start();
    launch(&mut client);
    client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [{"name": "inner"}]}),
    );
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    let chunk_frame = frames
        .iter()
        .find(|f| f["source"]["sourceReference"].as_i64().unwrap_or(0) > 0)
        .cloned()
        .unwrap_or_else(|| client.fail(&format!("no frame of the load chunk: {frames:?}")));
    let reference = chunk_frame["source"]["sourceReference"].clone();
    let text = client.ok(
        "source",
        json!({"source": {"sourceReference": reference}, "sourceReference": reference}),
    );
    if text["content"] != "local f = ...\nlocal r = f()\nreturn r" {
        client.fail(&format!("source: {text}"));
    }
    let listed = client.ok("loadedSources", json!({}));
    let sources = listed["sources"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = sources.iter().filter_map(|s| s["name"].as_str()).collect();
    if !names.contains(&"main.lua")
        || !names.contains(&"shapes.lua")
        || !sources.iter().any(|s| s["sourceReference"] == reference)
    {
        client.fail(&format!("loadedSources: {listed}"));
    }
    // Each was announced with a loadedSource event.
    let events = client
        .event_names()
        .iter()
        .filter(|n| *n == "loadedSource")
        .count();
    if events < 3 {
        client.fail(&format!("{events} loadedSource events"));
    }
    // Bad references and paths are refused; the stop goes on.
    for args in [
        json!({"sourceReference": 999}),
        json!({"sourceReference": -1}),
        json!({"source": {"path": "/nonexistent/x.lua"}, "sourceReference": 0}),
    ] {
        let refused = client.err("source", args.clone());
        if refused.kind != "invalidArguments" && refused.kind != "notFound" {
            client.fail(&format!("source {args}: {refused}"));
        }
    }
    let file = client.ok(
        "source",
        json!({"source": {"path": format!("{}/shapes.lua", dir())}, "sourceReference": 0}),
    );
    if !file["content"]
        .as_str()
        .unwrap_or("")
        .contains("M.Square:area")
    {
        client.fail(&format!("source of a loaded file: {file}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}
