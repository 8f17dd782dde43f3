//! `restartFrame`: run the function the program stopped in again from its
//! first line, with the code a hot reload gave it (edit and continue). The
//! VM does the work when the stop's hook returns (vm/<vm>/restart.c); here,
//! which frames can be restarted.
//!
//! The arguments are the parameters' current values (capturing every call's
//! arguments would cost every call): a parameter the function assigned
//! before the stop restarts with its new value.

use std::cell::Cell;
use std::ffi::CStr;

use dap::types::RestartFrameArguments;
use host_protocol::{ErrorKind, HostError};
use mlua::ffi::lua_State;

use crate::debuggee::Debuggee;
use crate::frames::Frame;
use crate::references::frame_index;

thread_local! {
    /// The frame a restart was asked for: its thread and the stack depth
    /// it will have once restarted (the frames above it gone).
    static TARGET: Cell<Option<(*mut lua_State, i32)>> = const { Cell::new(None) };
}

/// The depth of thread `l`'s frame to restart, once restarted (taken: one
/// answer per request): where the `restart` step stops. Lines above it
/// (a message handler that runs before the error unwinds) are not the
/// restarted frame's.
pub fn take_target_depth(l: *mut lua_State) -> Option<i32> {
    TARGET.take().filter(|(t, _)| *t == l).map(|(_, d)| d)
}

/// Asks the VM to restart the frame `args` names when the program resumes;
/// the reason when it cannot be (nothing changed then).
pub fn request(debuggee: &mut Debuggee, args: &RestartFrameArguments) -> Result<(), HostError> {
    let (_, stop) = debuggee.stopped()?;
    let index = frame_index(stop, args.frame_id)?;
    let frame = stop
        .frames
        .get(index)
        .ok_or_else(|| HostError::invalid(format!("no frame {}", args.frame_id)))?;
    if !frame.is_lua {
        return Err(HostError::unsupported("a C function cannot be restarted"));
    }
    if stop.exception.is_some() {
        // The error has not unwound yet: it will unwind to this frame's
        // run instead, which starts the frame again (any frame of the
        // erroring thread, not only the innermost: the failed call's
        // caller can be retried too).
        let failing = stop.frames.first().map(|f| f.state);
        if failing != Some(frame.state) {
            return Err(HostError::new(
                ErrorKind::Refused,
                "only a frame of the thread that failed can be restarted after an error",
            ));
        }
        // SAFETY: stopped on the error of this thread, inside its stop.
        unsafe { crate::native::error_restart_request(frame.state, frame.level) }
            .map_err(HostError::unsupported)?;
        // SAFETY: as above; the frames above it go with the error. Lua
        // 5.1's levels count the frames tail calls dropped, its depth not.
        let depth = unsafe { crate::native::stack_depth(frame.state) } - frame.level
            + dropped_levels_above(&stop.frames, frame);
        TARGET.set(Some((frame.state, depth)));
        return Ok(());
    }
    if index != 0 || frame.level != 0 {
        return Err(HostError::new(
            ErrorKind::Refused,
            "only the innermost frame can be restarted: step out to it first",
        ));
    }
    // SAFETY: the program is stopped in the debugger's hook on this thread
    // (the frames of a stop are taken there), and its level 0 is this frame.
    unsafe { crate::native::restart_request(frame.state) }.map_err(HostError::unsupported)?;
    // SAFETY: as above.
    let depth = unsafe { crate::native::stack_depth(frame.state) };
    TARGET.set(Some((frame.state, depth)));
    Ok(())
}

/// How many of `frame`'s thread's levels above it stand for frames a tail
/// call dropped (Lua 5.1 lists them as levels of their own, `what` "tail";
/// they have no record on the stack).
fn dropped_levels_above(frames: &[Frame], frame: &Frame) -> i32 {
    let dropped = frames
        .iter()
        .filter(|f| f.state == frame.state && f.level < frame.level)
        .filter(|f| {
            let ar = f.ar();
            // SAFETY: getinfo "S" set `what` to a static string.
            !ar.what.is_null() && unsafe { CStr::from_ptr(ar.what) }.to_bytes() == b"tail"
        })
        .count();
    i32::try_from(dropped).unwrap_or(i32::MAX)
}
