//! The module's entry (`luaopen_hotreload_agent`) and `start`: sets the
//! debugger up inside the running program's VM, on the thread that calls
//! `start` (the program's Lua thread; hooks and stops run there), and
//! connects to the session or listens for one.
//!
//! `start{ connect = ADDR | listen = ADDR, token = T, wait = true }`:
//! `connect` reaches a session that listens (DAP `attach` with `listen`),
//! `listen` waits for a session to connect (DAP `attach` with `connect`).
//! Without either, `HOTRELOAD_CONNECT` or `HOTRELOAD_LISTEN` say it; the
//! token defaults to `HOTRELOAD_TOKEN`. `start` returns at once (a warning
//! on stderr when nobody listens) unless `wait` is true: then it serves the
//! session until its `configurationDone`, so breakpoints set at attach hit
//! from the first line after `start`.

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use host_protocol::{ErrorKind, HostCommand, HostError, Outcome};
use mlua::{ffi, Lua, Table};
use serde_json::Value;

use crate::debuggee::{Helpers, Vm, DEBUGGEE};
use crate::queue::{self, RunState};
use crate::stop::{self, Taken};
use crate::transport::{self, Address, Listener, Stream, TransportError};
use crate::{
    coroutines, exceptions, hooks, inflight, interrupt, io, native, panics, reader, reload,
};

/// Set once `start` succeeded: a second call only reports it.
static STARTED: AtomicBool = AtomicBool::new(false);
/// A session is attached (or being greeted): others are refused.
static BUSY: AtomicBool = AtomicBool::new(false);
/// How the agent was started, for the message of a second `start`.
static STARTED_AS: Mutex<String> = Mutex::new(String::new());

/// What `start` was asked.
struct Options {
    connect: Option<String>,
    listen: Option<String>,
    token: Option<String>,
    wait: bool,
    /// LuaJIT: keep the JIT compiler on (compiled code then runs past
    /// breakpoints and pause).
    jit: bool,
    /// Which of the program's stdout and stderr also go to the session (a
    /// pipe behind fd 1 or 2 that copies to the original one).
    output: io::Forward,
}

/// `require("hotreload_agent")`: `{ start = function, version = string }`.
///
/// # Safety
/// Called by Lua as a C function (`require` of a C module).
#[no_mangle]
pub unsafe extern "C-unwind" fn luaopen_hotreload_agent(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: plain stack operations on the calling thread.
    unsafe {
        ffi::lua_createtable(l, 0, 2);
        ffi::lua_pushcfunction(l, start_c);
        ffi::lua_setfield(l, -2, c"start".as_ptr());
        let version = CString::new(format!(
            "hotreload-agent {} (protocol {})",
            env!("CARGO_PKG_VERSION"),
            host_protocol::PROTOCOL_VERSION
        ))
        .unwrap_or_default();
        ffi::lua_pushstring(l, version.as_ptr());
        ffi::lua_setfield(l, -2, c"version".as_ptr());
    }
    1
}

/// `start(opts)`: true; false and why when nobody listened (the debugger
/// is set up, the program runs on); nil and why when it could not be set
/// up. Never raises: the program goes on either way.
unsafe extern "C-unwind" fn start_c(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: reads the argument table of the calling thread.
    let options = unsafe { read_options(l) };
    let result = match options {
        // To Lua, a panic is its message like any other failure here.
        Ok(options) => {
            panics::catch("start", || start(l, options)).unwrap_or_else(|panic| Err(panic.message))
        }
        Err(e) => Err(e),
    };
    // SAFETY: pushes the results on the calling thread.
    unsafe {
        match result {
            Ok(None) => {
                ffi::lua_pushboolean(l, 1);
                1
            }
            Ok(Some(why)) => {
                ffi::lua_pushboolean(l, 0);
                let text = CString::new(why.replace('\0', " ")).unwrap_or_default();
                ffi::lua_pushstring(l, text.as_ptr());
                2
            }
            Err(message) => {
                eprintln!("hotreload-agent: {message}");
                ffi::lua_pushnil(l);
                let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
                ffi::lua_pushstring(l, text.as_ptr());
                2
            }
        }
    }
}

unsafe fn read_options(l: *mut ffi::lua_State) -> Result<Options, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut options = Options {
        connect: None,
        listen: None,
        token: env("HOTRELOAD_TOKEN"),
        wait: false,
        jit: false,
        output: match env("HOTRELOAD_OUTPUT").as_deref() {
            Some("1") => io::Forward::All,
            Some("0") => io::Forward::None,
            _ => io::Forward::NotTerminals,
        },
    };
    // SAFETY: index 1 is read only if it is a table.
    unsafe {
        match ffi::lua_type(l, 1) {
            ffi::LUA_TNONE | ffi::LUA_TNIL => {}
            ffi::LUA_TTABLE => {
                options.connect = string_field(l, c"connect")?;
                options.listen = string_field(l, c"listen")?;
                if let Some(token) = string_field(l, c"token")? {
                    options.token = Some(token);
                }
                ffi::lua_getfield(l, 1, c"wait".as_ptr());
                options.wait = ffi::lua_toboolean(l, -1) != 0;
                ffi::lua_pop(l, 1);
                ffi::lua_getfield(l, 1, c"jit".as_ptr());
                options.jit = ffi::lua_toboolean(l, -1) != 0;
                ffi::lua_pop(l, 1);
                ffi::lua_getfield(l, 1, c"output".as_ptr());
                if ffi::lua_type(l, -1) != ffi::LUA_TNIL {
                    options.output = if ffi::lua_toboolean(l, -1) != 0 {
                        io::Forward::All
                    } else {
                        io::Forward::None
                    };
                }
                ffi::lua_pop(l, 1);
            }
            _ => {
                return Err(
                    "start expects a table of options (connect, listen, token, wait)".into(),
                )
            }
        }
    }
    if options.connect.is_none() && options.listen.is_none() {
        options.connect = env("HOTRELOAD_CONNECT");
        options.listen = env("HOTRELOAD_LISTEN");
    }
    match (&options.connect, &options.listen) {
        (Some(_), Some(_)) => Err("give either connect or listen, not both".into()),
        (None, None) => Err(
            "nowhere to attach: give start{ connect = ADDR } or { listen = ADDR } (or HOTRELOAD_CONNECT / HOTRELOAD_LISTEN)".into(),
        ),
        _ => Ok(options),
    }
}

unsafe fn string_field(l: *mut ffi::lua_State, name: &CStr) -> Result<Option<String>, String> {
    // SAFETY: index 1 is a table; the field is popped before returning.
    unsafe {
        ffi::lua_getfield(l, 1, name.as_ptr());
        let result = match ffi::lua_type(l, -1) {
            ffi::LUA_TNIL => Ok(None),
            ffi::LUA_TSTRING => {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, -1, &mut len);
                let bytes = std::slice::from_raw_parts(p as *const u8, len);
                Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
            }
            _ => Err(format!(
                "start: `{}` must be a string",
                name.to_string_lossy()
            )),
        };
        ffi::lua_pop(l, 1);
        result
    }
}

/// Ok(None) once attached or listening; Ok(Some(why)) when set up but
/// nobody listened (the program runs on); Err when nothing was set up.
fn start(l: *mut ffi::lua_State, options: Options) -> Result<Option<String>, String> {
    let (kind, text) = match (&options.connect, &options.listen) {
        (Some(a), _) => ("connect", a.clone()),
        (_, Some(a)) => ("listen", a.clone()),
        _ => unreachable!("read_options checked"),
    };
    let wanted = format!("{kind} {text}");
    if STARTED.load(Ordering::SeqCst) {
        let started = STARTED_AS.lock().map(|s| s.clone()).unwrap_or_default();
        return if started == wanted {
            Ok(None)
        } else {
            Err(format!("already started ({started})"))
        };
    }
    let address = Address::parse(&text).map_err(|e| e.to_string())?;
    if address.is_tcp() && options.token.is_none() {
        return Err(TransportError::NeedsToken(text).to_string());
    }
    // Listen first: a bad address changes nothing in the program.
    let listener = match kind {
        "listen" => Some(transport::listen(&address).map_err(|e| e.to_string())?),
        _ => None,
    };
    install(l).map_err(|e| format!("cannot set the debugger up: {e}"))?;
    // SAFETY: `l` is the running thread, on the VM thread.
    if !options.jit && unsafe { hr_stock_jit_off(l) } == 0 {
        eprintln!(
            "hotreload-agent: LuaJIT kept its compiled traces; breakpoints in them may be missed"
        );
    }
    if !options.jit {
        compile_reloads().map_err(|e| format!("cannot set the debugger up: {e}"))?;
    }
    if let Err(e) = io::tee_output(options.output) {
        eprintln!("hotreload-agent: the program's output stays local: {e}");
    }
    STARTED.store(true, Ordering::SeqCst);
    if let Ok(mut s) = STARTED_AS.lock() {
        *s = wanted;
    }
    if options.wait {
        queue::set_state(RunState::Idle);
    }
    let token = options.token.clone();
    let tcp = address.is_tcp();
    let connected = match listener {
        Some(listener) => {
            spawn_listener(listener, token, tcp).map_err(|e| e.to_string())?;
            true
        }
        None => connect(&address, token.as_deref(), tcp, options.wait),
    };
    if options.wait && connected {
        serve_until_configured();
    }
    if queue::set_state(RunState::Running) {
        interrupt::mark_pending();
    }
    // Breakpoints set while waiting take effect from the next line.
    // SAFETY: `l` is the running thread, on the VM thread.
    unsafe { hooks::apply_base_mask(l) };
    if !connected {
        let message = format!("nobody listens at {address}; the program runs without a debugger");
        eprintln!("hotreload-agent: {message}");
        return Ok(Some(message));
    }
    Ok(None)
}

/// LuaJIT with its compiler off: the reload's own walk over the heap runs
/// compiled (on for the reload, its traces flushed after: the program's
/// code stays interpreted, so breakpoints keep seeing it).
fn compile_reloads() -> mlua::Result<()> {
    if !cfg!(hr_lua51_api) {
        return Ok(());
    }
    DEBUGGEE.with_borrow_mut(|debuggee| {
        let Some(vm) = debuggee.vm.as_mut() else {
            return Ok(());
        };
        let functions: mlua::MultiValue = vm
            .lua
            .load(
                "local jit = package.loaded.jit\n\
                 if type(jit) ~= 'table' then return end\n\
                 local on, off, flush = jit.on, jit.off, jit.flush\n\
                 return function() on() end, function() flush() off() end",
            )
            .set_name("=[hotreload] jit")
            .call(())?;
        let mut functions = functions.into_iter();
        if let (Some(mlua::Value::Function(before)), Some(mlua::Value::Function(after))) =
            (functions.next(), functions.next())
        {
            vm.engine.set_around_reload(before, after);
        }
        Ok(())
    })
}

/// Connects to a listening session and greets it; with `wait`, tries again
/// until one listens. False when no session took the connection.
fn connect(address: &Address, token: Option<&str>, tcp: bool, wait: bool) -> bool {
    let mut warned = false;
    loop {
        match transport::connect(address).and_then(|stream| greet(stream, token, tcp)) {
            Ok(stream) => {
                BUSY.store(true, Ordering::SeqCst);
                spawn_serving(stream);
                return true;
            }
            Err(TransportError::Io { .. }) if wait => {
                if !warned {
                    eprintln!("hotreload-agent: waiting for a debugger at {address}");
                    warned = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                eprintln!("hotreload-agent: {e}");
                return false;
            }
        }
    }
}

/// Sends the agent's greeting and checks the session's (its token, over TCP).
fn greet(mut stream: Stream, token: Option<&str>, tcp: bool) -> Result<Stream, TransportError> {
    transport::write_greeting(
        &mut stream,
        &transport::agent_greeting(token, &lua_version()),
    )
    .map_err(|source| TransportError::Io {
        what: "cannot greet",
        addr: "the session".into(),
        source,
    })?;
    let theirs = transport::read_session_greeting(&stream)?;
    if tcp {
        let ok = match (token, theirs.as_deref()) {
            (Some(a), Some(b)) => host_protocol::attach::same_token(a, b),
            _ => false,
        };
        if !ok {
            transport::refuse(stream, "wrong token");
            return Err(TransportError::Refused(
                "a debugger connected without the right token".into(),
            ));
        }
    }
    Ok(stream)
}

fn spawn_serving(stream: Stream) {
    let spawned = std::thread::Builder::new()
        .name("hotreload-agent".into())
        .spawn(move || {
            reader::serve(stream);
            BUSY.store(false, Ordering::SeqCst);
        });
    if spawned.is_err() {
        BUSY.store(false, Ordering::SeqCst);
    }
}

/// Accepts sessions one at a time; a second one is refused with a message.
fn spawn_listener(listener: Listener, token: Option<String>, tcp: bool) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("hotreload-agent-listen".into())
        .spawn(move || {
            let _keep = &listener;
            loop {
                let Ok(stream) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                if BUSY.swap(true, Ordering::SeqCst) {
                    eprintln!("hotreload-agent: refused a second debugger (one is attached)");
                    transport::refuse(stream, "another debugger is attached to this program");
                    continue;
                }
                match greet(stream, token.as_deref(), tcp) {
                    Ok(stream) => spawn_serving(stream),
                    Err(e) => {
                        eprintln!("hotreload-agent: {e}");
                        BUSY.store(false, Ordering::SeqCst);
                    }
                }
            }
        })?;
    Ok(())
}

/// Serves requests on the program's thread until `configurationDone` (or
/// the session leaves), before the program goes on.
fn serve_until_configured() {
    let deadline = Instant::now() + Duration::from_secs(24 * 3600);
    while Instant::now() < deadline {
        let request = queue::pop_blocking();
        let taken =
            DEBUGGEE.with_borrow_mut(|debuggee| stop::take(debuggee, request, RunState::Idle));
        if let Taken::Configure(request) = taken {
            match request.command {
                HostCommand::ConfigurationDone => {
                    io::respond(request.id, Outcome::Ok(Value::Null));
                    return;
                }
                _ => io::respond(
                    request.id,
                    Outcome::Failure(HostError::new(
                        ErrorKind::Refused,
                        "this program is attached, not launched",
                    )),
                ),
            }
        }
    }
}

fn lua_version() -> String {
    DEBUGGEE.with_borrow(|debuggee| {
        debuggee
            .vm
            .as_ref()
            .and_then(|vm| vm.lua.globals().get::<String>("_VERSION").ok())
            .unwrap_or_else(|| "Lua".into())
    })
}

/// Sets the debugger up in the program's VM: the `=[hotreload]` helpers,
/// the reload engine (pure-Lua backend, no loader wrapped), the hook, the
/// interrupt, and what happens when the VM closes or the process exits.
fn install(l: *mut ffi::lua_State) -> Result<(), String> {
    // SAFETY: `l` is the live thread calling `start`; mlua keeps its state
    // in the VM's registry and does not own (close) the VM.
    let lua: Lua = unsafe { Lua::get_or_init_from_ptr(l) }.clone();
    // SAFETY: `l` is live with room for one value.
    // Lua 5.1's API cannot name the main thread from a coroutine (LÖVE
    // starts the agent inside one): the calling thread stands for it.
    let main_state = unsafe { crate::lua_api::main_thread(l) }.unwrap_or(l);
    // SAFETY: stores the pointer for the stock C (vm/hotreload_vm.h side).
    unsafe { hr_stock_set_main(main_state) };
    let helpers = install_internals(&lua).map_err(|e| e.to_string())?;
    // Present and never filled by the VM: the engine installs no loader
    // wrappers (transparency), and finds modules through package.loaded.
    lua.set_named_registry_value(
        "hotreload.tracking",
        lua.create_table().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    // A VM the engine cannot serve (stock Lua 5.1: no upvalue identity)
    // is still debugged; its reloads are refused with the engine's reason.
    let backend = reload_backend(l);
    let engine = match reload::Engine::install_with(&lua, backend) {
        Ok(mut engine) => {
            engine
                .find_untracked_modules(&lua)
                .map_err(|e| e.to_string())?;
            engine
        }
        Err(reload::ReloadError::Engine(mlua::Error::RuntimeError(reason)))
            if cfg!(hr_lua51_api) =>
        {
            reload::Engine::unavailable(&lua, reason).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    // SAFETY: only looks symbols up.
    if unsafe { hr_stock_has_exdata() } == 1 {
        lua.set_thread_event_callback(mlua::thread::ThreadTriggers::ON_CREATE, |_, event| {
            if let mlua::thread::ThreadEvent::Create(thread) = event {
                // SAFETY: the thread was just made and is alive.
                unsafe { hr_stock_inherit_exdata(thread.state()) };
            }
            Ok(())
        });
    }
    // Only the raise hook reads it, which a stock VM lacks; so where the
    // program forbids coroutines here (OpenResty's init_worker_by_lua), the
    // agent goes on without it.
    let _ = exceptions::remember_wrap(&lua);
    forget_on_close(&lua).map_err(|e| e.to_string())?;
    native::set_debug_hook(hooks::hook);
    coroutines::reset(l);
    interrupt::install().map_err(|e| e.to_string())?;
    inflight::spawn_watchdog().map_err(|e| e.to_string())?;
    panics::install_hook();
    io::report_exit_on_exit().map_err(|e| e.to_string())?;
    queue::set_no_debug(false);
    DEBUGGEE.with_borrow_mut(|debuggee| {
        debuggee.vm = Some(Vm {
            lua,
            engine,
            helpers,
            main: None,
            args: Vec::new(),
            stop_on_entry: false,
            no_debug: false,
            main_state: main_state as usize,
        });
    });
    queue::set_state(RunState::Running);
    Ok(())
}

/// The reload backend for this VM: the in-place swap where the agent has
/// one for this ABI and its check passed in this very VM (the release and a
/// self-test of the closure layout, stock/fast_reload.c), else the pure-Lua
/// walk, said once on stderr. `HOTRELOAD_FAST_RELOAD=0` asks for the walk
/// (benchmarks compare the two).
#[cfg(hr_stock_fast_reload)]
fn reload_backend(l: *mut ffi::lua_State) -> reload::Backend {
    let mut why = [0 as std::ffi::c_char; 256];
    // SAFETY: `l` is the live thread calling `start`; the check only runs
    // probe closures of its own and writes a NUL-terminated reason. (Run
    // even when the walk is asked for: 5.1's walk needs its verdict too.)
    if unsafe { hr_stock_fast_reload_check(l, why.as_mut_ptr(), why.len()) } == 1 {
        if std::env::var_os("HOTRELOAD_FAST_RELOAD").is_some_and(|v| v == "0") {
            return reload::Backend::PureLua;
        }
        return reload::Backend::Swap;
    }
    // SAFETY: the check wrote a NUL-terminated string into `why`.
    let why = unsafe { CStr::from_ptr(why.as_ptr()) }.to_string_lossy();
    eprintln!(
        "hotreload-agent: reloads use the slower pure-Lua walk: {why}{}",
        if cfg!(hr_debug_extras) {
            " (and Lua 5.1 then cannot reload at all)"
        } else {
            ""
        }
    );
    reload::Backend::PureLua
}

/// Without stock/fast_reload.c (LuaJIT): the engine's own choice for this
/// build.
#[cfg(not(hr_stock_fast_reload))]
fn reload_backend(_l: *mut ffi::lua_State) -> reload::Backend {
    reload::Backend::best()
}

#[cfg(hr_stock_fast_reload)]
extern "C" {
    /// 1 when the in-place swap may be used in this VM, else 0 with the
    /// reason in `why` (stock/fast_reload.c).
    fn hr_stock_fast_reload_check(
        l: *mut ffi::lua_State,
        why: *mut std::ffi::c_char,
        len: usize,
    ) -> c_int;
}

extern "C" {
    /// 1 in OpenResty's LuaJIT (per-thread host data), else 0.
    fn hr_stock_has_exdata() -> c_int;
    /// Gives thread `co` the host data of the thread the last hook ran in
    /// (stock/stock_vm.c).
    fn hr_stock_inherit_exdata(co: *mut ffi::lua_State);
    /// The main thread for the stock C's thread list (stock/stock_vm.c).
    fn hr_stock_set_main(l: *mut ffi::lua_State);
    /// LuaJIT: flushes every trace and turns the compiler off; elsewhere
    /// nothing. 0 when LuaJIT refused.
    fn hr_stock_jit_off(l: *mut ffi::lua_State) -> c_int;
}

fn install_internals(lua: &Lua) -> mlua::Result<Helpers> {
    let module: Table = lua
        .load(include_str!("../../host/src/internals.lua"))
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

/// When the program closes its VM (`lua_close`, LÖVE quitting), the agent
/// lets go of it without touching it again: a value in the registry whose
/// finalizer runs during the close.
fn forget_on_close(lua: &Lua) -> mlua::Result<()> {
    let sentinel = lua.create_table()?;
    let meta = lua.create_table()?;
    // SAFETY: a C function that only touches Rust state.
    let gc = unsafe { lua.create_c_function(on_close)? };
    meta.set("__gc", gc)?;
    sentinel.set_metatable(Some(meta))?;
    lua.set_named_registry_value("hotreload.agent", sentinel)
}

unsafe extern "C-unwind" fn on_close(_l: *mut ffi::lua_State) -> c_int {
    interrupt::set_current(std::ptr::null_mut());
    // The session stays until the process exits (`exited` says how).
    io::output(
        "console",
        "hotreload-agent: the program closed its Lua state\n",
    );
    let _ = DEBUGGEE.try_with(|cell| {
        if let Ok(mut debuggee) = cell.try_borrow_mut() {
            if let Some(vm) = debuggee.vm.take() {
                // The VM is going away: its references must not be released.
                std::mem::forget(vm);
            }
            debuggee.stop = None;
        }
    });
    0
}
