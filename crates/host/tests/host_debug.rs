//! Breakpoints, steps, stack, scopes, variables and evaluate through the
//! real host.

mod common;

use common::{canonical, line_of, ErrorKind, Host, Scratch, Vm, VM};
use serde_json::{json, Value};

const PROGRAM: &str = r#"local M = {}
local counter = 0

local function add(a, b)
  local sum = a + b -- add-body
  counter = counter + 1
  return sum
end

-- a comment line

function M.run(n)
  local total = 0 -- run-first
  for i = 1, n do
    total = add(total, i) -- call-add
  end
  return total -- run-return
end

local t = { name = "box", list = { 10, 20, 30 }, [5] = "five", ["two words"] = true }
setmetatable(t, { __index = M })
local result = M.run(3) -- main-call
print("result", result, t.name) -- main-print
"#;

#[test]
fn breakpoints_are_verified_and_moved_to_code() {
    let dir = Scratch::new("bp-verify");
    let program = dir.file("main.lua", PROGRAM);
    let broken = dir.file("broken.lua", "local x = = 2\n");
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    let comment = line_of(PROGRAM, "a comment line");
    let body = host.set_breakpoints(&program, &[line_of(PROGRAM, "add-body"), comment, 999]);
    let bps = body["breakpoints"].as_array().cloned().unwrap_or_default();
    assert_eq!(bps[0]["verified"], true, "{body}");
    assert_eq!(bps[0]["line"], line_of(PROGRAM, "add-body"));
    assert_eq!(bps[1]["verified"], true, "{body}");
    assert_eq!(
        bps[1]["line"],
        line_of(PROGRAM, "function M.run"),
        "moved to the next line with code: {body}"
    );
    assert_eq!(bps[2]["verified"], false, "{body}");
    assert_eq!(bps[0]["source"]["path"], canonical(&program));

    let body = host.set_breakpoints(&broken, &[1]);
    assert_eq!(body["breakpoints"][0]["verified"], false, "{body}");
    assert!(
        body["breakpoints"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("broken.lua:1:"),
        "{body}"
    );
}

#[test]
fn breakpoint_hit_shows_stack_scopes_and_variables() {
    let dir = Scratch::new("bp-hit");
    let program = dir.file("main.lua", PROGRAM);
    let add_body = line_of(PROGRAM, "add-body");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[(&program, &[add_body])]);
    let stop = host.stopped("breakpoint");
    assert_eq!(stop["threadId"], 1);
    assert!(
        stop["hitBreakpointIds"]
            .as_array()
            .is_some_and(|a| a.len() == 1),
        "{stop}"
    );

    let stack = host.stack();
    let names: Vec<&str> = stack
        .iter()
        .map(|f| f["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["add", "run", "main chunk"], "{stack:?}");
    assert_eq!(stack[0]["line"], add_body);
    assert_eq!(stack[1]["line"], line_of(PROGRAM, "call-add"));
    assert_eq!(stack[2]["line"], line_of(PROGRAM, "main-call"));
    assert_eq!(stack[0]["source"]["path"], canonical(&program));

    // Locals of add: a, b (sum not yet assigned is still listed by Lua? no: not active yet).
    let locals = host.scope(1, "Locals");
    let vars = host.variables(locals);
    assert_eq!(
        vars.iter()
            .map(|v| (v.0.as_str(), v.1.as_str()))
            .collect::<Vec<_>>(),
        [("a", "0"), ("b", "1")]
    );
    // Upvalues of add: counter.
    let upvalues = host.scope(1, "Upvalues");
    let vars = host.variables(upvalues);
    assert!(
        vars.iter().any(|v| v.0 == "counter" && v.1 == "0"),
        "{vars:?}"
    );

    // The main chunk's locals: t is expandable, with a metatable and sorted keys.
    let locals = host.scope(3, "Locals");
    let vars = host.variables(locals);
    let t = vars
        .iter()
        .find(|v| v.0 == "t")
        .cloned()
        .unwrap_or_else(|| host.fail("no local t"));
    assert!(t.2 > 0, "t expandable: {t:?}");
    let children = host.variables(t.2);
    let names: Vec<&str> = children.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        ["[metatable]", "[5]", "list", "name", "[\"two words\"]"],
        "{children:?}"
    );
    let name = children.iter().find(|c| c.0 == "name").map(|c| c.1.clone());
    assert_eq!(name.as_deref(), Some("\"box\""));
    let list = children
        .iter()
        .find(|c| c.0 == "list")
        .cloned()
        .unwrap_or_else(|| host.fail("no list"));
    assert_eq!(list.1, "{10, 20, 30}");
    let items = host.variables(list.2);
    assert_eq!(
        items.iter().map(|i| i.1.as_str()).collect::<Vec<_>>(),
        ["10", "20", "30"]
    );
    // Paging.
    let page = host.ok(
        "variables",
        Some(json!({"variablesReference": list.2, "start": 1, "count": 1})),
    );
    assert_eq!(page["variables"][0]["value"], "20", "{page}");
    // Functions show where they are defined.
    let m = vars
        .iter()
        .find(|v| v.0 == "M")
        .cloned()
        .unwrap_or_else(|| host.fail("no local M"));
    let fields = host.variables(m.2);
    let run = fields
        .iter()
        .find(|f| f.0 == "run")
        .map(|f| f.1.clone())
        .unwrap_or_default();
    assert_eq!(
        run,
        format!(
            "function: {}:{}",
            "main.lua",
            line_of(PROGRAM, "function M.run")
        )
        .replace("main.lua", &short_src(&program))
    );

    host.ok("continue", None);
    host.event("continued");
    // The breakpoint hits again on the next call.
    host.stopped("breakpoint");
    host.set_breakpoints(&program, &[]);
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "result\t6\tbox\n");
}

/// `text` as the `main.lua` of a fresh scratch dir `name`, launched with
/// the `extra` launch arguments and a breakpoint at `marker`'s line: the
/// dir (alive as long as it is kept), the program's path and the host.
fn start_at(name: &str, text: &str, extra: Value, marker: &str) -> (Scratch, String, Host) {
    let dir = Scratch::new(name);
    let (host, program) = Host::launched_at(&dir, text, extra, marker);
    (dir, program, host)
}

/// Lua's `short_src` of `path`.
fn short_src(path: &str) -> String {
    // Lua's short_src keeps paths up to 60 bytes, else "..." and the tail.
    if path.len() <= 59 {
        path.to_string()
    } else {
        format!("...{}", &path[path.len() - 56..])
    }
}

#[test]
fn evaluate_reads_and_assigns_locals_and_upvalues() {
    let (_dir, program, mut host) = start_at("evaluate", PROGRAM, json!({}), "return sum");
    host.stopped("breakpoint");
    let result = |host: &mut Host, e: &str| {
        host.eval(e, 1)
            .map(|v| v["result"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(result(&mut host, "a + b"), Ok("1".into()));
    assert_eq!(result(&mut host, "sum, counter"), Ok("1, 1".into()));
    assert_eq!(result(&mut host, "'text'"), Ok("\"text\"".into()));
    // Assignment to a local and an upvalue changes the running program.
    assert_eq!(result(&mut host, "sum = 100"), Ok("".into()));
    assert_eq!(result(&mut host, "counter = 50"), Ok("".into()));
    assert_eq!(result(&mut host, "sum"), Ok("100".into()));
    // Globals are reachable, errors come back as errors.
    assert_eq!(result(&mut host, "type(print)"), Ok("\"function\"".into()));
    let err = result(&mut host, "nil + 1").expect_err("arithmetic on nil");
    assert_eq!(err.kind, ErrorKind::Runtime, "{err}");
    let err = result(&mut host, "+++").expect_err("syntax error");
    assert_eq!(err.kind, ErrorKind::Compile, "{err}");
    // A table result can be expanded.
    let value = host
        .eval("{ k = 1 }", 1)
        .unwrap_or_else(|e| host.fail(&e.message));
    let reference = value["variablesReference"].as_i64().unwrap_or(0);
    assert!(reference > 0, "{value}");
    assert_eq!(host.variables(reference)[0].1, "1");
    // Hover and watch contexts work in outer frames too.
    let watch = host.ok(
        "evaluate",
        Some(json!({"expression": "total", "frameId": 2, "context": "watch"})),
    );
    assert_eq!(watch["result"], "0");

    host.set_breakpoints(&program, &[]);
    assert_eq!(host.continue_to_exit(), 0);
    // add returned 100 on the first call (1 + 2 + 3 added after it).
    assert_eq!(host.output("stdout"), "result\t105\tbox\n");
    let _ = host.log.len();
}

#[test]
fn a_runaway_hover_is_stopped_and_the_program_goes_on() {
    let (_dir, program, mut host) = start_at("runaway", PROGRAM, json!({}), "return sum");
    host.stopped("breakpoint");
    let err = host
        .request(
            "evaluate",
            Some(json!({"expression": "(function() while true do end end)()",
                        "frameId": 1, "context": "hover"})),
        )
        .expect_err("an endless hover must end in an error");
    assert_eq!(err.kind, ErrorKind::TimedOut, "{err}");
    // Breakpoints do not fire inside an evaluation, and the frame is intact.
    assert_eq!(
        host.eval("sum", 1).map(|v| v["result"].clone()),
        Ok(json!("1"))
    );
    host.set_breakpoints(&program, &[]);
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "result\t6\tbox\n");
}

#[test]
fn conditions_hit_counts_and_logpoints() {
    let dir = Scratch::new("conditions");
    let program = dir.file("main.lua", PROGRAM);
    let add_body = line_of(PROGRAM, "add-body");
    let call_add = line_of(PROGRAM, "call-add");
    let run_return = line_of(PROGRAM, "run-return");
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program}, "breakpoints": [
            {"line": add_body, "condition": "b == 2"},
            {"line": call_add, "logMessage": "i={i} total={total}"},
            {"line": run_return, "hitCondition": "2"},
        ]})),
    );
    host.ok("configurationDone", None);
    host.stopped("breakpoint");
    assert_eq!(
        host.eval("b", 1).map(|v| v["result"].clone()),
        Ok(json!("2"))
    );
    host.ok("continue", None);
    // run-return is hit once only: hit condition "2" never matches.
    assert_eq!(host.exited(), 0);
    let console = host.output("console");
    assert_eq!(
        console, "i=1 total=0\ni=2 total=1\ni=3 total=3\n",
        "{:?}",
        host.log
    );
    assert_eq!(
        host.log.iter().filter(|v| v["event"] == "stopped").count(),
        1
    );
}

const STEPS: &str = r#"local function inner(x)
  local y = x + 1 -- inner-1
  return y -- inner-2
end

local function outer()
  local a = inner(1) -- outer-1
  local b = inner(a) -- outer-2
  return a + b -- outer-3
end

local v = outer() -- main-1
print(v) -- main-2
"#;

#[test]
fn next_step_in_and_step_out() {
    let (_dir, _, mut host) = start_at("steps", STEPS, json!({}), "outer-1");
    host.stopped("breakpoint");
    assert_eq!(host.step("next"), line_of(STEPS, "outer-2"));
    assert_eq!(host.step("stepIn"), line_of(STEPS, "inner-1"));
    assert_eq!(host.step("next"), line_of(STEPS, "inner-2"));
    // Lua reports no new line event for the rest of the calling line (the
    // call's result lands in `b` directly), so the step ends on the next line.
    assert_eq!(host.step("stepOut"), line_of(STEPS, "outer-3"));
    assert_eq!(
        host.eval("b", 1).map(|v| v["result"].clone()),
        Ok(json!("3"))
    );
    assert_eq!(host.step("stepOut"), line_of(STEPS, "main-2"));
    assert_eq!(host.stack().len(), 1);
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "5\n");
}

/// Functions without a breakpoint line run untraced even in a file that has
/// breakpoints; calls into and returns out of them must still stop and step
/// right.
const UNTRACED_NEIGHBOURS: &str = "local function busy(n) -- busy-1
  local s = 0
  for i = 1, n do
    s = s + i
  end
  return s -- busy-return
end
local function target(x)
  local y = x * 2 -- target-1
  return busy(y) + 1 -- target-2
end
local total = 0
for round = 1, 3 do
  total = total + target(round) -- main-call
end
print(total) -- main-print
";

#[test]
fn breakpoints_hit_between_untraced_functions_of_the_same_file() {
    let (_dir, program, mut host) =
        start_at("neighbours", UNTRACED_NEIGHBOURS, json!({}), "target-1");
    // Each round enters target from the main chunk, right after busy ran
    // untraced in the previous round.
    for round in 1..=2 {
        host.stopped("breakpoint");
        assert_eq!(host.top_line(), line_of(UNTRACED_NEIGHBOURS, "target-1"));
        assert_eq!(
            host.eval("x", 1).map(|v| v["result"].clone()),
            Ok(json!(round.to_string()))
        );
        host.ok("continue", None);
    }
    host.stopped("breakpoint");
    // Steps see every line again, the untraced function's too.
    assert_eq!(host.step("next"), line_of(UNTRACED_NEIGHBOURS, "target-2"));
    assert_eq!(
        host.step("stepIn"),
        line_of(UNTRACED_NEIGHBOURS, "busy-1") + 1
    );
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program}, "breakpoints": [
            {"line": line_of(UNTRACED_NEIGHBOURS, "main-print")}
        ]})),
    );
    host.ok("continue", None);
    host.stopped("breakpoint");
    assert_eq!(host.top_line(), line_of(UNTRACED_NEIGHBOURS, "main-print"));
    assert_eq!(
        host.eval("total", 1).map(|v| v["result"].clone()),
        Ok(json!("37"))
    );
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "37\n");
}

#[test]
fn stop_on_entry_stops_at_the_first_line() {
    let dir = Scratch::new("entry");
    let program = dir.file("main.lua", "local x = 1\nprint(x)\n");
    let mut host = Host::spawn();
    host.start(&program, json!({"stopOnEntry": true}), &[]);
    host.stopped("entry");
    assert_eq!(host.top_line(), 1);
    assert_eq!(host.output("stdout"), "");
    assert_eq!(host.step("next"), 2);
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "1\n");
}

const COROUTINES: &str = r#"local function producer()
  for i = 1, 3 do
    coroutine.yield(i) -- co-yield
  end
  return "done" -- co-done
end

local co = coroutine.create(producer)
local got = {}
while true do
  local ok, v = coroutine.resume(co) -- main-resume
  if coroutine.status(co) == "dead" then break end -- main-check
  got[#got + 1] = v
end
local gen = coroutine.wrap(function() coroutine.yield("w1") return "w2" end)
print(table.concat(got, ","), gen(), gen())
"#;

#[test]
fn breakpoints_and_steps_inside_coroutines() {
    let (_dir, program, mut host) = start_at("coroutines", COROUTINES, json!({}), "co-yield");
    host.stopped("breakpoint");
    // The coroutine's frames come first, then the resumer's.
    let stack = host.stack();
    let lines: Vec<i64> = stack
        .iter()
        .map(|f| f["line"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(
        lines.first(),
        Some(&line_of(COROUTINES, "co-yield")),
        "{stack:?}"
    );
    assert!(
        lines.contains(&line_of(COROUTINES, "main-resume")),
        "{stack:?}"
    );
    assert_eq!(
        host.eval("i", 1).map(|v| v["result"].clone()),
        Ok(json!("1"))
    );
    // Stepping over the yield goes back to the resumer.
    assert_eq!(host.step("next"), line_of(COROUTINES, "main-check"));
    host.set_breakpoints(&program, &[]);
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "1,2,3\tw1\tw2\n");
}

#[test]
fn wrapped_coroutine_errors_keep_lua_semantics() {
    let dir = Scratch::new("wrap-error");
    let program = dir.file(
        "main.lua",
        "local f = coroutine.wrap(function() error('inside') end)\nlocal ok, err = pcall(f)\nprint(ok, err)\nlocal ok2, err2 = coroutine.resume(coroutine.create(function() error({}) end))\nprint(ok2, type(err2))\n",
    );
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 0);
    assert_eq!(
        host.output("stdout"),
        format!("false\t{}:1: inside\nfalse\ttable\n", short_src(&program))
    );
}

#[test]
fn the_program_never_sees_the_debuggers_hook() {
    let dir = Scratch::new("hook-cost");
    let other_text = "local O = {}\nfunction O.mask()\n  return (select(2, debug.gethook()))\nend\nfunction O.never()\n  return 1 -- never\nend\nreturn O\n";
    let other = dir.file("other.lua", other_text);
    let program = dir.file(
        "main.lua",
        &format!(
            "package.path = {:?} .. '/?.lua;' .. package.path\nlocal O = require('other')\nprint(tostring((select(2, debug.gethook()))), O.mask())\n",
            dir.dir.display().to_string()
        ),
    );
    // No breakpoints: no hook at all (its mask: nil on 5.4, empty before).
    let no_mask = if VM == Vm::Lua54 { "nil" } else { "" };
    let expected = format!("{no_mask}\t{no_mask}\n");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), expected);
    // A breakpoint in other.lua: the debugger hooks lines in its own slot;
    // the program's slot stays empty (the cost is measured by
    // bench/overhead).
    let mut host = Host::spawn();
    host.start(
        &program,
        json!({}),
        &[(&other, &[line_of(other_text, "-- never")])],
    );
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), expected);
}

#[test]
fn step_in_enters_a_coroutine_and_step_out_returns_to_the_resumer() {
    let (_dir, program, mut host) =
        start_at("coroutine-steps", COROUTINES, json!({}), "main-resume");
    host.stopped("breakpoint");
    host.set_breakpoints(&program, &[]);
    // First line of the producer: the for loop, then the yield.
    let line = host.step("stepIn");
    assert!(
        line == line_of(COROUTINES, "for i = 1, 3") || line == line_of(COROUTINES, "co-yield"),
        "in the coroutine: {line}"
    );
    assert_eq!(
        host.step("stepOut"),
        line_of(COROUTINES, "main-check"),
        "back in the resumer after the yield"
    );
    assert_eq!(host.continue_to_exit(), 0);
}

#[test]
fn varargs_are_listed_with_the_locals() {
    let text = "local first = ...\nlocal function f(...)\n  local n = select('#', ...) -- in-f\n  return n\nend\nf('a', 2)\n";
    let (_dir, _, mut host) = start_at("varargs", text, json!({"args": ["x", "y"]}), "in-f");
    host.stopped("breakpoint");
    let locals = host.scope(1, "Locals");
    let vars = host.variables(locals);
    let pairs: Vec<(&str, &str)> = vars.iter().map(|v| (v.0.as_str(), v.1.as_str())).collect();
    if VM == Vm::Lua51 {
        // 5.1's debug library reaches no frame's varargs (negative
        // lua_getlocal indexes came with 5.2); a vararg function has the
        // compatibility local `arg`, nil when the body uses `...`.
        assert_eq!(pairs, [("arg", "nil")]);
    } else {
        assert_eq!(pairs, [("...[1]", "\"a\""), ("...[2]", "2")]);
        assert_eq!(
            host.eval("select('#', ...)", 1)
                .map(|v| v["result"].clone()),
            Ok(json!("2"))
        );
    }
    let main_locals = host.scope(2, "Locals");
    let vars = host.variables(main_locals);
    assert!(
        vars.iter().any(|v| v.0 == "first" && v.1 == "\"x\""),
        "{vars:?}"
    );
    if VM != Vm::Lua51 {
        assert!(
            vars.iter().any(|v| v.0 == "...[2]" && v.1 == "\"y\""),
            "{vars:?}"
        );
    }
    assert_eq!(host.continue_to_exit(), 0);
}

#[test]
fn breakpoints_in_modules_required_through_relative_paths() {
    let dir = Scratch::new("relative-module");
    let module_text =
        "local M = {}\nfunction M.greet(name)\n  return 'hi ' .. name -- greet\nend\nreturn M\n";
    let module = dir.file("lib/greeter.lua", module_text);
    let program = dir.file(
        "main.lua",
        "package.path = './lib/?.lua;' .. package.path\nprint(require('greeter').greet('bob'))\n",
    );
    let mut host = Host::spawn();
    // A relative program path, resolved against cwd.
    host.start(
        "main.lua",
        json!({"cwd": dir.dir.display().to_string()}),
        &[(&module, &[line_of(module_text, "-- greet")])],
    );
    host.stopped("breakpoint");
    let stack = host.stack();
    assert_eq!(stack[0]["source"]["path"], canonical(&module), "{stack:?}");
    assert_eq!(stack[1]["source"]["path"], canonical(&program), "{stack:?}");
    let hover = host.ok(
        "evaluate",
        Some(json!({"expression": "name", "frameId": 1, "context": "hover"})),
    );
    assert_eq!(hover["result"], "\"bob\"");
    assert_eq!(host.continue_to_exit(), 0);
    assert_eq!(host.output("stdout"), "hi bob\n");
}

#[test]
fn breakpoints_right_after_calls_into_untraced_files_are_hit() {
    // Functions from files without breakpoints run untraced; returning from
    // them (normally, by a tail call, or from a C call they tail-call) must
    // still trace the caller's next line.
    let dir = Scratch::new("untraced-return");
    let plain = "return { normal = function(x) local y = x + 1 return y end, tail = function(x) return string.format('%d', x) end, lua_tail = function(f) return f() end }\n";
    dir.file("plain.lua", plain);
    let text = format!(
        "package.path = {:?} .. '/?.lua;' .. package.path\nlocal p = require('plain')\np.normal(1)\nlocal a = 1 -- after-normal\np.tail(2)\nlocal b = 2 -- after-tail\np.lua_tail(function() return 3 end)\nlocal c = 3 -- after-lua-tail\nprint(a, b, c)\n",
        dir.dir.display().to_string()
    );
    let program = dir.file("main.lua", &text);
    let lines = [
        line_of(&text, "after-normal"),
        line_of(&text, "after-tail"),
        line_of(&text, "after-lua-tail"),
    ];
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[(&program, &lines)]);
    for line in lines {
        host.stopped("breakpoint");
        assert_eq!(host.top_line(), line);
        host.ok("continue", None);
    }
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), "1\t2\t3\n");
}

#[test]
fn c_frames_are_subtle_and_have_no_source() {
    let text = "local function inside()\n  return 1 -- inside\nend\nlocal ok = pcall(inside)\ntable.sort({3, 2, 1}, function(a, b) return a < b end)\n";
    let (_dir, _, mut host) = start_at("c-frames", text, json!({}), "-- inside");
    host.stopped("breakpoint");
    let stack = host.stack();
    assert_eq!(stack.len(), 3, "{stack:?}");
    assert_eq!(stack[1]["name"], "pcall", "{stack:?}");
    assert_eq!(stack[1]["presentationHint"], "subtle", "{stack:?}");
    assert!(stack[1].get("source").is_none(), "{stack:?}");
    assert!(stack[0].get("presentationHint").is_none(), "{stack:?}");
    // Scopes of a C frame: globals only.
    let scopes = host.ok("scopes", Some(json!({"frameId": stack[1]["id"]})));
    let names: Vec<&str> = scopes["scopes"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Globals"], "{scopes}");
    assert_eq!(host.continue_to_exit(), 0);
}

const WORKERS: &str = r#"local function wait_for(label)
  local got = coroutine.yield(label) -- worker-wait
  return got
end
local a = coroutine.create(function() local mine = "a" wait_for(mine) end)
local b = coroutine.wrap(function() local mine = "b" wait_for(mine) end)
coroutine.resume(a)
b()
local done = coroutine.create(function() end)
coroutine.resume(done)
print("ready") -- main-stop
"#;

#[test]
fn suspended_coroutines_are_threads_with_their_own_stacks() {
    let (_dir, _, mut host) = start_at("threads", WORKERS, json!({}), "main-stop");
    host.stopped("breakpoint");
    let threads = host.ok("threads", None);
    let list = threads["threads"].as_array().cloned().unwrap_or_default();
    let ids: Vec<i64> = list.iter().filter_map(|t| t["id"].as_i64()).collect();
    assert_eq!(
        ids,
        [1, 2, 3],
        "main and the two suspended coroutines, not the finished one: {threads}"
    );
    assert_eq!(list[1]["name"], "coroutine 2 (suspended)");
    for id in [2, 3] {
        let body = host.ok("stackTrace", Some(json!({"threadId": id})));
        let frames = body["stackFrames"].as_array().cloned().unwrap_or_default();
        let lines: Vec<i64> = frames.iter().filter_map(|f| f["line"].as_i64()).collect();
        assert!(
            lines.contains(&line_of(WORKERS, "worker-wait")),
            "thread {id}: {body}"
        );
        let waiting = frames
            .iter()
            .find(|f| f["name"] == "wait_for")
            .cloned()
            .unwrap_or_else(|| host.fail("no wait_for frame"));
        let frame_id = waiting["id"].as_i64().unwrap_or(0);
        let label = host.eval("label", frame_id).map(|v| v["result"].clone());
        assert_eq!(label, Ok(json!(if id == 2 { "\"a\"" } else { "\"b\"" })));
    }
    // The main thread's stack is the stopped one.
    assert_eq!(host.top_line(), line_of(WORKERS, "main-stop"));
    assert_eq!(host.continue_to_exit(), 0);
}

#[test]
fn coroutine_frames_are_taken_again_after_an_evaluation_resumes_it() {
    let text = "local co = coroutine.create(function()\n  for i = 1, 10 do\n    coroutine.yield(i) -- yield-here\n  end\nend)\ncoroutine.resume(co)\nCO = co\nprint('stop') -- main-stop\n";
    let (_dir, _, mut host) = start_at("threads-resumed", text, json!({}), "main-stop");
    host.stopped("breakpoint");
    // The coroutine's frame at its yield, and its `i` there.
    let frame_at_yield = |host: &mut Host, i: &str| {
        let stack = host.ok("stackTrace", Some(json!({"threadId": 2})));
        let frame = stack["stackFrames"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["line"] == line_of(text, "yield-here")))
            .and_then(|f| f["id"].as_i64())
            .unwrap_or_else(|| host.fail("no frame at the yield"));
        assert_eq!(
            host.eval("i", frame).map(|v| v["result"].clone()),
            Ok(json!(i))
        );
        frame
    };
    let frame = frame_at_yield(&mut host, "1");
    // Resuming it from the REPL moves it on; its old frames are not reused.
    host.eval("coroutine.resume(CO)", 1)
        .unwrap_or_else(|e| host.fail(&e.message));
    let err = host.eval("i", frame).expect_err("stale frame");
    assert_eq!(err.kind, ErrorKind::InvalidArguments, "{err}");
    frame_at_yield(&mut host, "2");
    assert_eq!(host.continue_to_exit(), 0);
}
