//! The agent's protocol writer: the host's `io` for a program we did not
//! start. Messages go to the session's socket while one is attached and are
//! dropped otherwise; the program's own stdout and stderr are left alone
//! (it may be a terminal, a log, or LÖVE's console).

use std::io::Write;
use std::os::raw::c_int;
use std::sync::{Mutex, MutexGuard};

use dap::types::{ExitedEventBody, OutputEventBody};
use host_protocol::{HostEvent, HostMessage, HostResponse, Outcome};

/// The attached session's socket, if any. One lock: lines never interleave.
static WRITER: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts writing to a newly attached session.
pub fn attach(writer: Box<dyn Write + Send>) {
    *lock(&WRITER) = Some(writer);
}

/// Stops writing: the session left (what is sent now is dropped).
pub fn detach() {
    *lock(&WRITER) = None;
}

/// Whether a session is attached.
pub fn attached() -> bool {
    lock(&WRITER).is_some()
}

/// Writes one protocol message; a broken socket detaches (the reader sees
/// the end and cleans up).
pub fn send(message: &HostMessage) {
    let Ok(mut line) = serde_json::to_vec(message) else {
        return;
    };
    line.push(b'\n');
    let mut writer = lock(&WRITER);
    if let Some(out) = writer.as_mut() {
        if out.write_all(&line).and_then(|()| out.flush()).is_err() {
            *writer = None;
        }
    }
}

/// Answers request `id`.
pub fn respond(id: u64, outcome: Outcome) {
    send(&HostMessage::Response(HostResponse { id, outcome }));
}

/// Sends an event.
pub fn event(event: HostEvent) {
    send(&HostMessage::Event(event));
}

/// Sends the agent's own notes as an `output` event (nothing for empty text).
pub fn output(category: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    event(HostEvent::Output(OutputEventBody {
        category: Some(category.to_string()),
        output: text.to_string(),
        ..Default::default()
    }));
}

/// Flushes the C streams, so what the program printed before a stop is out
/// (on its own stdout) before the stop is announced.
pub fn drain() {
    // SAFETY: fflush(NULL) flushes every C stream.
    unsafe { libc::fflush(std::ptr::null_mut()) };
}

/// The host ends its process here; the agent never runs a program itself
/// (the host's `run_program` is not called), so this only exits.
pub fn finish(code: i64) -> ! {
    report_exit(code);
    // SAFETY: ending the process on purpose.
    unsafe { libc::_exit((code & 0xff) as c_int) }
}

/// `terminate`: the session asked to end the program.
pub fn exit_now() -> ! {
    report_exit(0);
    // SAFETY: immediate process exit, as asked.
    unsafe { libc::_exit(0) }
}

fn report_exit(code: i64) {
    drain();
    event(HostEvent::Exited(ExitedEventBody { exit_code: code }));
}

extern "C" {
    fn on_exit(
        function: extern "C" fn(c_int, *mut std::ffi::c_void),
        arg: *mut std::ffi::c_void,
    ) -> c_int;
}

extern "C" fn exiting(status: c_int, _arg: *mut std::ffi::c_void) {
    report_exit(i64::from(status));
    detach();
}

/// Tells the session the program's exit status when the process exits.
pub fn report_exit_on_exit() -> std::io::Result<()> {
    // SAFETY: registers a handler that runs once as the process exits.
    if unsafe { on_exit(exiting, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::other("cannot register the exit handler"));
    }
    Ok(())
}
