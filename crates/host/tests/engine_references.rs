//! Rule: a function's new code wins everywhere the old function is referenced
//! (native backend: nested functions paired by name and by place). The
//! scenarios both backends serve are data: tests/engine/scenarios/references.lua.

mod engine_common;
use engine_common::*;

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
        body.warnings.iter().any(|w| w.kind.ends_with("Closures")
            && w.path.as_deref().is_some_and(|p| p.ends_with("cbs.lua"))),
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
