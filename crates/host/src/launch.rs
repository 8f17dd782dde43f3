//! `launch`: environment, working directory, the VM (with the stock
//! libraries untouched: output, coroutines, loads and exits are followed
//! below Lua), the engine, `package.path`, `arg`, and the compiled program
//! (it runs on `configurationDone`).

use host_protocol::{ErrorKind, HostError};
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use dap::types::LaunchArguments;
use mlua::{ffi, Function, Lua, Table, Value};

use crate::debuggee::{Debuggee, Helpers, Vm};
use crate::{coroutines, exceptions, hooks, io, lua_api, memory, native, queue, reload, sources};

/// Why a launch failed; `Display` is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A second `launch`.
    #[error("a program is already launched")]
    AlreadyLaunched,
    /// `cwd` cannot be entered.
    #[error("cannot use cwd {path}: {source}")]
    Cwd {
        path: String,
        source: std::io::Error,
    },
    /// The program file is missing or unreadable.
    #[error("cannot open program {path}: {source}")]
    Program {
        path: String,
        source: std::io::Error,
    },
    /// The program does not compile.
    #[error("{message}")]
    Compile {
        /// Lua's `file:line: reason`.
        message: String,
        /// The program.
        path: String,
    },
    /// Setting up the VM failed.
    #[error("cannot prepare the Lua VM: {0}")]
    Lua(#[from] mlua::Error),
    /// The VM does not fit in `memoryLimit`.
    #[error("memoryLimit {0} bytes is too small to start the program")]
    MemoryLimit(u64),
    /// The reload engine refused to install.
    #[error("cannot install the hot reload engine: {0}")]
    Engine(#[from] reload::ReloadError),
}

impl From<LaunchError> for HostError {
    fn from(error: LaunchError) -> HostError {
        let message = error.to_string();
        match error {
            LaunchError::AlreadyLaunched => HostError::new(ErrorKind::Refused, message),
            LaunchError::Cwd { path, .. } => HostError::new(ErrorKind::Io, message).at(path, None),
            LaunchError::Program { path, source } => {
                let kind = match source.kind() {
                    std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                    _ => ErrorKind::Io,
                };
                HostError::new(kind, message).at(path, None)
            }
            LaunchError::Compile { path, .. } => {
                hotreload_host::position::located(ErrorKind::Compile, message, Some(&path))
            }
            LaunchError::MemoryLimit(_) => HostError::invalid(message),
            LaunchError::Lua(_) => HostError::internal(message),
            LaunchError::Engine(e) => HostError::new(HostError::from(e).kind, message),
        }
    }
}

/// Handles `launch`.
pub fn launch(debuggee: &mut Debuggee, args: LaunchArguments) -> Result<(), LaunchError> {
    if debuggee.vm.is_some() {
        return Err(LaunchError::AlreadyLaunched);
    }
    if let Some(cwd) = args.cwd.as_deref().filter(|c| !c.is_empty()) {
        std::env::set_current_dir(cwd).map_err(|source| LaunchError::Cwd {
            path: cwd.to_string(),
            source,
        })?;
    }
    for (key, value) in &args.env {
        // Before the VM exists, so LUA_PATH & co. take effect too. No other
        // thread reads the environment.
        std::env::set_var(key, value);
    }
    let program = resolve_program(&args.program)?;
    let limit = args.memory_limit;
    prepare(debuggee, args, program).map_err(|e| match limit {
        Some(limit) if memory::take_limit_hit() => LaunchError::MemoryLimit(limit),
        _ => e,
    })
}

fn prepare(
    debuggee: &mut Debuggee,
    args: LaunchArguments,
    program: PathBuf,
) -> Result<(), LaunchError> {
    // SAFETY: unsafe_new only means "all standard libraries, C modules
    // allowed", which is what a debuggee expects from plain `lua`.
    let lua = unsafe { Lua::unsafe_new() };
    #[cfg(feature = "luajit")]
    ffi_as_stock_luajit(&lua)?;
    memory::install(&lua, args.memory_limit)?;
    let main_state = main_thread(&lua)?;
    let helpers = install_internals(&lua)?;
    prepend_paths(&lua, args.lua_path.as_deref(), args.lua_cpath.as_deref())?;
    set_arg_table(&lua, &program, &args.args)?;
    let main = load_file(&lua, &program)?;
    sources::note_file(&program);
    // The engine finds this table and lets the VM fill it (see
    // vm/shared/tracking.c); the program's loaders stay the stock ones.
    lua.set_named_registry_value("hotreload.tracking", lua.create_table()?)?;
    let mut engine = reload::Engine::install(&lua)?;
    engine.set_program(&program);
    native::track_loads();
    native::set_debug_hook(hooks::hook);
    native::set_resume_hook(coroutines::on_resume);
    exceptions::remember_wrap(&lua)?;
    io::report_exit_on_exit().map_err(|e| mlua::Error::runtime(e.to_string()))?;

    coroutines::reset(main_state);
    native::set_skip_policy(hooks::skip_policy);
    queue::set_no_debug(args.no_debug);
    debuggee.vm = Some(Vm {
        lua,
        engine,
        helpers,
        main: Some(main),
        args: args.args,
        stop_on_entry: args.stop_on_entry,
        no_debug: args.no_debug,
        main_state: main_state as usize,
    });
    Ok(())
}

fn resolve_program(program: &str) -> Result<PathBuf, LaunchError> {
    let path = Path::new(program);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let canonical = absolute
        .canonicalize()
        .map_err(|source| LaunchError::Program {
            path: absolute.display().to_string(),
            source,
        })?;
    if canonical.is_dir() {
        return Err(LaunchError::Program {
            path: canonical.display().to_string(),
            source: std::io::Error::other("is a directory"),
        });
    }
    Ok(canonical)
}

fn main_thread(lua: &Lua) -> Result<*mut ffi::lua_State, LaunchError> {
    let mut main = None;
    // SAFETY: exec_raw gives a live thread with room; main_thread leaves the
    // stack as it was. Right after Lua::unsafe_new that thread is the main one.
    unsafe {
        lua.exec_raw::<()>((), |s| main = lua_api::main_thread(s))?;
    }
    main.ok_or_else(|| mlua::Error::runtime("the VM's main thread is not reachable").into())
}

/// Stock `luajit` preloads the `ffi` module (`require("ffi")` works) but
/// sets no global `ffi`; mlua opens it as a global. LuaJIT's own test suite
/// (lib/contents.lua) sees the difference.
#[cfg(feature = "luajit")]
fn ffi_as_stock_luajit(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    let module: Value = globals.raw_get("ffi")?;
    globals.raw_set("ffi", Value::Nil)?;
    let package: Table = globals.raw_get("package")?;
    let loaded: Table = package.raw_get("loaded")?;
    loaded.raw_set("ffi", Value::Nil)?;
    let preload: Table = package.raw_get("preload")?;
    // The module already opened (opening it twice would reset its C types).
    preload.raw_set("ffi", lua.create_function(move |_, ()| Ok(module.clone()))?)
}

fn install_internals(lua: &Lua) -> Result<Helpers, LaunchError> {
    let module: Table = lua
        .load(include_str!("internals.lua"))
        .set_name("=[hotreload]")
        .call(())?;
    Ok(Helpers {
        thread_ids: module.get("thread_ids")?,
        nil: module.get("NIL")?,
        make_env: module.get("make_env")?,
        compile: module.get("compile")?,
        safe_tostring: module.get("safe_tostring")?,
    })
}

fn prepend_paths(lua: &Lua, path: Option<&str>, cpath: Option<&str>) -> Result<(), LaunchError> {
    let package: Table = lua.globals().get("package")?;
    for (field, extra) in [("path", path), ("cpath", cpath)] {
        let Some(extra) = extra.filter(|e| !e.is_empty()) else {
            continue;
        };
        let current: String = package.get(field)?;
        let joined = if extra.ends_with(';') {
            format!("{extra}{current}")
        } else {
            format!("{extra};{current}")
        };
        package.set(field, joined)?;
    }
    Ok(())
}

fn set_arg_table(lua: &Lua, program: &Path, args: &[String]) -> Result<(), LaunchError> {
    let arg = lua.create_table()?;
    arg.raw_set(0, program.to_string_lossy().as_ref())?;
    arg.raw_set(-1, "lua")?;
    for (i, a) in args.iter().enumerate() {
        arg.raw_set(i as i64 + 1, a.as_str())?;
    }
    lua.globals().set("arg", arg)?;
    Ok(())
}

/// Compiles the program as `lua` would (a `#!` first line is skipped), with
/// chunk name `@<absolute path>`.
fn load_file(lua: &Lua, program: &Path) -> Result<Function, LaunchError> {
    let cpath = CString::new(program.as_os_str().as_bytes()).map_err(|_| LaunchError::Program {
        path: program.display().to_string(),
        source: std::io::Error::other("path contains a NUL byte"),
    })?;
    let mut error = None;
    // SAFETY: luaL_loadfile pushes exactly one value (function or message);
    // on failure we copy the message and pop it.
    let loaded: Value = unsafe {
        lua.exec_raw((), |s| {
            if ffi::luaL_loadfile(s, cpath.as_ptr()) != ffi::LUA_OK {
                let msg = ffi::lua_tostring(s, -1);
                error = Some(if msg.is_null() {
                    "cannot load the program".to_string()
                } else {
                    CStr::from_ptr(msg).to_string_lossy().into_owned()
                });
                ffi::lua_pop(s, 1);
            }
        })?
    };
    let path = program.display().to_string();
    match (loaded, error) {
        (Value::Function(f), None) => Ok(f),
        (_, Some(message)) => Err(LaunchError::Compile { message, path }),
        _ => Err(LaunchError::Compile {
            message: "cannot load the program".into(),
            path,
        }),
    }
}
