//! LuaJIT's compiler under the debugger, through `hotreload-dap` and the
//! real LuaJIT host (whatever `HOTRELOAD_TEST_RUNTIME` says: these are about
//! LuaJIT): compiled code runs no hooks and may hold inlined copies of a
//! function, so breakpoints, pauses and reloads must reach code that was
//! compiled, and the JIT must stay on where nothing needs hooks. Each
//! program proves with `jit.util` that the code in question was compiled.

mod support;

use serde_json::{json, Value};
use support::{host_dir, Client, TIMEOUT};

/// Counts the traces that exist, then the helpers every program uses.
const PRELUDE: &str = r#"local jutil = require("jit.util")
local function traces()
  local n = 0
  for i = 1, 4000 do
    if jutil.traceinfo(i) then n = n + 1 end
  end
  return n
end
jit.off(traces)
local function say(...)
  io.write(table.concat({ ... }, " "), "\n")
  io.stdout:flush()
end
-- From now on, whether a trace started in `fn` ended as a loop (1 or 0).
local function watch_loops(fn)
  local links = {}
  jit.attach(function(what, tr, func)
    if what == 'stop' and func == fn then
      links[#links + 1] = jutil.traceinfo(tr).linktype
    end
  end, 'trace')
  return function()
    return table.concat(links, ','):find('loop') and 1 or 0
  end
end
"#;

fn require_luajit_host() {
    let host = host_dir().join("hotreload-host-luajit");
    assert!(
        host.is_file(),
        "{} is missing: build it first with `scripts/build`",
        host.display()
    );
}

fn line_of(source: &str, marker: &str) -> i64 {
    source
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("no {marker} line"))
}

fn launch(client: &mut Client, program: &str, extra: Value) {
    let mut args = json!({"program": program, "runtime": "luajit"});
    if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    client.launch(args);
}

/// The number a line `<label> N` of the program's output says.
fn said(client: &mut Client, label: &str) -> i64 {
    let prefix = format!("{label} ");
    let text = client.wait_output(label, |t| t.lines().any(|l| l.starts_with(&prefix)));
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| client.fail(&format!("no number after {label}")))
}

fn top_line(client: &mut Client, stopped: &Value) -> i64 {
    let frames = client.stack(&stopped["threadId"]);
    frames.first().and_then(|f| f["line"].as_i64()).unwrap_or(0)
}

#[test]
fn a_breakpoint_stops_in_a_function_already_compiled_into_a_trace_and_the_jit_returns() {
    require_luajit_host();
    let source = format!(
        "{PRELUDE}\
local n = 0
local function step(x)
  return x + 1 -- step-body
end
local function run(k)
  for _ = 1, k do n = step(n) end
end
run(300000)
say('compiled', traces())
local gate = 1 -- gate-1
run(300000) -- run-again
say('compiled-again', traces())
local gate2 = 2 -- gate-2
say('total', n)
"
    );
    let program = Client::temp_program("jit_breakpoint.lua", &source);
    let mut client = Client::start();
    launch(&mut client, &program, json!({}));
    client.set_breakpoints(&program, &[line_of(&source, "gate-1")]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    if said(&mut client, "compiled") < 1 {
        client.fail("the loop was not compiled: the test proves nothing");
    }
    // The loop's trace holds `step` inlined; a breakpoint there must stop.
    let body = line_of(&source, "step-body");
    client.set_breakpoints(&program, &[body]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    let stopped = client.wait_stopped("breakpoint");
    if top_line(&mut client, &stopped) != body {
        client.fail("stopped elsewhere than in the compiled function");
    }
    // Removed: the JIT compiles the loop again.
    client.set_breakpoints(&program, &[line_of(&source, "gate-2")]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    client.wait_stopped("breakpoint");
    if said(&mut client, "compiled-again") < 1 {
        client.fail("no trace after the breakpoint was removed: the JIT stayed off");
    }
    client.ok("continue", json!({}));
    if said(&mut client, "total") != 600_000 {
        client.fail("the program computed something else");
    }
    client.wait_event("terminated");
}

#[test]
fn breakpoints_elsewhere_leave_loops_compiled() {
    require_luajit_host();
    let source = format!(
        "{PRELUDE}\
local function never()
  return 'never' -- never-runs
end
local s = 0
for i = 1, 300000 do s = s + i % 7 end
say('compiled', traces())
say('sum', s)
"
    );
    let program = Client::temp_program("jit_elsewhere.lua", &source);
    let mut client = Client::start();
    launch(&mut client, &program, json!({}));
    client.set_breakpoints(&program, &[line_of(&source, "never-runs")]);
    client.ok("configurationDone", json!({}));
    if said(&mut client, "compiled") < 1 {
        client.fail("a breakpoint in another function kept the loop from compiling");
    }
    client.wait_event("terminated");
}

#[test]
fn pause_stops_a_busy_loop_running_in_a_trace() {
    require_luajit_host();
    let source = format!(
        "{PRELUDE}\
local x = 0
for _ = 1, 300000 do x = x + 1 end
say('compiled', traces())
while true do
  x = x + 1 -- busy
end
"
    );
    let program = Client::temp_program("jit_pause.lua", &source);
    let mut client = Client::start();
    launch(&mut client, &program, json!({}));
    client.ok("configurationDone", json!({}));
    if said(&mut client, "compiled") < 1 {
        client.fail("the first loop was not compiled: the JIT is off");
    }
    client.ok("pause", json!({"threadId": 1}));
    let stopped = client.wait_stopped("pause");
    let line = top_line(&mut client, &stopped);
    let busy = line_of(&source, "busy");
    if line != busy && line != busy - 1 {
        client.fail(&format!("paused at line {line}, not in the loop"));
    }
    client.ok("disconnect", json!({"terminateDebuggee": true}));
}

/// Runs `body` (after the prelude) as a program beside module `name` at
/// version `v1`, stops at its `-- gate` line once it said `before` (which
/// must be `before`) and `compiled` (at least one trace), reloads the
/// module with `v2` and continues. Returns the client, to read what the
/// program says next, and the reload's body.
fn reload_at_the_gate(name: &str, v1: &str, body: &str, v2: &str, before: i64) -> (Client, Value) {
    require_luajit_host();
    let dir = std::env::temp_dir().join(format!("hotreload-jit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    std::fs::write(dir.join(format!("{name}.lua")), v1).unwrap_or_else(|e| panic!("{e}"));
    let source = format!("{PRELUDE}{body}");
    let program = dir.join("main.lua");
    std::fs::write(&program, &source).unwrap_or_else(|e| panic!("{e}"));
    let program = program.display().to_string();
    let mut client = Client::start();
    launch(
        &mut client,
        &program,
        json!({"luaPath": format!("{}/?.lua", dir.display())}),
    );
    client.set_breakpoints(&program, &[line_of(&source, "-- gate")]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    if said(&mut client, "before") != before || said(&mut client, "compiled") < 1 {
        client.fail(&format!("the loop calling {name} was not compiled"));
    }
    let reloaded = client.ok("hotReload", json!({"module": name, "source": v2}));
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    (client, reloaded)
}

#[test]
fn a_reload_flushes_traces_that_inlined_the_old_code() {
    let (mut client, body) = reload_at_the_gate(
        "calc",
        "local M = {}\nfunction M.f(x) return x + 1 end\nreturn M\n",
        "local calc = require('calc')
local function run(k)
  local s = 0
  for _ = 1, k do s = calc.f(s) end
  return s
end
say('before', run(300000))
say('compiled', traces())
local gate = 1 -- gate
say('after-reload', traces())
say('after', run(300000))
",
        "local M = {}\nfunction M.f(x) return x + 2 end\nreturn M\n",
        300_000,
    );
    if body["changed"] != json!(["calc.f"]) {
        client.fail(&format!("reload report: {body}"));
    }
    if said(&mut client, "after-reload") != 0 {
        client.fail("traces survived the reload");
    }
    if said(&mut client, "after") != 600_000 {
        client.fail("the loop ran the old code after the reload");
    }
    let _ = client.wait_event_for("terminated", TIMEOUT);
}

#[test]
fn closures_a_factory_made_run_new_code_in_a_loop_compiled_before_the_reload() {
    let v1 =
        "local M = {}\nfunction M.make(k)\n  return function(x) return x + k end\nend\nreturn M\n";
    let (mut client, body) = reload_at_the_gate(
        "adder",
        v1,
        "local add = require('adder').make(1)
local function run(k)
  local s = 0
  for _ = 1, k do s = add(s) end
  return s
end
say('before', run(300000))
say('compiled', traces())
local gate = 1 -- gate
say('after', run(300000))
",
        &v1.replace("x + k", "x + k * 2"),
        300_000,
    );
    if body["warnings"] != json!([]) {
        client.fail(&format!("reload report: {body}"));
    }
    // The closure made before the reload keeps k = 1 and runs the new code.
    if said(&mut client, "after") != 600_000 {
        client.fail("the factory's closure ran the old code after the reload");
    }
    let _ = client.wait_event_for("terminated", TIMEOUT);
}

#[test]
fn coroutines_resumed_many_times_through_the_notification_keep_their_stack() {
    require_luajit_host();
    // While the resume notification is on, coroutine.resume and wrap's
    // functions resume through C: once, each call grew the coroutine's
    // stack until "stack overflow".
    let source = format!(
        "{PRELUDE}\
local co = coroutine.create(function() while true do coroutine.yield(1) end end)
local w = coroutine.wrap(function() while true do coroutine.yield(2) end end)
local s = 0
for _ = 1, 200000 do
  local _, a = coroutine.resume(co)
  s = s + a + w()
end
say('sum', s)
"
    );
    let program = Client::temp_program("jit_resume.lua", &source);
    for no_debug in [true, false] {
        let mut client = Client::start();
        launch(&mut client, &program, json!({"noDebug": no_debug}));
        client.ok("configurationDone", json!({}));
        if said(&mut client, "sum") != 600_000 {
            client.fail("the coroutines did not all run");
        }
        client.wait_event("terminated");
    }
}

#[test]
fn ffi_is_preloaded_not_global_as_in_stock_luajit() {
    require_luajit_host();
    // LuaJIT's own suite (lib/contents.lua) lists the globals: stock
    // `luajit` has no global `ffi`, only `require("ffi")`.
    let source = format!(
        "{PRELUDE}\
local before = rawget(_G, 'ffi') == nil and package.loaded.ffi == nil
local ffi = require('ffi')
say('stock', (before and type(ffi.new) == 'function' and require('ffi') == ffi) and 1 or 0)
"
    );
    let program = Client::temp_program("jit_ffi.lua", &source);
    let mut client = Client::start();
    launch(&mut client, &program, json!({}));
    client.ok("configurationDone", json!({}));
    if said(&mut client, "stock") != 1 {
        client.fail("ffi is not as in stock luajit");
    }
    client.wait_event("terminated");
}

#[test]
fn next_stops_once_per_line_across_lua_and_c_calls() {
    require_luajit_host();
    // Stock LuaJIT reports a line again once a call on it returns, and a C
    // function returns without a return event: neither may change a step.
    let source = format!(
        "{PRELUDE}\
local function f() return 1 end
local x = 0
x = x + f() -- line-a
print(x) -- line-b
x = f() + f() -- line-c
local ok = pcall(f) -- line-d
local y = x -- line-e
say('y', y)
"
    );
    let program = Client::temp_program("jit_next.lua", &source);
    let mut client = Client::start();
    launch(&mut client, &program, json!({}));
    client.set_breakpoints(&program, &[line_of(&source, "line-a")]);
    client.ok("configurationDone", json!({}));
    let mut stopped = client.wait_stopped("breakpoint");
    client.set_breakpoints(&program, &[]);
    let mut lines = vec![top_line(&mut client, &stopped)];
    for _ in 0..4 {
        client.ok("next", json!({"threadId": stopped["threadId"]}));
        stopped = client.wait_stopped("step");
        lines.push(top_line(&mut client, &stopped));
    }
    let expected: Vec<i64> = ["line-a", "line-b", "line-c", "line-d", "line-e"]
        .iter()
        .map(|m| line_of(&source, m))
        .collect();
    if lines != expected {
        client.fail(&format!(
            "stopped on lines {lines:?}, expected {expected:?}"
        ));
    }
    client.ok("continue", json!({}));
    client.wait_event("terminated");
}

/// A program (`body` after the prelude) whose `work` loop holds conditional
/// breakpoints, checked as a compiled loop should behave: the loop was
/// compiled with them in place (`looped 1`), it stops exactly at `stops`,
/// in order and nowhere else, and each run it says in `runs` computes `sum`.
struct CompiledLoop<'a> {
    name: &'a str,
    body: &'a str,
    /// (line marker, condition)
    breakpoints: &'a [(&'a str, &'a str)],
    /// (line marker, variable, its value there)
    stops: &'a [(&'a str, &'a str, &'a str)],
    runs: &'a [&'a str],
    sum: i64,
}

impl CompiledLoop<'_> {
    fn check(&self) {
        require_luajit_host();
        let source = format!("{PRELUDE}{}", self.body);
        let program = Client::temp_program(&format!("jit_{}.lua", self.name), &source);
        let mut client = Client::start();
        launch(&mut client, &program, json!({}));
        let breakpoints: Vec<Value> = self
            .breakpoints
            .iter()
            .map(|(marker, condition)| {
                json!({"line": line_of(&source, marker), "condition": condition})
            })
            .collect();
        client.ok(
            "setBreakpoints",
            json!({"source": {"path": program}, "breakpoints": breakpoints}),
        );
        client.ok("configurationDone", json!({}));
        if said(&mut client, "looped") != 1 {
            client.fail(&format!("{}: the loop was not compiled", self.name));
        }
        for (marker, name, want) in self.stops {
            let line = line_of(&source, marker);
            let stopped = client.wait_stopped("breakpoint");
            let frames = client.stack(&stopped["threadId"]);
            let top = frames.first().cloned().unwrap_or_default();
            if top["line"] != line {
                client.fail(&format!("stopped at {} not {line} ({marker})", top["line"]));
            }
            let got = client.evaluate(name, Some(&top["id"]), "watch");
            if got != *want {
                client.fail(&format!("stopped with {name} = {got}, expected {want}"));
            }
            client.ok("continue", json!({"threadId": 1}));
        }
        for label in self.runs {
            if said(&mut client, label) != self.sum {
                client.fail(&format!("{label}: the loop computed something else"));
            }
        }
        client.wait_event("terminated");
        let stops = client
            .event_names()
            .iter()
            .filter(|n| *n == "stopped")
            .count();
        if stops != self.stops.len() {
            client.fail(&format!("{stops} stops, expected {}", self.stops.len()));
        }
    }
}

/// `work`'s loop with a breakpoint whose condition reads globals; each
/// call makes the condition true (or not) at pass `at` by changing a
/// global's value or type, removing it, or giving `work` another
/// environment. `looped` says whether `work`'s loop was compiled.
const GLOBALS: &str = r#"debug_on = false
cfg = { level = 1 }
local function work(n, at, change, undo)
  local acc = 0
  for i = 1, n do
    if i == at then change() end
    acc = acc + i % 7 -- bp-global
    if i == at then undo() end
  end
  return acc
end
local looped = watch_loops(work)
local function nothing() end
say('warm', work(20000, 0, nothing, nothing))
say('looped', looped())
-- a value: stops at 5000
say('value', work(20000, 5000, function() cfg.level = 5 end, function() cfg.level = 1 end))
-- another table, still false: no stop
say('swap', work(20000, 5500, function() cfg = { level = 2 } end, nothing))
-- another type: stops at 6000
say('type', work(20000, 6000, function() debug_on = 'yes' end, function() debug_on = false end))
-- removed: stops at 7000
say('removed', work(20000, 7000, function() debug_on = nil end, function() debug_on = false end))
-- another environment: its globals count, stops at 8000 ...
local env = { debug_on = false, cfg = { level = 1 } }
setfenv(work, env)
say('fenv', work(20000, 8000, function() env.cfg.level = 9 end, function() env.cfg.level = 1 end))
-- ... and the old ones no longer do: no stop
say('old', work(20000, 9000, function() debug_on = true end, function() debug_on = false end))
say('traces', traces())
"#;

/// A condition naming globals (`debug_on`, `cfg.level`) in a compiled loop
/// is guards on the function's environment: the loop stays compiled (its
/// trace loops rather than ending at the trap), and it stops at exactly the
/// passes where the condition turns true, whether a global changed value
/// or type, was removed, or the function got another environment
/// (setfenv); a change that keeps it false does not stop.
#[test]
fn conditions_naming_globals_are_guards_in_compiled_loops() {
    CompiledLoop {
        name: "globals",
        body: GLOBALS,
        breakpoints: &[("bp-global", "debug_on ~= false or cfg.level > 3")],
        stops: &[
            ("bp-global", "i", "5000"),
            ("bp-global", "i", "6000"),
            ("bp-global", "i", "7000"),
            ("bp-global", "i", "8000"),
        ],
        runs: &["warm", "value", "swap", "type", "removed", "fenv", "old"],
        sum: (1..=20000i64).map(|k| k % 7).sum(),
    }
    .check();
}

/// A loop whose `for` line (its FORL trap, every pass), a return line and
/// a tail call's line (inlined callees) hold breakpoints with conditions.
const CONTROL: &str = r#"ret_at, tail_at = -1, -1
local function add(x, k, i)
  return x + k -- bp-return
end
local function via(x, k, i)
  return add(x, k, i) -- bp-tail
end
local function work(n, stop_at)
  local acc, passes = 0, 0
  for i = 1, n do -- bp-for
    acc = via(acc, i % 7, i)
    passes = passes + 1
  end
  return acc
end
local looped = watch_loops(work)
say('warm', work(20000, -1))
say('looped', looped())
say('for', work(20000, 5000))
-- flushed: the trapped loop's patches are undone and it compiles again
jit.flush()
ret_at = 6000
say('return', work(20000, -1))
ret_at, tail_at = -1, 7000
say('tail', work(20000, -1))
-- jit.off: the hot loop's lazy patch to IFORL goes to the trap's original
tail_at = -1
jit.off(work)
say('off', work(20000, 3000))
"#;

/// Conditions on a `for` line (a trap on the loop's FORL, reached every
/// pass), on a return and on a tail call of functions the loop inlines:
/// while false they are guards, the loop compiled (its trace loops); each
/// stops at the pass where it turns true, also once the traces were
/// flushed and the loop compiled again, and under `jit.off`.
#[test]
fn conditions_on_for_return_and_tail_call_lines_keep_the_loop_compiled() {
    CompiledLoop {
        name: "control",
        body: CONTROL,
        breakpoints: &[
            ("bp-for", "passes == stop_at"),
            ("bp-return", "i == ret_at"),
            ("bp-tail", "i == tail_at"),
        ],
        stops: &[
            ("bp-for", "passes", "5000"),
            ("bp-return", "i", "6000"),
            ("bp-tail", "i", "7000"),
            ("bp-for", "passes", "3000"),
        ],
        runs: &["warm", "for", "return", "tail", "off"],
        sum: (1..=20000i64).map(|k| k % 7).sum(),
    }
    .check();
}

/// A generic `for` over `pairs` whose line holds a breakpoint with a
/// condition (its trap on the ITERC that calls `next`, every pass).
const PAIRS: &str = r#"local t = {}
for k = 1, 50 do t['k' .. k] = k end
local function work(rounds, stop_at)
  local acc, passes = 0, 0
  for _ = 1, rounds do
    for _, v in pairs(t) do -- bp-pairs
      acc = acc + v
      passes = passes + 1
    end
  end
  return acc
end
local looped = watch_loops(work)
say('warm', work(400, -1))
say('looped', looped())
say('stop', work(400, 5010))
"#;

/// The condition on a `pairs` loop's line is guards before the call to
/// `next`: the loop stays compiled and stops at the pass it turns true.
#[test]
fn a_condition_on_a_pairs_loop_line_keeps_it_compiled() {
    CompiledLoop {
        name: "pairs",
        body: PAIRS,
        breakpoints: &[("bp-pairs", "passes == stop_at")],
        stops: &[("bp-pairs", "passes", "5010")],
        runs: &["warm", "stop"],
        sum: 400 * (1..=50i64).sum::<i64>(),
    }
    .check();
}

/// A `while true do` loop, whose line's trap is on its LOOP instruction.
const WHILE: &str = r#"local function work(n, stop_at)
  local acc, passes = 0, 0
  while true do -- bp-while
    passes = passes + 1
    acc = acc + passes % 7
    if passes >= n then break end
  end
  return acc
end
local looped = watch_loops(work)
say('warm', work(20000, -1))
say('looped', looped())
say('stop', work(20000, 5000))
"#;

/// The condition on a `while true do` line (a trap on the loop's LOOP
/// instruction, hot-counted) is guards: the loop compiles and stops at the
/// pass it turns true.
#[test]
fn a_condition_on_a_while_line_keeps_the_loop_compiled() {
    CompiledLoop {
        name: "while",
        body: WHILE,
        breakpoints: &[("bp-while", "passes == stop_at")],
        stops: &[("bp-while", "passes", "5000")],
        runs: &["warm", "stop"],
        sum: (1..=20000i64).map(|k| k % 7).sum(),
    }
    .check();
}
