//! Rule: a function's new code wins everywhere the old function is referenced.

mod engine_common;
use engine_common::*;

const SHAPES_V1: &str = r#"
local M = {}
function M.area(r) return 1 end
function M.name() return "v1" end
return M
"#;

const SHAPES_V2: &str = r#"
local M = {}
function M.area(r) return 2 end
function M.name() return "v2" end
return M
"#;

#[test]
fn module_fields_aliases_and_other_modules_tables_run_the_new_code() {
    let vm = Vm::new(&[
        ("shapes", SHAPES_V1),
        (
            "user",
            r#"
            local shapes = require("shapes")
            local area = shapes.area            -- local alias in another module
            local U = { handlers = { shapes.name }, by_fn = { [shapes.name] = "key" } }
            function U.call_alias() return area(1) end
            function U.first_handler() return U.handlers[1]() end
            return U
            "#,
        ),
    ]);
    vm.run(
        r#"
        shapes = require("shapes"); user = require("user")
        alias = shapes.area
        weak = setmetatable({ shapes.name }, { __mode = "v" })
        weak_keys = setmetatable({ [shapes.area] = true }, { __mode = "k" })
        keep = shapes.name
        callbacks = {}
        table.insert(callbacks, shapes.area)
        assert(alias(1) == 1 and user.call_alias() == 1 and user.first_handler() == "v1")
        "#,
    );
    let body = vm.reload_ok("shapes", SHAPES_V2);
    assert_eq!(sorted(body.changed), ["shapes.area", "shapes.name"]);
    vm.run(
        r#"
        assert(shapes.area(1) == 2, "module field")
        assert(alias(1) == 2, "global alias")
        assert(user.call_alias() == 2, "upvalue alias in another module")
        assert(user.first_handler() == "v2", "callback list in another module")
        assert(callbacks[1](1) == 2, "callback list")
        assert(weak[1]() == "v2", "weak table")
        local k = next(weak_keys); assert(k(1) == 2, "weak key")
        assert(user.by_fn[shapes.name] == "key", "function as a table key keeps its entry")
        assert(keep == shapes.name, "identity of the function is kept")
        "#,
    );
}

#[test]
fn existing_objects_get_new_methods_through_metatables_and_index_chains() {
    let v1 = r#"
        local Base = {}
        Base.__index = Base
        function Base:kind() return "base1" end
        local Player = setmetatable({}, { __index = Base })
        Player.__index = Player
        function Player.new(x) return setmetatable({ x = x }, Player) end
        function Player:speed() return self.x * 1 end
        Player.__tostring = function(p) return "P1(" .. p.x .. ")" end
        Player.__eq = function(a, b) return a.x == b.x end
        Player.__call = function(p, y) return p.x + y end
        Player.__add = function(a, b) return a.x + b.x end
        return { Player = Player, Base = Base }
    "#;
    let v2 = r#"
        local Base = {}
        Base.__index = Base
        function Base:kind() return "base2" end
        local Player = setmetatable({}, { __index = Base })
        Player.__index = Player
        function Player.new(x) return setmetatable({ x = x }, Player) end
        function Player:speed() return self.x * 10 end
        function Player:jump() return "jump" .. self.x end
        Player.__tostring = function(p) return "P2(" .. p.x .. ")" end
        Player.__eq = function(a, b) return true end
        Player.__call = function(p, y) return p.x * y end
        Player.__add = function(a, b) return a.x * b.x end
        return { Player = Player, Base = Base }
    "#;
    let vm = Vm::new(&[("game.player", v1)]);
    vm.run(
        r#"
        local g = require("game.player")
        p, q = g.Player.new(3), g.Player.new(4)
        assert(p:speed() == 3 and p:kind() == "base1" and tostring(p) == "P1(3)")
        assert(p ~= q and p(2) == 5 and p + q == 7)
        "#,
    );
    let body = vm.reload_ok("game.player", v2);
    assert!(
        body.added.iter().any(|n| n == "game.player.Player.jump"),
        "{body:?}"
    );
    vm.run(
        r#"
        assert(p:speed() == 30, "method through __index")
        assert(p:jump() == "jump3", "new method on an existing instance")
        assert(p:kind() == "base2", "method through an __index chain")
        assert(tostring(p) == "P2(3)", "__tostring")
        assert(p == q, "__eq")
        assert(p(2) == 6, "__call")
        assert(p + q == 12, "__add")
        assert(getmetatable(p) == require("game.player").Player, "metatable identity kept")
        "#,
    );
}

#[test]
fn nested_modules_and_modules_required_by_other_modules() {
    let vm = Vm::new(&[
        ("a.b", "local M = {}\nfunction M.v() return 1 end\nreturn M\n"),
        (
            "a",
            "local b = require('a.b')\nlocal M = { b = b }\nfunction M.v() return b.v() * 100 end\nreturn M\n",
        ),
    ]);
    vm.run("a = require('a'); v = a.v; assert(v() == 100)");
    let body = vm.reload_ok(
        "a.b",
        "local M = {}\nfunction M.v() return 2 end\nreturn M\n",
    );
    assert_eq!(body.module, "a.b");
    assert_eq!(body.changed, ["a.b.v"]);
    vm.run("assert(v() == 200); assert(a.b.v() == 2)");
    vm.reload_ok(
        "a",
        "local b = require('a.b')\nlocal M = { b = b }\nfunction M.v() return b.v() * 1000 end\nreturn M\n",
    );
    vm.run("assert(v() == 2000); assert(a.b == require('a.b'))");
}

#[test]
fn global_style_modules_get_new_global_functions() {
    let vm = Vm::new(&[(
        "util",
        "counter = 0\nfunction greet(n) counter = counter + 1 return 'hello ' .. n end\nfunction old_only() return 1 end\n",
    )]);
    vm.run("require('util'); g = greet; assert(greet('a') == 'hello a'); counter = 41");
    let body = vm.reload_ok(
        "util",
        "counter = 0\nfunction greet(n) counter = counter + 1 return 'hi ' .. n end\nfunction shout(n) return n:upper() end\n",
    );
    assert_eq!(body.changed, ["greet"]);
    assert_eq!(body.added, ["shout"]);
    assert_eq!(body.removed, ["old_only"]);
    vm.run(
        r#"
        assert(greet("b") == "hi b", "global function")
        assert(g("c") == "hi c", "alias of a global function")
        assert(counter == 43, "running value of a global scalar kept: " .. tostring(counter))
        assert(shout("x") == "X", "new global function")
        assert(old_only == nil, "removed global function")
        "#,
    );
}

#[test]
fn closures_made_by_factories_run_new_code_with_their_own_upvalues() {
    let v1 = r#"
        local M = {}
        function M.counter(step)
          local n = 0
          return function() n = n + step return n end
        end
        return M
    "#;
    let v2 = r#"
        local M = {}
        function M.counter(step)
          local n = 0
          return function() n = n + step * 100 return n end
        end
        return M
    "#;
    let vm = Vm::new(&[("f", v1)]);
    vm.run(
        r#"
        local f = require("f")
        c1, c2 = f.counter(1), f.counter(2)
        c1(); c1(); c2()
        holder = { c1 }
        "#,
    );
    let body = vm.reload_ok("f", v2);
    assert_eq!(body.changed, ["f.counter"]);
    vm.run(
        r#"
        assert(c1() == 102, "c1 keeps n=2 and runs the new code")
        assert(c2() == 202, "c2 keeps its own n=2 and step")
        assert(holder[1] == c1, "identity kept")
        local c3 = require("f").counter(1)
        assert(c3() == 100, "new closures from the factory run the new code")
        "#,
    );
}

#[test]
fn c_functions_and_userdata_are_never_touched() {
    let v1 = "local M = { out = io.stdout, p = print, t = table.insert }\nfunction M.f() return 1 end\nreturn M\n";
    let v2 = "local M = { out = io.stderr, p = tostring, t = table.remove }\nfunction M.f() return 2 end\nreturn M\n";
    let vm = Vm::new(&[("c", v1)]);
    vm.run("c = require('c')");
    vm.reload_ok("c", v2);
    vm.run(
        r#"
        assert(c.out == io.stdout, "userdata: running value kept")
        assert(c.p == print and c.t == table.insert, "C functions kept")
        assert(type(print) == "function" and type(io.write) == "function")
        io.stdout:write("")
        assert(c.f() == 2)
        "#,
    );
}

#[test]
fn a_module_that_reuses_its_live_table_gets_new_code_in_aliases() {
    let v1 = "local M = package.loaded['r'] or {}\nM.count = M.count or 0\nfunction M.step() M.count = M.count + 1 return 'v1', M.count end\nreturn M\n";
    let vm = Vm::new(&[("r", v1)]);
    vm.run("r = require('r'); step = r.step; step(); step()");
    let body = vm.reload_ok("r", &v1.replace("'v1'", "'v2'"));
    assert_eq!(body.changed, ["r.step"], "{body:?}");
    vm.run(
        r#"
        local v, n = step()
        assert(v == "v2" and n == 3, "alias runs the new code on the kept count: " .. tostring(v) .. " " .. tostring(n))
        assert(r.step == step and require("r") == r, "identity kept")
        "#,
    );
    // A later failing version is undone completely.
    let err = vm.reload_err(
        "r",
        "local M = package.loaded['r'] or {}\nfunction M.step() return 'v3' end\nM.count = 100\nerror('no')\n",
    );
    assert!(err.contains("r.lua:4: no"), "{err}");
    vm.run("local v, n = step() assert(v == 'v2' and n == 4, tostring(v) .. ' ' .. tostring(n))");
    // `require` of itself from the new top level still sees the live module.
    vm.reload_ok(
        "r",
        "local M = require('r')\nfunction M.step() M.count = M.count + 1 return 'v4', M.count end\nreturn M\n",
    );
    vm.run("local v, n = step() assert(v == 'v4' and n == 5, tostring(v) .. ' ' .. tostring(n))");
}

#[test]
fn nested_functions_are_paired_by_name_not_by_place() {
    let v1 = r#"
        local M = {}
        function M.make()
          local n = 0
          local inc = function() n = n + 1 end
          local get = function() return "v1", n end
          return inc, get
        end
        return M
    "#;
    // `get` now comes first: each old closure must get its own new code.
    let v2 = r#"
        local M = {}
        function M.make()
          local n = 0
          local get = function() return "v2", n end
          local inc = function() n = n + 10 end
          return inc, get
        end
        return M
    "#;
    let vm = Vm::new(&[("pair", v1)]);
    vm.run("pair = require('pair'); inc, get = pair.make(); inc()");
    let body = vm.reload_ok("pair", v2);
    assert!(body.warnings.is_empty(), "{:?}", body.warnings);
    vm.run(
        r#"
        inc()
        local tag, n = get()
        assert(tag == "v2" and n == 11, "get runs get's new code, inc inc's: " .. tostring(tag) .. " " .. tostring(n))
        "#,
    );
}

#[test]
fn unnamed_nested_functions_that_cannot_be_told_apart_keep_their_code_with_a_warning() {
    // Callbacks passed straight to a call have no name; v2 swaps their order.
    let v1 = r#"
        local M = {}
        function M.register(list)
          local a, b = "a", "b"
          table.insert(list, function() return "v1 " .. a end)
          table.insert(list, function() return "v1 " .. b end)
        end
        return M
    "#;
    let v2 = r#"
        local M = {}
        function M.register(list)
          local a, b = "a", "b"
          table.insert(list, function() return "v2 " .. b end)
          table.insert(list, function() return "v2 " .. a end)
        end
        return M
    "#;
    let vm = Vm::new(&[("cbs", v1)]);
    vm.run("cbs = require('cbs'); list = {}; cbs.register(list)");
    let body = vm.reload_ok("cbs", v2);
    assert!(
        body.warnings
            .iter()
            .any(|w| w.message.contains("keep their old code") && w.message.contains("cbs.lua")),
        "{:?}",
        body.warnings
    );
    vm.run(
        r#"
        local first, second = list[1](), list[2]()
        -- One pairs with its new version by its upvalues, the other keeps
        -- its own code; neither runs the other's.
        assert((first == "v1 a" and second == "v2 b") or (first == "v2 a" and second == "v1 b"),
          "first: " .. first .. ", second: " .. second)
        "#,
    );
}
