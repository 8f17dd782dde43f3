//! Less common shapes of modules and programs that need checks from Rust or
//! frames under the reload; the others are data: tests/engine/scenarios/edges.lua.

mod engine_common;
use engine_common::*;

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
            WARN = r.warnings[1].kind .. " " .. r.warnings[1].line
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
    // M.update is defined on line 3 of v1.
    assert_eq!(warn, "runningFunction 3");
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
