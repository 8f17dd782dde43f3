//! When new code takes effect: coroutines and running frames (rule 4),
//! `__on_reload` (rule 6), several reloads in a row, reloads while stopped
//! and while running, and what the client is told.

use std::time::Duration;

use serde_json::json;

use crate::harness::{dir, lists, warns_running, Running, Stopped};

#[test]
fn a_suspended_coroutine_calls_new_code_and_its_running_frame_keeps_the_old() {
    let mut run = Running::start("coroutines", |i| format!("v1 n={i}"));
    let body = run.reload(
        "worker",
        r#"local M = {}

function M.label(n)
  return "v2 n=" .. n
end

function M.body()
  while true do
    coroutine.yield("body2")
  end
end

return M
"#,
    );
    // The suspended body keeps its loop (and its `n`); what it calls is new.
    run.expect(|i| format!("v2 n={i}"));
    if !warns_running(&body, "worker.body") {
        run.client.fail(&format!(
            "no warning that worker.body keeps its old code: {body}"
        ));
    }
    // A coroutine started after the reload runs the new body.
    let fresh = run.eval("coroutine.wrap(require('worker').body)()");
    if !fresh.contains("body2") {
        run.client
            .fail(&format!("a new coroutine runs old code: {fresh}"));
    }
    run.finish();
}

#[test]
fn a_running_frame_keeps_its_old_code_until_it_returns() {
    let mut stop = Stopped::start_in("running_frame", "session.lua");
    let body = stop.reload(
        "session",
        r#"local M = {}

function M.tick(n)
  return "tick2(" .. n .. ")"
end

function M.run(rounds)
  for n = 1, rounds do
    print("run2 " .. M.tick(n))
  end
end

return M
"#,
    );
    let warned = warns_running(&body, "session.run");
    if !warned || !lists(&body, "changed", &["session.run", "session.tick"]) {
        stop.client
            .fail(&format!("expected a running-frame warning: {body}"));
    }
    // The stopped frame is intact: same line, same locals.
    stop.eval_is("n", "1");
    stop.eval_is("rounds", "3");
    // The first run keeps looping with its old code (calling the new tick);
    // the second run is a new call and runs the new code.
    stop.finish("run1 tick2(1)\nrun1 tick2(2)\nrun1 tick2(3)\nrun2 tick2(1)\nrun2 tick2(2)\n");
}

#[test]
fn on_reload_is_called_last_with_the_old_module() {
    let mut run = Running::start("on_reload", |_| "v1 note=nil".into());
    run.reload(
        "mig",
        r#"local M = {}
M.version = 2

function M.step()
  return "v2"
end

-- Runs after everything else: the live module already has the new code
-- and the new keys, `old` is the module as it was.
function M.__on_reload(old)
  M.note = "from" .. old.version .. ":" .. M.step() .. ":" .. type(M.extra)
end

M.extra = {}

return M
"#,
    );
    run.expect(|_| "v2 note=from7:v2:table".into());
    run.finish();
}

#[test]
fn several_reloads_in_a_row_and_back_to_the_first_version() {
    let counter = |v: &'static str| move |i: u64| format!("{v} count={i}");
    let version = |v: &str| {
        format!(
            "local M = {{}}\nlocal count = 0\n\nfunction M.step()\n  count = count + 1\n  return \"{v} count=\" .. count\nend\n\nreturn M\n"
        )
    };
    let v1 = std::fs::read_to_string(dir("sequence").join("counter.lua"))
        .unwrap_or_else(|e| panic!("cannot read the v1 fixture: {e}"));
    let mut run = Running::start("sequence", counter("v1"));
    run.reload("counter", &version("v2"));
    run.expect(counter("v2"));
    run.reload("counter", &version("v3"));
    run.expect(counter("v3"));
    let body = run.reload("counter", &v1);
    if !lists(&body, "changed", &["counter.step"]) {
        run.client
            .fail(&format!("going back to v1 changed nothing: {body}"));
    }
    run.expect(counter("v1"));
    run.finish();
}

#[test]
fn a_reload_while_stopped_at_a_breakpoint_is_seen_by_evaluate_and_after_continue() {
    let mut stop = Stopped::start("stopped");
    stop.reload(
        "greeter",
        "local M = {}\nlocal calls = 0\n\nfunction M.hello(name)\n  calls = calls + 1\n  return \"hello2 \" .. name .. \" #\" .. calls\nend\n\nreturn M\n",
    );
    // The stopped frame's local `greeter` is the live module: new code, old count.
    let got = stop.eval("greeter.hello('x')");
    if !got.contains("hello2 x #2") {
        stop.client
            .fail(&format!("evaluate after the reload gave {got}"));
    }
    stop.finish("hello1 a #1\nhello2 b #3\n");
}

#[test]
fn the_response_and_events_report_what_changed() {
    let mut stop = Stopped::start("report");
    let body = stop.reload(
        "shop",
        // `name` stays on the same lines: it is unchanged.
        r#"local M = {}
M.currency = "USD"

function M.price(n)
  return n * 3
end

function M.name()
  return "shop"
end

function M.discount(n)
  return n - 1
end

M.tax = 20

return M
"#,
    );
    let path_ok = body["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("rules/report/shop.lua"));
    if body["module"] != "shop"
        || !path_ok
        || !lists(&body, "changed", &["shop.price"])
        || !lists(&body, "added", &["shop.discount", "shop.tax"])
        || !lists(&body, "removed", &["shop.legacy"])
        || body["warnings"] != json!([])
        || !body["durationMs"].as_f64().is_some_and(|d| d >= 0.0)
    {
        stop.client
            .fail(&format!("unexpected response body: {body}"));
    }
    let event = stop.client.wait_event("hotReloaded");
    if event != body {
        stop.client
            .fail("the hotReloaded event body differs from the response");
    }
    stop.client.wait_event("invalidated");
    let console = stop
        .client
        .wait_output_of("console", "the reload summary", |o| {
            o.lines().any(|l| {
                l.starts_with("hot reload shop: 1 changed, 2 added, 1 removed (")
                    && l.ends_with(" ms)")
            })
        });
    if console.matches("hot reload shop").count() != 1 {
        stop.client
            .fail(&format!("expected one summary line: {console:?}"));
    }
    if stop
        .client
        .wait_event_for("hotReloaded", Duration::from_millis(200))
        .is_some()
    {
        stop.client.fail("one reload sent two hotReloaded events");
    }
    stop.finish("2\n3\t9\tnil\tEUR\n");
}

#[test]
fn a_failed_reload_while_running_leaves_the_loop_running_v1() {
    let mut run = Running::start("step", |i| format!("v1 count={i}"));
    let message = run.reload_err(json!({
        "module": "counter",
        "source": "local M = {}\nlocal count = 0\n\nfunction M.step()\n  count = 1000\n  return \"v2 count=\" .. count\nend\n\nfunction M.__on_reload(old)\n  error(\"no\")\nend\n\nreturn M\n",
    }));
    let at = message.path.as_deref().unwrap_or_default();
    if message.kind != "runtime"
        || message.line != Some(10)
        || !at.ends_with("rules/step/counter.lua")
    {
        run.client.fail(&format!(
            "the error is not located at counter.lua:10: {message:?}"
        ));
    }
    run.expect_unchanged(3);
    run.finish();
}

#[test]
fn a_good_reload_after_a_failed_one_applies_normally() {
    let mut run = Running::start("step", |i| format!("v1 count={i}"));
    run.reload_err(json!({"module": "counter", "source": "local M = {\nreturn M\n"}));
    run.expect_unchanged(2);
    run.reload(
        "counter",
        "local M = {}\nlocal count = 0\n\nfunction M.step()\n  count = count + 1\n  return \"v2 count=\" .. count\nend\n\nreturn M\n",
    );
    run.expect(|i| format!("v2 count={i}"));
    run.finish();
}

#[test]
fn a_breakpoint_in_reloaded_code_stops_on_the_new_lines() {
    let mut stop = Stopped::start("breakpoint_new");
    stop.reload(
        "calc",
        "local M = {}\n\nfunction M.twice(n)\n  local doubled = n * 20\n  local noted = doubled + 0\n  return noted\nend\n\nreturn M\n",
    );
    let main = stop.file.clone();
    let calc = dir("breakpoint_new").join("calc.lua").display().to_string();
    stop.client.set_breakpoints(&main, &[]);
    stop.client.set_breakpoints(&calc, &[5]);
    let thread = stop.thread.clone();
    stop.client.ok("continue", json!({"threadId": thread}));
    stop.client.wait_stopped("breakpoint");
    let frames = stop.client.stack(&thread);
    let top = frames.first().cloned().unwrap_or_default();
    if top["line"] != 5
        || !top["source"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("calc.lua"))
    {
        stop.client
            .fail(&format!("stopped at the wrong place: {top}"));
    }
    stop.eval_is("doubled", "40");
    stop.client.set_breakpoints(&calc, &[]);
    stop.finish("2\n40\n60\n");
}

#[test]
fn a_file_run_with_dofile_reloads_by_its_path() {
    let mut run = Running::start("files", |i| format!("s1 {i}"));
    let path = dir("files").join("settings.lua").display().to_string();
    run.client.ok(
        "hotReload",
        json!({"path": path, "source": "function describe(i)\n  return \"s2 \" .. i\nend\n"}),
    );
    run.expect(|i| format!("s2 {i}"));
    run.finish();
}

#[test]
fn the_main_program_reloads_by_its_path_while_its_loop_runs() {
    let mut run = Running::start("program", |i| format!("p1 {i}"));
    let path = dir("program").join("main.lua").display().to_string();
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
        .replace("\"p1 \"", "\"p2 \"");
    run.client
        .ok("hotReload", json!({"path": path, "source": source}));
    run.expect(|i| format!("p2 {i}"));
    run.finish();
}

#[test]
fn a_coroutine_suspended_inside_a_changed_function_finishes_it_then_calls_new_code() {
    let mut run = Running::start("suspended", |i| format!("true w1 {i}"));
    let body = run.reload(
        "worker",
        r#"local M = {}

function M.wait(n)
  coroutine.yield("w2 " .. n)
  return n
end

function M.body()
  local n = 0
  while true do
    n = n + 1
    M.wait(n)
  end
end

return M
"#,
    );
    if !warns_running(&body, "worker.wait") {
        run.client.fail(&format!(
            "no warning that worker.wait keeps its old code: {body}"
        ));
    }
    run.expect(|i| format!("true w2 {i}"));
    run.finish();
}

#[test]
fn ten_reloads_in_a_row_each_take_effect_and_keep_the_count() {
    let mut run = Running::start("step", |i| format!("v1 count={i}"));
    for n in 2..=10 {
        let source = format!(
            "local M = {{}}\nlocal count = 0\n\nfunction M.step()\n  count = count + 1\n  return \"v{n} count=\" .. count\nend\n\nreturn M\n"
        );
        run.reload("counter", &source);
        run.expect(move |i| format!("v{n} count={i}"));
    }
    run.finish();
}

#[test]
fn a_breakpoint_set_before_the_reload_stops_in_the_new_code() {
    let mut stop = Stopped::start_in("breakpoint_kept", "calc.lua");
    stop.eval_is("n", "1");
    stop.reload(
        "calc",
        "local M = {}\n\nfunction M.twice(n)\n  local doubled = n * 20\n  return doubled\nend\n\nreturn M\n",
    );
    // twice(1) finishes with its old code; twice(2) runs the new code and
    // stops on line 4, which the breakpoint still names.
    let thread = stop.thread.clone();
    stop.client.ok("continue", json!({"threadId": thread}));
    stop.client.wait_stopped("breakpoint");
    let top = stop
        .client
        .stack(&thread)
        .first()
        .cloned()
        .unwrap_or_default();
    if top["line"] != 4 {
        stop.client
            .fail(&format!("stopped at the wrong place: {top}"));
    }
    stop.eval_is("n", "2");
    stop.finish("2\n40\n60\n");
}

#[test]
fn a_loop_that_never_returns_keeps_running_and_calls_the_new_helper() {
    let mut run = Running::start("game", |i| format!("u1 frame={i}"));
    let body = run.reload(
        "game",
        r#"local M = {}
local frame = 0

local function update()
  frame = frame + 1
  return "u2 frame=" .. frame
end

function M.run()
  local version = 2 -- changed, so the running run keeps its old code
  require("scenario").loop(function()
    return update()
  end)
end

return M
"#,
    );
    if !warns_running(&body, "game.run") {
        run.client
            .fail(&format!("no warning that game.run is running: {body}"));
    }
    run.expect(|i| format!("u2 frame={i}"));
    run.finish();
}

#[test]
fn two_reloads_sent_back_to_back_both_apply_in_order() {
    let mut stop = Stopped::start("stopped");
    // Like saving twice quickly: the second request goes out before the
    // first is answered.
    let hello = |v: &str| {
        format!(
            "local M = {{}}\nlocal calls = 0\n\nfunction M.hello(name)\n  calls = calls + 1\n  return \"hello{v} \" .. name .. \" #\" .. calls\nend\n\nreturn M\n"
        )
    };
    let first = stop.client.send(
        "hotReload",
        json!({"module": "greeter", "source": hello("2")}),
    );
    let second = stop.client.send(
        "hotReload",
        json!({"module": "greeter", "source": hello("3")}),
    );
    for seq in [first, second] {
        let response = stop.client.response(seq);
        if !response.success {
            stop.client
                .fail(&format!("reload {seq} failed: {:?}", response.message));
        }
    }
    stop.finish("hello1 a #1\nhello3 b #2\n");
}

#[test]
fn a_reload_while_stopped_inside_a_coroutine() {
    let mut stop = Stopped::start_in("co_stopped", "worker.lua");
    let body = stop.reload(
        "worker",
        "local M = {}\n\nfunction M.label(n)\n  return \"l2 \" .. n\nend\n\nfunction M.body()\n  coroutine.yield(\"body2\")\nend\n\nreturn M\n",
    );
    if !warns_running(&body, "worker.body") {
        stop.client
            .fail(&format!("no warning that worker.body is running: {body}"));
    }
    // The coroutine's frame is intact; it goes on with its old loop and
    // calls the new label from the line it stopped on.
    stop.eval_is("n", "1");
    stop.finish("l2 1\tl2 2\tl2 3\n");
}
