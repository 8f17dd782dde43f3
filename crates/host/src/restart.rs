//! `restartFrame`: run the function the program stopped in again from its
//! first line, with the code a hot reload gave it (edit and continue). The
//! VM does the work when the stop's hook returns (vm/<vm>/restart.c); here,
//! which frames can be restarted.
//!
//! The arguments are the parameters' current values (capturing every call's
//! arguments would cost every call): a parameter the function assigned
//! before the stop restarts with its new value.

use dap::types::RestartFrameArguments;
use host_protocol::{ErrorKind, HostError};

use crate::debuggee::Debuggee;
use crate::references::frame_index;

/// Asks the VM to restart the frame `args` names when the program resumes;
/// the reason when it cannot be (nothing changed then).
pub fn request(debuggee: &mut Debuggee, args: &RestartFrameArguments) -> Result<(), HostError> {
    let (_, stop) = debuggee.stopped()?;
    let index = frame_index(stop, args.frame_id)?;
    if stop.exception.is_some() {
        return Err(HostError::new(
            ErrorKind::Refused,
            "the program stopped on an error, which unwinds the frame: \
             set a breakpoint in the function and run it again",
        ));
    }
    let frame = stop
        .frames
        .get(index)
        .ok_or_else(|| HostError::invalid(format!("no frame {}", args.frame_id)))?;
    if !frame.is_lua {
        return Err(HostError::unsupported("a C function cannot be restarted"));
    }
    if index != 0 || frame.level != 0 {
        return Err(HostError::new(
            ErrorKind::Refused,
            "only the innermost frame can be restarted: step out to it first",
        ));
    }
    // SAFETY: the program is stopped in the debugger's hook on this thread
    // (the frames of a stop are taken there), and its level 0 is this frame.
    unsafe { crate::native::restart_request(frame.state) }.map_err(HostError::unsupported)
}
