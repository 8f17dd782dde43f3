//! The host's file descriptors and its one protocol writer.
//!
//! At startup the protocol streams move to private descriptors (close-on-exec,
//! so the debuggee's child processes never see them), fd 0 reads /dev/null,
//! and fds 1 and 2 become pipes whose bytes are forwarded as `output` events:
//! whatever C code or child processes write still reaches the client.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use dap::types::{ExitedEventBody, OutputEventBody};
use host_protocol::{HostEvent, HostMessage, HostResponse, Outcome};

/// The protocol output; every message goes through this one lock so lines
/// never interleave.
static WRITER: Mutex<Option<File>> = Mutex::new(None);
/// How many fd-forwarding threads are still reading, for draining at exit.
static FORWARDERS: Mutex<usize> = Mutex::new(0);
static FORWARDERS_DONE: Condvar = Condvar::new();
static DEV_NULL: AtomicI32 = AtomicI32::new(-1);

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
        for (fd, category) in [(1, "stdout"), (2, "stderr")] {
            let mut ends = [0; 2];
            check(libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
            check(libc::dup2(ends[1], fd), "redirect output")?;
            libc::close(ends[1]);
            let reader = File::from_raw_fd(ends[0]);
            *lock(&FORWARDERS) += 1;
            std::thread::Builder::new()
                .name(format!("forward-{category}"))
                .spawn(move || forward(reader, category))?;
        }
        Ok(File::from_raw_fd(proto_in))
    }
}

/// Forwards raw bytes from a pipe as output events until every writer closed it.
fn forward(mut reader: File, category: &'static str) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                pending.extend_from_slice(&buf[..n]);
                let cut = complete_utf8_prefix(&pending);
                if cut > 0 {
                    output(category, &String::from_utf8_lossy(&pending[..cut]));
                    pending.drain(..cut);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if !pending.is_empty() {
        output(category, &String::from_utf8_lossy(&pending));
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

/// Answers request `id`.
pub fn respond(id: u64, outcome: Outcome) {
    send(&HostMessage::Response(HostResponse { id, outcome }));
}

/// Sends an event.
pub fn event(event: HostEvent) {
    send(&HostMessage::Event(event));
}

/// Sends program or host text as an `output` event (nothing for empty text).
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

/// Ends the program: flushes C stdio, lets the forwarders drain what the
/// program wrote to fds 1 and 2, reports `exited` and exits the process.
pub fn finish(code: i64) -> ! {
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
    // A child process that inherited the pipes can keep them open: bounded wait.
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
    // SAFETY: the process ends here on purpose; the VM is not unwound.
    unsafe { libc::_exit((code & 0xff) as libc::c_int) }
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
