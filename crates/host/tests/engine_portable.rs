//! The pure-Lua backend (what runtimes without the native code get) keeps
//! the same semantics for module functions, by replacing references.

mod engine_common;
use engine_common::*;

#[test]
fn the_portable_backend_replaces_references_and_keeps_state() {
    let v1 = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return 'v1', n end\nreturn M\n";
    let vm = Vm::with_backend(Backend::PureLua, &[("p", v1)]);
    vm.run("p = require('p'); alias = p.f; list = { p.f }; alias()");
    vm.reload_ok("p", &v1.replace("'v1'", "'v2'"));
    vm.run(
        r#"
        local v, n = alias()
        assert(v == "v2" and n == 2, tostring(v) .. " " .. tostring(n))
        assert(list[1]() == "v2" and p.f == alias)
        "#,
    );
    let err = vm.reload_err("p", "local M = {}\nerror('x')\n");
    assert_eq!(err.kind, host_protocol::ErrorKind::Runtime, "{err}");
    assert_eq!(err.location.and_then(|at| at.line), Some(2));
    vm.run("assert(alias() == 'v2')");
}

#[test]
fn the_portable_backend_rewrites_locals_of_the_frames_under_the_reload() {
    let v1 = "local M = {}\nfunction M.f() return 'v1' end\nreturn M\n";
    let vm = Vm::with_backend(Backend::PureLua, &[("q", v1)]);
    vm.lua
        .globals()
        .set(
            "NEW",
            v1.replace("'v1'", "'v2'")
                .replace("return 'v2'", "local x = 1 return 'v2', x"),
        )
        .expect("set NEW");
    vm.run(
        r#"
        local q = require("q")
        local alias = q.f
        local function inner()
          local deeper = q.f
          local r, err = reload("q", NEW)
          assert(r, err)
          return deeper()
        end
        assert(inner() == "v2", "a local of a frame under the reload")
        assert(alias() == "v2", "a local of the program's main chunk")
        "#,
    );
}
