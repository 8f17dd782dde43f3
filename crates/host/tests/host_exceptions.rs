//! Exception filters through the real host: `all` stops where an error is
//! raised (caught or not), `uncaught` at the program's end; neither stops
//! for the debugger's own errors.

mod common;

use common::{kind, line_of, ErrorKind, Host, Scratch, Vm, VM};
use serde_json::{json, Value};

/// Launches `program`, turns on `filters`, sets `breakpoints` and runs.
fn start(program: &str, filters: &[&str], breakpoints: &[i64]) -> Host {
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    let body = host.ok("setExceptionBreakpoints", Some(json!({"filters": filters})));
    let answers = body["breakpoints"].as_array().cloned().unwrap_or_default();
    if answers.len() != filters.len() || answers.iter().any(|b| b["verified"] != true) {
        host.fail(&format!("filters {filters:?} not all accepted: {body}"));
    }
    if !breakpoints.is_empty() {
        host.set_breakpoints(program, breakpoints);
    }
    host.ok("configurationDone", None);
    host
}

/// Fails when any `stopped` event arrived.
fn assert_never_stopped(host: &Host) {
    if let Some(stop) = host.log.iter().find(|v| v["event"] == "stopped") {
        host.fail(&format!("unexpected stop: {stop}"));
    }
}

/// [`start`] on `text` as the `main.lua` of a fresh scratch dir `name`
/// (which lives as long as the first value).
fn start_in(name: &str, text: &str, filters: &[&str]) -> (Scratch, Host) {
    let dir = Scratch::new(name);
    let program = dir.file("main.lua", text);
    let host = start(&program, filters, &[]);
    (dir, host)
}

/// Waits for an exception stop; its text.
fn exception_text(host: &mut Host) -> String {
    let stop = host.stopped("exception");
    match stop["text"].as_str() {
        Some(text) => text.to_owned(),
        None => host.fail(&format!("exception stop without text: {stop}")),
    }
}

fn frame_id(host: &Host, frame: &Value) -> i64 {
    match frame["id"].as_i64() {
        Some(id) => id,
        None => host.fail(&format!("frame without id: {frame}")),
    }
}

const CAUGHT: &str = r#"local function inner(n)
  local label = "bad " .. n
  error(label) -- raise
end

local function outer()
  local ok, err = pcall(inner, 7)
  print("caught", ok, err)
end

outer()
print("after")
"#;

#[test]
fn caught_error_stops_where_raised_and_pcall_still_catches_it() {
    let (_dir, mut host) = start_in("exc-caught", CAUGHT, &["all"]);
    let message = exception_text(&mut host);
    assert!(message.ends_with("bad 7"), "{message}");
    let stack = host.stack();
    let names: Vec<&str> = stack.iter().filter_map(|f| f["name"].as_str()).collect();
    // Called by pcall, `inner` has no name Lua can tell: its line shows it.
    assert!(names[0].contains("main.lua:1>"), "{names:?}");
    assert_eq!(stack[0]["line"], line_of(CAUGHT, "-- raise"), "{stack:?}");
    assert!(names.contains(&"outer"), "{names:?}");
    let id = frame_id(&host, &stack[0]);
    assert_eq!(
        host.eval("label", id).map(|v| v["result"].clone()),
        Ok(json!("\"bad 7\""))
    );
    assert_eq!(host.continue_to_exit(), 0);
    let stdout = host.output("stdout");
    assert!(
        stdout.contains("caught\tfalse\t") && stdout.contains("bad 7\nafter\n"),
        "{stdout}"
    );
    assert_eq!(host.stop_count(), 1);
}

#[test]
fn runtime_error_inside_pcall_stops_at_the_faulting_line() {
    let text = "local function get(t)\n  return t.field -- fault\nend\nlocal ok, err = pcall(get, nil)\nprint(ok, err)\n";
    let (_dir, mut host) = start_in("exc-runtime", text, &["all"]);
    let message = exception_text(&mut host);
    assert!(message.contains(&VM.index_nil("local 't'")), "{message}");
    let stack = host.stack();
    assert_eq!(stack[0]["line"], line_of(text, "-- fault"), "{stack:?}");
    assert_eq!(host.continue_to_exit(), 0);
    let stdout = host.output("stdout");
    assert!(stdout.starts_with("false\t"), "{stdout}");
}

#[test]
fn table_errors_show_their_tostring() {
    let text = r#"local E = setmetatable({}, { __tostring = function() return "custom E" end })
print(pcall(error, E) == false)
print(select(2, pcall(error, { code = 1 })).code)
"#;
    let (_dir, mut host) = start_in("exc-table", text, &["all"]);
    let stop = host.stopped("exception");
    assert_eq!(stop["text"], "custom E", "{stop}");
    host.ok("continue", None);
    let message = exception_text(&mut host);
    assert!(message.starts_with("table: 0x"), "{message}");
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "true\n1\n");
}

#[test]
fn without_the_all_filter_caught_errors_do_not_stop() {
    let (_dir, mut host) = start_in("exc-off", CAUGHT, &["uncaught"]);
    assert_eq!(host.exited(), 0);
    assert!(host.output("stdout").contains("after"));
    assert_never_stopped(&host);
}

#[test]
fn with_no_filter_an_uncaught_error_ends_the_program_without_stopping() {
    let (_dir, mut host) = start_in("exc-none", "local x = nil\nprint(x.y)\n", &[]);
    assert_eq!(host.exited(), 1);
    let stderr = host.output("stderr");
    assert!(
        stderr.contains(&VM.index_nil("local 'x'")) && stderr.contains("stack traceback"),
        "{stderr}"
    );
    assert_never_stopped(&host);
}

#[test]
fn an_uncaught_error_stops_once_with_both_filters() {
    let (_dir, mut host) = start_in(
        "exc-both",
        "local function f()\n  error('fatal')\nend\nf()\n",
        &["uncaught", "all"],
    );
    let message = exception_text(&mut host);
    assert!(message.ends_with("fatal"), "{message}");
    assert_eq!(host.top_line(), 2);
    assert_eq!(host.continue_to_exit(), 1);
    assert!(host.output("stderr").contains("fatal"));
    assert_eq!(host.stop_count(), 1);
}

#[test]
fn errors_of_the_debuggers_own_work_do_not_stop() {
    let dir = Scratch::new("exc-eval");
    let text = "local t = {}\nlocal n = 1 -- here\nprint('done', n)\n";
    let program = dir.file("main.lua", text);
    let here = line_of(text, "-- here");
    let mut host = start(&program, &["all"], &[here]);
    host.stopped("breakpoint");
    let err = host.eval("error('from the REPL')", 1);
    assert_eq!(kind(&err), Some(ErrorKind::Runtime), "{err:?}");
    let caught = host.eval("select(2, pcall(function() return t.a.b end))", 1);
    assert!(
        caught.as_ref().is_ok_and(|v| v["result"]
            .as_str()
            .unwrap_or("")
            .contains(&VM.index_nil("field 'a'"))),
        "{caught:?}"
    );
    // A failing condition is reported (and stops as a breakpoint), never as
    // an exception.
    let done = line_of(text, "print('done'");
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program},
                    "breakpoints": [{"line": done, "condition": "t.a.b == 1"}]})),
    );
    host.ok("continue", None);
    host.stopped("breakpoint");
    host.wait_output("console", "failed");
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.stop_count(), 2);
}

#[test]
fn unknown_filters_are_answered_unverified() {
    let dir = Scratch::new("exc-unknown");
    let program = dir.file("main.lua", "print(1)\n");
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    let body = host.ok(
        "setExceptionBreakpoints",
        Some(json!({"filters": ["all", "nope"]})),
    );
    assert_eq!(body["breakpoints"][0]["verified"], true, "{body}");
    assert_eq!(body["breakpoints"][1]["verified"], false, "{body}");
    assert!(
        body["breakpoints"][1]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nope"),
        "{body}"
    );
    host.ok("configurationDone", None);
    assert_eq!(host.exited(), 0);
}

#[test]
fn an_error_inside_a_coroutine_stops_in_the_coroutine() {
    let text = "local co = coroutine.create(function(x)\n  local half = x / 2\n  error('odd ' .. half) -- raise\nend)\nprint(coroutine.resume(co, 3))\n";
    let (_dir, mut host) = start_in("exc-coroutine", text, &["all"]);
    let message = exception_text(&mut host);
    assert!(message.ends_with("odd 1.5"), "{message}");
    let stack = host.stack();
    assert_eq!(stack[0]["line"], line_of(text, "-- raise"), "{stack:?}");
    let id = frame_id(&host, &stack[0]);
    assert_eq!(
        host.eval("half", id).map(|v| v["result"].clone()),
        Ok(json!("1.5"))
    );
    assert_eq!(host.continue_to_exit(), 0);
    let stdout = host.output("stdout");
    assert!(
        stdout.starts_with("false\t") && stdout.contains("odd 1.5"),
        "{stdout}"
    );
}

#[test]
fn stepping_from_an_exception_stop_lands_where_pcall_returns() {
    let (_dir, mut host) = start_in("exc-step", CAUGHT, &["all"]);
    host.stopped("exception");
    host.ok("next", None);
    host.stopped("step");
    assert_eq!(host.top_line(), line_of(CAUGHT, "print(\"caught\""));
    assert_eq!(host.continue_to_exit(), 0);
}

#[test]
fn an_error_leaving_a_wrapped_coroutine_stops_once() {
    let text = "local gen = coroutine.wrap(function()\n  error({ code = 7 }) -- raise-table\nend)\nlocal step = coroutine.wrap(function()\n  error('broken step') -- raise-string\nend)\nprint(select(2, pcall(gen)).code)\nprint(pcall(step))\n";
    let (_dir, mut host) = start_in("exc-wrap", text, &["all"]);
    for marker in ["-- raise-table", "-- raise-string"] {
        host.stopped("exception");
        assert_eq!(host.top_line(), line_of(text, marker));
        host.ok("continue", None);
    }
    assert_eq!(host.exited(), 0);
    let stdout = host.output("stdout");
    assert!(
        stdout.starts_with("7\nfalse\t") && stdout.contains("broken step"),
        "{stdout}"
    );
    assert_eq!(host.stop_count(), 2);
}

#[test]
fn an_uncaught_error_from_a_wrapped_coroutine_stops_once() {
    let text =
        "local step = coroutine.wrap(function()\n  error('fatal step') -- raise\nend)\nstep()\n";
    let (_dir, mut host) = start_in("exc-wrap-uncaught", text, &["uncaught", "all"]);
    host.stopped("exception");
    assert_eq!(host.top_line(), line_of(text, "-- raise"));
    assert_eq!(host.continue_to_exit(), 1);
    assert!(host.output("stderr").contains("fatal step"));
    assert_eq!(host.stop_count(), 1);
}

#[test]
fn turning_all_off_while_stopped_keeps_the_uncaught_stop() {
    let text = "pcall(error, 'first')\nerror('second') -- fatal\n";
    let (_dir, mut host) = start_in("exc-toggle", text, &["uncaught", "all"]);
    host.stopped("exception");
    host.ok(
        "setExceptionBreakpoints",
        Some(json!({"filters": ["uncaught"]})),
    );
    host.ok("continue", None);
    let message = exception_text(&mut host);
    assert!(message.ends_with("second"), "{message}");
    assert_eq!(host.continue_to_exit(), 1);
}

#[test]
fn a_bad_write_argument_stops_at_the_callers_line() {
    let text = "local ok = pcall(io.write, {}) -- bad-write\nprint(ok)\n";
    let (_dir, mut host) = start_in("exc-write", text, &["all"]);
    let message = exception_text(&mut host);
    assert!(message.contains("bad argument #1"), "{message}");
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "false\n");
}

#[test]
fn a_stack_overflow_stops_and_the_program_recovers() {
    let text =
        "local function deep(n)\n  return 1 + deep(n + 1) -- recurse\nend\nprint(pcall(deep, 1))\n";
    let (_dir, mut host) = start_in("exc-overflow", text, &["all"]);
    let message = exception_text(&mut host);
    assert!(message.contains("stack overflow"), "{message}");
    assert_eq!(host.top_line(), line_of(text, "-- recurse"));
    assert_eq!(host.continue_to_exit(), 0);
    assert!(host.output("stdout").starts_with("false\t"));
}

#[test]
fn an_uncaught_stack_overflow_stops_promptly() {
    let text = "local function deep() -- deep-1\n  return 1 + deep() -- recurse\nend\ndeep()\n";
    let (_dir, mut host) = start_in("exc-overflow-uncaught", text, &["uncaught"]);
    let message = exception_text(&mut host);
    assert!(message.contains("stack overflow"), "{message}");
    // LuaJIT overflows in the callee's header: its stock traceback shows
    // the function's first line too.
    let top = if VM == Vm::LuaJit {
        "-- deep-1"
    } else {
        "-- recurse"
    };
    assert_eq!(host.top_line(), line_of(text, top));
    assert_eq!(host.continue_to_exit(), 1);
}

#[test]
fn a_reload_whose_new_top_level_fails_does_not_stop() {
    let dir = Scratch::new("exc-reload");
    let module = dir.file(
        "mod.lua",
        "local M = {}\nfunction M.value() return 1 end\nreturn M\n",
    );
    let main = r#"package.path = DIR .. "/?.lua;" .. package.path
local mod = require("mod")
local seen = 0
while true do
  seen = seen + mod.value()
  if seen == 1000 then print("running") end
end
"#;
    let program = dir.file(
        "main.lua",
        &format!("DIR = {:?}\n{main}", dir.dir.display().to_string()),
    );
    let mut host = start(&program, &["uncaught", "all"], &[]);
    host.wait_output("stdout", "running");
    let err = host.request(
        "hotReload",
        Some(json!({"path": module, "source": "error('broken top level')\nreturn {}\n"})),
    );
    assert_eq!(kind(&err), Some(ErrorKind::Runtime), "{err:?}");
    let at = err.as_ref().err().and_then(|e| e.location.clone());
    assert_eq!(at.and_then(|l| l.line), Some(1), "{err:?}");
    // The program still runs and stops only when asked.
    host.ok("pause", None);
    host.stopped("pause");
    assert_eq!(host.stop_count(), 1);
    host.ok("terminate", None);
}
