//! Breakpoints as traps in the code, through `hotreload-dap` and the real
//! host of `HOTRELOAD_TEST_RUNTIME` (every VM has traps: an opcode put in
//! the place of the breakpoint's first instruction, the original kept
//! aside). What the VM reads of its code as data must read the original:
//! names in error messages and tracebacks, `string.dump`, LuaJIT's
//! `jit.util.funcbc`; and conditions, hit counts, logpoints and loops work
//! through the traps as they did through the line hook.

mod support;

use serde_json::{json, Value};
use support::Client;

fn line_of(source: &str, marker: &str) -> i64 {
    source
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("no {marker} line"))
}

/// Stops at a breakpoint on `line`; returns the top frame.
#[track_caller]
fn expect_stop(client: &mut Client, line: i64) -> Value {
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    let top = frames.first().cloned().unwrap_or_default();
    if top["line"] != line {
        client.fail(&format!("stopped at {} not {line}", top["line"]));
    }
    top
}

fn stops(client: &Client) -> usize {
    client
        .event_names()
        .iter()
        .filter(|n| *n == "stopped")
        .count()
}

const READERS: &str = r#"local t = {}
local function callee()
  error('boom')
end
local function add(a, b)
  return a + b -- bp-dump
end
local ok, msg = pcall(function()
  local u = t
  return u.missing.x -- bp-index
end)
print('index: ' .. tostring(msg))
local function go()
  callee() -- bp-call
end
local _, tb = xpcall(go, debug.traceback)
print('traceback: ' .. tb:gsub('\n', ' | '))
local copy = (loadstring or load)(string.dump(add))
print('dump: ' .. copy(2, 3))
print('done')
"#;

#[test]
fn code_read_as_data_reads_the_original_under_a_trap() {
    let program = Client::temp_program("traps_readers.lua", READERS);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let lines = [
        line_of(READERS, "bp-dump"),
        line_of(READERS, "bp-index"),
        line_of(READERS, "bp-call"),
    ];
    let set = client.set_breakpoints(&program, &lines);
    if set.iter().any(|b| b["verified"] != true) {
        client.fail(&format!("unverified breakpoints: {set:?}"));
    }
    client.ok("configurationDone", json!({}));
    expect_stop(&mut client, lines[1]);
    client.ok("continue", json!({"threadId": 1}));
    expect_stop(&mut client, lines[2]);
    client.ok("continue", json!({"threadId": 1}));
    let out = client.wait_output("done", |t| t.contains("done"));
    // Each VM words it its own way; each names the field and the callee,
    // which it finds by reading the trapped instruction.
    let index = out.lines().find(|l| l.starts_with("index: ")).unwrap_or("");
    if !index.contains("'missing'") {
        client.fail(&format!("the message lost the field's name: {index}"));
    }
    let traceback = out
        .lines()
        .find(|l| l.starts_with("traceback: "))
        .unwrap_or("");
    if !traceback.contains("'callee'") {
        client.fail(&format!(
            "the traceback lost the callee's name: {traceback}"
        ));
    }
    // The dumped copy holds no trap: it adds (and never stops).
    if !out.lines().any(|l| l == "dump: 5") {
        client.fail(&format!("string.dump of a trapped function: {out}"));
    }
    client.wait_event("exited");
    if stops(&client) != 2 {
        client.fail(&format!("{} stops, expected 2", stops(&client)));
    }
}

const LOOPS: &str = r#"local acc = 0
for i = 1, 5 do
  acc = acc + i -- bp-cond
end
for j = 1, 3 do
  acc = acc + j -- bp-log
end
local t = { a = 1, b = 2, c = 3 }
local sum = 0
for k, v in pairs(t) do
  sum = sum + v -- bp-hits
end
local n = 0
while n < 4 do n = n + 1 end -- bp-while
print('acc ' .. acc .. ' sum ' .. sum .. ' n ' .. n)
"#;

#[test]
fn conditions_hit_counts_and_logpoints_work_through_traps() {
    let program = Client::temp_program("traps_loops.lua", LOOPS);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let (cond, log, hits, while_line) = (
        line_of(LOOPS, "bp-cond"),
        line_of(LOOPS, "bp-log"),
        line_of(LOOPS, "bp-hits"),
        line_of(LOOPS, "bp-while"),
    );
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": cond, "condition": "i == 4"},
            {"line": log, "logMessage": "j={j}"},
            {"line": hits, "hitCondition": "2"},
            {"line": while_line, "hitCondition": ">= 4"},
        ]}),
    );
    client.ok("configurationDone", json!({}));
    let top = expect_stop(&mut client, cond);
    let i = client.evaluate("i", Some(&top["id"]), "watch");
    if i != "4" {
        client.fail(&format!("stopped with i = {i}, expected 4"));
    }
    client.ok("continue", json!({"threadId": 1}));
    // The second pass through the `pairs` loop's body, whatever the order.
    let top = expect_stop(&mut client, hits);
    let sum = client.evaluate("sum", Some(&top["id"]), "watch");
    if !["1", "2", "3"].contains(&sum.as_str()) {
        client.fail(&format!("sum is {sum} at the second hit"));
    }
    client.ok("continue", json!({"threadId": 1}));
    // A one-line loop: its line comes back each time round (the fourth and
    // fifth times here: four passes and the last test).
    expect_stop(&mut client, while_line);
    client.ok("continue", json!({"threadId": 1}));
    expect_stop(&mut client, while_line);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("acc 21 sum 6 n 4") {
        client.fail(&format!("the program computed otherwise: {out}"));
    }
    let console = client.output_of("console");
    let logged: Vec<&str> = console.lines().filter(|l| l.starts_with("j=")).collect();
    if logged != ["j=1", "j=2", "j=3"] {
        client.fail(&format!("logpoint output: {console:?}"));
    }
    if stops(&client) != 4 {
        client.fail(&format!("{} stops, expected 4", stops(&client)));
    }
}

const FUNCBC: &str = r#"local function f(x)
  local y = x * 2
  return y + 1 -- bp-f
end
local g = loadstring("return function(x)\n  local y = x * 2\n  return y + 1\nend", "=copy")()
local funcbc = require('jit.util').funcbc
local same = true
for pc = 1, 3 do
  local a, b = funcbc(f, pc), funcbc(g, pc)
  if a ~= b then same = false end
end
print('same ' .. tostring(same) .. ' ' .. f(1))
"#;

#[test]
fn luajit_funcbc_shows_the_original_bytecode_under_a_trap() {
    if support::runtime() != "luajit" {
        return; // jit.util is LuaJIT's
    }
    let program = Client::temp_program("traps_funcbc.lua", FUNCBC);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let bp = line_of(FUNCBC, "bp-f");
    client.set_breakpoints(&program, &[bp]);
    client.ok("configurationDone", json!({}));
    expect_stop(&mut client, bp);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("same true 3") {
        client.fail(&format!("jit.util.funcbc saw the trap: {out}"));
    }
}

const RETURNS: &str = r#"local function f(x)
  local y = x + 1
  return y -- bp-ret
end
local a = f(1) -- call
local b = a + 1 -- after
print('b ' .. b)
"#;

/// A breakpoint on a return (the trap stands on the return instruction):
/// the return event still reaches the debugger, so stepping out of it, and
/// over it, stops in the caller, before the program goes on.
#[test]
fn steps_from_a_trapped_return_stop_in_the_caller() {
    for step in ["stepOut", "next"] {
        let program = Client::temp_program(&format!("traps_returns_{step}.lua"), RETURNS);
        let mut client = Client::start();
        client.launch(json!({"program": program}));
        let bp = line_of(RETURNS, "bp-ret");
        client.set_breakpoints(&program, &[bp]);
        client.ok("configurationDone", json!({}));
        expect_stop(&mut client, bp);
        client.ok(step, json!({"threadId": 1}));
        let stopped = client.wait_stopped("step");
        let frames = client.stack(&stopped["threadId"]);
        let line = frames.first().and_then(|f| f["line"].as_i64()).unwrap_or(0);
        let (call, after) = (line_of(RETURNS, "-- call"), line_of(RETURNS, "-- after"));
        if frames.len() != 1 || !(call..=after).contains(&line) {
            client.fail(&format!(
                "{step} stopped at line {line}, {} frames",
                frames.len()
            ));
        }
        if client.stdout_text().contains("b 3") {
            client.fail(&format!("{step} let the program run past its caller"));
        }
        client.ok("continue", json!({"threadId": 1}));
        client.wait_event("exited");
    }
}

const FALLBACKS: &str = r#"local mt = { __eq = function() return true end }
local A, B = setmetatable({}, mt), setmetatable({}, mt)
setmetatable(_G, {
  __index = function(_, k) return 'dflt:' .. k end,
  __newindex = function(t, k, v) rawset(t, k, v * 2) end,
})
local function probe()
  local str, nine, V, W = '10', '9', A, B
  local g = undefined_global -- bp-gget
  local s = str + 1 -- bp-arith
  local lt = str < nine -- bp-comp
  newglobal = 5 -- bp-gset
  local up = str:upper() -- bp-method
  local eq = V == W -- bp-eq
  return g, s == 11, lt, rawget(_G, 'newglobal'), up, eq -- 11 or 11.0
end
print('probe', probe())
"#;

/// Breakpoints on lines whose first instruction falls back to the VM's
/// slow path (a global through the environment's metatable, arithmetic on
/// a string, a string comparison, a method on a string, `__eq`): the
/// fallback reads the original instruction, not the trap.
#[test]
fn fallbacks_of_trapped_instructions_keep_their_meaning() {
    let program = Client::temp_program("traps_fallbacks.lua", FALLBACKS);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let markers = [
        "bp-gget",
        "bp-arith",
        "bp-comp",
        "bp-gset",
        "bp-method",
        "bp-eq",
    ];
    let lines: Vec<i64> = markers.iter().map(|m| line_of(FALLBACKS, m)).collect();
    client.set_breakpoints(&program, &lines);
    client.ok("configurationDone", json!({}));
    for &line in &lines {
        expect_stop(&mut client, line);
        client.ok("continue", json!({"threadId": 1}));
    }
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("probe\tdflt:undefined_global\ttrue\ttrue\t10\t10\ttrue") {
        client.fail(&format!("the program computed otherwise: {out:?}"));
    }
}

/// A hot loop in a function (LuaJIT compiles it after a few dozen passes),
/// with `twice` dead after the breakpoint's line (and a store before it,
/// after which LuaJIT drops dead slots from its snapshots). On LuaJIT the program
/// also prints, after each call, how each trace started in `work` ended
/// (`jit.util.traceinfo(tr).linktype`: `loop` when the loop stayed
/// compiled, `interpreter` when a trace ended at a trap).
const HOT: &str = r#"local jit_ok, jit = pcall(require, 'jit')
local util = jit_ok and require('jit.util') or nil
local traces = {}
local last = {}
local function work(n)
  local acc = 0
  for i = 1, n do
    local twice = i * 2
    last[1] = i
    acc = acc + i % 7 -- bp-loop
  end
  return acc
end
if util then
  jit.attach(function(what, tr, func)
    if what == 'stop' and func == work then
      traces[#traces + 1] = util.traceinfo(tr).linktype
    end
  end, 'trace')
end
local function report(label, sum)
  print(label .. ' ' .. sum .. ' traces ' .. table.concat(traces, ','))
  traces = {}
end
report('first', work(20000))
report('second', work(20000)) -- bp-marker
report('third', work(20000)) -- bp-marker2
"#;

/// Σ k % 7 for k in 1..n.
fn sum_mod7(n: i64) -> i64 {
    (1..n).map(|k| k % 7).sum()
}

/// Where the program printed `label`: its sum and the traces' endings.
fn report_of(client: &Client, label: &str) -> (String, String) {
    let out = client.stdout_text();
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_else(|| client.fail(&format!("no {label} report in {out:?}")));
    let mut words = line.split(' ');
    let sum = words.nth(1).unwrap_or("").to_string();
    let traces = words.nth(1).unwrap_or("").to_string();
    (sum, traces)
}

/// A false condition in a compiled loop becomes guards in the trace: the
/// loop stays compiled, and the guard that fails when the condition turns
/// true stops at that very iteration, every local as the interpreter would
/// have it (`twice`, dead after the line, too).
#[test]
fn a_condition_in_a_compiled_loop_stops_at_its_iteration_with_its_values() {
    let program = Client::temp_program("traps_hot_condition.lua", HOT);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let bp = line_of(HOT, "bp-loop");
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": bp, "condition": "i == 5000"},
        ]}),
    );
    client.ok("configurationDone", json!({}));
    let top = expect_stop(&mut client, bp);
    for (name, want) in [
        ("i", 5000.to_string()),
        ("twice", 10000.to_string()),
        ("acc", sum_mod7(5000).to_string()),
    ] {
        let got = client.evaluate(name, Some(&top["id"]), "watch");
        if got != want {
            client.fail(&format!("stopped with {name} = {got}, expected {want}"));
        }
    }
    // Each of the three calls stops once, at the same iteration.
    for _ in 0..2 {
        client.ok("continue", json!({"threadId": 1}));
        let top = expect_stop(&mut client, bp);
        let i = client.evaluate("i", Some(&top["id"]), "watch");
        if i != "5000" {
            client.fail(&format!("stopped with i = {i}, expected 5000"));
        }
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let want = sum_mod7(20001).to_string();
    for label in ["first", "second", "third"] {
        let (sum, _) = report_of(&client, label);
        if sum != want {
            client.fail(&format!("{label} sum {sum}, expected {want}"));
        }
    }
    if stops(&client) != 3 {
        client.fail(&format!("{} stops, expected 3", stops(&client)));
    }
    if support::runtime() == "luajit" {
        let (_, traces) = report_of(&client, "first");
        if !traces.split(',').any(|t| t == "loop") {
            client.fail(&format!(
                "the loop with a condition was not compiled: {traces:?}"
            ));
        }
    }
}

const COUNTED: &str = r#"local function hits(n)
  local last = 0
  for i = 1, n do
    last = i -- bp-hits
  end
  return last
end
local function logs(n)
  local s = 0
  for k = 1, n do
    s = s + k -- bp-log
  end
  return s
end
print('hits ' .. hits(5000) .. ' logs ' .. logs(300))
"#;

/// Hit counts and logpoints are counted and printed by the debugger's hook:
/// a compiled loop ends its trace at their trap, so every pass reaches it.
#[test]
fn hit_counts_and_logpoints_in_compiled_loops_see_every_pass() {
    let program = Client::temp_program("traps_hot_counted.lua", COUNTED);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let (hits, log) = (line_of(COUNTED, "bp-hits"), line_of(COUNTED, "bp-log"));
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": hits, "hitCondition": "3000"},
            {"line": log, "logMessage": "k={k}"},
        ]}),
    );
    client.ok("configurationDone", json!({}));
    let top = expect_stop(&mut client, hits);
    let i = client.evaluate("i", Some(&top["id"]), "watch");
    if i != "3000" {
        client.fail(&format!("the 3000th hit stopped with i = {i}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    if !client.stdout_text().contains("hits 5000 logs 45150") {
        client.fail(&format!(
            "the program computed otherwise: {}",
            client.stdout_text()
        ));
    }
    let console = client.output_of("console");
    let logged: Vec<&str> = console.lines().filter(|l| l.starts_with("k=")).collect();
    let want: Vec<String> = (1..=300).map(|k| format!("k={k}")).collect();
    if logged != want {
        client.fail(&format!(
            "{} log lines, first {:?}",
            logged.len(),
            logged.first()
        ));
    }
    if stops(&client) != 1 {
        client.fail(&format!("{} stops, expected 1", stops(&client)));
    }
}

/// A breakpoint set in a loop that is already compiled stops there (the
/// traces holding that line go), and once removed the loop is compiled
/// again as before.
#[test]
fn a_breakpoint_set_in_a_compiled_loop_stops_and_its_removal_gives_the_loop_back() {
    let program = Client::temp_program("traps_hot_set_later.lua", HOT);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let (bp, marker, marker2) = (
        line_of(HOT, "bp-loop"),
        line_of(HOT, "bp-marker"),
        line_of(HOT, "bp-marker2"),
    );
    client.set_breakpoints(&program, &[marker]);
    client.ok("configurationDone", json!({}));
    expect_stop(&mut client, marker);
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": bp, "hitCondition": "100"},
            {"line": marker2},
        ]}),
    );
    client.ok("continue", json!({"threadId": 1}));
    let top = expect_stop(&mut client, bp);
    let i = client.evaluate("i", Some(&top["id"]), "watch");
    if i != "100" {
        client.fail(&format!("the 100th hit stopped with i = {i}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    expect_stop(&mut client, marker2);
    client.set_breakpoints(&program, &[]);
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let want = sum_mod7(20001).to_string();
    for label in ["first", "second", "third"] {
        let (sum, _) = report_of(&client, label);
        if sum != want {
            client.fail(&format!("{label} sum {sum}, expected {want}"));
        }
    }
    if support::runtime() == "luajit" {
        let loops = |label: &str| {
            let (_, traces) = report_of(&client, label);
            traces.split(',').any(|t| t == "loop")
        };
        if !loops("first") || loops("second") || !loops("third") {
            client.fail(&format!(
                "compiled loops before, with and after the breakpoint: {:?}",
                client.stdout_text()
            ));
        }
    }
}

const GUARDS: &str = r#"local jit_ok, jit = pcall(require, 'jit')
local util = jit_ok and require('jit.util') or nil
local state = { n = 0, items = {} }
local limit = 700
local function step(k)
  for i = 1, k do
    state.n = state.n + 1
    state.items[#state.items + 1] = i
    local tag = i == 650 and 'stop' or 'go'
    local cap = limit -- makes `limit` an upvalue of `step`
    local x = i -- bp-fields
    local y = x -- bp-string
  end
  return state.n
end
local linktypes = {}
if util then
  jit.attach(function(what, tr, func)
    if what == 'stop' and func == step then
      linktypes[#linktypes + 1] = util.traceinfo(tr).linktype
    end
  end, 'trace')
end
print('n ' .. step(1000) .. ' traces ' .. table.concat(linktypes, ','))
"#;

/// Conditions over fields, an upvalue, `#`, strings and `and`/`not` in a
/// compiled loop: each stops at the pass where it turns true.
#[test]
fn conditions_over_fields_upvalues_and_strings_stop_in_compiled_loops() {
    let program = Client::temp_program("traps_hot_guards.lua", GUARDS);
    let mut client = Client::start();
    client.launch(json!({"program": program}));
    let (fields, string) = (line_of(GUARDS, "bp-fields"), line_of(GUARDS, "bp-string"));
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": [
            {"line": fields, "condition": "state.n == limit and not (#state.items < limit)"},
            {"line": string, "condition": "tag == 'stop'"},
        ]}),
    );
    client.ok("configurationDone", json!({}));
    for (line, want) in [(string, "650"), (fields, "700")] {
        let top = expect_stop(&mut client, line);
        let i = client.evaluate("i", Some(&top["id"]), "watch");
        if i != want {
            client.fail(&format!(
                "stopped at line {line} with i = {i}, expected {want}"
            ));
        }
        client.ok("continue", json!({"threadId": 1}));
    }
    client.wait_event("exited");
    let out = client.stdout_text();
    if !out.contains("n 1000 ") {
        client.fail(&format!("the program computed otherwise: {out:?}"));
    }
    if stops(&client) != 2 {
        client.fail(&format!("{} stops, expected 2", stops(&client)));
    }
    if support::runtime() == "luajit" && !out.contains("loop") {
        client.fail(&format!(
            "the loop with conditions was not compiled: {out:?}"
        ));
    }
}

const KINDS: &str = r#"limit_g, gcfg = 395, { on = true }
local mt = setmetatable({}, { __index = function() return 5 end })
local obj = { hp = 10, name = 'a' }
local nan = 0 / 0
local function run(n)
  local count = 0
  for i = 1, n do
    local f = i / 4
    local s = (i % 3 == 0) and 'x' or 'y'
    local t = (i % 5 == 0) and obj or nil
    local m = (i % 7 == 0) and mt or obj
    local v = (i % 11 == 0) and nan or f
    obj.hp = 300 - i
    count = count + 1 -- bp
  end
  return count
end
print('count ' .. run(400))
"#;

/// Conditions over every kind of value a compiled loop meets (floats, NaN,
/// strings, nil, a table whose field comes from `__index`, arithmetic,
/// `and`/`not`, globals): each stops on exactly the passes where it is true (counted
/// by hand from the program; the same on every VM, compiled or not).
#[test]
fn conditions_in_compiled_loops_stop_on_exactly_the_passes_where_they_hold() {
    let program = Client::temp_program("traps_hot_kinds.lua", KINDS);
    let bp = line_of(KINDS, "-- bp");
    let cases: &[(&str, usize)] = &[
        ("f == 50.25", 1),                             // i = 201
        ("f > 99", 4),                                 // i = 397..400
        ("s == 'x' and i > 380", 7),                   // multiples of 3
        ("v ~= v and i > 300", 9),                     // NaN: multiples of 11
        ("v < 0", 0),                                  // never, NaN included
        ("not (v >= 0) and f > 75", 9),                // NaN again
        ("obj.hp < -95", 5),                           // i = 396..400
        ("m.hp == 5 and i > 350", 7),                  // __index: multiples of 7
        ("t == nil and i > 395", 4),                   // all but i = 400
        ("#s == 1 and -i < -399", 1),                  // i = 400
        ("i * 2 + 1 == 401", 1),                       // i = 200
        ("t ~= nil and t.name == 'a' and i > 390", 2), // i = 395, 400
        ("(i > 398) == true", 2),                      // i = 399, 400
        ("m == obj and i == 7", 0),                    // m is mt then
        ("i > limit_g", 5),                            // a global: i = 396..400
        ("gcfg.on and i * 2 > 796", 2),                // a global's field: i = 399, 400
        ("missing_g ~= nil or i == -1", 0),            // an absent global
    ];
    for &(condition, want) in cases {
        let mut client = Client::start();
        client.launch(json!({"program": program}));
        client.ok(
            "setBreakpoints",
            json!({"source": {"path": program}, "breakpoints": [
                {"line": bp, "condition": condition},
            ]}),
        );
        client.ok("configurationDone", json!({}));
        for _ in 0..want {
            expect_stop(&mut client, bp);
            client.ok("continue", json!({"threadId": 1}));
        }
        client.wait_event("exited");
        if stops(&client) != want || !client.stdout_text().contains("count 400") {
            client.fail(&format!(
                "`{condition}`: {} stops, expected {want}; output {:?}",
                stops(&client),
                client.stdout_text()
            ));
        }
    }
}
