//! The agent's protocol writer: the host's `io` for a program we did not
//! start. Messages go to the session's socket while one is attached and are
//! dropped otherwise. The program's own stdout and stderr are left alone
//! (it may be a terminal, a log, or LÖVE's console) unless `start` asks for
//! `output`: then [`tee_output`] puts a pipe behind fds 1 and 2 whose bytes
//! go on to the original descriptors and, while attached, to the session.

use std::io::Write;
use std::os::raw::c_int;
use std::sync::{Mutex, MutexGuard};

use dap::types::ExitedEventBody;
use host_protocol::{HostEvent, HostMessage};

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

/// Writes an empty line (the session skips it): the heartbeat that tells
/// the session this process still runs (crates/session/src/attach/heartbeat.rs).
pub fn heartbeat() {
    let mut writer = lock(&WRITER);
    if let Some(out) = writer.as_mut() {
        if out.write_all(b"\n").and_then(|()| out.flush()).is_err() {
            *writer = None;
        }
    }
}

// respond, event, output: shared with the other writer (messages.rs).
pub use crate::messages::{event, output, respond};

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
    untee();
    report_exit(i64::from(status));
    detach();
}

/// The descriptors fds 1 and 2 stood for before [`tee_output`], and the
/// read ends of the pipes now behind them.
static TEED: Mutex<Vec<(c_int, c_int, c_int)>> = Mutex::new(Vec::new());

/// Held while bytes are read from a pipe and passed on: the exit handler
/// takes it, so bytes a copying thread has read are sent before `exited`
/// (they came after it, or never, when the thread read the program's last
/// line just before the handler drained the pipe).
static COPYING: Mutex<()> = Mutex::new(());

fn check(ret: c_int, what: &str) -> std::io::Result<c_int> {
    if ret < 0 {
        let err = std::io::Error::last_os_error();
        Err(std::io::Error::new(err.kind(), format!("{what}: {err}")))
    } else {
        Ok(ret)
    }
}

/// Which of fds 1 and 2 [`tee_output`] forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Neither (`output = false`).
    None,
    /// The default: those that are not a terminal. A pipe behind a file or
    /// a pipe changes nothing the program can see (neither is a terminal,
    /// C buffers both fully); behind a terminal it would (`isatty`, the
    /// terminal's size and modes), so a terminal is left alone.
    NotTerminals,
    /// Both (`output = true`), terminals too: the program then sees a pipe
    /// where its terminal was (C's stdout is kept line-buffered).
    All,
}

/// Puts a pipe behind fds 1 and 2 as `which` says: a thread copies what
/// arrives to the original descriptor and, while a session is attached,
/// sends it as `output` events. C's stdout stays line-buffered where it
/// was a terminal.
pub fn tee_output(which: Forward) -> std::io::Result<()> {
    // SAFETY: descriptor juggling on descriptors we own or the process's
    // 1 and 2; every result is checked.
    unsafe {
        let stdout_tty = libc::isatty(1) == 1;
        for (fd, category) in [(1, "stdout"), (2, "stderr")] {
            let forward = match which {
                Forward::None => false,
                Forward::NotTerminals => libc::isatty(fd) != 1,
                Forward::All => true,
            };
            if !forward || lock(&TEED).iter().any(|(teed, _, _)| *teed == fd) {
                continue;
            }
            let original = check(libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3), "dup")?;
            let mut ends = [0; 2];
            // Non-blocking read end: the copying thread waits in poll, not
            // in read, so it never holds COPYING while waiting.
            check(libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
            let flags = check(libc::fcntl(ends[0], libc::F_GETFL), "fcntl")?;
            check(
                libc::fcntl(ends[0], libc::F_SETFL, flags | libc::O_NONBLOCK),
                "fcntl",
            )?;
            check(libc::dup2(ends[1], fd), "redirect")?;
            libc::close(ends[1]);
            lock(&TEED).push((fd, original, ends[0]));
            let read_end = ends[0];
            std::thread::Builder::new()
                .name(format!("hotreload-agent-{category}"))
                .spawn(move || copy_out(read_end, original, category))?;
        }
        if stdout_tty && which == Forward::All {
            extern "C" {
                static mut stdout: *mut libc::FILE;
            }
            libc::setvbuf(stdout, std::ptr::null_mut(), libc::_IOLBF, 0);
        }
    }
    Ok(())
}

/// Copies the pipe to the original descriptor (first: the program's own
/// output never waits for the session) and to the session.
fn copy_out(read_end: c_int, original: c_int, category: &'static str) {
    let mut buf = [0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let mut ready = libc::pollfd {
            fd: read_end,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one descriptor we own.
        if unsafe { libc::poll(&mut ready, 1, -1) } < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        let _copying = lock(&COPYING);
        // SAFETY: reads into a buffer of its size from our descriptor.
        let n = unsafe { libc::read(read_end, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            match std::io::Error::last_os_error().kind() {
                // The exit handler emptied the pipe first, or a signal.
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        if n == 0 {
            break;
        }
        let bytes = &buf[..n as usize];
        write_all(original, bytes);
        if attached() {
            pending.extend_from_slice(bytes);
            let cut = complete_utf8_prefix(&pending);
            output(category, &String::from_utf8_lossy(&pending[..cut]));
            pending.drain(..cut);
        }
    }
}

fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice to a descriptor we own.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// At exit: C streams flushed into the pipes, fds 1 and 2 given back to the
/// original descriptors, and what the pipes still hold copied out here
/// (the copying threads die with the process).
fn untee() {
    drain();
    // Whatever a copying thread has read is passed on before this goes on.
    let _copying = lock(&COPYING);
    let teed = std::mem::take(&mut *lock(&TEED));
    for (fd, original, read_end) in teed {
        // SAFETY: restores the process's descriptor, then drains our pipe
        // (non-blocking; its only write end is gone).
        unsafe {
            libc::dup2(original, fd);
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = libc::read(read_end, buf.as_mut_ptr().cast(), buf.len());
                if n <= 0 {
                    break;
                }
                write_all(fd, &buf[..n as usize]);
                if attached() {
                    let category = if fd == 1 { "stdout" } else { "stderr" };
                    output(category, &String::from_utf8_lossy(&buf[..n as usize]));
                }
            }
        }
    }
}

/// Length of the longest prefix that does not end inside a UTF-8 sequence.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue;
        }
        let need = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { len - back } else { len };
    }
    len
}

/// Tells the session the program's exit status when the process exits.
pub fn report_exit_on_exit() -> std::io::Result<()> {
    // SAFETY: registers a handler that runs once as the process exits.
    if unsafe { on_exit(exiting, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::other("cannot register the exit handler"));
    }
    Ok(())
}
