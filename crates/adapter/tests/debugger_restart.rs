//! `restartFrame` through `hotreload-dap` and the real host: stopped in a
//! function, reload a fixed version of its module, restart the frame; the
//! function runs its new code from its first line with its arguments, and
//! the program goes on with its state. Frames that cannot be restarted are
//! refused with the reason, and the program runs on unharmed.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::Client;

const MODULE_V1: &str = "local M = {}\nfunction M.scale(n)\n  calls = calls + 1 -- first\n  return n * 2 -- bp-here\nend\nreturn M\n";

/// The fix: triple, not double.
const MODULE_V2: &str = "local M = {}\nfunction M.scale(n)\n  calls = calls + 1 -- first\n  return n * 3 -- bp-here\nend\nreturn M\n";

const MAIN: &str = "calls = 0 -- main-bp\nlocal m = require('mod')\nlocal total = 0\nfor i = 1, 2 do\n  local _, v = pcall(m.scale, i)\n  total = total + v\nend\nprint('total ' .. total .. ' calls ' .. calls)\n";

/// Whether [`support::runtime`]'s host restarts a frame from a breakpoint or
/// step stop (its VM re-enters a frame after the hook: every host).
fn restarts_from_a_stop() -> bool {
    matches!(
        support::runtime().as_str(),
        "lua5.4" | "lua5.3" | "lua5.2" | "lua5.1" | "luajit"
    )
}

/// Whether it also restarts a frame after an error stop (5.4 to 5.1
/// re-enter an interpreter run after an error: shared/error_restart.c).
fn restarts_after_an_error() -> bool {
    restarts_from_a_stop()
}

/// A fresh scratch directory holding `files` (name, text).
fn scratch_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotreload-restart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("scratch file");
    }
    dir
}

fn scratch(name: &str) -> PathBuf {
    scratch_with(name, &[("main.lua", MAIN), ("mod.lua", MODULE_V1)])
}

fn line_in(text: &str, marker: &str) -> i64 {
    text.lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or(0)
}

/// Launches `main.lua` of `dir`, with the modules beside it on the path.
fn launch_program(client: &mut Client, dir: &Path) {
    client.launch(json!({
        "program": dir.join("main.lua").display().to_string(),
        "luaPath": format!("{}/?.lua", dir.display()),
    }));
}

/// Launched with a breakpoint at `marker` of `file` (in `text`).
fn start(client: &mut Client, dir: &Path, file: &str, text: &str, marker: &str) {
    launch_program(client, dir);
    let path = dir.join(file).display().to_string();
    client.set_breakpoints(&path, &[line_in(text, marker)]);
    client.ok("configurationDone", json!({}));
}

/// The frames of the stop, top first.
fn frames(client: &mut Client) -> Vec<Value> {
    client.stack(&json!(1))
}

fn clear_and_finish(client: &mut Client, dir: &Path, file: &str) -> String {
    let path = dir.join(file).display().to_string();
    client.set_breakpoints(&path, &[]);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    client.stdout_text()
}

/// [`clear_and_finish`], checking the program printed `expected`.
fn clear_and_finish_printing(client: &mut Client, dir: &Path, file: &str, expected: &str) {
    let out = clear_and_finish(client, dir, file);
    if !out.contains(expected) {
        client.fail(&format!("output: {out:?}"));
    }
}

/// Continues to the program's end, checking it printed `expected`.
fn finish_printing(client: &mut Client, expected: &str) {
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains(expected) {
        client.fail(&format!("output: {out:?}"));
    }
}

/// Whether the test stops here because this runtime lacks `feature` (one of
/// [`restarts_from_a_stop`], [`restarts_after_an_error`]): it says so.
fn skipped_without(feature: bool, what: &str) -> bool {
    if !feature {
        eprintln!("skipped: {what} is refused on this runtime");
    }
    !feature
}

/// Whether the test is skipped for want of restarting from a stop.
fn skipped_without_restart() -> bool {
    skipped_without(restarts_from_a_stop(), "restartFrame")
}

/// Whether the test is skipped for want of restarting after an error stop.
fn skipped_without_error_restart() -> bool {
    skipped_without(restarts_after_an_error(), "restarting after an error stop")
}

/// A scratch dir `name` holding `files`, its `main.lua` launched with the
/// exception `filters` and configured (no breakpoints).
fn launched(name: &str, files: &[(&str, &str)], filters: &[&str]) -> (Client, PathBuf) {
    let dir = scratch_with(name, files);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    if !filters.is_empty() {
        client.ok("setExceptionBreakpoints", json!({ "filters": filters }));
    }
    client.ok("configurationDone", json!({}));
    (client, dir)
}

/// The id of the first frame of `stack` that `wanted` picks (`what` names it
/// in the failure).
fn frame_id(
    client: &Client,
    stack: &[Value],
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    stack
        .iter()
        .find(|f| wanted(f))
        .map(|f| f["id"].clone())
        .unwrap_or_else(|| client.fail(&format!("no {what} frame: {stack:?}")))
}

/// Restarts `frame` and waits for the `restart` stop, which must be at the
/// line of `marker` in `text`; the stopped thread and its frames, top first.
fn restart_to(client: &mut Client, frame: &Value, text: &str, marker: &str) -> (Value, Vec<Value>) {
    client.ok("restartFrame", json!({ "frameId": frame }));
    let stopped = client.wait_stopped("restart");
    let thread = stopped["threadId"].clone();
    let stack = client.stack(&thread);
    if stack[0]["line"] != line_in(text, marker) {
        client.fail(&format!("restarted at {:?}", stack[0]));
    }
    (thread, stack)
}

/// Asks to restart `frame` where this runtime cannot: refused as
/// unsupported.
fn expect_unsupported_restart(client: &mut Client, frame: &Value) {
    let refused = client.err("restartFrame", json!({ "frameId": frame }));
    if refused.kind != "unsupported" || !refused.message.contains("not supported") {
        client.fail(&format!("refusal: {refused}"));
    }
}

#[test]
fn a_restarted_frame_runs_the_reloaded_code_from_its_first_line() {
    support::require_host();
    let dir = scratch("restart");
    let mut client = Client::start();
    start(&mut client, &dir, "mod.lua", MODULE_V1, "bp-here");
    client.wait_stopped("breakpoint");
    client.ok("hotReload", json!({"module": "mod", "source": MODULE_V2}));
    let top = frames(&mut client)[0]["id"].clone();
    if !restarts_from_a_stop() {
        expect_unsupported_restart(&mut client, &top);
        // Still stopped where it was: the old code finishes the call.
        clear_and_finish_printing(&mut client, &dir, "mod.lua", "total 8 calls 2");
        return;
    }
    let (_, stack) = restart_to(&mut client, &top, MODULE_V2, "first");
    // Same argument; the counter kept (the first run already counted).
    let n = client.evaluate("n", Some(&stack[0]["id"]), "watch");
    let calls = client.evaluate("calls", Some(&stack[0]["id"]), "watch");
    if n != "1" || calls != "1" {
        client.fail(&format!("after restart n = {n}, calls = {calls}"));
    }
    // The restarted call triples (3), then the next call too (6); the
    // restarted call counted twice.
    clear_and_finish_printing(&mut client, &dir, "mod.lua", "total 9 calls 3");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frames_that_cannot_be_restarted_are_refused_and_nothing_is_lost() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch("refused");
    let mut client = Client::start();
    start(&mut client, &dir, "mod.lua", MODULE_V1, "bp-here");
    client.wait_stopped("breakpoint");
    let stack = frames(&mut client);
    // [scale, pcall, main chunk]
    // A C function cannot be; a lower frame could, once stepped out to.
    let refusals = [
        (json!(stack[1]["id"].clone()), "unsupported"),
        (json!(stack[2]["id"].clone()), "refused"),
        (json!(999), "invalidArguments"),
        (json!(-1), "invalidArguments"),
        (json!(i64::MAX), "invalidArguments"),
    ];
    for (id, expected) in refusals {
        let refused = client.err("restartFrame", json!({ "frameId": id }));
        if refused.kind != expected {
            client.fail(&format!("frame {id}: {refused:?}, expected {expected:?}"));
        }
    }
    let bad = client.err("restartFrame", json!({"frameId": "one"}));
    if bad.kind != "invalidArguments" {
        client.fail(&format!("a frame id that is not a number: {bad:?}"));
    }
    // Still stopped in the first call, nothing changed.
    let n = client.evaluate("n", Some(&stack[0]["id"]), "watch");
    if n != "1" {
        client.fail(&format!("n = {n} after the refusals"));
    }
    clear_and_finish_printing(&mut client, &dir, "mod.lua", "total 6 calls 2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_main_chunk_is_refused() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch("main");
    let mut client = Client::start();
    start(&mut client, &dir, "main.lua", MAIN, "main-bp");
    client.wait_stopped("breakpoint");
    let top = frames(&mut client)[0]["id"].clone();
    let refused = client.err("restartFrame", json!({"frameId": top}));
    if refused.kind != "unsupported" {
        client.fail(&format!("refusal: {refused:?}"));
    }
    clear_and_finish_printing(&mut client, &dir, "main.lua", "total 6 calls 2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn restart_while_running_is_refused() {
    support::require_host();
    let dir = scratch("running");
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    let refused = client.err("restartFrame", json!({"frameId": 1}));
    if refused.kind != "refused" {
        client.fail(&format!("refusal: {refused:?}"));
    }
    client.ok("configurationDone", json!({}));
    client.wait_event("exited");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program with a breakpoint at `marker` of its only file, stopped there.
fn stopped_in(name: &str, program: &str, marker: &str) -> (Client, PathBuf) {
    let dir = scratch(name);
    std::fs::write(dir.join("main.lua"), program).expect("main.lua");
    let mut client = Client::start();
    start(&mut client, &dir, "main.lua", program, marker);
    client.wait_stopped("breakpoint");
    (client, dir)
}

#[test]
fn a_vararg_function_restarts_with_its_varargs() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let program = "runs = 0\nlocal function count(a, ...)\n  runs = runs + 1 -- count-first\n  local n = a + select('#', ...) -- bp-here\n  return n\nend\nprint('n ' .. count(10, 'x', 'y') .. ' runs ' .. runs)\n";
    let (mut client, dir) = stopped_in("vararg", program, "bp-here");
    let top = frames(&mut client)[0]["id"].clone();
    restart_to(&mut client, &top, program, "count-first");
    clear_and_finish_printing(&mut client, &dir, "main.lua", "n 12 runs 2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_coroutines_first_function_and_open_to_be_closed_variables_are_refused() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    // `<close>` is Lua 5.4's: elsewhere only the coroutine part runs.
    let tbc = support::runtime() == "lua5.4";
    let program = if tbc {
        "local co = coroutine.wrap(function(x)\n  local y = x + 1 -- co-bp\n  return y\nend)\nlocal function guarded()\n  local h <close> = setmetatable({}, {__close = function() print('closed') end})\n  local z = 5 -- tbc-bp\n  return z\nend\nprint('co ' .. co(1) .. ' guarded ' .. guarded())\n"
    } else {
        "local co = coroutine.wrap(function(x)\n  local y = x + 1 -- co-bp\n  return y\nend)\nlocal function guarded()\n  print('closed')\n  local z = 5 -- tbc-bp\n  return z\nend\nprint('co ' .. co(1) .. ' guarded ' .. guarded())\n"
    };
    let dir = scratch("refusals");
    std::fs::write(dir.join("main.lua"), program).expect("main.lua");
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    let path = dir.join("main.lua").display().to_string();
    client.set_breakpoints(
        &path,
        &[line_in(program, "co-bp"), line_in(program, "tbc-bp")],
    );
    client.ok("configurationDone", json!({}));
    // A coroutine's first function, then a frame with an open to-be-closed
    // variable: what the VM cannot restart (without `<close>`, the second
    // stop is in a plain function, left alone).
    for round in 0..2 {
        let stopped = client.wait_stopped("breakpoint");
        if round == 0 || tbc {
            let top = client.stack(&stopped["threadId"])[0]["id"].clone();
            let refused = client.err("restartFrame", json!({ "frameId": top }));
            if refused.kind != "unsupported" {
                client.fail(&format!("refusal: {refused:?}"));
            }
        }
        client.ok("continue", json!({"threadId": stopped["threadId"]}));
    }
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("closed\nco 2 guarded 5") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn after_two_reloads_the_restart_runs_the_latest_code() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch("twice");
    let mut client = Client::start();
    start(&mut client, &dir, "mod.lua", MODULE_V1, "bp-here");
    client.wait_stopped("breakpoint");
    client.ok("hotReload", json!({"module": "mod", "source": MODULE_V2}));
    let v3 = MODULE_V2.replace("n * 3", "n * 4");
    client.ok("hotReload", json!({"module": "mod", "source": v3}));
    let top = frames(&mut client)[0]["id"].clone();
    client.ok("restartFrame", json!({ "frameId": top }));
    client.wait_stopped("restart");
    clear_and_finish_printing(&mut client, &dir, "mod.lua", "total 12 calls 3");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reload that fails after its code swap (`__on_reload` raises) changes
/// nothing: a restart afterwards runs the function's current code, never
/// the failed version's.
#[test]
fn a_failed_reload_leaves_nothing_for_a_restart_to_run() {
    support::require_host();
    let dir = scratch("failed");
    let mut client = Client::start();
    start(&mut client, &dir, "mod.lua", MODULE_V1, "bp-here");
    client.wait_stopped("breakpoint");
    let failing = MODULE_V2.replace("n * 3", "n * 5").replace(
        "return M\n",
        "function M.__on_reload() error('no') end\nreturn M\n",
    );
    client.err("hotReload", json!({"module": "mod", "source": failing}));
    let top = frames(&mut client)[0]["id"].clone();
    let restarted = client.request("restartFrame", json!({"frameId": top}));
    if restarted.success {
        client.wait_stopped("restart");
    }
    let out = clear_and_finish(&mut client, &dir, "mod.lua");
    // v1 doubles (1*2 + 2*2); the failed version's `n * 5` must never run.
    if !out.contains("total 6 ") {
        client.fail(&format!("the failed version ran: {out:?}"));
    }
}

/// Fails on a missing field: the most common hot-reload mistake.
const TICK_V1: &str = "local M = {}\nfunction M.tick(n)\n  ticks = ticks + 1 -- tick-first\n  return n.value * 2 -- tick-fails\nend\nreturn M\n";
const TICK_V2: &str = "local M = {}\nfunction M.tick(n)\n  ticks = ticks + 1 -- tick-first\n  return (n.value or 0) * 2 -- tick-fails\nend\nreturn M\n";
const TICK_MAIN: &str = "ticks = 0\nlocal m = require('tick')\nlocal results = {}\nfor i = 1, 3 do\n  results[i] = m.tick({ value = i ~= 2 and i or nil })\nend\nprint('results ' .. table.concat(results, ',') .. ' ticks ' .. ticks)\n";

#[test]
fn after_an_error_stop_the_fixed_function_is_retried_and_the_program_goes_on() {
    support::require_host();
    let (mut client, dir) = launched(
        "error",
        &[("main.lua", TICK_MAIN), ("tick.lua", TICK_V1)],
        &[],
    );
    // Uncaught: the error would end the program and lose its state.
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    if stack[0]["line"] != line_in(TICK_V1, "tick-fails") {
        client.fail(&format!("stopped at {}", stack[0]["line"]));
    }
    if !restarts_after_an_error() {
        expect_unsupported_restart(&mut client, &stack[0]["id"]);
        client.ok("continue", json!({"threadId": 1}));
        client.wait_event("exited");
        return;
    }
    // The main chunk cannot be retried; nothing changes.
    let main = stack.last().map(|f| f["id"].clone()).unwrap_or_default();
    let refused = client.err("restartFrame", json!({"frameId": main}));
    if !refused.message.contains("main chunk") {
        client.fail(&format!("main chunk: {refused}"));
    }
    std::fs::write(dir.join("tick.lua"), TICK_V2).expect("tick.lua v2");
    client.ok("hotReload", json!({"module": "tick"}));
    let (_, again) = restart_to(&mut client, &stack[0]["id"], TICK_V2, "tick-first");
    // The same argument, the state kept (the failed run counted once).
    let ticks = client.evaluate("ticks", Some(&again[0]["id"]), "watch");
    let value = client.evaluate("n.value", Some(&again[0]["id"]), "watch");
    if ticks != "2" || value != "nil" {
        client.fail(&format!("after restart ticks = {ticks}, n.value = {value}"));
    }
    finish_printing(&mut client, "results 2,0,6 ticks 4");
    let _ = std::fs::remove_dir_all(&dir);
}

const STEP_MAIN: &str = "ticks = 0\nlocal m = require('tick')\nlocal function step(i)\n  local ok = pcall(m.tick, { value = i ~= 2 and i or nil }) -- step-first\n  return ok\nend\nlocal oks = {}\nfor i = 1, 3 do\n  oks[i] = tostring(step(i))\nend\nprint('oks ' .. table.concat(oks, ',') .. ' ticks ' .. ticks)\n";

#[test]
fn a_caller_is_retried_from_where_an_error_a_pcall_catches_was_raised() {
    support::require_host();
    if skipped_without_error_restart() {
        return;
    }
    let files = [("main.lua", STEP_MAIN), ("tick.lua", TICK_V1)];
    let (mut client, dir) = launched("raise", &files, &["all"]);
    // Stopped where the error is raised, before pcall catches it.
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    let step = frame_id(&client, &stack, "step", |f| f["name"] == "step");
    std::fs::write(dir.join("tick.lua"), TICK_V2).expect("tick.lua v2");
    client.ok("hotReload", json!({"module": "tick"}));
    // Retry the caller: the error unwinds through the pcall to it.
    let (_, again) = restart_to(&mut client, &step, STEP_MAIN, "step-first");
    if again[0]["name"] != "step" {
        client.fail(&format!("restarted in {}", again[0]["name"]));
    }
    if client.evaluate("i", Some(&again[0]["id"]), "watch") != "2" {
        client.fail("the caller restarted with another argument");
    }
    finish_printing(&mut client, "oks true,true,true ticks 4");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recursion deep enough that the VM's frame records move (5.1 keeps them
/// in an array it reallocates as it grows), ending in a tail call (5.1
/// counts the frame it replaced as a level of its own) that fails.
const DEEP_V1: &str = "local M = {}\nlocal down\nfunction down(n)\n  if n == 0 then return M.leaf() end -- down-first\n  local r = down(n - 1) -- down-recurse\n  return r + 1\nend\nfunction M.leaf()\n  ticks = ticks + 1\n  return nil + 1 -- leaf-fails\nend\nfunction M.run(n)\n  return (down(n))\nend\nreturn M\n";
const DEEP_MAIN: &str =
    "ticks = 0\nlocal m = require('deep')\nprint('result ' .. m.run(40) .. ' ticks ' .. ticks)\n";

#[test]
fn a_frame_deep_in_a_recursion_under_a_tail_call_is_retried_after_an_error() {
    support::require_host();
    if skipped_without_error_restart() {
        return;
    }
    let files = [("main.lua", DEEP_MAIN), ("deep.lua", DEEP_V1)];
    let (mut client, dir) = launched("deep", &files, &[]);
    client.wait_stopped("exception");
    // The innermost `down` is the call with n = 1 (n = 0 became `leaf`).
    let stack = frames(&mut client);
    // By line: LuaJIT names the tail-called `leaf` after its caller's call,
    // `down`, too.
    let down = frame_id(&client, &stack, "down", |f| {
        f["line"] == line_in(DEEP_V1, "down-recurse")
    });
    if client.evaluate("n", Some(&down), "watch") != "1" {
        client.fail("the innermost down frame is not the call with n = 1");
    }
    let fixed = DEEP_V1.replace("return nil + 1", "return 0");
    std::fs::write(dir.join("deep.lua"), fixed).expect("deep.lua v2");
    client.ok("hotReload", json!({"module": "deep"}));
    let (_, again) = restart_to(&mut client, &down, DEEP_V1, "down-first");
    if again[0]["name"] != "down" {
        client.fail(&format!("restarted at {:?}", again[0]));
    }
    if client.evaluate("n", Some(&again[0]["id"]), "watch") != "1" {
        client.fail("another frame than the call with n = 1 restarted");
    }
    // The 39 calls above it get their results: 40 in all; `leaf` ran twice.
    finish_printing(&mut client, "result 40 ticks 2");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fails inside a coroutine (caught by `coroutine.resume`): the `all`
/// filter stops where it is raised, and a frame of the coroutine above its
/// first function is retried (5.1 re-enters the run `lua_resume` started,
/// which covers every frame of the coroutine).
const CO_V1: &str = "local M = {}\nfunction M.inner(n)\n  ticks = ticks + 1\n  return n + nil -- inner-fails\nend\nfunction M.outer(n)\n  local r = M.inner(n) -- outer-first\n  return r * 2\nend\nreturn M\n";
const CO_MAIN: &str = "ticks = 0\nlocal m = require('co')\nlocal co = coroutine.create(function()\n  local v = m.outer(5)\n  return v\nend)\nlocal ok, v = coroutine.resume(co)\nprint('resumed ' .. tostring(ok) .. ' ' .. tostring(v) .. ' ticks ' .. ticks)\n";

#[test]
fn a_frame_of_a_coroutine_is_retried_after_an_error_raised_in_it() {
    support::require_host();
    if skipped_without_error_restart() {
        return;
    }
    let files = [("main.lua", CO_MAIN), ("co.lua", CO_V1)];
    let (mut client, dir) = launched("co", &files, &["all"]);
    let stopped = client.wait_stopped("exception");
    let stack = client.stack(&stopped["threadId"]);
    let outer = frame_id(&client, &stack, "outer", |f| {
        f["line"] == line_in(CO_V1, "outer-first")
    });
    std::fs::write(dir.join("co.lua"), CO_V1.replace("n + nil", "n + 0")).expect("co.lua v2");
    client.ok("hotReload", json!({"module": "co"}));
    let (thread, _) = restart_to(&mut client, &outer, CO_V1, "outer-first");
    client.ok("continue", json!({ "threadId": thread }));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("resumed true 10 ticks 2") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_frame_stopped_by_a_step_restarts_and_its_breakpoint_stops_once() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch("step");
    let mut client = Client::start();
    // The breakpoint on the first line: the restart reports that line
    // once (as `restart`), not again as the breakpoint.
    start(&mut client, &dir, "mod.lua", MODULE_V1, "first");
    client.wait_stopped("breakpoint");
    client.ok("next", json!({"threadId": 1}));
    client.wait_stopped("step");
    let stack = frames(&mut client);
    if stack[0]["line"] != line_in(MODULE_V1, "bp-here") {
        client.fail(&format!("stepped to line {}", stack[0]["line"]));
    }
    // A step stop is a line event (not a trap): restart from it.
    restart_to(&mut client, &stack[0]["id"], MODULE_V1, "first");
    client.ok("continue", json!({"threadId": 1}));
    // The next stop is the second call's, at the same breakpoint.
    client.wait_stopped("breakpoint");
    let second = frames(&mut client);
    let n = client.evaluate("n", Some(&second[0]["id"]), "watch");
    if n != "2" {
        client.fail(&format!(
            "stopped again with n = {n} (the restarted call reported twice?)"
        ));
    }
    clear_and_finish_printing(&mut client, &dir, "mod.lua", "total 6 calls 3");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Launches `dir`'s `main.lua` (the files already written there), waits for
/// its loop to print `marker`, pauses it and checks the stop is in
/// `function` and, on LuaJIT, that the loop ran compiled; the stop's frames.
fn paused_in_loop(client: &mut Client, dir: &Path, marker: &str, function: &str) -> Vec<Value> {
    launch_program(client, dir);
    client.ok("configurationDone", json!({}));
    client.pause_in_loop(marker, function)
}

/// A long loop: compiled after a few iterations where the VM has a JIT
/// (LuaJIT), paused while it runs, its function restarted.
const SUM_MAIN: &str = "calls = 0\nlocal function sum(n)\n  calls = calls + 1 -- sum-first\n  local acc = 0\n  for i = 1, n do\n    acc = acc + i\n    if i == 200000 then print('looping') end\n  end\n  return acc\nend\nprint('sum ' .. sum(1e15) .. ' calls ' .. calls)\n";

#[test]
fn a_frame_paused_in_a_long_loop_restarts_and_its_loop_runs_again() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch_with("loop", &[("main.lua", SUM_MAIN)]);
    let mut client = Client::start();
    let stack = paused_in_loop(&mut client, &dir, "looping", "sum");
    let (_, again) = restart_to(&mut client, &stack[0]["id"], SUM_MAIN, "sum-first");
    if client.evaluate("n == 1e15", Some(&again[0]["id"]), "watch") != "true" {
        client.fail("restarted with another argument");
    }
    // A short run this time, through the same (compiled) loop.
    client.ok(
        "setExpression",
        json!({"expression": "n", "value": "1000", "frameId": again[0]["id"]}),
    );
    finish_printing(&mut client, "sum 500500 calls 2");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A function whose loop runs until stopped, and its fix that does not loop.
/// (Both read `...`: Lua 5.1 gives a vararg function that does not an
/// `arg` table, another frame layout, and refuses to restart across that.)
const SPIN_V1: &str = "local M = {}\nfunction M.spin(tag, ...)\n  runs = runs + 1 -- spin-first\n  local acc = select('#', ...) - 2\n  while go do\n    acc = acc + 1\n    if acc == 200000 then print('spinning') end\n  end\n  return tag .. ' v1'\nend\nreturn M\n";

const SPIN_V2: &str = "local M = {}\nfunction M.spin(tag, ...)\n  runs = runs + 1 -- spin-first\n  return tag .. ' v2 ' .. select('#', ...) .. ' ' .. table.concat({...}, ',') .. ' runs ' .. runs\nend\nreturn M\n";

const SPIN_MAIN: &str =
    "runs = 0\ngo = true\nlocal m = require('spin')\nprint(m.spin('x', 'a', 'b'))\n";

#[test]
fn a_vararg_frame_paused_in_a_compiled_loop_restarts_with_its_reloaded_code() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let dir = scratch_with("spin", &[("main.lua", SPIN_MAIN), ("spin.lua", SPIN_V1)]);
    let mut client = Client::start();
    let stack = paused_in_loop(&mut client, &dir, "spinning", "spin");
    client.ok("hotReload", json!({"module": "spin", "source": SPIN_V2}));
    restart_to(&mut client, &stack[0]["id"], SPIN_V2, "spin-first");
    // The new code, with the same fixed argument and the same varargs.
    finish_printing(&mut client, "x v2 2 a,b runs 2");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An error in a comparator `table.sort` calls: the failing frame is above a
/// C function, the frame to retry below it.
const ORDER_V1: &str = "local M = {}\nfunction M.order(list)\n  sorts = sorts + 1 -- order-first\n  table.sort(list, function(a, b) return a.key < b.key end)\n  return tostring(list[1].key)\nend\nreturn M\n";

const ORDER_V2: &str = "local M = {}\nfunction M.order(list)\n  sorts = sorts + 1 -- order-first\n  table.sort(list, function(a, b) return (a.key or 0) < (b.key or 0) end)\n  return tostring(list[1].key)\nend\nreturn M\n";

const ORDER_MAIN: &str = "sorts = 0\nlocal m = require('order')\nprint('first ' .. m.order({ { key = 3 }, { key = 1 }, {} }) .. ' sorts ' .. sorts)\n";

#[test]
fn after_an_error_under_a_c_function_the_caller_is_retried() {
    support::require_host();
    if skipped_without_error_restart() {
        return;
    }
    let files = [("main.lua", ORDER_MAIN), ("order.lua", ORDER_V1)];
    let (mut client, dir) = launched("order", &files, &[]);
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    // [comparator, sort, order, main chunk]
    let order = frame_id(&client, &stack, "order", |f| f["name"] == "order");
    let sort = frame_id(&client, &stack, "sort", |f| f["name"] == "sort");
    let refused = client.err("restartFrame", json!({"frameId": sort}));
    if refused.kind != "unsupported" || !refused.message.contains("C function") {
        client.fail(&format!("sort: {refused}"));
    }
    client.ok("hotReload", json!({"module": "order", "source": ORDER_V2}));
    let (_, again) = restart_to(&mut client, &order, ORDER_V2, "order-first");
    if again[0]["name"] != "order" {
        client.fail(&format!("restarted in {}", again[0]["name"]));
    }
    if client.evaluate("#list", Some(&again[0]["id"]), "watch") != "3" {
        client.fail("the caller restarted with another list");
    }
    finish_printing(&mut client, "first nil sorts 2");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A coroutine (made by `coroutine.wrap`) calling a function twice.
const CO_WRAP_MAIN: &str = "hits = 0\nlocal function helper(x)\n  hits = hits + 1 -- helper-first\n  return x * 10 -- helper-bp\nend\nlocal co = coroutine.wrap(function(a)\n  local r = helper(a)\n  coroutine.yield(r)\n  return helper(a + 1)\nend)\nlocal first = co(1)\nprint('co ' .. first .. ' ' .. co() .. ' hits ' .. hits)\n";

#[test]
fn a_function_a_coroutine_called_restarts_on_that_coroutine() {
    support::require_host();
    if skipped_without_restart() {
        return;
    }
    let (mut client, dir) = stopped_in("coroutine", CO_WRAP_MAIN, "helper-bp");
    let thread = client.ok("threads", json!({}))["threads"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] != 1).map(|t| t["id"].clone()))
        .unwrap_or_else(|| client.fail("no coroutine thread"));
    let stack = client.stack(&thread);
    if stack[0]["name"] != "helper" {
        client.fail(&format!("stopped in {}", stack[0]["name"]));
    }
    let (_, again) = restart_to(&mut client, &stack[0]["id"], CO_WRAP_MAIN, "helper-first");
    if client.evaluate("x", Some(&again[0]["id"]), "watch") != "1" {
        client.fail("restarted with another argument");
    }
    // The coroutine yields and resumes as before.
    clear_and_finish_printing(&mut client, &dir, "main.lua", "co 10 20 hits 3");
    let _ = std::fs::remove_dir_all(&dir);
}

const CO_TICK_MAIN: &str = "ticks = 0\nlocal m = require('tick')\nlocal co = coroutine.wrap(function()\n  local results = {}\n  for i = 1, 3 do\n    results[i] = m.tick({ value = i ~= 2 and i or nil })\n  end\n  return table.concat(results, ',')\nend)\nprint('results ' .. co() .. ' ticks ' .. ticks)\n";

#[test]
fn after_an_error_in_a_coroutine_the_fixed_function_is_retried_there() {
    support::require_host();
    if skipped_without_error_restart() {
        return;
    }
    // Where it is raised, while the coroutine's frames are still there.
    let files = [("main.lua", CO_TICK_MAIN), ("tick.lua", TICK_V1)];
    let (mut client, dir) = launched("co-error", &files, &["all"]);
    let stopped = client.wait_stopped("exception");
    let stack = client.stack(&stopped["threadId"]);
    if stack[0]["name"] != "tick" {
        client.fail(&format!("stopped in {}", stack[0]["name"]));
    }
    client.ok("hotReload", json!({"module": "tick", "source": TICK_V2}));
    restart_to(&mut client, &stack[0]["id"], TICK_V2, "tick-first");
    finish_printing(&mut client, "results 2,0,6 ticks 4");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The error goes to a message handler of the program's that raises and
/// catches an error of its own before the failing call is retried: the
/// retry waits for the error it was asked on, so the handler's pcall catches
/// its own error and the handler runs to its end (handled 1; ticks 4: the
/// failed call, its retry with the fix returning 0, and the next call).
/// 5.1's xpcall passes no arguments: a closure passes them.
const XPCALL_MAIN: &str = "ticks = 0\nhandled = 0\nlocal m = require('tick')\nlocal function handler(e)\n  local _ = pcall(error, 'inner')\n  handled = handled + 1\n  return 'handled'\nend\nlocal results = {}\nfor i = 1, 3 do\n  local _, v = xpcall(function()\n    local v = m.tick({ value = i ~= 2 and i or nil })\n    return v\n  end, handler)\n  results[i] = tostring(v)\nend\nprint('results ' .. table.concat(results, ',') .. ' ticks ' .. ticks .. ' handled ' .. handled)\n";

#[test]
fn a_restart_after_an_error_waits_for_that_error_past_its_handlers_own() {
    support::require_host();
    if !restarts_after_an_error() {
        eprintln!("skipped: restarting after an error stop is refused on this runtime");
        return;
    }
    let dir = scratch("xpcall");
    std::fs::write(dir.join("main.lua"), XPCALL_MAIN).expect("main.lua");
    std::fs::write(dir.join("tick.lua"), TICK_V1).expect("tick.lua");
    let mut client = Client::start();
    client.launch(json!({
        "program": dir.join("main.lua").display().to_string(),
        "luaPath": format!("{}/?.lua", dir.display()),
    }));
    client.ok("setExceptionBreakpoints", json!({"filters": ["all"]}));
    client.ok("configurationDone", json!({}));
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    if stack[0]["line"] != line_in(TICK_V1, "tick-fails") {
        client.fail(&format!("stopped at line {}", stack[0]["line"]));
    }
    client.ok("hotReload", json!({"module": "tick", "source": TICK_V2}));
    client.ok("restartFrame", json!({"frameId": stack[0]["id"]}));
    // The handler runs first (no `restart` stop in its lines), and its own
    // error stops; continuing from there lets the retry run on.
    let inner = client.wait_stopped("exception");
    if !inner["text"].as_str().unwrap_or_default().contains("inner") {
        client.fail(&format!("second stop: {inner}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("results 2,0,6 ticks 4 handled 1") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The program's own line hook runs in the same events as the debugger's.
const HOOKED_MAIN: &str = "lines = 0\ndebug.sethook(function() lines = lines + 1 end, 'l')\nruns = 0\nlocal function twice(x)\n  runs = runs + 1 -- twice-first\n  return x * 2 -- twice-bp\nend\nlocal v = twice(21)\ndebug.sethook()\nprint('v ' .. v .. ' runs ' .. runs .. ' hooked ' .. tostring(lines > 0))\n";

#[test]
fn a_restart_waits_for_the_programs_own_hook() {
    support::require_host();
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
        return;
    }
    let (mut client, dir) = stopped_in("hooked", HOOKED_MAIN, "twice-bp");
    let top = frames(&mut client)[0]["id"].clone();
    client.ok("restartFrame", json!({"frameId": top}));
    client.wait_stopped("restart");
    let again = frames(&mut client);
    if again[0]["line"] != line_in(HOOKED_MAIN, "twice-first") {
        client.fail(&format!("restarted at line {}", again[0]["line"]));
    }
    let out = clear_and_finish(&mut client, &dir, "main.lua");
    if !out.contains("v 42 runs 2 hooked true") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A vararg function that failed before reading its extra arguments, fixed
/// to read them (on 5.1 the fix changes more than the frame's layout: the
/// old code got them as `arg`, the new one reads `...`).
const JOIN_V1: &str = "local M = {}\nfunction M.join(sep, ...)\n  joins = joins + 1 -- join-first\n  return sep .. missing -- join-fails\nend\nreturn M\n";
const JOIN_V2: &str = "local M = {}\nfunction M.join(sep, ...)\n  joins = joins + 1 -- join-first\n  return table.concat({ ... }, sep) -- join-fails\nend\nreturn M\n";
const JOIN_MAIN: &str = "joins = 0\nlocal m = require('join')\nlocal s = m.join(',', 'a', 'b')\nprint('joined ' .. s .. ' joins ' .. joins)\n";

/// Launched with `main` and `module` (named `name`), stopped on its
/// uncaught error, reloaded with `fixed` and restarted in the failing
/// frame: the `restart` stop's frames.
fn retried_after_error(
    tag: &str,
    main: &str,
    name: &str,
    module: &str,
    fixed: &str,
) -> (Client, PathBuf, Vec<Value>) {
    let file = format!("{name}.lua");
    let dir = scratch_with(tag, &[("main.lua", main), (file.as_str(), module)]);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    client.ok("configurationDone", json!({}));
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    client.ok("hotReload", json!({"module": name, "source": fixed}));
    client.ok("restartFrame", json!({"frameId": stack[0]["id"]}));
    client.wait_stopped("restart");
    let again = frames(&mut client);
    (client, dir, again)
}

#[test]
fn a_vararg_function_fixed_to_read_its_varargs_is_retried_with_them() {
    support::require_host();
    if !restarts_after_an_error() {
        eprintln!("skipped: restarting after an error stop is refused on this runtime");
        return;
    }
    let (mut client, dir, again) = retried_after_error("join", JOIN_MAIN, "join", JOIN_V1, JOIN_V2);
    if again[0]["line"] != line_in(JOIN_V2, "join-first") {
        client.fail(&format!("restarted at line {}", again[0]["line"]));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("joined a,b joins 2") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Lua 5.1 gives a vararg function that never reads `...` its extra
/// arguments as the table `arg`: fixed from reading `...` to reading `arg`,
/// the retry makes it; restarted again, it keeps it.
const ARG_V1: &str = "local M = {}\nfunction M.count(...)\n  counts = counts + 1 -- count-first\n  return select('#', ...) .. missing -- count-fails\nend\nreturn M\n";
const ARG_V2: &str = "local M = {}\nfunction M.count(...)\n  counts = counts + 1 -- count-first\n  return arg.n .. ':' .. table.concat(arg, '+') -- count-fails\nend\nreturn M\n";
const ARG_MAIN: &str = "counts = 0\nlocal m = require('count')\nlocal s = m.count('a', 'b', 'c')\nprint('count ' .. s .. ' counts ' .. counts)\n";

#[test]
fn on_lua51_a_vararg_function_fixed_to_read_arg_gets_it_when_retried() {
    support::require_host();
    if support::runtime() != "lua5.1" {
        eprintln!("skipped: only Lua 5.1 makes `arg` for a vararg function");
        return;
    }
    let (mut client, dir, again) = retried_after_error("arg", ARG_MAIN, "count", ARG_V1, ARG_V2);
    if again[0]["line"] != line_in(ARG_V2, "count-first") {
        client.fail(&format!("restarted at line {}", again[0]["line"]));
    }
    let n = client.evaluate("arg.n", Some(&again[0]["id"]), "watch");
    if n != "3" {
        client.fail(&format!("after the retry arg.n = {n}"));
    }
    // Restarted again from a breakpoint (both codes read `arg`): kept.
    let path = dir.join("count.lua").display().to_string();
    client.set_breakpoints(&path, &[line_in(ARG_V2, "count-fails")]);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_stopped("breakpoint");
    let top = frames(&mut client)[0]["id"].clone();
    client.ok("restartFrame", json!({"frameId": top}));
    client.wait_stopped("restart");
    let out = clear_and_finish(&mut client, &dir, "count.lua");
    if !out.contains("count 3:a+b+c counts 3") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
