//! Rule 3, functions: the new code wins everywhere the old function is
//! referenced.

use crate::harness::Running;

/// shapes.lua with new `area` code.
const SHAPES_V2: &str = r#"local M = {}

function M.area(n)
  return "v2 area=" .. n * n
end

return M
"#;

fn area(version: &'static str) -> impl Fn(u64) -> String {
    move |i| format!("{version} area={}", i * i)
}

/// What rules/factory prints: its two counters' closures (steps 1 and 10).
fn factory_counts(version: &'static str) -> impl Fn(u64) -> String {
    move |i| format!("{version} n={i} {version} n={}", 10 * i)
}

#[test]
fn a_loop_calling_a_module_field_runs_the_new_code_next_iteration() {
    Running::reloads_once(
        "step",
        |i| format!("v1 count={i}"),
        "counter",
        "local M = {}\nlocal count = 0\n\nfunction M.step()\n  count = count + 1\n  return \"v2 count=\" .. count\nend\n\nreturn M\n",
        |i| format!("v2 count={i}"),
    );
}

#[test]
fn a_local_alias_taken_before_the_reload_runs_the_new_code() {
    Running::reloads_once("alias", area("v1"), "shapes", SHAPES_V2, area("v2"));
}

#[test]
fn another_modules_table_callback_list_and_closures_run_the_new_code() {
    let both =
        |v: &'static str| move |i: u64| format!("{v} area={0} {v} area={0} {v} area={0}", i * i);
    Running::reloads_once("other_module", both("v1"), "shapes", SHAPES_V2, both("v2"));
}

#[test]
fn a_function_used_as_a_table_key_runs_the_new_code_and_keeps_its_entry() {
    let keyed = |v: &'static str| move |i: u64| format!("area:{v} area={} lookup=area", i * i);
    Running::reloads_once("table_key", keyed("v1"), "shapes", SHAPES_V2, keyed("v2"));
}

#[test]
fn weak_tables_hold_the_new_code_and_keep_their_entries() {
    let both = |v: &'static str| move |i: u64| format!("{v} area={0} {v} area={0}", i * i);
    Running::reloads_once("weak", both("v1"), "shapes", SHAPES_V2, both("v2"));
}

#[test]
fn existing_instances_get_new_methods_through_an_index_chain() {
    let mut run = Running::start("index_chain", |_| "base1 speed=3 jump=none".into());
    let body = run.reload(
        "player",
        r#"local Base = {}
Base.__index = Base

function Base:kind()
  return "base2"
end

local Player = setmetatable({}, { __index = Base })
Player.__index = Player

function Player.new(x)
  return setmetatable({ x = x }, Player)
end

function Player:speed()
  return self.x * 10
end

function Player:jump()
  return "jump" .. self.x
end

return { Player = Player, Base = Base }
"#,
    );
    if !crate::harness::lists(&body, "added", &["player.Player.jump"]) {
        run.client
            .fail(&format!("the new method is not listed as added: {body}"));
    }
    run.expect(|_| "base2 speed=30 jump=jump3".into());
    run.finish();
}

#[test]
fn metamethods_of_existing_objects_run_the_new_code() {
    // Lua 5.1 and LuaJIT call `__len` for userdata only: `#` of a table is
    // its border there.
    let lua51 = ["lua5.1", "luajit"].contains(&crate::support::runtime().as_str());
    let (len1, len2) = if lua51 { ("0", "0") } else { ("2", "200") };
    Running::reloads_once(
        "metamethods",
        move |_| format!("vec1(2) call=12 eq=false add=vec1(5) len={len1} lt=true"),
        "vec",
        r#"local Vec = {}
Vec.__index = Vec

function Vec.new(x)
  return setmetatable({ x = x }, Vec)
end

Vec.__tostring = function(v)
  return "vec2(" .. v.x .. ")"
end
Vec.__call = function(v, n)
  return v.x * n
end
Vec.__eq = function(a, b)
  return true
end
Vec.__add = function(a, b)
  return Vec.new(a.x * b.x)
end
Vec.__len = function(v)
  return v.x * 100
end
Vec.__lt = function(a, b)
  return b.x < a.x
end

return Vec
"#,
        move |_| format!("vec2(2) call=20 eq=true add=vec2(6) len={len2} lt=false"),
    );
}

#[test]
fn a_global_style_module_gets_new_global_functions_and_keeps_its_globals() {
    let mut run = Running::start("global_style", |i| {
        format!(
            "hello {i} #{} hello {i} #{} old=function new=none",
            2 * i - 1,
            2 * i
        )
    });
    let body = run.reload(
        "util",
        r#"counter = 0

function greet(n)
  counter = counter + 1
  return "hi " .. n .. " #" .. counter
end

function shout(n)
  return "SHOUT" .. n
end
"#,
    );
    if !crate::harness::lists(&body, "removed", &["old_only"])
        || !crate::harness::lists(&body, "added", &["shout"])
    {
        run.client
            .fail(&format!("added/removed globals are wrong: {body}"));
    }
    run.expect(|i| {
        format!(
            "hi {i} #{} hi {i} #{} old=nil new=SHOUT{i}",
            2 * i - 1,
            2 * i
        )
    });
    run.finish();
}

#[test]
fn a_nested_module_reloads_by_its_dotted_name() {
    let mut run = Running::start("nested", |_| "a(b1) b1 b1".into());
    let body = run.reload(
        "a.b",
        "local M = {}\n\nfunction M.v()\n  return \"b2\"\nend\n\nreturn M\n",
    );
    if body["module"] != "a.b" || !crate::harness::lists(&body, "changed", &["a.b.v"]) {
        run.client
            .fail(&format!("the response does not name a.b.v: {body}"));
    }
    run.expect(|_| "a(b2) b2 b2".into());
    run.finish();
}

#[test]
fn a_module_required_by_another_then_the_other_one() {
    let mut run = Running::start("required_by", |_| "outer1(inner1,inner1)".into());
    run.reload(
        "inner",
        "local M = {}\n\nfunction M.f()\n  return \"inner2\"\nend\n\nreturn M\n",
    );
    run.expect(|_| "outer1(inner2,inner2)".into());
    run.reload(
        "outer",
        r#"local inner = require("inner")
local f = inner.f
local O = {}

function O.run()
  return "outer2(" .. f() .. "," .. inner.f() .. ")"
end

return O
"#,
    );
    run.expect(|_| "outer2(inner2,inner2)".into());
    run.finish();
}

#[test]
fn closures_made_by_a_factory_run_new_code_with_their_own_upvalues() {
    Running::reloads_once(
        "factory",
        factory_counts("v1"),
        "make",
        r#"local M = {}

function M.counter(step)
  local n = 0
  return function()
    n = n + step
    return "v2 n=" .. n
  end
end

return M
"#,
        factory_counts("v2"),
    );
}

#[test]
fn factory_closures_run_new_code_that_uses_their_upvalues_in_another_order() {
    // `step` is now the inner function's first upvalue, `n` its second.
    Running::reloads_once(
        "factory",
        factory_counts("v1"),
        "make",
        r#"local M = {}

function M.counter(step)
  local n = 0
  return function()
    local s = step
    n = n + s
    return "v2 n=" .. n
  end
end

return M
"#,
        factory_counts("v2"),
    );
}

#[test]
fn a_changed_local_helper_and_a_new_one_are_used_by_unchanged_callers() {
    Running::reloads_once(
        "helper",
        |i| format!("v1 <{i}>"),
        "fmt",
        r#"local M = {}

local function decorate(n)
  return "[" .. n .. "]"
end

local function stamp(s)
  return "v2 " .. s
end

function M.show(n)
  return stamp(decorate(n))
end

return M
"#,
        |i| format!("v2 [{i}]"),
    );
}

#[test]
fn a_global_class_of_a_global_style_module_gives_existing_objects_new_methods() {
    Running::reloads_once(
        "global_class",
        |i| format!("e1 hero hp={i} heal=none"),
        "entities",
        r#"Entity = {}
Entity.__index = Entity

function Entity.new(name)
  return setmetatable({ name = name, hp = 10 }, Entity)
end

function Entity:describe()
  return "e2 " .. self.name .. " hp=" .. self.hp
end

function Entity:heal()
  return "healed " .. self.name
end
"#,
        |i| format!("e2 hero hp={i} heal=healed hero"),
    );
}

#[test]
fn a_module_whose_value_is_a_function_runs_the_new_code() {
    Running::reloads_once(
        "returns_function",
        |i| format!("g1 {i} g1 {i}"),
        "greet",
        "return function(n)\n  return \"g2 \" .. n\nend\n",
        |i| format!("g2 {i} g2 {i}"),
    );
}

#[test]
fn a_recursive_local_function_runs_the_new_code_at_every_depth() {
    let fact = |i: u64| (1..=(i % 6)).product::<u64>();
    // Each level adds 1000 to what the level below returned.
    Running::reloads_once(
        "recursion",
        move |i| format!("v1 {}", fact(i)),
        "math2",
        r#"local M = {}

local function fact(n)
  if n <= 1 then
    return 1
  end
  return 1000 + fact(n - 1)
end

function M.show(i)
  return "v2 " .. fact(i % 6)
end

return M
"#,
        |i| format!("v2 {}", 1 + 1000 * (i % 6).saturating_sub(1)),
    );
}

#[test]
fn a_callable_modules_call_metamethod_runs_the_new_code() {
    Running::reloads_once("callable", |i| format!("made1({i})"), "class",
        "local M = setmetatable({}, {\n  __call = function(_, x)\n    return \"made2(\" .. x .. \")\"\n  end,\n})\n\nreturn M\n", |i| format!("made2({i})"));
}

#[test]
fn closures_two_factories_deep_run_new_code_with_their_own_upvalues() {
    Running::reloads_once(
        "nested_factory",
        |i| format!("v1 n={}", 100 + i),
        "deep",
        r#"local M = {}

function M.outer(base)
  return function(step)
    local n = base
    return function()
      n = n + step
      return "v2 n=" .. n
    end
  end
end

return M
"#,
        |i| format!("v2 n={}", 100 + i),
    );
}

#[test]
fn a_packages_init_file_reloads_by_its_path() {
    let mut run = Running::start("nested", |_| "a(b1) b1 b1".into());
    let path = crate::harness::dir("nested")
        .join("a/init.lua")
        .display()
        .to_string();
    let body = run.client.ok(
        "hotReload",
        serde_json::json!({
            "path": path,
            "source": "local b = require(\"a.b\")\nlocal A = { b = b }\n\nfunction A.describe()\n  return \"A[\" .. b.v() .. \"]\"\nend\n\nreturn A\n",
        }),
    );
    if body["module"] != "a" {
        run.client
            .fail(&format!("a/init.lua is not module a: {body}"));
    }
    run.expect(|_| "A[b1] b1 b1".into());
    run.finish();
}

#[test]
fn factory_closures_run_new_code_that_reads_a_new_upvalue() {
    // The inner function gains a third upvalue, a new module-level local.
    Running::reloads_once(
        "factory",
        factory_counts("v1"),
        "make",
        r#"local M = {}
local label = "v2"

function M.counter(step)
  local n = 0
  return function()
    n = n + step
    return label .. " n=" .. n
  end
end

return M
"#,
        factory_counts("v2"),
    );
}

#[test]
fn factory_closures_keep_their_identity_when_the_new_version_defines_them_in_another_order() {
    // `get` now comes first in the factory; each old closure must get the
    // new code of its own function, not of the one at its old place.
    Running::reloads_once(
        "factory_pair",
        |i| format!("v1 n={i}"),
        "pair",
        r#"local M = {}

function M.make()
  local n = 0
  local get = function()
    return "v2 n=" .. n
  end
  local inc = function()
    n = n + 1
  end
  return inc, get
end

return M
"#,
        |i| format!("v2 n={i}"),
    );
}

#[test]
fn a_module_that_reuses_its_live_table_still_gets_its_aliases_updated() {
    // Each iteration counts twice: once through the alias, once through the field.
    let mut run = Running::start("reuse_table", |i| format!("v1 count={} v1", 2 * i - 1));
    let body = run.reload(
        "mod",
        r#"local M = type(package.loaded["mod"]) == "table" and package.loaded["mod"] or {}
M.count = M.count or 0

function M.step()
  M.count = M.count + 1
  return "v2 count=" .. M.count
end

return M
"#,
    );
    if !crate::harness::lists(&body, "changed", &["mod.step"]) {
        run.client
            .fail(&format!("mod.step is not listed as changed: {body}"));
    }
    run.expect(|i| format!("v2 count={} v2", 2 * i - 1));
    run.finish();
}
