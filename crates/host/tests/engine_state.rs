//! Rules about state: upvalues, tables, scalars, removed keys, type changes,
//! several reloads in a row, and the report. More state scenarios, run on both
//! backends and under LuaJIT, are data: tests/engine/scenarios/state.lua.

mod engine_common;
use engine_common::*;

#[test]
fn tables_keep_identity_and_gain_keys_scalars_keep_running_values() {
    let v1 = r#"
        local M = { config = { speed = 1, name = "a" }, score = 0, list = {} }
        function M.f() return 1 end
        function M.gone() return "gone" end
        M.kind = "string"
        return M
    "#;
    let v2 = r#"
        local M = { config = { speed = 5, name = "b", color = "red" }, score = 100, list = {},
                    fresh = { 1, 2 } }
        function M.f() return 2 end
        M.kind = function() return "now a function" end   -- type change: new wins
        M.score = nil                                       -- nil does not wipe
        local created = "new local"
        function M.local_value() return created end
        return M
    "#;
    let vm = Vm::new(&[("s", v1)]);
    vm.run(
        r#"
        s = require("s")
        cfg, list = s.config, s.list
        s.score = 42; cfg.speed = 7; list[1] = "item"
        gone = s.gone
        "#,
    );
    let body = vm.reload_ok("s", v2);
    assert_eq!(body.removed, ["s.gone"]);
    assert!(body.added.iter().any(|n| n == "s.config.color"), "{body:?}");
    assert!(body.added.iter().any(|n| n == "s.fresh"), "{body:?}");
    assert!(body.changed.iter().any(|n| n == "s.kind"), "{body:?}");
    vm.run(
        r#"
        assert(s.config == cfg and s.list == list, "identity kept")
        assert(cfg.speed == 7 and cfg.name == "a", "running scalars kept")
        assert(cfg.color == "red", "new key added")
        assert(list[1] == "item", "contents kept")
        assert(s.score == 42, "nil in the new version does not wipe")
        assert(s.gone == nil, "removed function removed")
        assert(gone() == "gone", "a held reference to a removed function still works")
        assert(s.kind() == "now a function", "type change")
        assert(s.fresh[2] == 2, "new table")
        assert(s.local_value() == "new local", "new locals start from the new value")
        "#,
    );
}

#[test]
fn several_reloads_in_a_row_and_back_to_the_first_version() {
    let version = |n: u32| {
        format!(
            "local M = {{ hits = 0 }}\nlocal seen = 0\nfunction M.hit() seen = seen + 1 M.hits = M.hits + 1 return {n}, seen end\nreturn M\n"
        )
    };
    let vm = Vm::new(&[("v", &version(1))]);
    vm.run("v = require('v'); hit = v.hit; assert(hit() == 1)");
    for (n, expect_seen) in [(2, 2), (3, 3), (1, 4), (2, 5)] {
        let body = vm.reload_ok("v", &version(n));
        assert_eq!(body.changed, ["v.hit"], "to v{n}: {body:?}");
        vm.run(&format!(
            "local a, seen = hit(); assert(a == {n}, 'version ' .. a); assert(seen == {expect_seen}, 'seen ' .. seen); assert(v.hits == {expect_seen})"
        ));
    }
    let body = vm.reload_ok("v", &version(2));
    assert!(
        body.changed.is_empty(),
        "same code: nothing changed: {body:?}"
    );
}

#[test]
fn the_report_lists_names_and_the_time_taken() {
    let vm = Vm::new(&[(
        "r",
        "local M = {}\nfunction M.a() end\nfunction M.b() end\nreturn M\n",
    )]);
    vm.run("require('r')");
    let body = vm.reload_ok(
        "r",
        "local M = {}\nfunction M.a() return 1 end\nfunction M.c() end\nreturn M\n",
    );
    assert_eq!(body.module, "r");
    assert!(body.path.ends_with("r.lua"), "{}", body.path);
    assert_eq!(body.changed, ["r.a"]);
    assert_eq!(body.added, ["r.c"]);
    assert_eq!(body.removed, ["r.b"]);
    assert!(body.warnings.is_empty(), "{:?}", body.warnings);
    assert!(
        body.duration_ms > 0.0 && body.duration_ms < 1000.0,
        "{}",
        body.duration_ms
    );
}

#[test]
fn on_reload_is_called_last_with_the_old_values() {
    let vm = Vm::new(&[(
        "o",
        "local M = { version = 1 }\nfunction M.f() return 1 end\nreturn M\n",
    )]);
    vm.run("o = require('o')");
    vm.reload_ok(
        "o",
        r#"
        local M = { version = 2 }
        function M.f() return 2 end
        function M.__on_reload(old)
          -- runs after the merge: new code is live, old values are readable
          M.seen_f = M.f()
          M.old_version = old.version
          M.same_table = (M == package.loaded["o"])
        end
        return M
        "#,
    );
    vm.run("assert(o.seen_f == 2 and o.old_version == 1 and o.same_table == true)");
}

#[test]
fn reloading_by_path_reads_the_file_from_disk() {
    let vm = Vm::new(&[("d", "local M = {}\nfunction M.f() return 1 end\nreturn M\n")]);
    vm.run("d = require('d')");
    let path = vm.write("d", "local M = {}\nfunction M.f() return 2 end\nreturn M\n");
    vm.run(&format!(
        "local r, err = reload_path({:?}); assert(r, err); assert(d.f() == 2); assert(r.module == 'd')",
        path.to_string_lossy()
    ));
}

#[test]
fn a_new_alias_of_an_unchanged_function_shares_its_state() {
    let v1 = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return n end\nreturn M\n";
    let v2 = "local M = {}\nlocal n = 0\nfunction M.f() n = n + 1 return n end\nM.alias = M.f\nreturn M\n";
    let vm = Vm::new(&[("u", v1)]);
    vm.run("u = require('u'); u.f(); u.f()");
    vm.reload_ok("u", v2);
    vm.run("assert(u.alias == u.f, 'the new key holds the live function'); assert(u.alias() == 3)");
}

#[test]
fn an_upvalue_whose_type_changed_takes_the_new_value() {
    let v1 = "local M = {}\nlocal store = 0\nfunction M.put(x) store = store + x end\nfunction M.get() return store end\nreturn M\n";
    let v2 = "local M = {}\nlocal store = {}\nfunction M.put(x) store[#store + 1] = x end\nfunction M.get() return #store end\nreturn M\n";
    let vm = Vm::new(&[("ty", v1)]);
    vm.run("ty = require('ty'); put = ty.put; put(5)");
    let body = vm.reload_ok("ty", v2);
    assert!(body.changed.iter().any(|n| n == "store"), "{body:?}");
    vm.run("put(1); put(2); assert(ty.get() == 2, 'one cell, now a table')");
    // and an error afterwards restores the old value
    let vm = Vm::new(&[("ty", v1)]);
    vm.run("ty = require('ty'); ty.put(5)");
    vm.reload_err(
        "ty",
        &format!(
            "{}\nfunction M.__on_reload() error('no') end\nreturn M\n",
            v2.trim_end().trim_end_matches("return M")
        ),
    );
    vm.run("ty.put(1); assert(ty.get() == 6, 'rolled back to the number')");
}
