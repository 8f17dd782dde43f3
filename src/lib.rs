//! The cdylib Neovim loads as `require('hotreload_native')`.
//!
//! It serves DAP sessions in-process (see [`socket_server`]) and exports a small
//! table of functions to the Lua glue (`lua/hotreload/native.lua`, its only
//! caller). Every exported function runs under [`guard::guarded`], never
//! blocks on tokio, and returns failures as `{ error = text }` values
//! carrying the [`error::NativeError`] text.
//!
//! Architecture invariant: this crate never links mlua (ARCHITECTURE.md: nvim-oxi's
//! `lua_*` calls would bind to a vendored Lua and crash Neovim).

pub mod bridge;
pub mod entry;
pub mod error;
pub mod guard;
pub mod luajit_stock;
pub mod socket_dir;
pub mod socket_server;
pub mod summary;

use std::cell::RefCell;
use std::path::PathBuf;

use nvim_oxi::conversion::FromObject;
use nvim_oxi::{Dictionary, Function, Object};

use crate::error::NativeError;
use crate::guard::guarded;
use crate::socket_server::{SocketServer, SocketServerConfig};

/// The crate version; the Lua glue refuses a module whose version differs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

thread_local! {
    // Exported functions only ever run on Neovim's main thread.
    static SOCKET_SERVER: RefCell<Option<SocketServer>> = const { RefCell::new(None) };
}

/// The module table: `version`, `start_server`, `stop_server`, `server_info`,
/// `runtimes`, `socket_dir`, `reload_summary`;
/// [`entry::luaopen_hotreload_native`] pushes it.
///
/// A failure comes back as a table `{ error = "..." }`, never as a Lua error:
/// nvim-oxi raises Lua errors by unwinding through an `extern "C"` frame,
/// which aborts Neovim (measured with nvim 0.11.4). Arguments are taken as
/// `Object` so no value from Lua can make argument conversion fail.
fn module() -> Dictionary {
    let version: Function<(), Object> =
        Function::from_fn(|()| answer(guarded(|| Ok(Object::from(VERSION)))));
    let start: Function<Object, Object> =
        Function::from_fn(|opts: Object| answer(guarded(|| start_server(opts))));
    let stop: Function<(), Object> =
        Function::from_fn(|()| answer(guarded(|| stop_server().map(Object::from))));
    let info: Function<(), Object> = Function::from_fn(|()| answer(guarded(server_info)));
    let runtimes: Function<Object, Object> =
        Function::from_fn(|opts: Object| answer(guarded(|| runtimes(opts))));
    let socket_dir: Function<Object, Object> =
        Function::from_fn(|opts: Object| answer(guarded(|| socket_dir_state(opts))));
    let reload_summary: Function<Object, Object> = Function::from_fn(|body: Object| {
        answer(guarded(|| summary::reload_summary(body).map(Object::from)))
    });
    Dictionary::from_iter([
        ("version", Object::from(version)),
        ("start_server", Object::from(start)),
        ("stop_server", Object::from(stop)),
        ("server_info", Object::from(info)),
        ("runtimes", Object::from(runtimes)),
        ("socket_dir", Object::from(socket_dir)),
        ("reload_summary", Object::from(reload_summary)),
    ])
}

/// The value itself, or `{ error = text }`.
fn answer(result: Result<Object, NativeError>) -> Object {
    result.unwrap_or_else(|err| Object::from(Dictionary::from_iter([("error", err.to_string())])))
}

/// `start_server({host_dir?, socket_dir?, log_file?, on_message?})` ->
/// `{pipe=..., connections=n}`.
/// Idempotent: a running server is returned as is (its handler is updated).
fn start_server(opts: Object) -> Result<Object, NativeError> {
    let opts = options(opts)?;
    let host_dir = path_option(&opts, "host_dir")?;
    let socket_dir = path_option(&opts, "socket_dir")?.unwrap_or_else(socket_dir::default_dir);
    let log = path_option(&opts, "log_file")?
        .map(|path| {
            session::TranscriptLog::open(&path).map_err(|source| NativeError::Io {
                what: "cannot open log file",
                path,
                source,
            })
        })
        .transpose()?;
    let handler =
        match opts.get("on_message") {
            None => None,
            Some(obj) if obj.is_nil() => None,
            Some(obj) => Some(Function::from_object(obj.clone()).map_err(|e| {
                NativeError::InvalidOption {
                    key: "on_message",
                    reason: e.to_string(),
                }
            })?),
        };
    bridge::set_handler(handler);
    SOCKET_SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let config = SocketServerConfig {
                host_dir,
                socket_dir,
                log,
            };
            *slot = Some(SocketServer::start(config, bridge::lua_sender()?)?);
        }
        Ok(Object::from(
            slot.as_ref().map(describe).unwrap_or_default(),
        ))
    })
}

/// `stop_server()` -> whether a server was running.
fn stop_server() -> Result<bool, NativeError> {
    Ok(SOCKET_SERVER.with(|cell| cell.borrow_mut().take().map(SocketServer::stop).is_some()))
}

/// `server_info()` -> `{pipe=..., connections=n}` or `nil`.
fn server_info() -> Result<Object, NativeError> {
    Ok(SOCKET_SERVER.with(|cell| {
        cell.borrow()
            .as_ref()
            .map_or(Object::nil(), |s| Object::from(describe(s)))
    }))
}

fn describe(server: &SocketServer) -> Dictionary {
    let connections = i64::try_from(server.connections()).unwrap_or(i64::MAX);
    Dictionary::from_iter([
        (
            "pipe",
            Object::from(server.pipe().to_string_lossy().into_owned()),
        ),
        ("connections", Object::from(connections)),
    ])
}

/// `runtimes({host_dir?})` -> `{ {name=, host=?, unavailable=?}, ... }`:
/// every runtime `launch` names, in the order users are offered them, with
/// where its host is and, when it cannot run here, why. The session's
/// [`session::host::runtimes`] is the one list.
fn runtimes(opts: Object) -> Result<Object, NativeError> {
    let opts = options(opts)?;
    let host_dir = path_option(&opts, "host_dir")?;
    let listed = session::host::runtimes(host_dir.as_deref())
        .into_iter()
        .map(|r| {
            let mut entry = Dictionary::from_iter([("name", Object::from(r.runtime))]);
            if let Some(host) = r.host {
                entry.insert("host", host.to_string_lossy().into_owned());
            }
            if let Some(why) = r.unavailable {
                entry.insert("unavailable", why);
            }
            Object::from(entry)
        });
    Ok(Object::from(nvim_oxi::Array::from_iter(listed)))
}

/// `socket_dir({socket_dir?})` -> `{path=, exists=, problem=?}`: the
/// directory the server would use (the configured one, else the default)
/// and, when it exists, why it is not private. Creates nothing.
fn socket_dir_state(opts: Object) -> Result<Object, NativeError> {
    let opts = options(opts)?;
    let dir = path_option(&opts, "socket_dir")?.unwrap_or_else(socket_dir::default_dir);
    let exists = std::fs::symlink_metadata(&dir).is_ok();
    let mut state = Dictionary::from_iter([
        ("path", Object::from(dir.to_string_lossy().into_owned())),
        ("exists", Object::from(exists)),
    ]);
    if exists {
        if let Err(err) = socket_dir::check_private(&dir) {
            state.insert("problem", err.to_string());
        }
    }
    Ok(Object::from(state))
}

/// `nil`, `{}` (an empty array to nvim-oxi) or a dictionary.
fn options(opts: Object) -> Result<Dictionary, NativeError> {
    if opts.is_nil() {
        return Ok(Dictionary::new());
    }
    if let Ok(array) = nvim_oxi::Array::from_object(opts.clone()) {
        if array.is_empty() {
            return Ok(Dictionary::new());
        }
    }
    Dictionary::from_object(opts).map_err(|e| NativeError::InvalidOption {
        key: "opts",
        reason: e.to_string(),
    })
}

fn path_option(opts: &Dictionary, key: &'static str) -> Result<Option<PathBuf>, NativeError> {
    match opts.get(key) {
        None => Ok(None),
        Some(obj) if obj.is_nil() => Ok(None),
        Some(obj) => {
            let text =
                String::from_object(obj.clone()).map_err(|e| NativeError::InvalidOption {
                    key,
                    reason: e.to_string(),
                })?;
            if text.is_empty() {
                return Err(NativeError::InvalidOption {
                    key,
                    reason: "must not be empty".into(),
                });
            }
            Ok(Some(PathBuf::from(text)))
        }
    }
}
