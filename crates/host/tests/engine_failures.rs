//! Failure is atomic: the program is exactly as before, and the error says
//! `file:line: reason`.

mod engine_common;
use engine_common::*;

const V1: &str = r#"
local M = { data = { n = 1 } }
local hidden = 10
function M.f() hidden = hidden + 1 return "v1", hidden end
function M.g() return "g1" end
return M
"#;

/// Everything a failed reload could have touched (none of these call into
/// the module, so taking the snapshot changes nothing).
const PROBES: &[&str] = &[
    "m.f == alias",
    "m.data.n",
    "m.data == data",
    "rawget(m, 'extra')",
    "rawget(m.data, 'extra')",
    "leaked_global",
    "tostring(rawget(_G, 'helper_global'))",
    "package.loaded.m == m",
    "package.loaded.sneaky",
    "getmetatable(m)",
];

fn setup() -> Vm {
    let vm = Vm::new(&[("m", V1)]);
    vm.run("m = require('m'); alias = m.f; data = m.data; leaked_global = 'before'");
    // The upvalue `hidden` counts calls: 11 after this one.
    vm.run("local v, n = m.f(); assert(v == 'v1' and n == 11)");
    vm
}

fn assert_unchanged(vm: &Vm, before: &[String]) {
    assert_eq!(
        before,
        vm.snapshot(PROBES),
        "state changed by a failed reload"
    );
    vm.run(
        r#"
        local v, n = m.f()
        assert(v == "v1", "old code still runs: " .. tostring(v))
        assert(n == 12, "upvalue kept its value and cell: " .. tostring(n))
        local v2, n2 = alias()
        assert(v2 == "v1" and n2 == 13, "alias: old code, same cell")
        assert(m.g() == "g1")
        "#,
    );
}

fn check_failure(new_source: &str, expect_line: u32, expect_reason: &str) {
    let vm = setup();
    let before = vm.snapshot(PROBES);
    let err = vm.reload_err("m", new_source);
    let prefix = format!("m.lua:{expect_line}:");
    assert!(
        err.contains(&prefix) && err.contains(expect_reason),
        "expected `{prefix} ... {expect_reason}`, got: {err}"
    );
    assert!(
        err.starts_with(&vm.dir.display().to_string()),
        "error names the file: {err}"
    );
    assert_unchanged(&vm, &before);
    // And a good reload still works afterwards.
    vm.reload_ok("m", &V1.replace("\"v1\"", "\"v2\""));
    vm.run("assert(m.f() == 'v2' and alias() == 'v2')");
}

#[test]
fn syntax_error_changes_nothing() {
    check_failure(
        "local M = {}\nfunction M.f() return 'v2' end\nfunction M.g( return end\nreturn M\n",
        3,
        "expected",
    );
}

#[test]
fn error_in_the_new_top_level_changes_nothing() {
    check_failure(
        r#"local M = { data = { n = 2, extra = true } }
leaked_global = "after"
helper_global = function() end
package.loaded.sneaky = true
function M.f() return "v2" end
M.extra = 1
error("boom in top level")
return M
"#,
        7,
        "boom in top level",
    );
}

#[test]
fn error_in_on_reload_undoes_the_whole_reload() {
    check_failure(
        r#"local M = { data = { n = 2, extra = true } }
leaked_global = "after"
local hidden = 0
function M.f() hidden = hidden + 1 return "v2", hidden end
function M.g() return "g2" end
M.extra = 1
setmetatable(M, { __index = function() return "meta" end })
function M.__on_reload(old)
  M.data.extra = "set by hook"
  error("hook failed")
end
return M
"#,
        10,
        "hook failed",
    );
}

#[test]
fn calling_nil_in_the_top_level_reports_the_line() {
    check_failure(
        "local M = {}\nfunction M.f() return 'v2' end\nlocal x = nil\nx()\nreturn M\n",
        4,
        "attempt to call",
    );
}

#[test]
fn unknown_module_and_unknown_path_are_clear_errors() {
    let vm = setup();
    let err = vm.reload_err("nope", "return {}");
    assert!(err.contains("nope") && err.contains("not loaded"), "{err}");
    let err = vm
        .engine
        .borrow_mut()
        .reload(
            &vm.lua,
            &dap::types::HotReloadArguments {
                path: Some("/no/such/file.lua".into()),
                module: None,
                source: None,
            },
        )
        .expect_err("unknown path fails");
    assert_eq!(
        err.to_string(),
        "/no/such/file.lua: not a module or file the running program loaded"
    );
    let err = vm
        .engine
        .borrow_mut()
        .reload(&vm.lua, &dap::types::HotReloadArguments::default())
        .expect_err("no target fails");
    assert!(matches!(err, ReloadError::NoTarget), "{err}");
}

#[test]
fn global_writes_are_held_back_until_the_top_level_succeeds() {
    let vm = setup();
    // During the run the new top level sees its own writes...
    let body = vm.reload_ok(
        "m",
        "COUNTER = (COUNTER or 0) + 1\nlocal seen = COUNTER\nlocal M = {}\nfunction M.f() return 'v2', seen end\nreturn M\n",
    );
    assert!(body.added.iter().any(|n| n == "COUNTER"), "{body:?}");
    vm.run("assert(COUNTER == 1 and select(2, m.f()) == 1)");
    // ...and a failing one leaves no trace.
    vm.reload_err("m", "COUNTER = 99\nNEWGLOBAL = 1\nerror('no')\n");
    vm.run("assert(COUNTER == 1 and NEWGLOBAL == nil)");
}

#[test]
fn a_module_required_only_by_a_failed_new_version_leaves_no_trace() {
    let vm = setup();
    vm.write(
        "extra",
        "EXTRA_LOADED = true\nleaked_global = 'by extra'\nreturn { tag = 'extra' }\n",
    );
    let before = vm.snapshot(PROBES);
    let err = vm.reload_err(
        "m",
        "local extra = require('extra')\nlocal M = {}\nfunction M.f() return extra.tag end\nerror('late')\nreturn M\n",
    );
    assert!(err.contains("m.lua:4: late"), "{err}");
    vm.run(
        "assert(package.loaded.extra == nil, 'extra stays unloaded')\nassert(EXTRA_LOADED == nil, 'its global is gone: ' .. tostring(EXTRA_LOADED))",
    );
    assert_unchanged(&vm, &before);
    // A successful version that needs it keeps what it wrote.
    vm.reload_ok(
        "m",
        "local extra = require('extra')\nlocal M = { data = {} }\nlocal hidden = 0\nfunction M.f() hidden = hidden + 1 return extra.tag, hidden end\nfunction M.g() return 'g1' end\nreturn M\n",
    );
    vm.run(
        "assert(EXTRA_LOADED == true and package.loaded.extra.tag == 'extra' and m.f() == 'extra')",
    );
}

#[test]
fn on_reload_writes_to_module_tables_upvalues_and_globals_are_undone_when_it_fails() {
    let vm = setup();
    let before = vm.snapshot(PROBES);
    // The hook writes the module's nested table, a new key of the module,
    // a global, and (through the new code) the shared upvalue `hidden`.
    let err = vm.reload_err(
        "m",
        r#"local M = { data = { n = 5 } }
local hidden = 0
function M.f() hidden = hidden + 100 return "v2", hidden end
function M.g() return "g2" end
function M.__on_reload(old)
  M.data.n = 42
  M.data.extra = "hook"
  old.data.extra = "through old"
  rawset(M, "extra", 1)
  leaked_global = "hook"
  helper_global = function() end
  M.f()
  error("migration failed")
end
return M
"#,
    );
    assert!(err.contains("m.lua:13: migration failed"), "{err}");
    assert_unchanged(&vm, &before);
}
