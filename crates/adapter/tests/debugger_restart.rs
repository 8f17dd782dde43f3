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
/// step stop (its VM re-enters a frame after the hook: 5.4 to 5.1); the
/// others refuse, saying it is not supported.
fn restarts_from_a_stop() -> bool {
    matches!(
        support::runtime().as_str(),
        "lua5.4" | "lua5.3" | "lua5.2" | "lua5.1"
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
        let refused = client.err("restartFrame", json!({"frameId": top}));
        // The refusal names why (LuaJIT: the interpreter keeps the pc in a
        // register across the hook).
        if refused.kind != "unsupported"
            || !refused.message.contains("not supported")
            || (support::runtime() == "luajit" && !refused.message.contains("register"))
        {
            client.fail(&format!("refusal: {refused}"));
        }
        // Still stopped where it was: the old code finishes the call.
        let out = clear_and_finish(&mut client, &dir, "mod.lua");
        if !out.contains("total 8 calls 2") {
            client.fail(&format!("output: {out:?}"));
        }
        return;
    }
    client.ok("restartFrame", json!({"frameId": top}));
    client.wait_stopped("restart");
    let stack = frames(&mut client);
    if stack[0]["line"] != line_in(MODULE_V2, "first") {
        client.fail(&format!("restarted at line {}", stack[0]["line"]));
    }
    // Same argument; the counter kept (the first run already counted).
    let n = client.evaluate("n", Some(&stack[0]["id"]), "watch");
    let calls = client.evaluate("calls", Some(&stack[0]["id"]), "watch");
    if n != "1" || calls != "1" {
        client.fail(&format!("after restart n = {n}, calls = {calls}"));
    }
    // The restarted call triples (3), then the next call too (6); the
    // restarted call counted twice.
    let out = clear_and_finish(&mut client, &dir, "mod.lua");
    if !out.contains("total 9 calls 3") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frames_that_cannot_be_restarted_are_refused_and_nothing_is_lost() {
    support::require_host();
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
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
    let out = clear_and_finish(&mut client, &dir, "mod.lua");
    if !out.contains("total 6 calls 2") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_main_chunk_is_refused() {
    support::require_host();
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
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
    let out = clear_and_finish(&mut client, &dir, "main.lua");
    if !out.contains("total 6 calls 2") {
        client.fail(&format!("output: {out:?}"));
    }
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
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
        return;
    }
    let program = "runs = 0\nlocal function count(a, ...)\n  runs = runs + 1\n  local n = a + select('#', ...) -- bp-here\n  return n\nend\nprint('n ' .. count(10, 'x', 'y') .. ' runs ' .. runs)\n";
    let (mut client, dir) = stopped_in("vararg", program, "bp-here");
    let top = frames(&mut client)[0]["id"].clone();
    client.ok("restartFrame", json!({ "frameId": top }));
    client.wait_stopped("restart");
    let stack = frames(&mut client);
    if stack[0]["line"] != 3 {
        client.fail(&format!("restarted at line {}", stack[0]["line"]));
    }
    let out = clear_and_finish(&mut client, &dir, "main.lua");
    if !out.contains("n 12 runs 2") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_coroutines_first_function_and_open_to_be_closed_variables_are_refused() {
    support::require_host();
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
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
    if !restarts_from_a_stop() {
        eprintln!("skipped: restartFrame is refused on this runtime");
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
    let out = clear_and_finish(&mut client, &dir, "mod.lua");
    if !out.contains("total 12 calls 3") {
        client.fail(&format!("output: {out:?}"));
    }
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
    let dir = scratch_with("error", &[("main.lua", TICK_MAIN), ("tick.lua", TICK_V1)]);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    client.ok("configurationDone", json!({}));
    // Uncaught: the error would end the program and lose its state.
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    if stack[0]["line"] != line_in(TICK_V1, "tick-fails") {
        client.fail(&format!("stopped at {}", stack[0]["line"]));
    }
    if !restarts_after_an_error() {
        let refused = client.err("restartFrame", json!({"frameId": stack[0]["id"]}));
        if refused.kind != "unsupported" || !refused.message.contains("not supported") {
            client.fail(&format!("refusal: {refused}"));
        }
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
    client.ok("restartFrame", json!({"frameId": stack[0]["id"]}));
    client.wait_stopped("restart");
    let again = frames(&mut client);
    if again[0]["line"] != line_in(TICK_V2, "tick-first") {
        client.fail(&format!("restarted at line {}", again[0]["line"]));
    }
    // The same argument, the state kept (the failed run counted once).
    let ticks = client.evaluate("ticks", Some(&again[0]["id"]), "watch");
    let value = client.evaluate("n.value", Some(&again[0]["id"]), "watch");
    if ticks != "2" || value != "nil" {
        client.fail(&format!("after restart ticks = {ticks}, n.value = {value}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("results 2,0,6 ticks 4") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const STEP_MAIN: &str = "ticks = 0\nlocal m = require('tick')\nlocal function step(i)\n  local ok = pcall(m.tick, { value = i ~= 2 and i or nil }) -- step-first\n  return ok\nend\nlocal oks = {}\nfor i = 1, 3 do\n  oks[i] = tostring(step(i))\nend\nprint('oks ' .. table.concat(oks, ',') .. ' ticks ' .. ticks)\n";

#[test]
fn a_caller_is_retried_from_where_an_error_a_pcall_catches_was_raised() {
    support::require_host();
    if !restarts_after_an_error() {
        eprintln!("skipped: restarting after an error stop is refused on this runtime");
        return;
    }
    let dir = scratch_with("raise", &[("main.lua", STEP_MAIN), ("tick.lua", TICK_V1)]);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    client.ok("setExceptionBreakpoints", json!({"filters": ["all"]}));
    client.ok("configurationDone", json!({}));
    // Stopped where the error is raised, before pcall catches it.
    client.wait_stopped("exception");
    let stack = frames(&mut client);
    let step = stack
        .iter()
        .find(|f| f["name"] == "step")
        .map(|f| f["id"].clone())
        .unwrap_or_else(|| client.fail(&format!("no step frame: {stack:?}")));
    std::fs::write(dir.join("tick.lua"), TICK_V2).expect("tick.lua v2");
    client.ok("hotReload", json!({"module": "tick"}));
    // Retry the caller: the error unwinds through the pcall to it.
    client.ok("restartFrame", json!({"frameId": step}));
    client.wait_stopped("restart");
    let again = frames(&mut client);
    if again[0]["line"] != line_in(STEP_MAIN, "step-first") || again[0]["name"] != "step" {
        client.fail(&format!("restarted at line {}", again[0]["line"]));
    }
    if client.evaluate("i", Some(&again[0]["id"]), "watch") != "2" {
        client.fail("the caller restarted with another argument");
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("oks true,true,true ticks 4") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A recursion deep enough that the VM's frame records move (5.1 keeps them
/// in an array it reallocates as it grows), ending in a tail call (5.1
/// counts the frame it replaced as a level of its own) that fails.
const DEEP_V1: &str = "local M = {}\nlocal down\nfunction down(n)\n  if n == 0 then return M.leaf() end -- down-first\n  local r = down(n - 1)\n  return r + 1\nend\nfunction M.leaf()\n  ticks = ticks + 1\n  return nil + 1 -- leaf-fails\nend\nfunction M.run(n)\n  return (down(n))\nend\nreturn M\n";
const DEEP_MAIN: &str =
    "ticks = 0\nlocal m = require('deep')\nprint('result ' .. m.run(40) .. ' ticks ' .. ticks)\n";

#[test]
fn a_frame_deep_in_a_recursion_under_a_tail_call_is_retried_after_an_error() {
    support::require_host();
    if !restarts_after_an_error() {
        eprintln!("skipped: restarting after an error stop is refused on this runtime");
        return;
    }
    let dir = scratch_with("deep", &[("main.lua", DEEP_MAIN), ("deep.lua", DEEP_V1)]);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    client.ok("configurationDone", json!({}));
    client.wait_stopped("exception");
    // The innermost `down` is the call with n = 1 (n = 0 became `leaf`).
    let stack = frames(&mut client);
    let down = stack
        .iter()
        .find(|f| f["name"] == "down")
        .map(|f| f["id"].clone())
        .unwrap_or_else(|| client.fail(&format!("no down frame: {stack:?}")));
    if client.evaluate("n", Some(&down), "watch") != "1" {
        client.fail("the innermost down frame is not the call with n = 1");
    }
    let fixed = DEEP_V1.replace("return nil + 1", "return 0");
    std::fs::write(dir.join("deep.lua"), fixed).expect("deep.lua v2");
    client.ok("hotReload", json!({"module": "deep"}));
    client.ok("restartFrame", json!({"frameId": down}));
    client.wait_stopped("restart");
    let again = frames(&mut client);
    if again[0]["line"] != line_in(DEEP_V1, "down-first") || again[0]["name"] != "down" {
        client.fail(&format!("restarted at {:?}", again[0]));
    }
    if client.evaluate("n", Some(&again[0]["id"]), "watch") != "1" {
        client.fail("another frame than the call with n = 1 restarted");
    }
    // The 39 calls above it get their results: 40 in all; `leaf` ran twice.
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("result 40 ticks 2") {
        client.fail(&format!("output: {out:?}"));
    }
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
    if !restarts_after_an_error() {
        eprintln!("skipped: restarting after an error stop is refused on this runtime");
        return;
    }
    let dir = scratch_with("co", &[("main.lua", CO_MAIN), ("co.lua", CO_V1)]);
    let mut client = Client::start();
    launch_program(&mut client, &dir);
    client.ok("setExceptionBreakpoints", json!({"filters": ["all"]}));
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("exception");
    let thread = stopped["threadId"].clone();
    let stack = client.stack(&thread);
    let outer = stack
        .iter()
        .find(|f| f["line"] == line_in(CO_V1, "outer-first"))
        .map(|f| f["id"].clone())
        .unwrap_or_else(|| client.fail(&format!("no outer frame: {stack:?}")));
    std::fs::write(dir.join("co.lua"), CO_V1.replace("n + nil", "n + 0")).expect("co.lua v2");
    client.ok("hotReload", json!({"module": "co"}));
    client.ok("restartFrame", json!({"frameId": outer}));
    let again = client.wait_stopped("restart");
    let top = client.stack(&again["threadId"]);
    if top[0]["line"] != line_in(CO_V1, "outer-first") {
        client.fail(&format!("restarted at {:?}", top[0]));
    }
    client.ok("continue", json!({"threadId": again["threadId"]}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("resumed true 10 ticks 2") {
        client.fail(&format!("output: {out:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
