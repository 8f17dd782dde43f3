//! The `hotReload` request through `hotreload-dap` and the real host: while
//! stopped, while running, and failures that must change nothing.

mod support;

use serde_json::{json, Value};
use support::{fixture, fixtures, Client};

/// ticker.lua with `v2` output; `count` is the same upvalue as in v1.
const TICKER_V2: &str = r#"-- v2 of the module the reload tests edit.
local M = {}
local count = 0

function M.tick()
  count = count + 1
  return "v2 count=" .. count
end

function M.extra()
  return "new"
end

return M
"#;

/// Does not compile (line 5).
const TICKER_SYNTAX_ERROR: &str = r#"local M = {}
local count = 0

function M.tick()
  count = count + 1 +
end

return M
"#;

/// Compiles, then fails in its top level (line 9) after writing a global
/// and redefining `tick`; none of that may stay.
const TICKER_RUNTIME_ERROR: &str = r#"local M = {}
local count = 0

function M.tick()
  count = count + 1
  return "broken count=" .. count
end
RELOAD_LEAK = "leaked"
error("boom in the new top level")
return M
"#;

fn reload_dir() -> String {
    fixtures().join("reload").display().to_string()
}

fn launch_args(program: &str) -> Value {
    json!({
        "program": fixture(program),
        "luaPath": format!("{}/?.lua", reload_dir()),
    })
}

/// The largest `count=N` printed by the given version so far.
fn last_count(output: &str, version: &str) -> Option<u64> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{version} count=")))
        .filter_map(|n| n.parse().ok())
        .max()
}

/// Starts running.lua and waits until it has ticked a few times.
fn running_ticker() -> Client {
    let mut client = Client::start();
    client.run(launch_args("reload/running.lua"));
    client.wait_output("three v1 ticks", |o| {
        last_count(o, "v1").is_some_and(|n| n >= 3)
    });
    client
}

#[test]
fn reload_while_running_keeps_state_and_runs_new_code() {
    let mut client = running_ticker();
    let body = client.ok(
        "hotReload",
        json!({"module": "ticker", "source": TICKER_V2}),
    );
    let before = last_count(&client.stdout_text(), "v1").unwrap_or(0);
    if body["module"] != "ticker" || !body["path"].as_str().unwrap_or("").ends_with("ticker.lua") {
        client.fail(&format!(
            "response does not name the module and path: {body}"
        ));
    }
    let listed = |key: &str, name: &str| {
        body[key].as_array().is_some_and(|a| {
            a.iter()
                .any(|v| v.as_str().is_some_and(|s| s.ends_with(name)))
        })
    };
    if !listed("changed", "tick") || !listed("added", "extra") {
        client.fail(&format!("changed/added are wrong: {body}"));
    }
    if !body["durationMs"].is_number() || !body["warnings"].is_array() {
        client.fail(&format!("durationMs/warnings missing: {body}"));
    }

    let event = client.wait_event("hotReloaded");
    if event != body {
        client.fail("the hotReloaded event body differs from the response body");
    }
    client.wait_event("invalidated");
    let summary = client.wait_output_of("console", "the reload summary", |o| {
        o.contains("hot reload ticker: 1 changed, 1 added, 0 removed (")
    });
    if !summary.lines().any(|l| l.ends_with(" ms)")) {
        client.fail("the reload summary does not end with the duration");
    }

    // New code runs and the count continues from where v1 left it.
    let output = client.wait_output("v2 ticks", |o| last_count(o, "v2").is_some());
    let first_v2 = output
        .lines()
        .find_map(|l| l.strip_prefix("v2 count="))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    if first_v2 <= before {
        client.fail(&format!(
            "count restarted: last v1 {before}, first v2 {first_v2}"
        ));
    }
    let extra = client.evaluate("require('ticker').extra()", None, "repl");
    if !extra.contains("new") {
        client.fail(&format!("the added function is not callable: {extra}"));
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn reload_while_stopped_then_continue_runs_new_code() {
    let mut client = Client::start();
    let program = fixture("reload/stopped.lua");
    client.launch(launch_args("reload/stopped.lua"));
    client.set_breakpoints(&program, &[4]);
    client.ok("configurationDone", json!({}));
    let thread = client.wait_stopped("breakpoint")["threadId"].clone();
    client.ok("continue", json!({"threadId": thread}));
    client.wait_stopped("breakpoint");
    client.wait_output("the first tick", |o| o.contains("v1 count=1\n"));

    let body = client.ok(
        "hotReload",
        json!({"module": "ticker", "source": TICKER_V2}),
    );
    client.wait_event("hotReloaded");
    client.wait_event("invalidated");
    if !body["changed"].is_array() {
        client.fail(&format!("no changed list: {body}"));
    }
    // Stopped programs are still inspectable after a reload.
    let frames = client.stack(&thread);
    if frames.first().map(|f| f["line"].clone()) != Some(json!(4)) {
        client.fail("the stopped frame moved during the reload");
    }

    client.set_breakpoints(&program, &[]);
    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
    client.wait_event("terminated");
    let output = client.stdout_text();
    if output != "v1 count=1\nv2 count=2\nv2 count=3\n" {
        client.fail(&format!("unexpected output after the reload: {output:?}"));
    }
}

#[test]
fn reload_with_a_syntax_error_changes_nothing() {
    let mut client = running_ticker();
    let message = client.err(
        "hotReload",
        json!({"module": "ticker", "source": TICKER_SYNTAX_ERROR}),
    );
    let located = message
        .path
        .as_deref()
        .is_some_and(|p| p.ends_with("ticker.lua"));
    if message.kind != "compile" || !located || message.line.is_none() {
        client.fail(&format!("a syntax error not located: {message:?}"));
    }
    if client
        .wait_event_for("hotReloaded", std::time::Duration::from_millis(300))
        .is_some()
    {
        client.fail("a failed reload sent hotReloaded");
    }
    let before = last_count(&client.stdout_text(), "v1").unwrap_or(0);
    client.wait_output("v1 ticks continuing", |o| {
        last_count(o, "v1").is_some_and(|n| n > before + 2)
    });
    client.ok("disconnect", json!({}));
}

#[test]
fn reload_with_an_error_in_the_new_top_level_changes_nothing() {
    let mut client = running_ticker();
    let message = client.err(
        "hotReload",
        json!({"module": "ticker", "source": TICKER_RUNTIME_ERROR}),
    );
    let located = message
        .path
        .as_deref()
        .is_some_and(|p| p.ends_with("ticker.lua"));
    if message.kind != "runtime" || !located || message.line != Some(9) {
        client.fail(&format!(
            "error is not located at ticker.lua:9: {message:?}"
        ));
    }
    let before = last_count(&client.stdout_text(), "v1").unwrap_or(0);
    client.wait_output("v1 ticks continuing", |o| {
        last_count(o, "v1").is_some_and(|n| n > before + 2)
    });
    if client.stdout_text().contains("broken") {
        client.fail("code from the failed reload ran");
    }
    let leak = client.evaluate("tostring(RELOAD_LEAK)", None, "repl");
    if leak.contains("leaked") {
        client.fail("a global written by the failed top level stayed");
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn reload_of_an_unknown_module_fails_by_name() {
    let mut client = running_ticker();
    let message = client.err("hotReload", json!({"module": "no.such.module"}));
    if message.kind != "notFound" || !message.message.contains("no.such.module") {
        client.fail(&format!("unknown module not named: {message}"));
    }
    let before = last_count(&client.stdout_text(), "v1").unwrap_or(0);
    client.wait_output("v1 ticks continuing", |o| {
        last_count(o, "v1").is_some_and(|n| n > before)
    });
    client.ok("disconnect", json!({}));
}

#[test]
fn reload_by_path_reads_the_new_source_from_disk() {
    // A private copy of the module, edited on disk like a user would.
    let dir = std::env::temp_dir().join(format!("hotreload-by-path-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let module = dir.join("ticker.lua");
    let copied = std::fs::copy(fixtures().join("reload/ticker.lua"), &module);
    assert!(copied.is_ok(), "cannot copy the fixture: {copied:?}");

    let mut client = Client::start();
    client.run(json!({
        "program": fixture("reload/running.lua"),
        "luaPath": format!("{}/?.lua", dir.display()),
    }));
    client.wait_output("three v1 ticks", |o| {
        last_count(o, "v1").is_some_and(|n| n >= 3)
    });
    let written = std::fs::write(&module, TICKER_V2);
    assert!(written.is_ok(), "cannot edit the module: {written:?}");
    let path = module.display().to_string();
    let body = client.ok("hotReload", json!({"path": path}));
    if body["module"] != "ticker" {
        client.fail(&format!("reload by path did not find the module: {body}"));
    }
    client.wait_output("v2 ticks", |o| last_count(o, "v2").is_some());
    client.ok("disconnect", json!({}));
    let _ = std::fs::remove_dir_all(&dir);
}
