//! The in-place swap alone (`Backend::Swap`: Lua 5.3, 5.2, 5.1, LuaJIT),
//! then the pure-Lua walk:
//! an old closure gets the new code itself, so references are not replaced
//! (the closure keeps its identity) and no walk is needed; a failed reload
//! gives it back its old code. Elsewhere the test says it skipped.

mod engine_common;
use engine_common::*;

fn swap_host() -> bool {
    // The Swap backend, also where the native backend is the best (5.3,
    // 5.2): the swap alone, then the pure-Lua walk.
    let swap = cfg!(hr_inplace_swap);
    if !swap {
        eprintln!("skipped: this host's VM has no in-place swap of its own");
    }
    swap
}

/// A VM with the Swap backend (see [`swap_host`]).
fn swap_vm(files: &[(&str, &str)]) -> Vm {
    Vm::with_backend(Backend::Swap, files)
}

#[test]
fn a_swapped_closure_keeps_its_identity_and_runs_the_new_code() {
    if !swap_host() {
        return;
    }
    let v1 = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return 'v1', n end\nreturn M\n";
    let vm = swap_vm(&[("s", v1)]);
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
    let vm = swap_vm(&[("w", v1)]);
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
    let vm = swap_vm(&[("sh", &version(1))]);
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

/// LuaJIT: a function the JIT compiled (its bytecode patched, its loop in a
/// trace) gets the new code in place, and a failed reload gives the old
/// code back; traces are flushed after both, so no compiled old code runs.
#[test]
fn a_compiled_function_is_swapped_and_restored() {
    if !swap_host() {
        return;
    }
    let v1 = "local M = {}\nfunction M.sum(n) local s = 0 for i = 1, n do s = s + i end return s end\nreturn M\n";
    let vm = swap_vm(&[("hot", v1)]);
    vm.run(
        "if not rawget(_G, 'jit') then skip = true return end\n\
         hot = require('hot'); sum = hot.sum\n\
         for _ = 1, 2000 do assert(sum(100) == 5050) end",
    );
    if vm.eval::<bool>("skip == true") {
        eprintln!("skipped: not LuaJIT");
        return;
    }
    vm.reload_ok("hot", &v1.replace("s = s + i", "s = s + 2 * i"));
    vm.run(
        "for _ = 1, 2000 do local r = sum(100) assert(r == 10100, r) end assert(hot.sum == sum)",
    );
    let failing = v1
        .replace("s = s + i", "s = s + 3 * i")
        .replace("return M", "error('late')\nreturn M");
    vm.reload_err("hot", &failing);
    vm.run("for _ = 1, 2000 do local r = sum(100) assert(r == 10100, r) end");
}

/// LuaJIT: an upvalue no code wrote was marked immutable, and compiled code
/// reads such a cell as a constant; once a new function that writes the
/// cell shares it, compiled readers must see the writes.
#[test]
fn a_cell_the_new_code_writes_is_no_longer_read_as_a_constant() {
    if !swap_host() {
        return;
    }
    let v1 = "local M = {}\nlocal k = 1\nfunction M.get() return k end\nreturn M\n";
    let v2 = "local M = {}\nlocal k = 1\nfunction M.get() return k end\n\
              function M.set(v) k = v end\nfunction M.bump() k = k + 1 return k end\nreturn M\n";
    let vm = swap_vm(&[("cell", v1)]);
    vm.run("cell = require('cell'); get = cell.get; for _ = 1, 2000 do assert(get() == 1) end");
    vm.reload_ok("cell", v2);
    vm.run(
        "local function loop(want) for _ = 1, 2000 do local v = get() assert(v == want, v) end end\n\
         loop(1); cell.set(5); loop(5); cell.bump(); loop(6)",
    );
}
