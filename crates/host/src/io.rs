//! The host's file descriptors and its one protocol writer.
//!
//! At startup the protocol streams move to private descriptors (close-on-exec,
//! so the debuggee's child processes never see them), fd 0 reads /dev/null,
//! and fds 1 and 2 become pipes whose bytes are forwarded as `output` events:
//! whatever C code or child processes write still reaches the client. The C
//! streams `stdout` and `stderr` hand their bytes to us directly
//! (native/output.c), so what the program writes through them keeps its
//! order across both streams; the Lua libraries keep their stock functions.
//!
//! Every output event is sent under one lock ([`OUTPUT`]), and whoever takes
//! it first forwards what already waits in the pipes: bytes keep the order
//! in which they were written, and a stop is announced only after every
//! byte written before it ([`drain`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::FromRawFd;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dap::types::ExitedEventBody;
use host_protocol::{HostEvent, HostMessage};

/// The protocol output; every message goes through this one lock so lines
/// never interleave.
static WRITER: Mutex<Option<File>> = Mutex::new(None);
/// How many fd-forwarding threads are still reading, for draining at exit.
static FORWARDERS: Mutex<usize> = Mutex::new(0);
static FORWARDERS_DONE: Condvar = Condvar::new();
static DEV_NULL: AtomicI32 = AtomicI32::new(-1);
/// Held while program output is read and sent: keeps bytes in order.
static OUTPUT: Mutex<[Pipe; 2]> = Mutex::new([Pipe::new("stdout"), Pipe::new("stderr")]);

/// The read end of the pipe behind fd 1 or 2, and the bytes of a UTF-8
/// sequence split across two reads.
struct Pipe {
    fd: i32,
    category: &'static str,
    pending: Vec<u8>,
}

impl Pipe {
    const fn new(category: &'static str) -> Pipe {
        Pipe {
            fd: -1,
            category,
            pending: Vec::new(),
        }
    }

    /// Reads and sends what the pipe holds now, without blocking. False at
    /// end of file or on an error.
    fn forward_available(&mut self) -> bool {
        if self.fd < 0 {
            return false;
        }
        let mut buf = [0u8; 64 * 1024];
        loop {
            // SAFETY: reads into a buffer of the given size; the fd is ours.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                self.pending.extend_from_slice(&buf[..n as usize]);
                let cut = complete_utf8_prefix(&self.pending);
                if cut > 0 {
                    output(
                        self.category,
                        &String::from_utf8_lossy(&self.pending[..cut]),
                    );
                    self.pending.drain(..cut);
                }
                continue;
            }
            if n == 0 {
                self.flush_pending();
                return false;
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => return true,
                _ => {
                    self.flush_pending();
                    return false;
                }
            }
        }
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            output(self.category, &String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
    }
}

/// Sends what waits in both pipes (the caller holds [`OUTPUT`]).
fn forward_pipes(pipes: &mut [Pipe; 2]) {
    for pipe in pipes.iter_mut() {
        pipe.forward_available();
    }
}

/// Bytes the C streams hand over (native/output.c), sent at once in order.
/// A split UTF-8 sequence is kept for the next write of the same stream.
static STREAM_PENDING: Mutex<[Vec<u8>; 2]> = Mutex::new([Vec::new(), Vec::new()]);

extern "C" {
    fn hr_capture_stdio(write: unsafe extern "C" fn(c_int, *const c_char, usize) -> isize)
        -> c_int;
}

unsafe extern "C" fn stream_write(category: c_int, buf: *const c_char, len: usize) -> isize {
    // SAFETY: stdio passes a buffer of `len` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    let (index, name) = if category == 2 {
        (1, "stderr")
    } else {
        (0, "stdout")
    };
    let mut pipes = lock(&OUTPUT);
    forward_pipes(&mut pipes);
    let mut pending = lock(&STREAM_PENDING);
    let held = &mut pending[index];
    held.extend_from_slice(bytes);
    let cut = complete_utf8_prefix(held);
    if cut > 0 {
        output(name, &String::from_utf8_lossy(&held[..cut]));
        held.drain(..cut);
    }
    len as isize
}

/// Sends everything the program wrote so far: C streams flushed, pipes
/// emptied. Call before announcing a stop or the end.
pub fn drain() {
    // SAFETY: fflush(NULL) flushes every C stream; our streams call back
    // into `stream_write`, which takes the locks itself.
    unsafe { libc::fflush(std::ptr::null_mut()) };
    let mut pipes = lock(&OUTPUT);
    forward_pipes(&mut pipes);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn check(ret: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if ret < 0 {
        let err = io::Error::last_os_error();
        Err(io::Error::new(err.kind(), format!("{what}: {err}")))
    } else {
        Ok(ret)
    }
}

/// Moves the protocol to private descriptors and redirects fds 0, 1 and 2.
/// Returns the protocol input.
pub fn setup() -> io::Result<File> {
    // SAFETY: plain descriptor juggling at startup, before any other thread
    // exists; every returned descriptor is checked.
    unsafe {
        let proto_in = check(libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3), "dup stdin")?;
        let proto_out = check(libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3), "dup stdout")?;
        let null = check(
            libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC),
            "open /dev/null",
        )?;
        check(libc::dup2(null, 0), "redirect stdin")?;
        DEV_NULL.store(null, Ordering::SeqCst);
        *lock(&WRITER) = Some(File::from_raw_fd(proto_out));
        for (index, fd) in [(0usize, 1), (1, 2)] {
            let mut ends = [0; 2];
            check(
                libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK),
                "pipe",
            )?;
            // Only our end is non-blocking: the program's writes block as
            // on any pipe.
            let flags = check(libc::fcntl(ends[1], libc::F_GETFL), "pipe flags")?;
            check(
                libc::fcntl(ends[1], libc::F_SETFL, flags & !libc::O_NONBLOCK),
                "pipe flags",
            )?;
            check(libc::dup2(ends[1], fd), "redirect output")?;
            libc::close(ends[1]);
            lock(&OUTPUT)[index].fd = ends[0];
            *lock(&FORWARDERS) += 1;
            std::thread::Builder::new()
                .name(format!("forward-{fd}"))
                .spawn(move || forward(index, ends[0]))?;
        }
        if hr_capture_stdio(stream_write) != 0 {
            return Err(io::Error::other("cannot capture the C standard streams"));
        }
        Ok(File::from_raw_fd(proto_in))
    }
}

/// Forwards what the program writes to one pipe as output events, until
/// every writer closed it. Waits without the lock, reads and sends with it.
fn forward(index: usize, fd: i32) {
    loop {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, -1) };
        if ready < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if !lock(&OUTPUT)[index].forward_available() {
            break;
        }
    }
    *lock(&FORWARDERS) -= 1;
    FORWARDERS_DONE.notify_all();
}

/// Length of the longest prefix that does not end inside a UTF-8 sequence, so
/// a character split across two reads is sent whole.
pub fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead byte
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

/// Writes one protocol message. A session that went away ends the host.
pub fn send(message: &HostMessage) {
    let Ok(mut line) = serde_json::to_vec(message) else {
        return;
    };
    line.push(b'\n');
    let mut writer = lock(&WRITER);
    if let Some(out) = writer.as_mut() {
        if out.write_all(&line).is_err() {
            // SAFETY: ending the process; nobody is left to talk to.
            unsafe { libc::_exit(0) };
        }
    }
}

// respond, event, output: shared with the other writer (messages.rs).
pub use crate::messages::{event, output, respond};

/// Ends the program: flushes C stdio, lets the forwarders drain what the
/// program wrote to fds 1 and 2, reports `exited` and exits the process.
pub fn finish(code: i64) -> ! {
    report_exit(code);
    // SAFETY: the process ends here on purpose; the VM is not unwound.
    unsafe { libc::_exit((code & 0xff) as libc::c_int) }
}

/// Flushes and forwards all output, then sends `exited`.
fn report_exit(code: i64) {
    // SAFETY: flushing all C streams and pointing fds 1 and 2 at /dev/null so
    // the pipes' write ends close and the forwarders see end of file.
    unsafe {
        libc::fflush(std::ptr::null_mut());
        let null = DEV_NULL.load(Ordering::SeqCst);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        }
    }
    // Everything the program wrote is in the pipes by now: send all of it,
    // however slowly the session reads (no timed cut-off for the program's
    // own output; the forwarders read under the same lock, so nothing they
    // took is left unsent once we hold it).
    drain();
    // A child process that inherited the pipes can keep them open and write
    // later: only that output gets a bounded wait.
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut live = lock(&FORWARDERS);
    while *live > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        live = FORWARDERS_DONE
            .wait_timeout(live, left)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
    drop(live);
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
}

/// Reports the exit of a program that calls the C `exit` (the stock
/// `os.exit`, or C code) with its status, after all its output.
pub fn report_exit_on_exit() -> io::Result<()> {
    // SAFETY: registers a handler that runs once, on the VM thread, as the
    // process exits.
    if unsafe { on_exit(exiting, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::other("cannot register the exit handler"));
    }
    Ok(())
}

/// Ends the host at once (session gone or `terminate`).
pub fn exit_now() -> ! {
    // SAFETY: immediate process exit, as asked.
    unsafe { libc::_exit(0) }
}

#[cfg(test)]
mod tests {
    use super::complete_utf8_prefix;

    #[test]
    fn keeps_split_characters_for_the_next_read() {
        let s = "aé€😀".as_bytes();
        assert_eq!(complete_utf8_prefix(s), s.len());
        assert_eq!(complete_utf8_prefix(&s[..2]), 1); // "a" + first byte of é
        assert_eq!(complete_utf8_prefix(&s[..5]), 3); // € cut after 2 of 3 bytes
        assert_eq!(complete_utf8_prefix(&s[..9]), 6); // 😀 cut after 3 of 4 bytes
        assert_eq!(complete_utf8_prefix(b"plain"), 5);
        assert_eq!(complete_utf8_prefix(b""), 0);
    }
}
