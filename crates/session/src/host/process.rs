//! `HostProcess`: a `DebugRuntime` that runs the debuggee in a child process
//! (`hotreload-host-<runtime>`) and speaks the JSON-lines protocol of
//! `host_protocol` over its stdin and stdout.
//!
//! Tasks per host: a stdin writer, a stdout reader (responses to waiters,
//! events to the session), a stderr reader (forwarded as `stderr` output) and
//! a supervisor that owns the child, reaps it, fails every pending waiter and
//! sends the last events. Dropping the `HostProcess` kills the child.

use std::collections::HashMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dap::types::{
    CompletionsArguments, CompletionsResponseBody, EvaluateArguments, EvaluateResponseBody,
    ExitedEventBody, HotReloadArguments, HotReloadResponseBody, LaunchArguments, OutputEventBody,
    ScopesArguments, ScopesResponseBody, SetBreakpointsArguments, SetBreakpointsResponseBody,
    SetExceptionBreakpointsArguments, SetExceptionBreakpointsResponseBody, SetVariableArguments,
    SetVariableResponseBody, StackTraceArguments, StackTraceResponseBody, ThreadsResponseBody,
    VariablesArguments, VariablesResponseBody,
};
use host_protocol::{HostCommand, HostEvent, HostMessage, HostRequest, Outcome};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot, watch};

use crate::runtime::{DebugRuntime, RuntimeError, RuntimeEvent};

/// Environment variable through which the host learns the protocol version.
pub const PROTOCOL_VERSION_ENV: &str = "HOTRELOAD_PROTOCOL_VERSION";

/// How long `terminate` waits for the host to exit by itself before killing it.
const TERMINATE_GRACE: Duration = Duration::from_millis(1000);
/// How long the supervisor waits for the pipes to drain after the child exited
/// (a grandchild may hold them open).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

type Waiter = oneshot::Sender<Result<Value, RuntimeError>>;

/// Requests sent and not yet answered; `closed` once the host is gone.
#[derive(Default)]
struct Pending {
    waiters: HashMap<u64, Waiter>,
    closed: bool,
}

/// State shared by the handle and its tasks.
struct Shared {
    pending: Mutex<Pending>,
    /// Set when the host reported `exited` itself.
    saw_exited: AtomicBool,
    /// Set when we asked the host to end, so its exit is not a crash.
    terminating: AtomicBool,
}

impl Shared {
    fn complete(&self, id: u64, result: Result<Value, RuntimeError>) {
        let waiter = self
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.waiters.remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(result);
        }
    }

    /// Fails every waiter and refuses new requests.
    fn close(&self) {
        let waiters = match self.pending.lock() {
            Ok(mut p) => {
                p.closed = true;
                std::mem::take(&mut p.waiters)
            }
            Err(_) => HashMap::new(),
        };
        for (_, waiter) in waiters {
            let _ = waiter.send(Err(RuntimeError::Gone));
        }
    }
}

/// A debuggee running in a host child process.
pub struct HostProcess {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    stdin: mpsc::UnboundedSender<Vec<u8>>,
    /// Firing (or dropping) this makes the supervisor kill the child.
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// Becomes true once the child is reaped and the last events are sent.
    done: watch::Receiver<bool>,
    pid: Option<u32>,
}

impl HostProcess {
    /// Starts the host binary at `path`. Events (ending with
    /// [`RuntimeEvent::Terminated`]) go to `events`; a full channel slows the
    /// host's output down instead of buffering without bound.
    pub fn spawn(
        path: &Path,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<HostProcess, RuntimeError> {
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
        die_with_parent(&mut command);
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

        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            saw_exited: AtomicBool::new(false),
            terminating: AtomicBool::new(false),
        });
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_stdin(stdin, stdin_rx));
        let stdout_task = tokio::spawn(read_stdout(stdout, shared.clone(), events.clone()));
        let stderr_task = tokio::spawn(read_stderr(stderr, events.clone()));
        let (kill_tx, kill_rx) = oneshot::channel();
        let (done_tx, done_rx) = watch::channel(false);
        tokio::spawn(supervise(Supervised {
            child,
            kill: kill_rx,
            readers: [stdout_task, stderr_task],
            shared: shared.clone(),
            events,
            done: done_tx,
        }));

        Ok(HostProcess {
            shared,
            next_id: AtomicU64::new(1),
            stdin: stdin_tx,
            kill: Mutex::new(Some(kill_tx)),
            done: done_rx,
            pid,
        })
    }

    /// The host's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Sends one command and waits for its reply payload.
    async fn request(&self, command: HostCommand) -> Result<Value, RuntimeError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.shared.pending.lock().map_err(|_| RuntimeError::Gone)?;
            if pending.closed {
                return Err(RuntimeError::Gone);
            }
            pending.waiters.insert(id, tx);
        }
        let mut line = serde_json::to_vec(&HostRequest { id, command })
            .map_err(|e| RuntimeError::Protocol(e.to_string()))?;
        line.push(b'\n');
        if self.stdin.send(line).is_err() {
            self.shared.complete(id, Err(RuntimeError::Gone));
        }
        rx.await.unwrap_or(Err(RuntimeError::Gone))
    }

    async fn call<T: DeserializeOwned>(&self, command: HostCommand) -> Result<T, RuntimeError> {
        let value = self.request(command).await?;
        serde_json::from_value(value).map_err(|e| RuntimeError::Protocol(e.to_string()))
    }

    /// For commands whose reply is `null`: any payload is accepted.
    async fn call_unit(&self, command: HostCommand) -> Result<(), RuntimeError> {
        self.request(command).await.map(drop)
    }

    fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    async fn wait_done(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    fn kill(&self) {
        if let Some(kill) = self.kill.lock().ok().and_then(|mut k| k.take()) {
            let _ = kill.send(());
        }
    }
}

#[async_trait]
impl DebugRuntime for HostProcess {
    async fn launch(&self, args: LaunchArguments) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::Launch(args)).await
    }

    async fn set_breakpoints(
        &self,
        args: SetBreakpointsArguments,
    ) -> Result<SetBreakpointsResponseBody, RuntimeError> {
        self.call(HostCommand::SetBreakpoints(args)).await
    }

    async fn set_exception_breakpoints(
        &self,
        args: SetExceptionBreakpointsArguments,
    ) -> Result<SetExceptionBreakpointsResponseBody, RuntimeError> {
        self.call(HostCommand::SetExceptionBreakpoints(args)).await
    }

    async fn configuration_done(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::ConfigurationDone).await
    }

    async fn threads(&self) -> Result<ThreadsResponseBody, RuntimeError> {
        self.call(HostCommand::Threads).await
    }

    async fn continue_(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::Continue).await
    }

    async fn next(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::Next).await
    }

    async fn step_in(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::StepIn).await
    }

    async fn step_out(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::StepOut).await
    }

    async fn pause(&self) -> Result<(), RuntimeError> {
        self.call_unit(HostCommand::Pause).await
    }

    async fn stack_trace(
        &self,
        args: StackTraceArguments,
    ) -> Result<StackTraceResponseBody, RuntimeError> {
        self.call(HostCommand::StackTrace(args)).await
    }

    async fn scopes(&self, args: ScopesArguments) -> Result<ScopesResponseBody, RuntimeError> {
        self.call(HostCommand::Scopes(args)).await
    }

    async fn variables(
        &self,
        args: VariablesArguments,
    ) -> Result<VariablesResponseBody, RuntimeError> {
        self.call(HostCommand::Variables(args)).await
    }

    async fn evaluate(
        &self,
        args: EvaluateArguments,
    ) -> Result<EvaluateResponseBody, RuntimeError> {
        self.call(HostCommand::Evaluate(args)).await
    }

    async fn set_variable(
        &self,
        args: SetVariableArguments,
    ) -> Result<SetVariableResponseBody, RuntimeError> {
        self.call(HostCommand::SetVariable(args)).await
    }

    async fn completions(
        &self,
        args: CompletionsArguments,
    ) -> Result<CompletionsResponseBody, RuntimeError> {
        self.call(HostCommand::Completions(args)).await
    }

    async fn hot_reload(
        &self,
        args: HotReloadArguments,
    ) -> Result<HotReloadResponseBody, RuntimeError> {
        self.call(HostCommand::HotReload(args)).await
    }

    async fn forward(&self, command: HostCommand) -> Result<Value, RuntimeError> {
        self.request(command).await
    }

    async fn terminate(&self) {
        if self.is_done() {
            return;
        }
        self.shared.terminating.store(true, Ordering::SeqCst);
        // Ask politely; the host replies and exits. Kill it if it does not.
        let polite = async {
            let _ = self.request(HostCommand::Terminate).await;
            self.wait_done().await;
        };
        if tokio::time::timeout(TERMINATE_GRACE, polite).await.is_err() {
            self.kill();
        }
        self.wait_done().await;
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Makes the kernel kill the host when the thread that spawned it dies, so a
/// killed adapter or editor never leaves a debuggee behind.
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs between fork and exec and only calls
        // async-signal-safe functions (prctl, getppid, _exit).
        unsafe {
            command.pre_exec(move || {
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
    let _ = command;
}

async fn write_stdin(mut stdin: ChildStdin, mut lines: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(line) = lines.recv().await {
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

async fn read_stdout(
    stdout: impl AsyncRead + Unpin,
    shared: Arc<Shared>,
    events: mpsc::Sender<RuntimeEvent>,
) {
    let mut lines = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<HostMessage>(text) {
            Ok(HostMessage::Response(response)) => {
                let result = match response.outcome {
                    Outcome::Ok(value) => Ok(value),
                    Outcome::Error(message) => Err(RuntimeError::Failed(message)),
                };
                shared.complete(response.id, result);
            }
            Ok(HostMessage::Event(event)) => {
                if matches!(event, HostEvent::Exited(_)) {
                    shared.saw_exited.store(true, Ordering::SeqCst);
                }
                let _ = events.send(runtime_event(event)).await;
            }
            Err(e) => {
                let _ = events
                    .send(RuntimeEvent::Output(OutputEventBody {
                        category: Some("stderr".into()),
                        output: format!("hotreload: unreadable host message ({e}): {text}\n"),
                        ..Default::default()
                    }))
                    .await;
            }
        }
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

fn runtime_event(event: HostEvent) -> RuntimeEvent {
    match event {
        HostEvent::Stopped(body) => RuntimeEvent::Stopped(body),
        HostEvent::Continued(body) => RuntimeEvent::Continued(body),
        HostEvent::Output(body) => RuntimeEvent::Output(body),
        HostEvent::Thread(body) => RuntimeEvent::Thread(body),
        HostEvent::Exited(body) => RuntimeEvent::Exited(body),
        HostEvent::LoadedSource(body) => RuntimeEvent::LoadedSource(body),
        HostEvent::Breakpoint(body) => RuntimeEvent::Breakpoint(body),
    }
}

struct Supervised {
    child: Child,
    kill: oneshot::Receiver<()>,
    readers: [tokio::task::JoinHandle<()>; 2],
    shared: Arc<Shared>,
    events: mpsc::Sender<RuntimeEvent>,
    done: watch::Sender<bool>,
}

/// Waits for the child to exit (or kills it when asked or when the handle is
/// dropped), then fails every waiter and sends `Exited` (if the host did not)
/// and `Terminated`.
async fn supervise(mut s: Supervised) {
    let status = tokio::select! {
        status = s.child.wait() => status,
        _ = &mut s.kill => {
            s.shared.terminating.store(true, Ordering::SeqCst);
            let _ = s.child.start_kill();
            s.child.wait().await
        }
    };
    for reader in &mut s.readers {
        if tokio::time::timeout(DRAIN_GRACE, &mut *reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
    s.shared.close();
    // Reaped: `terminate` may return. The last events follow at the pace the
    // client reads them.
    let _ = s.done.send(true);
    if !s.shared.saw_exited.load(Ordering::SeqCst) {
        let code = status.as_ref().map(exit_code).unwrap_or(1);
        if !s.shared.terminating.load(Ordering::SeqCst) {
            let why = match &status {
                Ok(status) => describe(status),
                Err(e) => format!("could not be waited for: {e}"),
            };
            let _ = s
                .events
                .send(RuntimeEvent::Output(OutputEventBody {
                    category: Some("stderr".into()),
                    output: format!("hotreload: the debuggee's host ended unexpectedly ({why})\n"),
                    ..Default::default()
                }))
                .await;
        }
        let _ = s
            .events
            .send(RuntimeEvent::Exited(ExitedEventBody { exit_code: code }))
            .await;
    }
    let _ = s.events.send(RuntimeEvent::Terminated).await;
}

fn exit_code(status: &ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => 128 + i64::from(signal),
        (None, None) => 1,
    }
}

fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "unknown status".into(),
    }
}
