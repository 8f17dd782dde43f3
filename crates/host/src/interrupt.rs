//! Asynchronous interrupts: the reader thread asks the VM thread to look at
//! its queue while the program runs, even inside `while true do end`.
//!
//! The reader thread sends SIGURG to the VM thread; the handler (on the VM
//! thread, so it never races the VM) arms a count hook of 1 on the Lua thread
//! that is running, exactly what `lua.c` does for Ctrl-C. The hook then drains
//! the queue and restores the normal mask (see `hooks`).

// Explicit path: the attach agent includes this file from elsewhere.
#[cfg(all(feature = "luajit", hr_host_vm))]
#[path = "interrupt/evaluations.rs"]
pub mod evaluations;

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use mlua::ffi;

use crate::queue::{self, RunState};

/// The Lua thread (main state or coroutine) that runs right now.
static CURRENT: AtomicPtr<ffi::lua_State> = AtomicPtr::new(ptr::null_mut());
/// Requests are waiting for the VM thread.
static PENDING: AtomicBool = AtomicBool::new(false);
static VM_THREAD: AtomicU64 = AtomicU64::new(0);

/// Installs the signal handler; call on the VM thread.
pub fn install() -> std::io::Result<()> {
    // SAFETY: pthread_self has no preconditions; the sigaction struct is fully
    // initialised before use and the handler is async-signal-safe (atomics and
    // the debugger's hook setter, which writes fields as lua_sethook does,
    // which Lua documents as callable from a signal handler).
    unsafe {
        VM_THREAD.store(libc::pthread_self() as u64, Ordering::SeqCst);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGURG, &action, ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Records the Lua thread that runs now (VM thread only).
pub fn set_current(l: *mut ffi::lua_State) {
    CURRENT.store(l, Ordering::SeqCst);
}

/// Asks the running VM to drain its queue soon (reader thread).
pub fn request() {
    PENDING.store(true, Ordering::SeqCst);
    let thread = VM_THREAD.load(Ordering::SeqCst);
    if thread != 0 {
        // SAFETY: the VM thread lives as long as the process.
        unsafe { libc::pthread_kill(thread as libc::pthread_t, libc::SIGURG) };
    }
}

/// Marks requests as waiting, from the VM thread itself (no signal needed:
/// the next mask it sets arms the count hook).
pub fn mark_pending() {
    PENDING.store(true, Ordering::SeqCst);
}

/// Whether an interrupt is waiting.
pub fn pending() -> bool {
    PENDING.load(Ordering::SeqCst)
}

/// Clears the interrupt flag; true if it was set.
pub fn take() -> bool {
    PENDING.swap(false, Ordering::SeqCst)
}

extern "C" fn on_signal(_signal: libc::c_int) {
    if !PENDING.load(Ordering::SeqCst) || queue::state() != RunState::Running {
        return;
    }
    let l = CURRENT.load(Ordering::SeqCst);
    if l.is_null() {
        return;
    }
    // SAFETY: we are on the VM thread (the signal targets it), `l` is the
    // live running thread, and setting a hook is safe from a signal handler.
    unsafe {
        let mask = crate::native::debug_gethookmask(l);
        crate::native::debug_sethook(l, mask | ffi::LUA_MASKCOUNT);
    }
}
