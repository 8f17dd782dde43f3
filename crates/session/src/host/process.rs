//! `HostProcess`: a `DebugRuntime` that runs the debuggee in a host child
//! process (`hotreload-host-<runtime>`): the process lifecycle of
//! [`super::child`] joined to the JSON-lines [`super::client`].
//! Dropping the `HostProcess` kills the host and its process group.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dap::types::{ExitedEventBody, OutputEventBody};
use host_protocol::commands::{self, Command as _};
use host_protocol::CancelArguments;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::child::{self, Ending};
use super::client::{self, Client};
use super::locate::{find_host, DEFAULT_RUNTIME};
use crate::runtime::{CallId, DebugRuntime, RuntimeError, RuntimeEvent, RuntimeFactory};

pub use super::child::PROTOCOL_VERSION_ENV;

/// How long `terminate` waits for the host to exit by itself before killing
/// it, and `cancel` for the host to acknowledge.
const TERMINATE_GRACE: Duration = Duration::from_millis(1000);

/// A debuggee running in a host child process.
pub struct HostProcess {
    client: Arc<Client>,
    ending: Arc<Ending>,
    /// Firing (or dropping) this makes the supervisor kill the group.
    kill: Mutex<Option<oneshot::Sender<()>>>,
    /// Becomes true once the host is reaped and its pipes are read.
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
        let spawned = child::spawn(path, &events)?;
        let client = Client::new(spawned.stdin);
        let stdout_task = tokio::spawn(client::read_messages(
            spawned.stdout,
            client.clone(),
            events.clone(),
        ));
        let ending = Arc::new(Ending::default());
        let (kill_tx, kill_rx) = oneshot::channel();
        let (done_tx, done_rx) = watch::channel(false);
        let pid = spawned.pid;
        tokio::spawn(finish(
            child::supervise(
                spawned.child,
                pid,
                kill_rx,
                vec![stdout_task, spawned.stderr_task],
                ending.clone(),
            ),
            client.clone(),
            ending.clone(),
            events,
            done_tx,
        ));
        Ok(HostProcess {
            client,
            ending,
            kill: Mutex::new(Some(kill_tx)),
            done: done_rx,
            pid,
        })
    }

    /// The host's process id (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.pid
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

/// After the supervisor: fails every waiter, then sends `exited` (if the
/// host did not) and `terminated`, at the pace the client reads them.
async fn finish(
    supervised: impl std::future::Future<Output = std::io::Result<std::process::ExitStatus>>,
    client: Arc<Client>,
    ending: Arc<Ending>,
    events: mpsc::Sender<RuntimeEvent>,
    done: watch::Sender<bool>,
) {
    let status = supervised.await;
    client.close();
    let _ = done.send(true);
    if !client.saw_exited() {
        let code = status.as_ref().map(child::exit_code).unwrap_or(1);
        if !ending.was_asked() {
            let why = match &status {
                Ok(status) => child::describe(status),
                Err(e) => format!("could not be waited for: {e}"),
            };
            let _ = events
                .send(RuntimeEvent::Output(OutputEventBody {
                    category: Some("stderr".into()),
                    output: format!("hotreload: the debuggee's host ended unexpectedly ({why})\n"),
                    ..Default::default()
                }))
                .await;
        }
        let _ = events
            .send(RuntimeEvent::Exited(ExitedEventBody { exit_code: code }))
            .await;
    }
    let _ = events.send(RuntimeEvent::Terminated).await;
}

#[async_trait]
impl DebugRuntime for HostProcess {
    fn next_call(&self) -> CallId {
        CallId(self.client.next_id())
    }

    async fn request(
        &self,
        call: CallId,
        command: &'static str,
        arguments: Value,
    ) -> Result<Value, RuntimeError> {
        self.client.request(call.0, command, &arguments).await
    }

    async fn cancel(&self, call: CallId) {
        let arguments =
            serde_json::to_value(CancelArguments { request_id: call.0 }).unwrap_or(Value::Null);
        let id = self.client.next_id();
        // A host that does not know `cancel` answers with an error: the call
        // then simply finishes.
        let _ = tokio::time::timeout(
            TERMINATE_GRACE,
            self.client.request(id, commands::Cancel::NAME, &arguments),
        )
        .await;
    }

    async fn terminate(&self) {
        if self.is_done() {
            return;
        }
        self.ending.ask();
        // Ask politely; the host replies and exits. Kill it if it does not.
        let polite = async {
            let id = self.client.next_id();
            let _ = self
                .client
                .request(id, commands::Terminate::NAME, &Value::Null)
                .await;
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

/// Starts host child processes: the runtime factory of `serve`.
#[derive(Debug, Clone, Default)]
pub struct HostFactory {
    /// Where `hotreload-host-<runtime>` binaries live (see
    /// [`super::locate::host_dir`]).
    pub host_dir: Option<PathBuf>,
}

#[async_trait]
impl RuntimeFactory for HostFactory {
    async fn start(
        &self,
        runtime: Option<&str>,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Arc<dyn DebugRuntime>, RuntimeError> {
        let path = find_host(runtime.unwrap_or(DEFAULT_RUNTIME), self.host_dir.as_deref())?;
        Ok(Arc::new(HostProcess::spawn(&path, events)?))
    }
}
