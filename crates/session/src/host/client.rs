//! The JSON-lines client of a host: numbers requests, writes them to the
//! host's stdin, and reads its stdout, handing responses to their waiters
//! and events to the session. Knows nothing about processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dap::types::OutputEventBody;
use host_protocol::{HostEvent, HostMessage, Outcome};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::runtime::{RuntimeError, RuntimeEvent};

type Waiter = oneshot::Sender<Result<Value, RuntimeError>>;

/// Requests sent and not yet answered; `closed` once the host is gone.
#[derive(Default)]
struct Pending {
    waiters: HashMap<u64, Waiter>,
    closed: bool,
}

/// The session's side of one host connection.
pub(crate) struct Client {
    pending: Mutex<Pending>,
    next_id: AtomicU64,
    /// Request lines for the writer task. Unbounded but small: the session
    /// bounds how many requests are in flight.
    stdin: mpsc::UnboundedSender<Vec<u8>>,
    /// Set when the host reported `exited` itself.
    saw_exited: AtomicBool,
}

impl Client {
    /// A client writing to `stdin`; feed its replies with [`read_messages`].
    pub(crate) fn new(stdin: impl AsyncWrite + Unpin + Send + 'static) -> Arc<Client> {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_lines(stdin, rx));
        Arc::new(Client {
            pending: Mutex::new(Pending::default()),
            next_id: AtomicU64::new(1),
            stdin: tx,
            saw_exited: AtomicBool::new(false),
        })
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends one command and waits for its reply payload.
    pub(crate) async fn request(
        &self,
        id: u64,
        command: &str,
        arguments: &Value,
    ) -> Result<Value, RuntimeError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().map_err(|_| RuntimeError::Gone)?;
            if pending.closed {
                return Err(RuntimeError::Gone);
            }
            pending.waiters.insert(id, tx);
        }
        let line = host_protocol::commands::request_line(id, command, arguments);
        if self.stdin.send(line).is_err() {
            self.complete(id, Err(RuntimeError::Gone));
        }
        rx.await.unwrap_or(Err(RuntimeError::Gone))
    }

    /// Closes the writing side after what is queued (the peer reads the
    /// end of its input). An empty line is the signal: requests never are.
    pub(crate) fn shut_down(&self) {
        let _ = self.stdin.send(Vec::new());
    }

    /// True once the host said `exited`.
    pub(crate) fn saw_exited(&self) -> bool {
        self.saw_exited.load(Ordering::SeqCst)
    }

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

    /// Fails every waiter and refuses new requests: the host is gone.
    pub(crate) fn close(&self) {
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

async fn write_lines(
    mut stdin: impl AsyncWrite + Unpin,
    mut lines: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(line) = lines.recv().await {
        if line.is_empty() {
            let _ = stdin.shutdown().await;
            break;
        }
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

/// Reads the host's messages until its stdout closes. A line that is not a
/// host message becomes a `stderr` note; a full `events` channel slows the
/// reading (and so the host) down.
pub(crate) async fn read_messages(
    stdout: impl AsyncRead + Unpin,
    client: Arc<Client>,
    events: mpsc::Sender<RuntimeEvent>,
) {
    let mut lines = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<HostMessage>(&line) {
            Ok(HostMessage::Response(response)) => {
                let result = match response.outcome {
                    Outcome::Ok(value) => Ok(value),
                    Outcome::Failure(error) => Err(RuntimeError::Host(error)),
                };
                client.complete(response.id, result);
            }
            Ok(HostMessage::Event(event)) => {
                if matches!(event, HostEvent::Exited(_)) {
                    client.saw_exited.store(true, Ordering::SeqCst);
                }
                let _ = events.send(runtime_event(event)).await;
            }
            Err(e) => {
                let text = String::from_utf8_lossy(&line);
                let _ = events
                    .send(RuntimeEvent::Output(OutputEventBody {
                        category: Some("stderr".into()),
                        output: format!(
                            "hotreload: unreadable host message ({e}): {}\n",
                            text.trim()
                        ),
                        ..Default::default()
                    }))
                    .await;
            }
        }
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
