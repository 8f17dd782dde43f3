//! Exception filters: which errors stop the program. `uncaught` stops in the
//! outermost message handler (`stop::on_error`); `all` stops where any error
//! is raised, caught or not, through the VM's raise hook (see build.rs).

use host_protocol::{ErrorKind, HostError};
use std::cell::{Cell, RefCell};
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use dap::types::{
    Breakpoint, ExceptionDetails, ExceptionInfoResponseBody, SetExceptionBreakpointsArguments,
    SetExceptionBreakpointsResponseBody,
};
use mlua::ffi::{self, lua_Debug, lua_State};

use crate::debuggee::{Debuggee, DEBUGGEE};
use crate::references::StopContext;
use crate::routing::Refusal;
use crate::{io, native, queue, stop};

/// Filter id: stop on errors nothing catches (on by default).
pub const UNCAUGHT: &str = "uncaught";
/// Filter id: stop where any error is raised, also one `pcall` catches.
pub const ALL: &str = "all";

/// `exceptionId` of an error the program raised.
pub const ERROR_ID: &str = "error";
/// `exceptionId` of an allocation the VM refused.
pub const MEMORY_ID: &str = "not enough memory";

/// The error an exception stop stopped for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionStop {
    /// [`ERROR_ID`] or [`MEMORY_ID`].
    pub id: &'static str,
    /// `unhandled` (the `uncaught` filter) or `always` (the `all` filter).
    pub break_mode: &'static str,
    /// The error value as `tostring` shows it.
    pub message: String,
    /// The Lua type of the error value.
    pub type_name: String,
    /// The traceback where it stopped, when the stack was still there.
    pub traceback: Option<String>,
}

/// `exceptionInfo`: the error of the current stop.
pub fn info(debuggee: &Debuggee) -> Result<ExceptionInfoResponseBody, HostError> {
    let stop = debuggee.stop.as_ref().ok_or_else(Refusal::not_stopped)?;
    let e = stop.exception.as_ref().ok_or_else(|| {
        HostError::new(ErrorKind::Refused, "the program did not stop for an error")
    })?;
    Ok(ExceptionInfoResponseBody {
        exception_id: e.id.to_string(),
        description: Some(e.message.clone()),
        break_mode: e.break_mode.to_string(),
        details: Some(ExceptionDetails {
            message: Some(e.message.clone()),
            type_name: Some(e.type_name.clone()),
            stack_trace: e.traceback.clone(),
        }),
    })
}

/// The filters in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionFilters {
    /// Stop on an error that ends the program.
    pub uncaught: bool,
    /// Stop where any error is raised.
    pub all: bool,
}

impl Default for ExceptionFilters {
    fn default() -> ExceptionFilters {
        ExceptionFilters {
            uncaught: true,
            all: false,
        }
    }
}

thread_local! {
    /// The `all` filter stopped at the error being raised right now; the
    /// message handler of the same raise (`stop::on_error`) then does not
    /// stop a second time.
    static RAISE_STOP: Cell<bool> = const { Cell::new(false) };
    /// Counts stops of any kind, so a raise can tell whether it follows the
    /// previous raise stop directly.
    static STOPS: Cell<u64> = const { Cell::new(0) };
    /// The message of the last raise stop and the stop count right after it.
    static LAST_RAISE: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Counts a stop (called for every stop, whatever its reason).
pub fn note_stop() {
    STOPS.set(STOPS.get().wrapping_add(1));
}

/// The C function behind every `coroutine.wrap` function (`auxwrap`).
static WRAP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Learns which C function `coroutine.wrap` returns, so that its re-raise of
/// a coroutine's error is recognised.
pub fn remember_wrap(lua: &mlua::Lua) -> mlua::Result<()> {
    let wrapped: mlua::Function = lua
        .load("return coroutine.wrap(function() end)")
        .set_name("=[hotreload]")
        .call(())?;
    // SAFETY: reads the C function pointer of a value we hold on the stack.
    let address = unsafe {
        lua.exec_raw::<usize>(wrapped, |s| {
            let f = ffi::lua_tocfunction(s, -1);
            let address = f.map_or(0, |f| f as usize);
            ffi::lua_settop(s, 0);
            ffi::lua_pushinteger(s, address as ffi::lua_Integer);
        })?
    };
    WRAP.store(address, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Whether a raise by `coroutine.wrap` (handing a coroutine's error to the
/// resumer) re-raises the error of the previous stop: that error was shown
/// already, where it happened.
fn is_re_raise(by_wrap: bool, text: &str) -> bool {
    by_wrap
        && LAST_RAISE.with_borrow(|last| {
            last.as_ref()
                .is_some_and(|(after, last)| *after == STOPS.get() && text.ends_with(last.as_str()))
        })
}

/// Whether the `all` filter stopped at the error now being handled; clears
/// the mark.
pub fn take_raise_stop() -> bool {
    RAISE_STOP.replace(false)
}

/// Turns on the filters named in `args` (all others off) and answers one
/// entry per filter, in the order of `filters` then `filterOptions`.
pub fn set(
    debuggee: &mut Debuggee,
    args: &SetExceptionBreakpointsArguments,
) -> SetExceptionBreakpointsResponseBody {
    let ids = args
        .filters
        .iter()
        .chain(args.filter_options.iter().map(|o| &o.filter_id));
    let mut filters = ExceptionFilters {
        uncaught: false,
        all: false,
    };
    let breakpoints = ids
        .map(|id| {
            let known = match id.as_str() {
                UNCAUGHT => {
                    filters.uncaught = true;
                    true
                }
                ALL => {
                    filters.all = true;
                    true
                }
                _ => false,
            };
            Breakpoint {
                verified: known,
                message: (!known)
                    .then(|| format!("unknown exception filter '{id}' (known: {UNCAUGHT}, {ALL})")),
                ..Breakpoint::default()
            }
        })
        .collect();
    debuggee.exceptions = filters;
    if !filters.all {
        // No raise hook will clear a mark left by a caught error's stop.
        RAISE_STOP.set(false);
    }
    native::set_raise_handler(filters.all.then_some(on_raise as native::RaiseHandler));
    SetExceptionBreakpointsResponseBody { breakpoints }
}

/// Called by the VM where an error is raised (the `all` filter is on), with
/// the error object on top of `l`'s stack, before anything unwinds.
///
/// # Safety
/// Called by the patched VM only.
unsafe extern "C-unwind" fn on_raise(l: *mut lua_State) {
    // SAFETY: the VM passes the raising thread.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { raise(l) }));
    if result.is_err() {
        io::output(
            "console",
            "hotreload-host: internal error while stopping on an error\n",
        );
    }
}

unsafe fn raise(l: *mut lua_State) {
    if queue::no_debug() {
        return;
    }
    DEBUGGEE.with(|cell| {
        // Borrowed: the debugger itself runs Lua (evaluate, conditions,
        // reloads...), whose errors are its own business.
        let Ok(mut debuggee) = cell.try_borrow_mut() else {
            return;
        };
        RAISE_STOP.set(false);
        if !debuggee.exceptions.all {
            return;
        }
        // SAFETY: `l` is the running thread, the error object on its top.
        unsafe {
            let mut ar: lua_Debug = std::mem::zeroed();
            if ffi::lua_checkstack(l, 4) == 0 || ffi::lua_getstack(l, 0, &mut ar) == 0 {
                return;
            }
            let text = error_text(l, ffi::lua_gettop(l));
            if is_re_raise(raised_by_wrap(l), &text) {
                // Shown already; the uncaught stop would repeat it too.
                RAISE_STOP.set(true);
                return;
            }
            let frames = stop::error_frames(l, 0);
            let exception = ExceptionStop {
                id: ERROR_ID,
                break_mode: "always",
                message: text.clone(),
                type_name: type_name(l, ffi::lua_gettop(l)),
                traceback: Some(traceback(l, &text)),
            };
            let body = stop::stopped_body("exception", Vec::new(), Some(text.clone()));
            let context = StopContext::new(frames).with_exception(exception);
            stop::stop_at(&mut debuggee, l, context, body);
            LAST_RAISE.set(Some((STOPS.get(), text)));
        }
        // Unless the filter went off meanwhile: then no raise hook clears it.
        RAISE_STOP.set(debuggee.exceptions.all);
    });
}

#[cfg(all(feature = "luajit", hr_host_vm))]
extern "C" {
    fn hr_raise_by_wrap() -> c_int;
}

/// Whether the raise on `l` is `coroutine.wrap` handing a coroutine's error
/// on: LuaJIT's wrap functions are fast functions without a C function to
/// compare, so its VM says so (vm/luajit/raise.c).
///
/// # Safety
/// Called from the raise handler only.
#[cfg(all(feature = "luajit", hr_host_vm))]
unsafe fn raised_by_wrap(_l: *mut lua_State) -> bool {
    // SAFETY: reads a flag of the running raise.
    unsafe { hr_raise_by_wrap() != 0 }
}

/// Whether the function raising on `l` is a `coroutine.wrap` function.
///
/// # Safety
/// `l` is the running thread, with room for one more slot.
#[cfg(not(all(feature = "luajit", hr_host_vm)))]
unsafe fn raised_by_wrap(l: *mut lua_State) -> bool {
    let wrap = WRAP.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: reads the running frame; pushes and pops one value.
    unsafe {
        let mut ar: lua_Debug = std::mem::zeroed();
        if wrap == 0 || ffi::lua_getstack(l, 0, &mut ar) == 0 {
            return false;
        }
        if ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar) == 0 {
            return false;
        }
        let f = ffi::lua_tocfunction(l, -1);
        ffi::lua_pop(l, 1);
        f.is_some_and(|f| f as usize == wrap)
    }
}

/// `tostring` of the value at `idx` (its `__tostring` if any, else
/// `table: 0x...`), run protected so a failing `__tostring` cannot unwind
/// through the host.
///
/// # Safety
/// `l` is the running thread with room for 2 more slots; `idx` is absolute.
unsafe fn error_text(l: *mut lua_State, idx: c_int) -> String {
    // SAFETY: per the contract above; the pcall leaves one value, popped.
    unsafe {
        ffi::lua_pushcfunction(l, to_string);
        ffi::lua_pushvalue(l, idx);
        let text = if ffi::lua_pcall(l, 1, 1, 0) == ffi::LUA_OK
            && ffi::lua_type(l, -1) == ffi::LUA_TSTRING
        {
            let mut len = 0;
            let p = ffi::lua_tolstring(l, -1, &mut len);
            String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
        } else {
            let t = ffi::lua_type(l, idx);
            let name = std::ffi::CStr::from_ptr(ffi::lua_typename(l, t));
            format!("(error object is a {} value)", name.to_string_lossy())
        };
        ffi::lua_pop(l, 1);
        text
    }
}

unsafe extern "C-unwind" fn to_string(l: *mut lua_State) -> c_int {
    // SAFETY: called through lua_pcall with one argument.
    unsafe { ffi::luaL_tolstring(l, 1, std::ptr::null_mut()) };
    1
}

/// The Lua type name of the value at `idx`.
///
/// # Safety
/// `l` is a live thread and `idx` a valid index.
unsafe fn type_name(l: *mut lua_State, idx: c_int) -> String {
    // SAFETY: per the contract above; type names are static strings.
    unsafe {
        std::ffi::CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx)))
            .to_string_lossy()
            .into_owned()
    }
}

/// The traceback of `l` from the raising function, headed by `message`.
///
/// # Safety
/// `l` is the running thread with room for 1 more slot.
unsafe fn traceback(l: *mut lua_State, message: &str) -> String {
    // SAFETY: per the contract above; the pushed string is popped.
    unsafe {
        let text = std::ffi::CString::new(message.replace('\0', "\\0")).unwrap_or_default();
        ffi::luaL_traceback(l, l, text.as_ptr(), 0);
        let mut len = 0;
        let p = ffi::lua_tolstring(l, -1, &mut len);
        let out = if p.is_null() {
            String::new()
        } else {
            String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
        };
        ffi::lua_pop(l, 1);
        out
    }
}
