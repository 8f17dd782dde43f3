//! Which Lua thread runs: the resume chain from the main thread to the
//! running coroutine. The patched `lua_resume` tells us ([`on_resume`])
//! before a coroutine runs and when it hands control back, since hooks and
//! interrupts are per thread and must reach the one that runs; the
//! program's `coroutine` functions stay the stock ones.

use std::cell::RefCell;
use std::os::raw::c_int;

use mlua::ffi;

use crate::{hooks, interrupt, threads};

thread_local! {
    /// `[main, coroutine resumed by main, its resumee, ...]`: the last runs.
    static CHAIN: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Counts resumes, so a stop can tell whether a suspended coroutine ran.
    static RESUMES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many resumes happened so far.
pub fn resumes() -> u64 {
    RESUMES.get()
}

/// Starts the chain at the main thread.
pub fn reset(main: *mut ffi::lua_State) {
    CHAIN.with_borrow_mut(|c| {
        c.clear();
        c.push(main as usize);
    });
    interrupt::set_current(main);
}

/// The threads that resumed `l`, nearest last (empty for the main thread or
/// a thread not in the chain).
pub fn resumers_of(l: *mut ffi::lua_State) -> Vec<*mut ffi::lua_State> {
    CHAIN.with_borrow(|c| match c.iter().position(|&t| t == l as usize) {
        Some(i) => c[..i].iter().map(|&t| t as *mut ffi::lua_State).collect(),
        None => Vec::new(),
    })
}

/// Where `l` sits in the chain (0 = main), if it is in it.
pub fn position(l: *mut ffi::lua_State) -> Option<usize> {
    CHAIN.with_borrow(|c| c.iter().position(|&t| t == l as usize))
}

/// Whether `l` is one of the first `count` threads of the chain.
pub fn among_first(l: *mut ffi::lua_State, count: usize) -> bool {
    CHAIN.with_borrow(|c| c.iter().take(count).any(|&t| t == l as usize))
}

/// The resume notification of the patched VM (vm/shared/vm_hooks.c): every
/// `lua_resume`, from `coroutine.resume`, `coroutine.wrap` or C code.
///
/// # Safety
/// Called by the VM only, with live threads (`from` may be null).
pub unsafe extern "C-unwind" fn on_resume(
    co: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    entering: c_int,
) {
    if entering != 0 {
        // SAFETY: `co` is live; lua_status only reads.
        if unsafe { ffi::lua_status(co) } == ffi::LUA_OK {
            threads::starting(co);
        }
        RESUMES.set(RESUMES.get() + 1);
        CHAIN.with_borrow_mut(|c| c.push(co as usize));
        interrupt::set_current(co);
        // SAFETY: `co` is about to run.
        unsafe { hooks::apply_base_mask(co) };
        return;
    }
    // The thread that runs again is the one that resumed `co` in the chain,
    // not `from`: 5.2 to 5.4 report the `from` the caller passed, and the
    // debugger's own resumes (an evaluation inside a running coroutine,
    // through mlua) pass the main thread. Interrupts armed on the main
    // thread would then never reach the coroutine that runs.
    let resumer = CHAIN.with_borrow_mut(|c| {
        let i = c.iter().rposition(|&t| t == co as usize)?;
        c.truncate(i.max(1));
        c.last().map(|&t| t as *mut ffi::lua_State)
    });
    // SAFETY: `co` is live; lua_status only reads.
    threads::after_resume(co, unsafe { ffi::lua_status(co) });
    let Some(resumer) = resumer.or((!from.is_null()).then_some(from)) else {
        return;
    };
    interrupt::set_current(resumer);
    // SAFETY: `resumer` runs again.
    unsafe { hooks::apply_base_mask(resumer) };
}
