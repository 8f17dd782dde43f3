//! LuaJIT: the budget of an evaluation (`evaluate::call_bounded`).
//!
//! PUC Lua keeps hooks per thread, so an evaluation's thread gets a count
//! hook of its own. LuaJIT has one hook for the whole VM, silenced by one
//! hook-active flag while the debugger's hook runs, which is exactly when
//! evaluations run; and a thread's hook set through `lua_sethook` would land
//! in the program's slot (vm/luajit/vm_hooks.c). So the VM lends its hook to
//! the evaluation instead (`hr_eval_hook_begin`, with that flag off and
//! compiled loops leaving their trace) and gets back, when it ends, what
//! was there or what the program and the debugger set meanwhile.

use std::cell::RefCell;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

use mlua::ffi::{self, lua_Debug, lua_State};

extern "C" {
    fn hr_eval_hook_begin(l: *mut lua_State, hook: ffi::lua_Hook, count: c_int) -> c_int;
    fn hr_eval_hook_end(l: *mut lua_State);
}

/// Decides, every `count` instructions, whether the evaluation goes on
/// (`Err`: the message it stops with).
pub type Check = Box<dyn FnMut() -> Result<(), String>>;

thread_local! {
    /// The running evaluations' checks, innermost last.
    static CHECKS: RefCell<Vec<Check>> = const { RefCell::new(Vec::new()) };
}

/// Runs `body` (which runs the evaluation's Lua code) with `check` asked
/// every `count` instructions of any Lua code of the VM.
pub fn bounded<R>(
    lua: &mlua::Lua,
    count: u32,
    check: Check,
    body: impl FnOnce() -> R,
) -> Result<R, String> {
    let mut state: *mut lua_State = std::ptr::null_mut();
    // SAFETY: exec_raw hands a live thread of this VM; only its address is
    // kept, to reach the VM's global state (the thread lives with the VM).
    unsafe { lua.exec_raw::<()>((), |s| state = s) }.map_err(|e| e.to_string())?;
    let count = c_int::try_from(count).unwrap_or(c_int::MAX);
    CHECKS.with_borrow_mut(|c| c.push(check));
    // SAFETY: on the VM thread; `budget_hook` is the VM's hook until the
    // matching end below.
    if unsafe { hr_eval_hook_begin(state, budget_hook, count) } == 0 {
        CHECKS.with_borrow_mut(|c| c.pop());
        return Err("evaluations nested too deep".to_string());
    }
    let result = body();
    // SAFETY: ends the begin above.
    unsafe { hr_eval_hook_end(state) };
    CHECKS.with_borrow_mut(|c| c.pop());
    Ok(result)
}

/// The VM's hook during an evaluation: raises the check's message as the
/// evaluation's error. Nothing of Rust is alive when `lua_error` unwinds.
unsafe extern "C-unwind" fn budget_hook(l: *mut lua_State, _ar: *mut lua_Debug) {
    let verdict = catch_unwind(AssertUnwindSafe(|| {
        CHECKS.with_borrow_mut(|c| c.last_mut().map_or(Ok(()), |check| check()))
    }));
    let message = match verdict {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "evaluation stopped: internal error in its budget".to_string(),
    };
    // SAFETY: `l` is the running thread in its hook, with room for the
    // string (hooks get LUA_MINSTACK slots); lua_pushlstring copies it.
    unsafe {
        ffi::lua_pushlstring(l, message.as_ptr() as *const c_char, message.len());
        drop(message);
        ffi::lua_error(l);
    }
}
