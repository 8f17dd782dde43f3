//! The hot reload engine.
//!
//! Three layers, each with one job:
//! - `lua/engine/*.lua`: the semantics (which file is which module, the
//!   transaction, matching old and new values by path, the undo journal,
//!   `__on_reload`), in plain Lua so that LuaJIT and Neovim can reuse it;
//!   one part per job, run in order by `lua/engine/init.lua`;
//! - `vm/shared/reload_*.c` over each VM folder's `reload_vm.h`: the
//!   VM-level fast paths, on every host VM LuaJIT included (prototype swap
//!   in place, running frames, one pass over the VM's object lists when a
//!   walk is needed);
//! - this module: resolves the request (path or module, source from disk)
//!   and turns the outcome into the DAP body or a `file:line: reason` error.

mod resolve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use dap::types::{HotReloadArguments, HotReloadResponseBody, ReloadWarning};
use host_protocol::{ErrorKind, HostError};
use mlua::{Lua, ObjectLike, Table, Value};

/// The entry of the semantic layer: runs the parts below in order.
const ENGINE_INIT_LUA: &str = include_str!("../../lua/engine/init.lua");

/// The parts of the semantic layer, embedded (never read from disk at run
/// time): name -> source. `init.lua` says in which order they run.
const ENGINE_PARTS: &[(&str, &str)] = &[
    ("common", include_str!("../../lua/engine/common.lua")),
    ("journal", include_str!("../../lua/engine/journal.lua")),
    ("report", include_str!("../../lua/engine/report.lua")),
    ("context", include_str!("../../lua/engine/context.lua")),
    ("names", include_str!("../../lua/engine/names.lua")),
    ("match", include_str!("../../lua/engine/match.lua")),
    ("relink", include_str!("../../lua/engine/relink.lua")),
    ("stacks", include_str!("../../lua/engine/stacks.lua")),
    ("apply", include_str!("../../lua/engine/apply.lua")),
    (
        "transaction",
        include_str!("../../lua/engine/transaction.lua"),
    ),
    ("tracking", include_str!("../../lua/engine/tracking.lua")),
    ("module", include_str!("../../lua/engine/module.lua")),
    ("program", include_str!("../../lua/engine/program.lua")),
    (
        "lua_backend",
        include_str!("../../lua/engine/lua_backend.lua"),
    ),
    ("engine", include_str!("../../lua/engine/engine.lua")),
];

const WALKER_LUA: &str = include_str!("../../lua/walker.lua");

/// Registers the modules of `package.loaded` that the engine has no record
/// of (see [`Engine::find_untracked_modules`]).
const REGISTER_UNTRACKED_LUA: &str = r#"
local engine = ...
local package, type, next, rawget = package, type, next, rawget
local getinfo = type(debug) == 'table' and debug.getinfo or nil
-- The chunk name the module's functions carry (loaders such as LÖVE's give
-- their own), when every Lua function in its table agrees on one: a table
-- that gathers functions from several files is no one file's module.
local function chunkname_of(value)
  if type(value) ~= 'table' or not getinfo then return nil end
  local found
  for _, v in next, value do
    if type(v) == 'function' then
      local info = getinfo(v, 'S')
      if info and info.what ~= 'C' and type(info.source) == 'string' and info.source:sub(1, 1) == '@' then
        if found and found ~= info.source then return nil end
        found = info.source
      end
    end
  end
  return found
end
-- The VM's own libraries: `_G` holds every global function a module
-- defines, and none of them has a file of its own.
local builtin = {
  _G = true, string = true, table = true, math = true, io = true, os = true,
  coroutine = true, debug = true, package = true, utf8 = true, bit32 = true,
  bit = true, jit = true, ffi = true, ['jit.util'] = true, ['jit.profile'] = true,
  ['string.buffer'] = true, ['table.new'] = true, ['table.clear'] = true,
}
local searchpath = package.searchpath
for name, value in next, package.loaded do
  if type(name) == 'string' and not builtin[name] and value ~= _G
    and rawget(engine.modules, name) == nil then
    local chunkname = chunkname_of(value)
    if chunkname then
      engine:register(name, chunkname:sub(2), chunkname)
    elseif type(searchpath) == 'function' and type(package.path) == 'string' then
      local path = searchpath(name, package.path)
      if path then engine:register(name, path) end
    end
  end
end
"#;

#[cfg(hr_native_backend)]
extern "C-unwind" {
    /// Pushes the native backend table (vm/shared/reload_backend.c).
    fn hotreload_native_backend(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
}

#[cfg(hr_inplace_swap)]
extern "C-unwind" {
    /// Pushes `{ swap, restore }` (vm/<vm>/reload_swap.c).
    fn hotreload_inplace_swap(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
}

#[cfg(hr_debug_extras)]
extern "C-unwind" {
    /// Pushes the debug functions this VM lacks (vm/lua51/upvalues.c).
    fn hotreload_debug_extras(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
}

extern "C-unwind" {
    /// `same_code(a, b)` of the VM folder (vm/hotreload_vm.h).
    fn hotreload_same_code(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
    /// Drops compiled code that may run a replaced function's old code
    /// (LuaJIT's traces, vm/luajit/jit.c; nothing elsewhere).
    fn hotreload_code_replaced(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int;
}

/// Why a reload did not happen. `Display` is the user-facing `file:line: reason`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The request named neither a path nor a module.
    #[error("hot reload needs a path or a module name")]
    NoTarget,
    /// The path is not a module or file the program loaded.
    #[error("{path}: not a module or file the running program loaded")]
    UnknownPath {
        /// The path as requested.
        path: String,
    },
    /// The module name is not loaded, or the request names nothing the
    /// engine can reload (the message says which).
    #[error("{message}")]
    Unresolved {
        /// The engine's kind (`notFound`, `invalidArguments`).
        kind: ErrorKind,
        /// The engine's message.
        message: String,
    },
    /// The new source could not be read from disk.
    #[error("{path}: {source}")]
    Read {
        /// The file that could not be read.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The new version was rejected: it does not compile (`Compile`), its
    /// top level or `__on_reload` failed (`Runtime`), or the engine cannot
    /// do it here (`Unsupported`). The program is exactly as before.
    #[error("{message}")]
    Rejected {
        /// Why.
        kind: ErrorKind,
        /// `file:line: reason` as Lua says it.
        message: String,
        /// The file being reloaded.
        path: Option<String>,
        /// The line of that file the message names (the engine reads it).
        line: Option<i64>,
        /// The message after that position.
        reason: Option<String>,
    },
    /// This VM cannot run the engine (an attached stock Lua 5.1 has no
    /// upvalue identity); the debugger works without it.
    #[error("hot reload is not available in this program: {0}")]
    Unavailable(String),
    /// The engine itself failed to run (a bug, not the program's fault).
    #[error("hot reload engine: {0}")]
    Engine(#[from] mlua::Error),
}

/// The kind the engine named (`EngineErrorKind` in `contract.lua`).
fn engine_kind(kind: Option<&str>) -> ErrorKind {
    match kind {
        Some("compile") => ErrorKind::Compile,
        Some("runtime") => ErrorKind::Runtime,
        Some("notFound") => ErrorKind::NotFound,
        Some("invalidArguments") => ErrorKind::InvalidArguments,
        Some("unsupported") => ErrorKind::Unsupported,
        Some("internal") => ErrorKind::Internal,
        _ => ErrorKind::Other,
    }
}

impl From<ReloadError> for HostError {
    fn from(error: ReloadError) -> HostError {
        let message = error.to_string();
        match error {
            ReloadError::NoTarget => HostError::invalid(message),
            ReloadError::UnknownPath { path } => {
                HostError::new(ErrorKind::NotFound, message).at(path, None)
            }
            ReloadError::Unresolved { kind, .. } => HostError::new(kind, message),
            ReloadError::Read { path, .. } => HostError::new(ErrorKind::Io, message).at(path, None),
            ReloadError::Rejected {
                kind,
                path,
                line,
                reason,
                ..
            } => {
                let error = HostError::new(kind, message).because(reason);
                match path {
                    Some(path) => error.at(path, line),
                    None => error,
                }
            }
            ReloadError::Unavailable(_) => HostError::new(ErrorKind::Unsupported, message),
            ReloadError::Engine(_) => HostError::internal(message),
        }
    }
}

/// Pushes the native backend of this host's VM folder.
#[cfg(hr_native_backend)]
fn native_backend(lua: &Lua) -> Result<Value, ReloadError> {
    // SAFETY: the function only uses the Lua API and the VM internals of the
    // Lua this binary links (vm/shared/reload_*.c over the VM folder).
    let open = unsafe { lua.create_c_function(hotreload_native_backend)? };
    Ok(open.call(())?)
}

#[cfg(not(hr_native_backend))]
fn native_backend(_lua: &Lua) -> Result<Value, ReloadError> {
    Err(ReloadError::Engine(mlua::Error::RuntimeError(format!(
        "this host has no native backend for Lua {}",
        env!("HOTRELOAD_LUA_RELEASE")
    ))))
}

/// The debug library the engine gets: the VM's own, or where the VM folder
/// provides what the library lacks (Lua 5.1: `upvalueid`, `upvaluejoin`),
/// a copy with those added. A copy, because 5.1's `luaopen_debug` returns
/// the program's own `debug` table, which must stay stock.
fn engine_debug_library(lua: &Lua) -> Result<Table, ReloadError> {
    // SAFETY: luaopen_debug only builds (5.1: refills) the library table;
    // the functions it holds are the stock ones.
    let open_debug = unsafe { lua.create_c_function(mlua::ffi::luaopen_debug)? };
    let debug: Table = open_debug.call(())?;
    with_debug_extras(lua, debug)
}

#[cfg(hr_debug_extras)]
fn with_debug_extras(lua: &Lua, debug: Table) -> Result<Table, ReloadError> {
    let copy = lua.create_table()?;
    for pair in debug.pairs::<Value, Value>() {
        let (k, v) = pair?;
        copy.raw_set(k, v)?;
    }
    // SAFETY: builds a table of two C functions that check their arguments
    // as the stock debug functions do (vm/lua51/upvalues.c).
    let open_extras = unsafe { lua.create_c_function(hotreload_debug_extras)? };
    let extras: Table = open_extras.call(())?;
    for pair in extras.pairs::<Value, Value>() {
        let (k, v) = pair?;
        copy.raw_set(k, v)?;
    }
    Ok(copy)
}

#[cfg(not(hr_debug_extras))]
fn with_debug_extras(_lua: &Lua, debug: Table) -> Result<Table, ReloadError> {
    Ok(debug)
}

/// Which implementation of the VM-level work the engine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Prototype swap in place and a native pass over the VM's objects.
    Native,
    /// Prototype swap in place (the VM folder's `reload_swap.c`), then the
    /// pure-Lua walk for what could not be swapped (running closures,
    /// upvalue layouts that differ); nested closures keep their code.
    Swap,
    /// A pure-Lua reference walk (what runtimes without our C code get);
    /// no in-place swap, nested closures keep their code.
    PureLua,
}

impl Backend {
    /// The native backend where this host's VM folder has one, else the
    /// in-place swap where it has that, else the pure-Lua walk (correct,
    /// slower).
    pub fn best() -> Backend {
        if cfg!(hr_native_backend) {
            Backend::Native
        } else if cfg!(hr_inplace_swap) {
            Backend::Swap
        } else {
            Backend::PureLua
        }
    }
}

/// Puts the VM folder's in-place swap into a pure-Lua backend table.
#[cfg(hr_inplace_swap)]
fn add_inplace_swap(lua: &Lua, backend: &Table) -> Result<(), ReloadError> {
    // SAFETY: builds a table of two C functions that check their arguments
    // (vm/<vm>/reload_swap.c).
    let open = unsafe { lua.create_c_function(hotreload_inplace_swap)? };
    let swap: Table = open.call(())?;
    // `nested`, where the folder has it (vm/luajit_stock, in the agent):
    // closures of changed nested functions get new code (lua_backend.lua).
    for name in ["swap", "restore", "nested"] {
        backend.set(name, swap.get::<Value>(name)?)?;
    }
    Ok(())
}

#[cfg(not(hr_inplace_swap))]
fn add_inplace_swap(_lua: &Lua, _backend: &Table) -> Result<(), ReloadError> {
    Err(ReloadError::Engine(mlua::Error::RuntimeError(format!(
        "this host has no in-place swap for Lua {}",
        env!("HOTRELOAD_LUA_RELEASE")
    ))))
}

/// Compiles every part of the semantic layer (chunk names `=[hotreload]
/// engine/<part>.lua`, which the debugger hides) and runs `init.lua` over
/// them; returns the engine module.
fn load_engine(lua: &Lua, debug: &Table) -> Result<Table, ReloadError> {
    let chunks = lua.create_table()?;
    for (name, source) in ENGINE_PARTS {
        let chunk = lua
            .load(*source)
            .set_name(format!("=[hotreload] engine/{name}.lua"))
            .into_function()?;
        chunks.set(*name, chunk)?;
    }
    let module: Table = lua
        .load(ENGINE_INIT_LUA)
        .set_name("=[hotreload] engine/init.lua")
        .call((debug.clone(), chunks))?;
    Ok(module)
}

/// The reload engine installed in one VM.
pub struct Engine {
    engine: Table,
    program: Option<PathBuf>,
    /// Modules may be loaded without the engine seeing it (attached to a
    /// stock VM): look them up before each reload.
    find_untracked: Option<mlua::Function>,
    /// See [`Engine::set_around_reload`].
    around: Option<(mlua::Function, mlua::Function)>,
    /// Why this VM cannot reload (see [`Engine::unavailable`]).
    unavailable: Option<String>,
}

impl Engine {
    /// Installs the engine into a fresh VM, before the program runs: it starts
    /// tracking which file each `require`d module came from, and coroutines.
    pub fn install(lua: &Lua) -> Result<Engine, ReloadError> {
        Engine::install_with(lua, Backend::best())
    }

    /// Like [`Engine::install`], choosing the backend (benchmarks, tests).
    pub fn install_with(lua: &Lua, backend: Backend) -> Result<Engine, ReloadError> {
        let backend_kind = backend;
        let debug = engine_debug_library(lua)?;
        let module = load_engine(lua, &debug)?;
        let backend: Value = match backend {
            Backend::Native => native_backend(lua)?,
            Backend::PureLua | Backend::Swap => {
                let walker: Table = lua
                    .load(WALKER_LUA)
                    .set_name("=[hotreload] walker.lua")
                    .call(debug)?;
                let backend: Table = module.call_function("lua_backend", walker)?;
                // Where the VM has no native backend, the pure-Lua one still
                // compares code natively: a stripped dump keeps line numbers
                // there, so a function that only moved would look changed.
                // (On 5.4 the pure-Lua backend stays exactly Neovim's.)
                if !cfg!(feature = "lua54") {
                    // SAFETY: the function reads only the prototypes of its
                    // two arguments (vm/<vm>/compare.c).
                    let same = unsafe { lua.create_c_function(hotreload_same_code)? };
                    backend.set("same_code", same)?;
                }
                if backend_kind == Backend::Swap {
                    add_inplace_swap(lua, &backend)?;
                }
                Value::Table(backend)
            }
        };
        let engine: Table = module.call_function("new", backend)?;
        Ok(Engine {
            engine,
            program: None,
            find_untracked: None,
            around: None,
            unavailable: None,
        })
    }

    /// An engine that refuses every reload with `reason`: for a VM the
    /// engine cannot serve, so that its debugger still works (the attach
    /// agent in a stock Lua 5.1).
    pub fn unavailable(lua: &Lua, reason: String) -> Result<Engine, ReloadError> {
        Ok(Engine {
            engine: lua.create_table()?,
            program: None,
            find_untracked: None,
            around: None,
            unavailable: Some(reason),
        })
    }

    /// Remembers the main program file, so that reloading it works too. The
    /// program must be loaded with the chunk name `@<path>` (this path as
    /// given), which is how the engine finds its functions.
    pub fn set_program(&mut self, path: &Path) {
        let shown = path.to_string_lossy().into_owned();
        // Only fails if the engine table was tampered with; then reloading
        // the program reports the problem.
        let _ = self
            .engine
            .call_method::<()>("set_program", (shown.clone(), format!("@{shown}")));
        self.program = Some(path.to_path_buf());
    }

    /// For a VM that does not report its loads (the attach agent on a stock
    /// VM): before each reload, the modules in `package.loaded` the engine
    /// has no record of are registered with the file their functions came
    /// from (their chunk name), else the one `package.path` finds.
    pub fn find_untracked_modules(&mut self, lua: &Lua) -> Result<(), ReloadError> {
        let register = lua
            .load(REGISTER_UNTRACKED_LUA)
            .set_name("=[hotreload] engine/untracked.lua")
            .into_function()?;
        self.find_untracked = Some(register);
        Ok(())
    }

    /// Functions called before and after every reload, failed or not (the
    /// attach agent on LuaJIT lets the compiler work on the walk only).
    pub fn set_around_reload(&mut self, before: mlua::Function, after: mlua::Function) {
        self.around = Some((before, after));
    }

    /// Performs one reload; on error the VM is exactly as before.
    pub fn reload(
        &mut self,
        lua: &Lua,
        args: &HotReloadArguments,
    ) -> Result<HotReloadResponseBody, ReloadError> {
        let started = Instant::now();
        let Some((before, after)) = self.around.clone() else {
            return self.reload_timed(lua, args, started);
        };
        // Their failures are not the reload's: it goes on without them.
        let _ = before.call::<()>(());
        let result = self.reload_timed(lua, args, started);
        let _ = after.call::<()>(());
        result
    }

    fn reload_timed(
        &mut self,
        lua: &Lua,
        args: &HotReloadArguments,
        started: Instant,
    ) -> Result<HotReloadResponseBody, ReloadError> {
        if let Some(reason) = &self.unavailable {
            return Err(ReloadError::Unavailable(reason.clone()));
        }
        if let Some(register) = &self.find_untracked {
            register.call::<()>(self.engine.clone())?;
        }
        let target = self.target(args)?;
        let req = lua.create_table()?;
        match &target {
            resolve::Target::Module { name, .. } => req.set("module", name.as_str())?,
            resolve::Target::File { path } => req.set("file", path.as_str())?,
            resolve::Target::Program { .. } => req.set("program", true)?,
        }
        let (ok, message, kind): (bool, Option<String>, Option<String>) =
            self.engine.call_method("resolve_check", req.clone())?;
        if !ok {
            return Err(ReloadError::Unresolved {
                kind: engine_kind(kind.as_deref()),
                message: message.unwrap_or_default(),
            });
        }
        let source = match &args.source {
            Some(source) => source.clone(),
            None => {
                let path = match &target {
                    resolve::Target::Module { path, .. } => path.clone(),
                    resolve::Target::File { path } => Some(path.clone()),
                    resolve::Target::Program { path } => path.clone(),
                };
                let path = path.ok_or_else(|| ReloadError::Unresolved {
                    kind: ErrorKind::NotFound,
                    message: format!(
                        "{}: the file of this module is unknown; pass the source",
                        args.module.as_deref().unwrap_or("?")
                    ),
                })?;
                std::fs::read_to_string(&path).map_err(|source| ReloadError::Read {
                    path: path.clone(),
                    source,
                })?
            }
        };
        req.set("source", source)?;
        type Reloaded = (
            Option<Table>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let (report, error, kind, line, reason): Reloaded =
            self.engine.call_method("reload", req)?;
        // After any attempt: a failed one may have run (and compiled) the
        // new top level before rolling back.
        // SAFETY: the function only flushes the VM's compiled code.
        unsafe { lua.create_c_function(hotreload_code_replaced)? }.call::<()>(())?;
        let report = match report {
            Some(report) => report,
            None => {
                return Err(ReloadError::Rejected {
                    kind: engine_kind(kind.as_deref()),
                    message: error.unwrap_or_default(),
                    path: target.path().map(str::to_string),
                    line,
                    reason,
                })
            }
        };
        let warnings: Vec<Table> = report.get("warnings")?;
        Ok(HotReloadResponseBody {
            module: report.get::<Option<String>>("module")?.unwrap_or_default(),
            path: report.get::<Option<String>>("path")?.unwrap_or_default(),
            changed: report.get("changed")?,
            added: report.get("added")?,
            removed: report.get("removed")?,
            warnings: warnings
                .into_iter()
                .map(|w| {
                    Ok(ReloadWarning {
                        kind: w.get::<Option<String>>("kind")?.unwrap_or_default(),
                        message: w.get::<Option<String>>("message")?.unwrap_or_default(),
                        path: w.get("path")?,
                        line: w.get("line")?,
                    })
                })
                .collect::<mlua::Result<_>>()?,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// Which module (or the program) a request means.
    fn target(&self, args: &HotReloadArguments) -> Result<resolve::Target, ReloadError> {
        if let Some(name) = args.module.as_deref().filter(|n| !n.is_empty()) {
            let files = self.files()?;
            let path = files
                .iter()
                .find(|f| f.kind == resolve::Kind::Module && f.module.as_deref() == Some(name))
                .map(|f| f.path.clone());
            return Ok(resolve::Target::Module {
                name: name.to_string(),
                path,
            });
        }
        let Some(path) = args.path.as_deref().filter(|p| !p.is_empty()) else {
            return Err(ReloadError::NoTarget);
        };
        resolve::by_path(path, &self.files()?, self.program.as_deref()).ok_or_else(|| {
            ReloadError::UnknownPath {
                path: path.to_string(),
            }
        })
    }

    /// The files the engine can reload right now.
    fn files(&self) -> Result<Vec<resolve::File>, ReloadError> {
        let list: Vec<Table> = self.engine.call_method("files", ())?;
        let mut out = Vec::with_capacity(list.len());
        for entry in list {
            let kind = match entry.get::<String>("kind")?.as_str() {
                "module" => resolve::Kind::Module,
                "file" => resolve::Kind::File,
                _ => resolve::Kind::Program,
            };
            out.push(resolve::File {
                kind,
                module: entry.get("name")?,
                path: entry.get("path")?,
            });
        }
        Ok(out)
    }
}
