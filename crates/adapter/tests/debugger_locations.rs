//! `breakpointLocations` through `hotreload-dap` and the real Lua 5.4 host:
//! the lines of a range that hold code, before and while the program runs.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

fn lines(body: &Value) -> Vec<i64> {
    body["breakpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|b| b["line"].as_i64())
        .collect()
}

#[test]
fn breakpoint_locations_are_the_lines_with_code() {
    support::require_host();
    let mut client = Client::start();
    let caps = client.ok("initialize", json!({"adapterID": "hotreload"}));
    if caps["supportsBreakpointLocationsRequest"] != true {
        client.fail(&format!("capabilities: {caps}"));
    }
    let program = fixture("debugger/data.lua");
    client.ok("launch", json!({"program": program}));
    client.wait_event("initialized");
    // data.lua: line 1 is a comment, 2-3 code, 4-12 play, 13 the print.
    let all = lines(&client.ok(
        "breakpointLocations",
        json!({"source": {"path": program}, "line": 1, "endLine": 13}),
    ));
    if all.first() != Some(&2) || all.contains(&1) || all.last() != Some(&13) {
        client.fail(&format!("locations 1..13: {all:?}"));
    }
    let one = lines(&client.ok(
        "breakpointLocations",
        json!({"source": {"path": program}, "line": 1}),
    ));
    if !one.is_empty() {
        client.fail(&format!("a comment line has locations: {one:?}"));
    }
    let refused = client.err(
        "breakpointLocations",
        json!({"source": {"path": "/nonexistent/x.lua"}, "line": 1}),
    );
    if refused.kind != "notFound" || refused.path.as_deref() != Some("/nonexistent/x.lua") {
        client.fail(&format!("a missing file: {refused:?}"));
    }
    let backwards = lines(&client.ok(
        "breakpointLocations",
        json!({"source": {"path": program}, "line": 13, "endLine": -5}),
    ));
    if backwards != [13] {
        client.fail(&format!("an end before the start: {backwards:?}"));
    }
    client.ok("configurationDone", json!({}));
    client.wait_event("exited");
}
