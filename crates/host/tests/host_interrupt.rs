//! Requests served while the program runs: pause in busy loops and
//! coroutines, breakpoints set on the fly, evaluate, threads, hot reload.

mod common;

use std::time::Duration;

use common::{line_of, ErrorKind, Host, Scratch};
use serde_json::json;

const BUSY: &str = "x = 0\nprint('started')\nwhile true do\n  x = x + 1 -- busy\nend\n";

#[test]
fn pause_stops_a_busy_loop() {
    let dir = Scratch::new("pause-loop");
    let program = dir.file("main.lua", BUSY);
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "started");
    // Not a sleep: a loaded machine may not run the loop for a while after
    // `started`, and a pause before its first iteration finds x = 0.
    wait_true_while_running(&mut host, "x > 0");
    host.ok("pause", None);
    host.stopped("pause");
    let line = host.top_line();
    assert!((3..=4).contains(&line), "stopped in the loop, at {line}");
    let before = host
        .eval("x", 1)
        .map(|v| v["result"].as_str().unwrap_or("").to_string());
    let Ok(before) = before else {
        host.fail("evaluate x")
    };
    assert!(before.parse::<i64>().is_ok_and(|n| n > 0), "{before}");
    // Stopped means stopped: x does not move.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        host.eval("x", 1)
            .map(|v| v["result"].as_str().unwrap_or("").to_string()),
        Ok(before)
    );
    // It runs again after continue and can be paused again.
    host.ok("continue", None);
    host.event("continued");
    std::thread::sleep(Duration::from_millis(20));
    host.ok("pause", None);
    host.stopped("pause");
    host.ok("terminate", None);
    assert_eq!(host.wait_exit(), Some(0));
}

const COROUTINE_LOOP: &str = r#"print('started')
local co = coroutine.create(function()
  local n = 0
  while true do
    n = n + 1 -- spin
    spun = n -- seen
  end
end)
coroutine.resume(co) -- resume
"#;

/// Evaluates `expression` (a global condition) while the program runs
/// until it is true: the program is then past the point it names.
fn wait_true_while_running(host: &mut Host, expression: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let value = host.ok(
            "evaluate",
            Some(json!({"expression": expression, "context": "repl"})),
        );
        let result = value["result"].as_str().unwrap_or("").to_string();
        if result == "true" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{expression} still {result} after 30s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pause_stops_a_loop_inside_a_coroutine() {
    let dir = Scratch::new("pause-coroutine");
    let program = dir.file("main.lua", COROUTINE_LOOP);
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "started");
    // `started` comes before the coroutine runs: a pause then finds no
    // coroutine on the stack, or n = 0. (These evaluations inside the
    // running coroutine once sent the pause below to the main thread, where
    // it was never served: coroutines.rs.)
    wait_true_while_running(&mut host, "spun ~= nil");
    host.ok("pause", None);
    host.stopped("pause");
    let stack = host.stack();
    let lines: Vec<i64> = stack
        .iter()
        .map(|f| f["line"].as_i64().unwrap_or(0))
        .collect();
    assert!(
        lines[0] == line_of(COROUTINE_LOOP, "spin")
            || lines[0] == line_of(COROUTINE_LOOP, "seen")
            || lines[0] == line_of(COROUTINE_LOOP, "while true"),
        "{stack:?}"
    );
    assert!(
        lines.contains(&line_of(COROUTINE_LOOP, "resume")),
        "resumer frames follow: {stack:?}"
    );
    let n = host.eval("n", 1).map(|v| {
        v["result"]
            .as_str()
            .unwrap_or("")
            .parse::<i64>()
            .unwrap_or(-1)
    });
    assert!(n.as_ref().is_ok_and(|n| *n > 0), "{n:?}");
    host.ok("terminate", None);
}

#[test]
fn breakpoints_set_while_running_take_effect() {
    let dir = Scratch::new("bp-running");
    let program = dir.file("main.lua", BUSY);
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "started");
    let body = host.set_breakpoints(&program, &[line_of(BUSY, "busy")]);
    assert_eq!(body["breakpoints"][0]["verified"], true, "{body}");
    host.stopped("breakpoint");
    assert_eq!(host.top_line(), line_of(BUSY, "busy"));
    // Removing it lets the loop run on; pausing still works.
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program}, "breakpoints": []})),
    );
    host.ok("continue", None);
    std::thread::sleep(Duration::from_millis(50));
    // The next stop is the pause: the removed breakpoint no longer fires.
    host.ok("pause", None);
    host.stopped("pause");
}

#[test]
fn evaluate_and_threads_while_running() {
    let dir = Scratch::new("eval-running");
    let program = dir.file("main.lua", BUSY);
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "started");
    let threads = host.ok("threads", None);
    assert_eq!(threads["threads"][0]["id"], 1, "{threads}");
    // The loop advances between requests (the first may land before it starts).
    let mut seen = Vec::new();
    while seen.len() < 50 && seen.last().is_none_or(|r| r != "true") {
        let value = host.ok(
            "evaluate",
            Some(json!({"expression": "x > 0", "context": "repl"})),
        );
        seen.push(value["result"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(seen.last().map(String::as_str), Some("true"), "{seen:?}");
    // A statement changes the running program.
    host.ok(
        "evaluate",
        Some(json!({"expression": "x = -1000000000000", "context": "repl"})),
    );
    let value = host.ok(
        "evaluate",
        Some(json!({"expression": "x < 0", "context": "repl"})),
    );
    assert_eq!(value["result"], "true");
    let err = host
        .request("stackTrace", Some(json!({"threadId": 1})))
        .expect_err("running");
    assert_eq!(err.kind, ErrorKind::Refused, "{err}");
}

const RELOADABLE: &str = r#"local M = {}
function M.value() return "old" end
return M
"#;

const RELOAD_MAIN: &str = r#"package.path = DIR .. "/?.lua;" .. package.path
local mod = require("mod")
local last
while true do
  local v = mod.value()
  if v ~= last then print("value", v) last = v end
end
"#;

#[test]
fn hot_reload_while_running_and_without_debug() {
    for no_debug in [false, true] {
        let dir = Scratch::new(if no_debug {
            "reload-nodebug"
        } else {
            "reload-running"
        });
        let module = dir.file("mod.lua", RELOADABLE);
        let program = dir.file(
            "main.lua",
            &format!("DIR = {:?}\n{RELOAD_MAIN}", dir.dir.display().to_string()),
        );
        let mut host = Host::spawn();
        host.start(&program, json!({"noDebug": no_debug}), &[]);
        host.wait_output("stdout", "value\told");
        std::fs::write(&module, RELOADABLE.replace("\"old\"", "\"new\"")).expect("edit module");
        let body = host.ok("hotReload", Some(json!({"path": module})));
        assert_eq!(body["module"], "mod", "{body}");
        host.wait_output("stdout", "value\tnew");
        if no_debug {
            let err = host
                .request("pause", None)
                .expect_err("pause refused with noDebug");
            assert_eq!(err.kind, ErrorKind::Refused, "{err}");
        }
        // A broken version is refused with file:line and changes nothing.
        let err = host
            .request(
                "hotReload",
                Some(json!({"path": module, "source": "local M = {\nreturn M"})),
            )
            .expect_err("syntax error");
        assert_eq!(err.kind, ErrorKind::Compile, "{err}");
        let at = err.location.as_ref().map(|l| (l.path.as_str(), l.line));
        assert_eq!(at, Some((module.as_str(), Some(2))), "{err:?}");
        host.ok("terminate", None);
    }
}

#[test]
fn hot_reload_while_stopped() {
    let dir = Scratch::new("reload-stopped");
    let module = dir.file("mod.lua", RELOADABLE);
    let program = dir.file(
        "main.lua",
        &format!("DIR = {:?}\n{RELOAD_MAIN}", dir.dir.display().to_string()),
    );
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "value\told");
    host.ok("pause", None);
    host.stopped("pause");
    let body = host.ok(
        "hotReload",
        Some(json!({"path": module, "source": RELOADABLE.replace("\"old\"", "\"stopped\"")})),
    );
    assert_eq!(body["changed"], json!(["mod.value"]), "{body}");
    host.ok("continue", None);
    host.wait_output("stdout", "value\tstopped");
}
