//! The engine's scenarios as data (`tests/engine/scenarios/*.lua`: v1, v2,
//! the expected report, a check), each run in a fresh VM on both backends:
//! the host's best (native, or the in-place swap) and the pure-Lua walker. The same files run under Neovim's LuaJIT
//! with the pure-Lua backend (`nvim -l tests/engine/run.lua`).
//! `HOTRELOAD_SCENARIO=<text>` runs only the scenarios whose name contains it.

mod engine_common;
use engine_common::*;

use std::path::{Path, PathBuf};

use mlua::{Function, Table, Value};

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/engine")
}

/// Runs every scenario of `file` with `backend`; returns the failures.
fn run_file(file: &str, backend: Backend, label: &str) -> (usize, Vec<String>) {
    let dir = scenario_dir();
    let driver_src = std::fs::read_to_string(dir.join("driver.lua")).expect("read driver.lua");
    let path = dir.join("scenarios").join(file);
    let source =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let filter = std::env::var("HOTRELOAD_SCENARIO").unwrap_or_default();
    // The number of scenarios, read once in a VM of its own.
    let count: usize = {
        let lua = mlua::Lua::new();
        let list: Table = lua
            .load(source.as_str())
            .set_name(format!("@{}", path.display()))
            .eval()
            .expect("scenario file evaluates to a list");
        list.raw_len()
    };
    let mut failures = Vec::new();
    let mut ran = 0;
    for index in 1..=count {
        let vm = Vm::with_backend(backend, &[]);
        let list: Table = vm
            .lua
            .load(source.as_str())
            .set_name(format!("@{}", path.display()))
            .eval()
            .expect("scenario file");
        let scenario: Table = list.raw_get(index).expect("scenario");
        let name: String = scenario.get("name").expect("scenario name");
        if !name.contains(&filter) {
            continue;
        }
        let driver: Table = vm
            .lua
            .load(driver_src.as_str())
            .set_name("@tests/engine/driver.lua")
            .eval()
            .expect("driver");
        let serves: Function = driver.get("serves").expect("serves");
        if !serves
            .call::<bool>((scenario.clone(), label))
            .expect("serves")
        {
            continue;
        }
        ran += 1;
        let host = vm.lua.create_table().expect("host table");
        host.set("backend", label).expect("backend");
        let dir = vm.dir.clone();
        let write = vm
            .lua
            .create_function(move |_, (name, source): (String, String)| {
                let path = dir.join(format!("{}.lua", name.replace('.', "/")));
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(mlua::Error::external)?;
                }
                std::fs::write(&path, source).map_err(mlua::Error::external)?;
                Ok(path.display().to_string())
            })
            .expect("write");
        host.set("write", write).expect("set write");
        let reload: Function = vm.lua.globals().get("reload").expect("reload");
        host.set("reload", reload).expect("set reload");
        let run: Function = driver.get("run").expect("run");
        let (ok, why): (bool, Option<String>) = match run.call((scenario, host)) {
            Ok(r) => r,
            Err(e) => (false, Some(e.to_string())),
        };
        if !ok {
            failures.push(format!(
                "[{label}] {file}: {name}: {}",
                why.unwrap_or_default()
            ));
        }
    }
    (ran, failures)
}

fn run_everywhere(file: &str) {
    let mut failures = Vec::new();
    let mut ran = 0;
    // Each host runs them on the backend it reloads with and on the pure-Lua
    // walk (Neovim's): 5.4 native, 5.3, 5.2, 5.1 and LuaJIT the in-place swap.
    let backends: &[(Backend, &str)] = match Backend::best() {
        Backend::Native => &[(Backend::Native, "native"), (Backend::PureLua, "lua")],
        Backend::Swap => &[(Backend::Swap, "swap"), (Backend::PureLua, "lua")],
        Backend::PureLua => &[(Backend::PureLua, "lua")],
    };
    for &(backend, label) in backends {
        let (n, f) = run_file(file, backend, label);
        ran += n;
        failures.extend(f);
    }
    let filtered = std::env::var("HOTRELOAD_SCENARIO").is_ok_and(|f| !f.is_empty());
    assert!(ran > 0 || filtered, "{file}: no scenario ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} scenario runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn classes() {
    run_everywhere("classes.lua");
}

#[test]
fn report() {
    run_everywhere("report.lua");
}

/// The engine refuses, when it is loaded, a VM it cannot serve (Lua 5.1 has
/// no `debug.upvaluejoin`), with a message naming what is missing; nothing
/// is installed.
#[test]
fn a_vm_without_upvalue_identity_is_refused_when_the_engine_loads() {
    // SAFETY: the debug library is needed to build the crippled copy; the VM
    // runs nothing else.
    let lua = unsafe { mlua::Lua::unsafe_new() };
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("lua/engine");
    let init = std::fs::read_to_string(engine.join("init.lua")).expect("init.lua");
    let chunks = lua.create_table().expect("chunks");
    let searchers_before: usize = lua
        .load("return #(package.searchers or package.loaders)")
        .eval()
        .expect("searchers");
    let err = lua
        .load(
            "local init, chunks = ...\n\
             local d = {}\n\
             for k, v in pairs(debug) do d[k] = v end\n\
             d.upvaluejoin, d.upvalueid = nil, nil\n\
             return init(d, chunks)",
        )
        .call::<Value>((
            lua.load(init.as_str())
                .set_name("@init.lua")
                .into_function()
                .expect("compile init"),
            chunks,
        ))
        .expect_err("the engine must refuse this VM")
        .to_string();
    // LuaJIT names itself (its _VERSION says Lua 5.1).
    let version: String = lua
        .load("return rawget(_G, 'jit') and jit.version or _VERSION")
        .eval()
        .expect("_VERSION");
    assert!(
        err.contains(&format!("cannot serve {version}"))
            && err.contains("debug.upvalueid")
            && err.contains("debug.upvaluejoin")
            && err.contains("LuaJIT 2.1"),
        "{err}"
    );
    let searchers_after: usize = lua
        .load("return #(package.searchers or package.loaders)")
        .eval()
        .expect("searchers");
    assert_eq!(searchers_before, searchers_after, "nothing was installed");
}

#[test]
fn state() {
    run_everywhere("state.lua");
}

#[test]
fn references() {
    run_everywhere("references.lua");
}

#[test]
fn edges() {
    run_everywhere("edges.lua");
}

#[test]
fn failures() {
    run_everywhere("failures.lua");
}
