//! Which Lua thread runs: the resume chain from the main thread to the
//! running coroutine. `coroutine.resume` and `coroutine.wrap` are wrapped (in
//! `internals.lua`) to call [`enter`] and [`leave`] around each resume, since
//! hooks and interrupts are per thread and must reach the one that runs.

use std::cell::RefCell;
use std::os::raw::c_int;

use mlua::ffi;

use crate::{hooks, interrupt};

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

/// `enter(co)`: `co` is about to be resumed.
pub unsafe extern "C-unwind" fn enter(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; lua_tothread only reads.
    let co = unsafe { ffi::lua_tothread(l, 1) };
    if !co.is_null() {
        RESUMES.set(RESUMES.get() + 1);
        CHAIN.with_borrow_mut(|c| c.push(co as usize));
        interrupt::set_current(co);
        // SAFETY: `co` is a live thread (it is an argument on our stack).
        unsafe { hooks::apply_base_mask(co) };
    }
    0
}

/// `leave(...)`: the resume called from thread `l` returned; returns its
/// arguments unchanged.
pub unsafe extern "C-unwind" fn leave(l: *mut ffi::lua_State) -> c_int {
    CHAIN.with_borrow_mut(|c| {
        while c.len() > 1 && c.last() != Some(&(l as usize)) {
            c.pop();
        }
    });
    interrupt::set_current(l);
    // SAFETY: `l` is the running thread; lua_gettop only reads.
    unsafe {
        hooks::apply_base_mask(l);
        ffi::lua_gettop(l)
    }
}
