//! The debuggee as the VM thread knows it: the loaded program, breakpoints,
//! the stop context. (The debug *session* is the other process.)
//! It lives in a thread-local `RefCell`: hooks borrow it with `try_borrow_mut`
//! and do nothing when it is already borrowed, which is exactly the case while
//! the debugger itself runs Lua code (evaluations, reloads, conditions).

use host_protocol::HostError;
use mlua::{Function, Lua, Table};
use std::cell::RefCell;

use crate::breakpoints::Breakpoints;
use crate::exceptions::ExceptionFilters;
use crate::hooks::SourceCache;
use crate::references::StopContext;
use crate::reload;
use crate::routing::Refusal;

thread_local! {
    /// The one debuggee of this host.
    pub static DEBUGGEE: RefCell<Debuggee> = RefCell::new(Debuggee::default());
}

/// Everything the VM thread knows.
#[derive(Default)]
pub struct Debuggee {
    /// The debuggee's VM, after `launch`.
    pub vm: Option<Vm>,
    /// Breakpoints (may be set before `launch`).
    pub bps: Breakpoints,
    /// Which function sources have breakpoints, by source string.
    pub sources: SourceCache,
    /// Frames and variable references while stopped.
    pub stop: Option<StopContext>,
    /// Which errors stop the program.
    pub exceptions: ExceptionFilters,
}

impl Debuggee {
    /// The VM and the stop context that requests about a stopped program
    /// need, or the refusal they answer with.
    pub fn stopped(&mut self) -> Result<(&Vm, &mut StopContext), HostError> {
        let vm = self.vm.as_ref().ok_or(Refusal::NotLaunched)?;
        let stop = self.stop.as_mut().ok_or_else(Refusal::not_stopped)?;
        Ok((vm, stop))
    }
}

/// The debuggee's VM and what the debugger keeps in it.
pub struct Vm {
    /// The VM.
    pub lua: Lua,
    /// The hot reload engine installed in it.
    pub engine: reload::Engine,
    /// Functions of `internals.lua`.
    pub helpers: Helpers,
    /// The compiled main chunk, until it runs.
    pub main: Option<Function>,
    /// The program's arguments (`...` and `arg[1..]`).
    pub args: Vec<String>,
    /// Stop before the first line.
    pub stop_on_entry: bool,
    /// Run without hooks.
    pub no_debug: bool,
    /// The main thread.
    pub main_state: usize,
}

/// Lua functions from `internals.lua` the debugger calls.
pub struct Helpers {
    /// Weak table: coroutine -> thread id (2, 3, ...) from its first resume.
    pub thread_ids: Table,
    /// Sentinel for a local or upvalue that holds nil (in evaluation tables).
    pub nil: Table,
    /// `make_env(locals, upvalues, globals) -> env, dirty_locals, dirty_upvalues`.
    pub make_env: Function,
    /// `compile(code, env) -> fn | nil, err`.
    pub compile: Function,
    /// `tostring` that never raises.
    pub safe_tostring: Function,
}
