//! The garbage collector stays sound around reloads: many reloads in a row
//! with the collector running in the middle of its cycles, in incremental
//! and in generational mode, with weak tables and objects with finalizers
//! holding module functions.

mod engine_common;
use engine_common::*;

fn module(version: u32, inner: u32) -> String {
    format!(
        r#"
        local M = {{}}
        local total = 0
        local Obj = {{}}
        Obj.__index = Obj
        Obj.__gc = function(o) total = total + 1 end
        M.Obj = Obj
        function M.new(i) return setmetatable({{ i = i, cb = M.tick }}, Obj) end
        function Obj:get() return self.i + {version} end
        function M.tick() return {version} end
        function M.make()
          local n = 0
          return function() n = n + 1 return n * {inner} end
        end
        function M.total() return total end
        return M
        "#
    )
}

fn churn(mode: &str) {
    let vm = Vm::new(&[("g", &module(1, 1))]);
    vm.run(&format!(
        r#"
        collectgarbage("{mode}")
        g = require("g")
        objs, weak, closures = {{}}, setmetatable({{}}, {{ __mode = "k" }}), {{}}
        for i = 1, 3000 do
          objs[i] = g.new(i)
          weak[g.new(i)] = g.tick
          closures[i] = g.make()
        end
        "#
    ));
    for round in 0..40u32 {
        let version = 2 + round;
        let inner = 1 + round % 3;
        // Let the collector stop in the middle of a cycle before each reload.
        vm.run("for i = 1, 200 do local t = { i, {} } end collectgarbage('step', 1)");
        if let Err(e) = vm.reload("g", &module(version, inner)) {
            panic!("round {round}: {e}");
        }
        vm.run(&format!(
            r#"
            for i = 1, 3000, 97 do
              assert(objs[i]:get() == i + {version}, "method, round {round}")
              assert(objs[i].cb() == {version}, "callback field, round {round}")
              local c = closures[i]
              local a, b = c(), c()
              assert(b - a == {inner}, "factory closure, round {round}: " .. (b - a))
            end
            for k, f in pairs(weak) do assert(f() == {version}) break end
            local fresh = {{}}
            for i = 1, 500 do fresh[i] = g.new(i) end
            collectgarbage("step", 4)
            "#
        ));
    }
    vm.run("objs = nil; weak = nil; collectgarbage(); collectgarbage(); assert(g.total() > 0)");
}

#[test]
fn many_reloads_under_the_incremental_collector() {
    churn("incremental");
}

#[test]
fn many_reloads_under_the_generational_collector() {
    churn("generational");
}

#[test]
fn factory_closures_whose_upvalues_changed_keep_old_code_with_a_warning() {
    let v1 = "local M = {}\nfunction M.make() local n = 0 return function() n = n + 1 return n end end\nreturn M\n";
    let v2 = "local M = {}\nlocal bonus = 100\nfunction M.make() local n = 0 return function() n = n + 1 return n + bonus end end\nreturn M\n";
    let vm = Vm::new(&[("fw", v1)]);
    vm.run("fw = require('fw'); c = fw.make(); c()");
    let body = vm.reload_ok("fw", v2);
    assert!(
        body.warnings
            .iter()
            .any(|w| w.message.contains("upvalues differ") && w.message.contains("fw.lua:2")),
        "{:?}",
        body.warnings
    );
    vm.run("assert(c() == 2, 'old code kept'); assert(fw.make()() == 101, 'new closures get new code')");
}
