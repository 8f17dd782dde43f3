//! Requests the engine refuses before it starts (unknown module or path, no
//! target). The atomicity of failed reloads is tested as data on both
//! backends: tests/engine/scenarios/failures.lua.

mod engine_common;
use engine_common::*;

const V1: &str = r#"
local M = { data = { n = 1 } }
local hidden = 10
function M.f() hidden = hidden + 1 return "v1", hidden end
function M.g() return "g1" end
return M
"#;

fn setup() -> Vm {
    let vm = Vm::new(&[("m", V1)]);
    vm.run("m = require('m'); alias = m.f; data = m.data; leaked_global = 'before'");
    // The upvalue `hidden` counts calls: 11 after this one.
    vm.run("local v, n = m.f(); assert(v == 'v1' and n == 11)");
    vm
}

#[test]
fn unknown_module_and_unknown_path_are_clear_errors() {
    let vm = setup();
    let err = vm.reload_err("nope", "return {}");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(err.message.contains("'nope'"), "names the module: {err}");
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
    let err = HostError::from(err);
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(
        err.location.map(|at| at.path).as_deref(),
        Some("/no/such/file.lua")
    );
    let err = vm
        .engine
        .borrow_mut()
        .reload(&vm.lua, &dap::types::HotReloadArguments::default())
        .expect_err("no target fails");
    assert!(matches!(err, ReloadError::NoTarget), "{err}");
}
