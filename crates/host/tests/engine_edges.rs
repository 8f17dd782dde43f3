//! Less common shapes of modules and programs.

mod engine_common;
use engine_common::*;

#[test]
fn a_function_key_moves_when_the_function_cannot_be_swapped_in_place() {
    // v2's f captures one more upvalue: it is replaced by reference instead.
    let v1 = "local M = {}\nlocal a = 1\nfunction M.f() return a end\nreturn M\n";
    let v2 = "local M = {}\nlocal a = 1\nlocal b = 10\nfunction M.f() return a + b end\nreturn M\n";
    let vm = Vm::new(&[("k", v1)]);
    vm.run("k = require('k'); reg = { [k.f] = 'entry' }; list = { k.f }; f = k.f");
    vm.reload_ok("k", v2);
    vm.run(
        r#"
        assert(k.f() == 11 and f() == 11 and list[1]() == 11)
        assert(reg[k.f] == "entry", "the key follows the function")
        assert(f == k.f)
        "#,
    );
}

#[test]
fn a_module_that_returns_a_function() {
    let vm = Vm::new(&[(
        "fnmod",
        "local n = 0\nreturn function() n = n + 1 return 'v1', n end\n",
    )]);
    vm.run("local f = require('fnmod'); g = f; f()");
    let body = vm.reload_ok(
        "fnmod",
        "local n = 0\nreturn function() n = n + 1 return 'v2', n end\n",
    );
    assert_eq!(body.changed, ["fnmod"]);
    vm.run("local v, n = g(); assert(v == 'v2' and n == 2); assert(require('fnmod') == g)");
}

#[test]
fn cycles_metatables_on_the_module_and_type_changes_of_tables() {
    let v1 = r#"
        local defaults = { color = "red" }
        local M = setmetatable({ opts = { a = 1 }, n = 5 }, { __index = defaults })
        M.self = M
        function M.color() return M.color_name or M.color end
        return M
    "#;
    let v2 = r#"
        local defaults = { color = "blue", size = 3 }
        local M = setmetatable({ opts = 42, n = { boxed = true } }, { __index = defaults })
        M.self = M
        return M
    "#;
    let vm = Vm::new(&[("cy", v1)]);
    vm.run("cy = require('cy'); assert(cy.self == cy and cy.size == nil)");
    let body = vm.reload_ok("cy", v2);
    assert!(body.changed.iter().any(|n| n == "cy.opts"), "{body:?}");
    assert!(body.changed.iter().any(|n| n == "cy.n"), "{body:?}");
    assert_eq!(body.removed, ["cy.color"]);
    vm.run(
        r#"
        assert(cy.self == cy, "cycle kept")
        assert(cy.opts == 42 and cy.n.boxed == true, "type changes: the new value wins")
        assert(cy.size == 3, "the metatable's __index table gained a key")
        "#,
    );
}

#[test]
fn a_new_version_that_returns_nothing_keeps_the_module_table_and_warns() {
    let vm = Vm::new(&[(
        "nr",
        "local M = {}\nfunction M.f() return 1 end\nreturn M\n",
    )]);
    vm.run("nr = require('nr')");
    let body = vm.reload_ok("nr", "local M = {}\nfunction M.f() return 2 end\n");
    assert!(
        body.warnings
            .iter()
            .any(|w| w.message.contains("returned nothing")),
        "{:?}",
        body.warnings
    );
    // Functions still get the new code, matched by their place in the file.
    vm.run("assert(require('nr') == nr and nr.f() == 2)");
}

#[test]
fn a_protected_module_table_is_merged_without_its_metamethods() {
    let v1 = r#"
        local M = {}
        function M.f() return 1 end
        return setmetatable(M, {
          __newindex = function() error("read-only") end,
          __metatable = "locked",
        })
    "#;
    let vm = Vm::new(&[("ro", v1)]);
    vm.run("ro = require('ro'); f = ro.f");
    vm.reload_ok(
        "ro",
        &v1.replace("return 1", "return 2")
            .replace("local M = {}", "local M = { extra = true }"),
    );
    vm.run("assert(f() == 2 and ro.extra == true and getmetatable(ro) == 'locked')");
}

#[test]
fn reloading_while_stopped_inside_the_changed_function() {
    // The program pauses inside M.update (as at a breakpoint) and the reload
    // happens there: the running call finishes with the old code.
    let v1 = r#"
        local M = { frames = 0 }
        function M.update()
          M.frames = M.frames + 1
          pause_here()
          return "old tail"
        end
        return M
    "#;
    let vm = Vm::new(&[("upd", v1)]);
    let v2 = v1
        .replace("M.frames + 1", "M.frames + 10")
        .replace("old tail", "new tail");
    vm.lua.globals().set("NEW", v2).expect("set NEW");
    vm.run(
        r#"
        upd = require("upd")
        local reloaded = false
        function pause_here()
          if not reloaded then
            reloaded = true
            local r, err = reload("upd", NEW)
            assert(r, err)
            WARN = table.concat(r.warnings, "\n")
          end
        end
        local step = upd.update
        assert(step() == "old tail", "the call that was running finishes with the old code")
        assert(upd.frames == 1)
        assert(step() == "new tail", "the next call runs the new code")
        assert(upd.frames == 11, upd.frames)
        "#,
    );
    let warn: String = vm.eval("WARN");
    assert!(
        warn.contains("upd.update") && warn.contains("running"),
        "{warn}"
    );
}

#[test]
fn functions_and_tables_of_other_modules_are_references_not_versions() {
    let vm = Vm::new(&[
        (
            "lib",
            "local L = { a_tbl = { x = 1 }, b_tbl = { y = 2 } }\nfunction L.a() return 'a' end\nfunction L.b() return 'b' end\nreturn L\n",
        ),
        (
            "user2",
            "local lib = require('lib')\nlocal pick = lib.a\nlocal tbl = lib.a_tbl\nlocal M = { fn = lib.a, t = lib.a_tbl }\nfunction M.call() return pick(), tbl end\nreturn M\n",
        ),
    ]);
    vm.run("lib = require('lib'); u = require('user2'); u.runtime = lib.b");
    vm.reload_ok(
        "user2",
        "local lib = require('lib')\nlocal pick = lib.b\nlocal tbl = lib.b_tbl\nlocal M = { fn = lib.b, t = lib.b_tbl, runtime = function() return 'mine' end }\nfunction M.call() return pick(), tbl end\nreturn M\n",
    );
    vm.run(
        r#"
        assert(lib.a() == "a" and lib.b() == "b", "the other module's functions are untouched")
        assert(lib.a_tbl.y == nil and lib.a_tbl.x == 1, "the other module's tables are not merged")
        assert(u.fn == lib.a and u.t == lib.a_tbl, "references to other modules' values are running values")
        assert(u.runtime == lib.b, "a function set at run time from elsewhere is a running value")
        local p, t = u.call()
        assert(p == "a" and t == lib.a_tbl, "upvalues keep their values")
        "#,
    );
}

#[test]
fn a_callback_the_new_top_level_registers_elsewhere_shares_the_live_state() {
    let events = "local E = { handlers = {} }\nfunction E.on(f) E.handlers[#E.handlers + 1] = f end\nfunction E.fire() for _, f in ipairs(E.handlers) do f() end end\nreturn E\n";
    let v1 = "local events = require('events')\nlocal M = {}\nlocal count = 0\nfunction M.update() count = count + 1 end\nfunction M.count() return count end\nevents.on(M.update)\nreturn M\n";
    let vm = Vm::new(&[("events", events), ("counter", v1)]);
    vm.run("events = require('events'); c = require('counter'); events.fire(); events.fire()");
    vm.reload_ok("counter", &v1.replace("count + 1", "count + 10"));
    vm.run(
        r#"
        assert(#events.handlers == 2, "the top level ran again and registered again")
        events.fire()
        assert(c.count() == 22, "both registrations share the live upvalue: " .. c.count())
        "#,
    );
}

#[test]
fn a_program_that_replaces_globals_the_engine_uses_still_reloads() {
    let vm = Vm::new(&[(
        "gl",
        "local M = {}\nfunction M.f() return 1 end\nreturn M\n",
    )]);
    vm.run(
        r#"
        gl = require("gl")
        collectgarbage, load, pcall, next, ipairs = nil, nil, nil, nil, nil
        table, coroutine = {}, {}
        setmetatable(_G, { __index = function(_, k) error("undefined global " .. tostring(k), 2) end })
        "#,
    );
    vm.reload_ok(
        "gl",
        "local M = {}\nfunction M.f() return 2 end\nreturn M\n",
    );
    vm.run("assert(gl.f() == 2)");
}
