//! Bindings to the C of the VM folder this host is built with
//! (`vm/<vm>/`, the contract in `vm/hotreload_vm.h`): the helpers that read
//! and patch the VM's insides. The shared host code calls the VM only here and
//! in `reload::` (the native backend).

use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mlua::ffi::{self, lua_Debug, lua_State};

extern "C" {
    fn hr_code_lines(
        path: *const c_char,
        out: *mut c_int,
        cap: c_int,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int;
    fn hr_frame_source(l: *mut lua_State, ar: *const lua_Debug, len: *mut usize) -> *const c_char;
    fn hr_stack_depth(l: *mut lua_State) -> c_int;
    fn hr_sync_oldpc(l: *mut lua_State);
    fn hr_traps_supported() -> c_int;
    fn hr_set_trap_lines(lines: Option<TrapLines>);
    fn hr_traps_sync(l: *mut lua_State) -> c_int;
    fn hr_traps_prepare(l: *mut lua_State, conds: *const *const c_char, n: c_int);
    fn hr_traps_loaded(l: *mut lua_State);
    fn hr_traps_clear();
    fn hr_set_skip_policy(policy: Option<SkipPolicy>);
    fn hr_set_line_filter(on: c_int, bits: *const u8, len: usize);
    fn hr_forget_skips();
    fn hr_set_raise_handler(handler: Option<RaiseHandler>);
    fn hr_set_debug_hook(hook: Option<ffi::lua_Hook>);
    fn hr_debug_sethook(l: *mut lua_State, mask: c_int);
    fn hr_debug_gethookmask(l: *mut lua_State) -> c_int;
    fn hr_set_resume_hook(hook: Option<ResumeHook>);
    fn hr_set_load_hook(hook: Option<unsafe extern "C-unwind" fn(*mut lua_State)>);
    fn hr_track_load(l: *mut lua_State);
    fn hr_parsing(l: *mut lua_State) -> c_int;
    fn hr_all_threads(l: *mut lua_State) -> c_int;
    fn hr_room_to_evaluate(l: *mut lua_State) -> c_int;
    fn hr_restart_request(l: *mut lua_State, err: *mut c_char, errlen: usize) -> c_int;
    fn hr_set_error_restarts(on: c_int);
    fn hr_error_restart_request(
        l: *mut lua_State,
        level: c_int,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int;
    fn hr_error_restart_pending(l: *mut lua_State) -> c_int;
}

/// Asks the VM to restart the running frame of thread `l` from its first
/// line when the hook returns (vm/<vm>/restart.c); the refusal otherwise.
///
/// # Safety
/// `l` must be the thread stopped in the debugger's line or count hook.
pub unsafe fn restart_request(l: *mut lua_State) -> Result<(), String> {
    let mut err = [0 as c_char; 256];
    // SAFETY: per the contract above; `err` has the size we pass.
    let status = unsafe { hr_restart_request(l, err.as_mut_ptr(), err.len()) };
    if status == 0 {
        return Ok(());
    }
    // SAFETY: the C side wrote a NUL-terminated string (snprintf).
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
    Err(msg.to_string_lossy().into_owned())
}

/// Lets every interpreter run record where it can be re-entered, so a frame
/// can be restarted after an error stop (Lua 5.4; a no-op elsewhere).
pub fn set_error_restarts(on: bool) {
    // SAFETY: sets a flag the VM thread reads.
    unsafe { hr_set_error_restarts(c_int::from(on)) }
}

/// From an error stop on thread `l`: when the error goes on, restart the
/// frame at `level` instead (vm/lua54/error_restart.c); the refusal
/// otherwise, nothing changed.
///
/// # Safety
/// `l` must be the thread stopped on the error, inside its stop.
pub unsafe fn error_restart_request(l: *mut lua_State, level: i32) -> Result<(), String> {
    let mut err = [0 as c_char; 256];
    // SAFETY: per the contract above; `err` has the size we pass.
    let status = unsafe { hr_error_restart_request(l, level, err.as_mut_ptr(), err.len()) };
    if status == 0 {
        return Ok(());
    }
    // SAFETY: the C side wrote a NUL-terminated string (snprintf).
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
    Err(msg.to_string_lossy().into_owned())
}

/// Whether thread `l`'s error is about to restart a frame.
///
/// # Safety
/// `l` must be a live thread of the VM.
pub unsafe fn error_restart_pending(l: *mut lua_State) -> bool {
    // SAFETY: per the contract above.
    unsafe { hr_error_restart_pending(l) != 0 }
}

/// Whether thread `l` (and the main thread) have stack room and C levels to
/// spare for the debugger to evaluate a condition now.
///
/// # Safety
/// `l` must be the running thread, on the VM thread.
pub unsafe fn room_to_evaluate(l: *mut lua_State) -> bool {
    // SAFETY: per the contract above.
    unsafe { hr_room_to_evaluate(l) != 0 }
}

/// Called by the patched `lua_resume` (vm/shared/vm_hooks.c): `entering` 1
/// before coroutine `co` runs, resumed from `from` (may be null), 0 when the
/// resume returns to `from`.
pub type ResumeHook =
    unsafe extern "C-unwind" fn(co: *mut lua_State, from: *mut lua_State, entering: c_int);

/// Installs the debugger's hook function: the VM calls it, for each thread,
/// on the events of the debugger's mask for that thread
/// ([`debug_sethook`]), besides any hook the program set itself.
pub fn set_debug_hook(hook: ffi::lua_Hook) {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_debug_hook(Some(hook)) }
}

/// Sets the debugger's mask on thread `l` (count events come every
/// instruction). The program's own hook of `l` is untouched.
///
/// # Safety
/// `l` must be a live thread of the VM; safe from the VM thread's signal
/// handler as `lua_sethook` is.
pub unsafe fn debug_sethook(l: *mut lua_State, mask: c_int) {
    // SAFETY: per the contract above.
    unsafe { hr_debug_sethook(l, mask) }
}

/// The debugger's mask on thread `l`.
///
/// # Safety
/// `l` must be a live thread of the VM.
pub unsafe fn debug_gethookmask(l: *mut lua_State) -> c_int {
    // SAFETY: per the contract above.
    unsafe { hr_debug_gethookmask(l) }
}

/// Installs the resume notification.
pub fn set_resume_hook(hook: ResumeHook) {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_resume_hook(Some(hook)) }
}

/// Makes the VM report every chunk loaded from a file to the tracking
/// tables (vm/shared/tracking.c) the engine set up.
pub fn track_loads() {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_load_hook(Some(hr_track_load_unwind)) }
}

unsafe extern "C-unwind" fn hr_track_load_unwind(l: *mut lua_State) {
    // SAFETY: forwarded from the VM with its arguments.
    unsafe {
        hr_track_load(l);
        // Breakpoints in the new chunk's code.
        crate::hooks::on_load(l);
        // The debugger's sources and function breakpoints.
        crate::function_breakpoints::on_load(l);
    }
}

/// Whether thread `l` is parsing a chunk right now (an error raised now is
/// caught by `lua_load`).
///
/// # Safety
/// `l` must be a live thread of the VM.
pub unsafe fn parsing(l: *mut lua_State) -> bool {
    // SAFETY: per the contract above.
    unsafe { hr_parsing(l) > 0 }
}

/// A Lua C function returning an array of every thread of the VM but the
/// main one (found on the collector's list: no wrapper needed).
pub const ALL_THREADS: ffi::lua_CFunction = all_threads;

unsafe extern "C-unwind" fn all_threads(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe { hr_all_threads(l) }
}

/// Called by the patched VM where an error is raised, with the error object
/// on top of the thread's stack (see `hr_raise_hook`).
pub type RaiseHandler = unsafe extern "C-unwind" fn(l: *mut lua_State);

/// Installs (or, with `None`, removes) the handler the VM calls on every
/// raised error outside hooks.
pub fn set_raise_handler(handler: Option<RaiseHandler>) {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_raise_handler(handler) }
}

/// Writes the breakpoint lines of the chunk named by the source bytes
/// (`source`, `len`) into `out[..cap]` and their conditions (or null)
/// into `conds[..cap]`; returns how many there are.
pub type TrapLines = unsafe extern "C" fn(
    source: *const c_char,
    len: usize,
    out: *mut c_int,
    conds: *mut *const c_char,
    cap: c_int,
) -> c_int;

/// Whether the VM runs breakpoint traps (the host's patched VMs); without
/// them (an agent in a stock VM) breakpoints need the line hook.
pub fn traps_supported() -> bool {
    // SAFETY: a constant answer of the VM folder.
    unsafe { hr_traps_supported() != 0 }
}

/// Installs the function the VM asks, for each chunk, which lines to trap.
pub fn set_trap_lines(lines: TrapLines) {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_trap_lines(Some(lines)) }
}

/// Removes every trap and makes the strings the breakpoint conditions
/// `conds` name (the only allocation placing traps needs); call before
/// [`sync_traps`] whenever the conditions change.
///
/// # Safety
/// `l` must be a live thread of the VM, on the VM thread.
pub unsafe fn prepare_traps(l: *mut lua_State, conds: &[&std::ffi::CStr]) {
    let ptrs: Vec<*const c_char> = conds.iter().map(|c| c.as_ptr()).collect();
    let n = c_int::try_from(ptrs.len()).unwrap_or(c_int::MAX);
    // SAFETY: per the contract above; the strings outlive the call.
    unsafe { hr_traps_prepare(l, ptrs.as_ptr(), n) }
}

/// Removes every trap, then traps the breakpoint lines of every function
/// of the VM; returns how many traps are set.
///
/// # Safety
/// `l` must be a live thread of the VM, on the VM thread, outside the
/// trap-lines callback.
pub unsafe fn sync_traps(l: *mut lua_State) -> usize {
    // SAFETY: per the contract above.
    let n = unsafe { hr_traps_sync(l) };
    usize::try_from(n).unwrap_or(0)
}

/// Traps the breakpoint lines of the chunk on top of `l`'s stack (just
/// loaded) and of its nested functions.
///
/// # Safety
/// `l` must be the running thread with a function on top of its stack.
pub unsafe fn traps_loaded(l: *mut lua_State) {
    // SAFETY: per the contract above.
    unsafe { hr_traps_loaded(l) }
}

/// Removes every trap: the code is as compiled again.
pub fn clear_traps() {
    // SAFETY: restores instructions of live prototypes; on the VM thread.
    unsafe { hr_traps_clear() }
}

/// Lets the VM call the line hook only for lines set in `bits` (while `on`);
/// VMs without traps only.
///
/// # Safety
/// `bits` must stay alive and unchanged until the next call.
pub unsafe fn set_line_filter(on: bool, bits: &[u8]) {
    // SAFETY: per the contract above.
    unsafe { hr_set_line_filter(c_int::from(on), bits.as_ptr(), bits.len()) }
}

/// Decides whether a Lua function entered under a line-only hook may run
/// untraced (non-zero) given its chunk source (`vm/shared/skips.c`, VMs without traps).
pub type SkipPolicy =
    unsafe extern "C" fn(l: *mut lua_State, source: *const c_char, len: usize) -> c_int;

/// Drops the VM's cached answers of the skip policy: call whenever what the
/// policy decides on (breakpoints, steps, deferred interrupts) changes.
pub fn forget_skips() {
    // SAFETY: bumps a counter the VM thread reads; called on the VM thread.
    unsafe { hr_forget_skips() }
}

/// Installs the policy the patched VM asks on every traced function entry
/// (VMs without traps only).
pub fn set_skip_policy(policy: SkipPolicy) {
    // SAFETY: stores a function pointer; the VM thread calls it later.
    unsafe { hr_set_skip_policy(Some(policy)) }
}

/// The sorted lines of `path` that hold code (in any nested function), or
/// the compiler's message when the file does not compile.
pub fn code_lines(path: &Path) -> Result<Vec<i32>, String> {
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", path.display()))?;
    let mut lines = vec![0 as c_int; 4096];
    let mut err = vec![0 as c_char; 1024];
    loop {
        // SAFETY: both buffers are as large as the lengths passed.
        let n = unsafe {
            hr_code_lines(
                cpath.as_ptr(),
                lines.as_mut_ptr(),
                lines.len() as c_int,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if n < 0 {
            // SAFETY: the C side always NUL-terminates `err` (snprintf).
            let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
            return Err(msg.to_string_lossy().into_owned());
        }
        let n = n as usize;
        if n <= lines.len() {
            lines.truncate(n);
            lines.sort_unstable();
            lines.dedup();
            return Ok(lines);
        }
        lines = vec![0; n];
    }
}

/// The `source` string of the Lua function running in frame `ar` (from a
/// hook or `lua_getstack`); `None` for C functions.
///
/// # Safety
/// `ar` must describe a frame that is still on thread `l`'s stack.
pub unsafe fn frame_source<'a>(l: *mut lua_State, ar: *const lua_Debug) -> Option<&'a [u8]> {
    let mut len = 0usize;
    // SAFETY: per the contract above; the bytes live in the function's
    // prototype, which outlives the frame.
    unsafe {
        let ptr = hr_frame_source(l, ar, &mut len);
        if ptr.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(ptr as *const u8, len))
        }
    }
}

/// Number of frames on thread `l` right now.
///
/// # Safety
/// `l` must be a live thread of the VM, used from the VM thread.
pub unsafe fn stack_depth(l: *mut lua_State) -> i32 {
    // SAFETY: per the contract above.
    unsafe { hr_stack_depth(l) }
}

/// Makes a line hook switched on now fire at the next line or backward jump
/// only, never in the middle of the current statement.
///
/// # Safety
/// `l` must be the running thread, inside a hook, on the VM thread.
pub unsafe fn sync_oldpc(l: *mut lua_State) {
    // SAFETY: per the contract above.
    unsafe { hr_sync_oldpc(l) }
}
