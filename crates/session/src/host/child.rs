//! The host's process lifecycle: spawning it in a process group of its own,
//! forwarding its stderr, reaping it, and ending the whole group (the
//! program's own children too) when it ends.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dap::types::OutputEventBody;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::runtime::{RuntimeError, RuntimeEvent};

/// Environment variable through which the host learns the protocol version.
pub const PROTOCOL_VERSION_ENV: &str = "HOTRELOAD_PROTOCOL_VERSION";

/// After a kill, how long the pipes may take to drain. A host that exits on
/// its own is read to the end, however much it wrote.
const DRAIN_AFTER_KILL: Duration = Duration::from_millis(500);

/// A started host: its protocol pipes and what the supervisor needs.
pub(super) struct Spawned {
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    pub(super) pid: Option<u32>,
    pub(super) child: Child,
    pub(super) stderr_task: JoinHandle<()>,
}

/// Starts `path` in a new session (so a process group of its own), dying
/// with this process.
pub(super) fn spawn(
    path: &Path,
    events: &mpsc::Sender<RuntimeEvent>,
) -> Result<Spawned, RuntimeError> {
    let mut command = Command::new(path);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env(
            PROTOCOL_VERSION_ENV,
            host_protocol::PROTOCOL_VERSION.to_string(),
        )
        .kill_on_drop(true);
    own_group_and_die_with_parent(&mut command);
    let mut child = command.spawn().map_err(|source| RuntimeError::Spawn {
        path: path.display().to_string(),
        source,
    })?;
    let pid = child.id();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(RuntimeError::Spawn {
            path: path.display().to_string(),
            source: std::io::Error::other("child pipes missing"),
        });
    };
    let stderr_task = tokio::spawn(read_stderr(stderr, events.clone()));
    Ok(Spawned {
        stdin,
        stdout,
        pid,
        child,
        stderr_task,
    })
}

/// Whether the end was asked for (a kill or a polite `terminate`), so the
/// exit is not reported as a crash.
#[derive(Default)]
pub(super) struct Ending {
    asked: AtomicBool,
}

impl Ending {
    pub(super) fn ask(&self) {
        self.asked.store(true, Ordering::SeqCst);
    }

    pub(super) fn was_asked(&self) -> bool {
        self.asked.load(Ordering::SeqCst)
    }
}

/// Waits for the host to exit, or kills its group when `kill` fires (or its
/// sender is dropped); then ends whatever the program left running in the
/// group and waits for the readers to reach the end of the pipes. Returns
/// the host's exit status.
pub(super) async fn supervise(
    mut child: Child,
    pid: Option<u32>,
    kill: oneshot::Receiver<()>,
    mut readers: Vec<JoinHandle<()>>,
    ending: Arc<Ending>,
) -> std::io::Result<ExitStatus> {
    let mut kill = Some(kill);
    let status = tokio::select! {
        status = child.wait() => status,
        _ = async { if let Some(k) = kill.as_mut() { let _ = k.await; } } => {
            kill = None;
            ending.ask();
            kill_group(pid);
            let _ = child.start_kill();
            child.wait().await
        }
    };
    // Children of the program (`io.popen`, `os.execute('... &')`) end with it.
    kill_group(pid);
    let drained = async {
        for reader in readers.iter_mut() {
            let _ = reader.await;
        }
    };
    tokio::pin!(drained);
    if !ending.was_asked() {
        // Read everything the host wrote, unless a kill comes first.
        tokio::select! {
            () = &mut drained => return status,
            _ = async { if let Some(k) = kill.as_mut() { let _ = k.await; } } => ending.ask(),
        }
    }
    if tokio::time::timeout(DRAIN_AFTER_KILL, &mut drained)
        .await
        .is_err()
    {
        for reader in &readers {
            reader.abort();
        }
    }
    status
}

/// Kills every process of the host's group (the host is its leader).
fn kill_group(pid: Option<u32>) {
    // Never 0 or 1: kill(0)/kill(-1) would hit our own group or everything.
    let Some(pid) = pid
        .and_then(|p| libc::pid_t::try_from(p).ok())
        .filter(|p| *p > 1)
    else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals that process group only.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Puts the host in a session (and process group) of its own, and makes the
/// kernel kill it when the thread that spawned it dies, so a killed adapter
/// or editor never leaves a debuggee behind.
fn own_group_and_die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only calls
        // async-signal-safe functions (setsid, prctl, getppid, _exit).
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        command.process_group(0);
    }
}

async fn read_stderr(stderr: impl AsyncRead + Unpin, events: mpsc::Sender<RuntimeEvent>) {
    let mut lines = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let _ = events
            .send(RuntimeEvent::Output(OutputEventBody {
                category: Some("stderr".into()),
                output: String::from_utf8_lossy(&line).into_owned(),
                ..Default::default()
            }))
            .await;
    }
}

/// The exit code reported for a status (128 + signal for a killed host).
pub(super) fn exit_code(status: &ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => 128 + i64::from(signal),
        (None, None) => 1,
    }
}

/// A status in words, for the "ended unexpectedly" note.
pub(super) fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown status".into(),
    }
}
