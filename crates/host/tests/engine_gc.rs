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
        -- the mode is 5.4's (5.3 and older collect incrementally)
        if _VERSION == "Lua 5.4" then collectgarbage("{mode}") end
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
    // Tables have no __gc on 5.1 (and LuaJIT): nothing was finalized there.
    vm.run("objs = nil; weak = nil; collectgarbage(); collectgarbage(); assert(g.total() > 0 or _VERSION == 'Lua 5.1')");
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
fn factory_closures_that_read_a_new_module_local_get_a_new_closure_everywhere() {
    let v1 = "local M = {}\nfunction M.make() local n = 0 return function() n = n + 1 return n end end\nreturn M\n";
    let v2 = "local M = {}\nlocal bonus = 100\nfunction M.make() local n = 0 return function() n = n + 1 return n + bonus end end\nreturn M\n";
    let vm = Vm::new(&[("fw", v1)]);
    vm.run(
        "fw = require('fw'); c = fw.make(); c(); held = { c }; keyed = { [c] = 'k' }; \
         weak = setmetatable({ c }, { __mode = 'v' }); \
         local cc = c; function via_upvalue() return cc() end",
    );
    // A failing hook undoes the new closure: the old one is back everywhere.
    vm.run("addr = tostring(c)");
    let err = vm.reload_err(
        "fw",
        &v2.replace(
            "return M",
            "function M.__on_reload() error('hook') end\nreturn M",
        ),
    );
    assert_eq!(
        (err.kind, line(&err)),
        (ErrorKind::Runtime, Some(4)),
        "{err}"
    );
    vm.run(
        "assert(tostring(c) == addr and held[1] == c and weak[1] == c and keyed[c] == 'k');          assert(c() == 2, 'old code'); assert(via_upvalue() == 3, 'old closure in the upvalue')",
    );
    let body = vm.reload_ok("fw", v2);
    assert!(body.warnings.is_empty(), "{:?}", body.warnings);
    vm.run(
        r#"
        assert(tostring(c) ~= addr, "a new closure")
        local v = c()
        assert(v == 104, "n kept (3), the new local read: " .. v)
        assert(held[1] == c and weak[1] == c and keyed[c] == 'k', "every reference is the new closure")
        assert(via_upvalue() == 105, "an upvalue holding it too")
        assert(fw.make()() == 101, "new closures get new code")
        "#,
    );
    // A failed later version puts the old closure back everywhere.
    let err = vm.reload_err("fw", &v2.replace("return M", "error('no')\nreturn M"));
    assert_eq!(
        (err.kind, line(&err)),
        (ErrorKind::Runtime, Some(4)),
        "{err}"
    );
    let err = vm.reload_err(
        "fw",
        "local M = {}\nlocal bonus = 1000\nfunction M.make() local n = 0 return function() n = n + 1 return n + bonus * 2 end end\nfunction M.__on_reload() error('hook') end\nreturn M\n",
    );
    assert_eq!(
        (err.kind, line(&err)),
        (ErrorKind::Runtime, Some(4)),
        "{err}"
    );
    vm.run("assert(c() == 106 and held[1] == c and keyed[c] == 'k' and via_upvalue() == 107)");
}

#[test]
fn factory_closures_that_read_a_new_local_of_the_factory_keep_old_code_with_a_warning() {
    let v1 = "local M = {}\nfunction M.make() local n = 0 return function() n = n + 1 return n end end\nreturn M\n";
    let v2 = "local M = {}\nfunction M.make() local n, bonus = 0, 100 return function() n = n + 1 return n + bonus end end\nreturn M\n";
    let vm = Vm::new(&[("fw", v1)]);
    vm.run("fw = require('fw'); c = fw.make(); c()");
    let body = vm.reload_ok("fw", v2);
    assert!(
        body.warnings
            .iter()
            .any(|w| w.kind == "upvalueLayout" && w.line == Some(2)),
        "{:?}",
        body.warnings
    );
    vm.run("assert(c() == 2, 'old code kept'); assert(fw.make()() == 101, 'new closures get new code')");
}

#[test]
fn closures_the_collector_found_dead_are_left_alone_by_a_reload_mid_cycle() {
    // Each version's factory closure reads another upvalue set: a reload
    // makes new closures for the old ones (from their cells). Closures that
    // became garbage stay on the collector's list until its sweep frees
    // them; a reload while the collector is stopped mid-sweep must not
    // touch them (nor their cells, some already freed).
    let version = |n: u32| {
        let reads = if n.is_multiple_of(2) {
            "n + 0 * extra"
        } else {
            "n"
        };
        format!(
            "local M = {{}}\nlocal extra = {n}\nfunction M.make()\n  local n = 0\n  return function() n = n + 1 return {reads} end\nend\nreturn M\n"
        )
    };
    let vm = Vm::new(&[("dead", &version(1))]);
    vm.run("dead = require('dead'); kept = dead.make(); kept()");
    for round in 2..=80u32 {
        vm.run(&format!(
            "for i = 1, 300 do local c = dead.make() c() end collectgarbage('step', {})",
            1 + round % 5
        ));
        if let Err(e) = vm.reload("dead", &version(round)) {
            panic!("round {round}: {e}");
        }
        // `kept` (a new closure each round, its count cell kept) counts on.
        vm.run(&format!(
            "local n = kept() assert(n == {round}, 'round {round}: ' .. tostring(n))"
        ));
    }
    vm.run("kept = nil; collectgarbage(); collectgarbage()");
}

/// A module version: which of 12 functions exist, which upvalues each body
/// uses, and the version tag every function returns.
fn random_module(seed: &mut u64, tag: u32) -> (String, Vec<usize>) {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as usize
    };
    let mut src =
        String::from("local M = {}\nlocal a, b, c = 1, 2, 3\nlocal shared = { hits = 0 }\n");
    let mut present = Vec::new();
    for i in 0..12 {
        if next() % 4 == 0 {
            continue; // removed in this version
        }
        present.push(i);
        let uses = match next() % 4 {
            0 => "a",
            1 => "a + b",
            2 => "c + a + b",
            _ => "0",
        };
        if i % 3 == 0 {
            // a factory: its closures carry their own count
            let inner = if next() % 2 == 0 {
                "n + 1"
            } else {
                "n + b - 1"
            };
            src += &format!(
                "function M.f{i}()\n  local n = 0\n  return function() n = {inner} shared.hits = shared.hits + 1 return {tag}, n end\nend\n"
            );
        } else {
            src += &format!(
                "function M.f{i}() shared.hits = shared.hits + 1 local _ = {uses} return {tag} end\n"
            );
        }
    }
    src += "function M.hits() return shared.hits end\nreturn M\n";
    (src, present)
}

#[test]
fn random_sequences_of_versions_keep_the_vm_sound() {
    let mut seed = 0x5eed_u64;
    let (v0, _) = random_module(&mut seed, 0);
    let vm = Vm::new(&[("rnd", &v0)]);
    vm.run(
        r#"
        rnd = require("rnd")
        held, made = {}, {}
        function grab()
          for k, f in pairs(rnd) do
            if k ~= "hits" then
              held[#held + 1] = { name = k, f = f }
              if tonumber(k:sub(2)) % 3 == 0 then made[#made + 1] = f() end
            end
          end
        end
        grab()
        "#,
    );
    for tag in 1..=60u32 {
        let (src, present) = random_module(&mut seed, tag);
        if let Err(e) = vm.reload("rnd", &src) {
            panic!("version {tag}: {e}\n{src}");
        }
        let present: Vec<String> = present.iter().map(|i| format!("'f{i}'")).collect();
        vm.run(&format!(
            r#"
            local present = {{}}
            for _, n in ipairs({{ {list} }}) do present[n] = true end
            for _, h in ipairs(held) do
              -- A function removed from the module is gone for good: if a
              -- later version brings the name back, that is a new function.
              if not present[h.name] then h.detached = true end
              local ok, v = pcall(h.f)
              assert(ok, "held " .. h.name .. " failed: " .. tostring(v))
              if not h.detached and tonumber(h.name:sub(2)) % 3 ~= 0 then
                assert(v == {tag}, "held " .. h.name .. " runs version " .. tostring(v) .. " not {tag}")
              end
            end
            for _, c in ipairs(made) do
              local ok, v, n = pcall(c)
              assert(ok and type(n) == "number", "factory closure failed: " .. tostring(v))
            end
            for k in pairs(rnd) do
              assert(k == "hits" or present[k], "removed " .. k .. " still in the module")
            end
            assert(rnd.hits() > 0, "the shared table kept its count")
            if {tag} % 7 == 0 then grab() end
            collectgarbage("step", 10)
            "#,
            list = present.join(", "),
            tag = tag
        ));
    }
    vm.run("held, made = nil, nil; collectgarbage(); collectgarbage()");
}
