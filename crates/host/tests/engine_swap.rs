//! The in-place swap of hosts without the whole native backend (Lua 5.1):
//! an old closure gets the new code itself, so references are not replaced
//! (the closure keeps its identity) and no walk is needed; a failed reload
//! gives it back its old code. Elsewhere the test says it skipped.

mod engine_common;
use engine_common::*;

fn swap_host() -> bool {
    let swap = Backend::best() == Backend::Swap;
    if !swap {
        eprintln!("skipped: this host's VM has no in-place swap of its own");
    }
    swap
}

#[test]
fn a_swapped_closure_keeps_its_identity_and_runs_the_new_code() {
    if !swap_host() {
        return;
    }
    let v1 = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return 'v1', n end\nreturn M\n";
    let vm = Vm::new(&[("s", v1)]);
    vm.run(
        "s = require('s'); alias = s.f; before = tostring(s.f); keyed = { [s.f] = true }; alias()",
    );
    vm.reload_ok("s", &v1.replace("'v1'", "'v2'"));
    vm.run(
        r#"
        local v, n = alias()
        assert(v == "v2" and n == 2, tostring(v) .. " " .. tostring(n))
        assert(s.f == alias and tostring(s.f) == before, "the closure was replaced, not swapped")
        assert(keyed[alias], "a table keyed by the function lost it")
        "#,
    );
    // A failed reload (after the swap ran) gives the closure its code back.
    let failing = v1.replace("'v1'", "'v3'").replace(
        "return M",
        "function M.__on_reload() error('no migration') end\nreturn M",
    );
    let err = vm.reload_err("s", &failing);
    // The program's own error value, carried in the message.
    assert!(err.message.contains("no migration"), "{err}");
    vm.run(
        r#"
        local v, n = alias()
        assert(v == "v2" and n == 3, tostring(v) .. " " .. tostring(n))
        "#,
    );
}

#[test]
fn a_closure_whose_upvalues_differ_is_replaced_by_the_walk() {
    if !swap_host() {
        return;
    }
    let v1 = "local M = {}\nlocal a = 1\nfunction M.f() return a end\nreturn M\n";
    let v2 = "local M = {}\nlocal a, b = 1, 2\nfunction M.f() return a + b end\nreturn M\n";
    let vm = Vm::new(&[("w", v1)]);
    vm.run("w = require('w'); alias = w.f; assert(alias() == 1)");
    vm.reload_ok("w", v2);
    vm.run("assert(alias() == 3 and w.f == alias, tostring(alias()))");
}

/// Many swaps and undos with shared upvalue cells and full collections
/// between them: cells stay shared and alive (5.3 counts references to
/// them, 5.1 and 5.2 collect them).
#[test]
fn shared_cells_survive_many_swaps_and_collections() {
    if !swap_host() {
        return;
    }
    let version = |v: u32| {
        format!(
            "local M = {{}}\nlocal n, log = 0, {{}}\n\
             function M.inc() n = n + {v} - {v} + 1 log[#log + 1] = n return n end\n\
             function M.get() return n, #log end\n\
             M.helper = function() return 'v{v}' end\n\
             return M\n"
        )
    };
    let vm = Vm::new(&[("sh", &version(1))]);
    vm.run("sh = require('sh'); inc, get = sh.inc, sh.get; inc()");
    for round in 2..60 {
        if round % 7 == 0 {
            // A failed reload undoes its swaps.
            let failing = version(round).replace("return M", "error('late')\nreturn M");
            vm.reload_err("sh", &failing);
        } else {
            vm.reload_ok("sh", &version(round));
        }
        vm.run("collectgarbage(); collectgarbage(); inc(); local x = {} for i = 1, 1000 do x[i] = { i } end");
        vm.run(&format!(
            "local n, logged = get()\nassert(n == {round} and logged == {round}, n .. ' ' .. logged)"
        ));
    }
}
