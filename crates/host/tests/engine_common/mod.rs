//! Shared harness of the engine scenario tests: a real VM (mlua over the Lua
//! this crate builds) with the engine installed, module files in a temporary
//! directory, and a `reload(name, source)` global so that a Lua program can
//! reload a module in the middle of its own run and then check itself.

#![allow(dead_code)]

pub use hotreload_host::reload;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dap::types::{HotReloadArguments, HotReloadResponseBody};
#[allow(unused_imports)] // Not every test file reads kinds.
pub use host_protocol::{ErrorKind, HostError};
use mlua::{Lua, Value};
pub use reload::{Backend, Engine, ReloadError};

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// One debuggee VM with the engine installed.
pub struct Vm {
    pub lua: Lua,
    pub engine: Rc<RefCell<Engine>>,
    pub dir: PathBuf,
}

impl Vm {
    /// A VM whose `package.path` finds `files` (name, source), with the
    /// best backend of the VM the tests are built for.
    pub fn new(files: &[(&str, &str)]) -> Vm {
        Vm::with_backend(Backend::best(), files)
    }

    /// Same, with the chosen backend.
    pub fn with_backend(backend: Backend, files: &[(&str, &str)]) -> Vm {
        let dir = std::env::temp_dir().join(format!(
            "hotreload-engine-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let lua = Lua::new();
        let engine = Engine::install_with(&lua, backend).expect("engine installs");
        let vm = Vm {
            lua,
            engine: Rc::new(RefCell::new(engine)),
            dir,
        };
        for (name, source) in files {
            vm.write(name, source);
        }
        let path = format!("{0}/?.lua;{0}/?/init.lua", vm.dir.display());
        vm.lua
            .load(format!("package.path = {path:?}"))
            .exec()
            .expect("set package.path");
        vm.register_reload();
        vm
    }

    /// Writes `source` as the file of module-ish `name` (`a.b` -> a/b.lua).
    pub fn write(&self, name: &str, source: &str) -> PathBuf {
        let rel = if name.ends_with(".lua") {
            name.to_string()
        } else {
            format!("{}.lua", name.replace('.', "/"))
        };
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create module dir");
        }
        std::fs::write(&path, source).expect("write module");
        path
    }

    /// `reload(name, source)` in Lua: returns the report as a table, or nil,
    /// the error text, its kind and the line it names (as the engine does). `reload_path(path, source)` does the same by path.
    fn register_reload(&self) {
        let engine = self.engine.clone();
        let by_module = self
            .lua
            .create_function(move |lua, (name, source): (String, Option<String>)| {
                let args = HotReloadArguments {
                    module: Some(name),
                    path: None,
                    source,
                };
                report_to_lua(lua, engine.borrow_mut().reload(lua, &args))
            })
            .expect("create reload");
        self.lua
            .globals()
            .set("reload", by_module)
            .expect("set reload");
        let engine = self.engine.clone();
        let by_path = self
            .lua
            .create_function(move |lua, (path, source): (String, Option<String>)| {
                let args = HotReloadArguments {
                    module: None,
                    path: Some(path),
                    source,
                };
                report_to_lua(lua, engine.borrow_mut().reload(lua, &args))
            })
            .expect("create reload_path");
        self.lua
            .globals()
            .set("reload_path", by_path)
            .expect("set reload_path");
    }

    /// Runs a chunk of the "program"; panics with Lua's message on error.
    pub fn run(&self, code: &str) {
        if let Err(e) = self.lua.load(code).set_name("=program").exec() {
            panic!("program failed:\n{e}");
        }
    }

    /// Evaluates an expression of the program.
    pub fn eval<T: mlua::FromLua>(&self, expr: &str) -> T {
        match self
            .lua
            .load(format!("return {expr}"))
            .set_name("=eval")
            .eval()
        {
            Ok(v) => v,
            Err(e) => panic!("eval {expr} failed:\n{e}"),
        }
    }

    /// Reloads module `name` with `source` from Rust (no program frame).
    pub fn reload(&self, name: &str, source: &str) -> Result<HotReloadResponseBody, ReloadError> {
        let args = HotReloadArguments {
            module: Some(name.to_string()),
            path: None,
            source: Some(source.to_string()),
        };
        self.engine.borrow_mut().reload(&self.lua, &args)
    }

    /// Like `reload`, but panics (showing the error) when it fails.
    pub fn reload_ok(&self, name: &str, source: &str) -> HotReloadResponseBody {
        match self.reload(name, source) {
            Ok(body) => body,
            Err(e) => panic!("reload of {name} failed: {e}"),
        }
    }

    /// Reloads, expecting failure; returns the error as the host answers it.
    pub fn reload_err(&self, name: &str, source: &str) -> host_protocol::HostError {
        match self.reload(name, source) {
            Ok(body) => panic!("reload of {name} should fail but succeeded: {body:?}"),
            Err(e) => e.into(),
        }
    }

    /// A description of the program's observable state, to show that a
    /// failed reload changed nothing: each expression's value, printed.
    pub fn snapshot(&self, exprs: &[&str]) -> Vec<String> {
        exprs
            .iter()
            .map(|e| {
                let v: Value = self.eval(e);
                format!("{e} = {v:?}")
            })
            .collect()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn report_to_lua(
    lua: &Lua,
    result: Result<HotReloadResponseBody, ReloadError>,
) -> mlua::Result<(Value, Value, Value, Value)> {
    match result {
        Ok(body) => {
            let t = lua.create_table()?;
            t.set("module", body.module)?;
            t.set("path", body.path)?;
            t.set("changed", body.changed)?;
            t.set("added", body.added)?;
            t.set("removed", body.removed)?;
            let warnings = lua.create_table()?;
            for w in body.warnings {
                let entry = lua.create_table()?;
                entry.set("kind", w.kind)?;
                entry.set("message", w.message)?;
                entry.set("path", w.path)?;
                entry.set("line", w.line)?;
                warnings.push(entry)?;
            }
            t.set("warnings", warnings)?;
            t.set("durationMs", body.duration_ms)?;
            Ok((Value::Table(t), Value::Nil, Value::Nil, Value::Nil))
        }
        // As the engine answers: nil, the message, its kind, the line.
        Err(e) => {
            let error = host_protocol::HostError::from(e);
            let line = error.location.and_then(|at| at.line);
            Ok((
                Value::Nil,
                Value::String(lua.create_string(&error.message)?),
                Value::String(lua.create_string(error.kind.name())?),
                line.map_or(Value::Nil, Value::Integer),
            ))
        }
    }
}

/// The line a failure names in the reloaded file.
pub fn line(error: &HostError) -> Option<i64> {
    error.location.as_ref().and_then(|at| at.line)
}

/// Sorted copy, for comparing name lists.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
