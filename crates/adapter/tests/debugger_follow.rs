//! Breakpoints follow their code across a reload, through `hotreload-dap`
//! and the real Lua 5.4 host: lines added above a breakpoint move it (a
//! `breakpoint` event says where), conditions, hit counts and logpoints
//! move along, and it stops once per call afterwards.

mod support;

use std::path::PathBuf;

use serde_json::{json, Value};
use support::Client;

const MODULE_V1: &str = "local M = {}\nfunction M.step(n)\n  local doubled = n * 2 -- bp-here\n  return doubled -- log-here\nend\nreturn M\n";

/// Three lines added above `step`: everything below moves down by three.
const MODULE_V2: &str = "local M = {}\n-- a comment\nfunction M.helper()\n  return 1\nend\nfunction M.step(n)\n  local doubled = n * 2 -- bp-here\n  return doubled -- log-here\nend\nreturn M\n";

const MAIN: &str = "local m = require('mod')\nfor i = 1, 4 do\n  m.step(i)\nend\nprint('done')\n";

/// A scratch folder with main.lua and mod.lua (v1).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotreload-follow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::fs::write(dir.join("main.lua"), MAIN).expect("main.lua");
    std::fs::write(dir.join("mod.lua"), MODULE_V1).expect("mod.lua");
    dir
}

fn line_in(text: &str, marker: &str) -> i64 {
    text.lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or(0)
}

/// Stopped at the conditional breakpoint in `step` (n == 1 first); returns
/// the breakpoint ids (condition, logpoint).
fn start(client: &mut Client, dir: &std::path::Path) -> (Value, Value) {
    client.launch(json!({
        "program": dir.join("main.lua").display().to_string(),
        "luaPath": format!("{}/?.lua", dir.display()),
    }));
    let module = dir.join("mod.lua").display().to_string();
    let body = client.ok(
        "setBreakpoints",
        json!({"source": {"path": module}, "breakpoints": [
            {"line": line_in(MODULE_V1, "bp-here"), "condition": "n ~= 3"},
            {"line": line_in(MODULE_V1, "log-here"), "logMessage": "got {doubled}"},
        ]}),
    );
    client.ok("configurationDone", json!({}));
    (
        body["breakpoints"][0]["id"].clone(),
        body["breakpoints"][1]["id"].clone(),
    )
}

fn expect_stop(client: &mut Client, line: i64, n: &str) {
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    let top = frames.first().cloned().unwrap_or_default();
    if top["line"] != line {
        client.fail(&format!("stopped at {} not {line}", top["line"]));
    }
    let value = client.evaluate("n", Some(&top["id"]), "watch");
    if value != n {
        client.fail(&format!("n is {value}, expected {n}"));
    }
}

fn check_moves(client: &mut Client, ids: &(Value, Value)) {
    for (id, marker) in [(&ids.0, "bp-here"), (&ids.1, "log-here")] {
        let event = client.wait_event("breakpoint");
        if event["breakpoint"]["id"] != *id
            || event["breakpoint"]["line"] != line_in(MODULE_V2, marker)
        {
            client.fail(&format!("breakpoint event for {marker}: {event}"));
        }
    }
}

fn finish(client: &mut Client) {
    let bp = line_in(MODULE_V2, "bp-here");
    // Once per call: n = 2 stops, 3 is filtered by the condition, 4 stops.
    expect_stop(client, bp, "2");
    client.ok("continue", json!({"threadId": 1}));
    expect_stop(client, bp, "4");
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let console = client.output_of("console");
    let logged: Vec<&str> = console.lines().filter(|l| l.starts_with("got ")).collect();
    // The call stopped during the reload finishes in its old code, whose
    // lines no breakpoint refers to any more: it logs nothing.
    if logged != ["got 4", "got 6", "got 8"] {
        client.fail(&format!("logpoint output: {console:?}"));
    }
    let stops = client
        .event_names()
        .iter()
        .filter(|n| *n == "stopped")
        .count();
    if stops != 3 {
        client.fail(&format!("{stops} stops, expected 3"));
    }
}

#[test]
fn breakpoints_move_with_their_statements_when_the_source_is_sent() {
    support::require_host();
    let dir = scratch("source");
    let mut client = Client::start();
    let ids = start(&mut client, &dir);
    expect_stop(&mut client, line_in(MODULE_V1, "bp-here"), "1");
    client.ok("hotReload", json!({"module": "mod", "source": MODULE_V2}));
    check_moves(&mut client, &ids);
    client.ok("continue", json!({"threadId": 1}));
    finish(&mut client);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn breakpoints_move_when_the_file_is_reloaded_from_disk() {
    support::require_host();
    let dir = scratch("disk");
    let mut client = Client::start();
    let ids = start(&mut client, &dir);
    expect_stop(&mut client, line_in(MODULE_V1, "bp-here"), "1");
    std::fs::write(dir.join("mod.lua"), MODULE_V2).expect("write v2");
    client.ok(
        "hotReload",
        json!({"path": dir.join("mod.lua").display().to_string()}),
    );
    check_moves(&mut client, &ids);
    client.ok("continue", json!({"threadId": 1}));
    finish(&mut client);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_reload_moves_nothing() {
    support::require_host();
    let dir = scratch("failed");
    let mut client = Client::start();
    start(&mut client, &dir);
    expect_stop(&mut client, line_in(MODULE_V1, "bp-here"), "1");
    let refused = client.err(
        "hotReload",
        json!({"module": "mod", "source": "local M = {\nreturn M\n"}),
    );
    if refused.kind != "compile" || refused.line != Some(2) {
        client.fail(&format!("a reload that does not compile: {refused:?}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    // Still at the old line, n = 2 next.
    expect_stop(&mut client, line_in(MODULE_V1, "bp-here"), "2");
    if client.event_names().iter().any(|n| n == "breakpoint") {
        client.fail("a failed reload moved a breakpoint");
    }
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": dir.join("mod.lua").display().to_string()}, "breakpoints": []}),
    );
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let _ = std::fs::remove_dir_all(&dir);
}
