//! Attach: a [`DebugRuntime`] whose VM lives in a program we did not start.
//! The program loaded the agent (`crates/agent`), which speaks the host
//! protocol over a socket: `listen` waits for it to connect, `connect`
//! reaches an agent that listens. Both sides greet first
//! (`host_protocol::attach::Greeting`); over TCP each presents the token.
//!
//! Ending differs from a launched host: [`DebugRuntime::terminate`] only
//! closes the connection (the agent detaches, the program runs on); the
//! program exiting or crashing closes it from the other side, which ends the
//! session with `exited` and `terminated`.

mod heartbeat;
mod socket;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dap::types::{AttachArguments, ExitedEventBody, OutputEventBody};
use host_protocol::attach::{Address, Greeting};
use host_protocol::commands::{self, Command as _};
use host_protocol::CancelArguments;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::host::client::{self, Client};
use crate::runtime::{CallId, DebugRuntime, RuntimeError, RuntimeEvent};

pub use socket::AttachError;

/// How long `cancel` waits for the agent's acknowledgement.
const CANCEL_GRACE: Duration = Duration::from_millis(1000);
/// After this long without an answer the user is told why it may take
/// longer: the agent answers only while the program runs Lua.
const SILENCE_NOTE: Duration = Duration::from_secs(10);

/// The program an agent attached us to.
pub struct AgentConnection {
    client: Arc<Client>,
    /// Set by `terminate`: the end is ours, not the program's.
    detached: Arc<watch::Sender<bool>>,
    done: watch::Receiver<bool>,
    /// Who the agent said it is.
    greeting: Greeting,
    /// The listener's task (refusing later agents), stopped with us.
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// For notes about a silent program.
    events: mpsc::Sender<RuntimeEvent>,
}

impl AgentConnection {
    /// What the agent said about itself.
    pub fn greeting(&self) -> &Greeting {
        &self.greeting
    }
}

/// Attaches as `args` say: waits for the agent (`listen`) or connects to it
/// (`connect`), greets, and starts reading its messages into `events`.
/// Notes for the user (where it listens, refused agents) go to `notes` as
/// console output: straight to the client, while `events` may wait behind
/// a layer (source maps) that starts only once attached.
pub async fn attach(
    args: &AttachArguments,
    events: mpsc::Sender<RuntimeEvent>,
    notes: mpsc::Sender<RuntimeEvent>,
) -> Result<Arc<AgentConnection>, AttachError> {
    let (address, listen) = match (&args.listen, &args.connect) {
        (Some(a), None) => (a, true),
        (None, Some(a)) => (a, false),
        (Some(_), Some(_)) => return Err(AttachError::Arguments("give either 'listen' or 'connect', not both".into())),
        (None, None) => {
            return Err(AttachError::Arguments(
                "'attach' needs 'listen' (wait for the program) or 'connect' (reach its agent): host:port on loopback, or a Unix socket path".into(),
            ))
        }
    };
    let address = Address::parse(address).map_err(|e| AttachError::Arguments(e.to_string()))?;
    let token = args.token.clone().filter(|t| !t.is_empty());
    if address.is_tcp() && token.is_none() {
        return Err(AttachError::Arguments(format!(
            "{address}: attaching over TCP needs a 'token' (give the program the same one as HOTRELOAD_TOKEN)"
        )));
    }
    let timeout = match args.timeout {
        Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t.min(1e9))),
        Some(_) => {
            return Err(AttachError::Arguments(
                "'timeout' must be a positive number of seconds".into(),
            ))
        }
        None => None,
    };
    let (stream, greeting, listener) = if listen {
        socket::wait_for_agent(&address, token, timeout, notes).await?
    } else {
        let (stream, greeting) = socket::connect_to_agent(&address, token, timeout).await?;
        (stream, greeting, None)
    };
    Ok(start(stream, greeting, listener, events))
}

fn start(
    stream: socket::Connected,
    greeting: Greeting,
    listener: Option<tokio::task::JoinHandle<()>>,
    events: mpsc::Sender<RuntimeEvent>,
) -> Arc<AgentConnection> {
    let (read, write) = stream.split();
    let client = Client::new(write);
    let (detached_tx, detached_rx) = watch::channel(false);
    let detached = Arc::new(detached_tx);
    let (done_tx, done_rx) = watch::channel(false);
    let reader_client = client.clone();
    let notes = events.clone();
    let heard = heartbeat::LastHeard::now();
    let read = heartbeat::Watched::new(read, heard.clone());
    let limit = heartbeat::silence_limit();
    tokio::spawn(async move {
        let silent = tokio::select! {
            () = client::read_messages(read, reader_client.clone(), events.clone()) => false,
            () = heard.until_silent_for(limit) => true,
        };
        reader_client.close();
        if silent {
            // Closing our end lets the agent detach if the program wakes.
            reader_client.shut_down();
        }
        if !*detached_rx.borrow() && !reader_client.saw_exited() {
            let output = if silent {
                format!(
                    "hotreload: the attached program stopped answering: its agent sent nothing for {} s (the process is stopped or hung, not merely busy in C); the session ends and the program is left as it is\n",
                    limit.as_secs_f64()
                )
            } else {
                "hotreload: the attached program closed the connection (it exited or crashed)\n"
                    .into()
            };
            let _ = events
                .send(RuntimeEvent::Output(OutputEventBody {
                    category: Some("stderr".into()),
                    output,
                    ..Default::default()
                }))
                .await;
            let _ = events
                .send(RuntimeEvent::Exited(ExitedEventBody { exit_code: 1 }))
                .await;
        }
        let _ = done_tx.send(true);
        let _ = events.send(RuntimeEvent::Terminated).await;
    });
    Arc::new(AgentConnection {
        client,
        detached,
        done: done_rx,
        greeting,
        listener: Mutex::new(listener),
        events: notes,
    })
}

#[async_trait]
impl DebugRuntime for AgentConnection {
    fn next_call(&self) -> CallId {
        CallId(self.client.next_id())
    }

    async fn request(
        &self,
        call: CallId,
        command: &'static str,
        arguments: Value,
    ) -> Result<Value, RuntimeError> {
        if command == commands::Launch::NAME {
            return Err(RuntimeError::failed(
                host_protocol::ErrorKind::Refused,
                "this session is attached to a running program: 'launch' does not apply",
            ));
        }
        let answer = self.client.request(call.0, command, &arguments);
        tokio::pin!(answer);
        tokio::select! {
            result = &mut answer => return result,
            () = tokio::time::sleep(SILENCE_NOTE) => {}
        }
        // The session goes on waiting: a program blocked in C (or idle
        // outside Lua) answers when it runs Lua again; one that ends
        // closes the connection, which fails the request.
        let _ = self
            .events
            .send(RuntimeEvent::Output(OutputEventBody {
                category: Some("console".into()),
                output: format!(
                    "hotreload: the attached program has not answered '{command}' for {} s: it runs no Lua right now (blocked in a C call?); the answer comes when it does\n",
                    SILENCE_NOTE.as_secs()
                ),
                ..Default::default()
            }))
            .await;
        answer.await
    }

    async fn cancel(&self, call: CallId) {
        let arguments =
            serde_json::to_value(CancelArguments { request_id: call.0 }).unwrap_or(Value::Null);
        let id = self.client.next_id();
        let _ = tokio::time::timeout(
            CANCEL_GRACE,
            self.client.request(id, commands::Cancel::NAME, &arguments),
        )
        .await;
    }

    /// Detaches: the connection closes, the agent clears its breakpoints and
    /// lets a stopped program go on. The program is never killed.
    async fn terminate(&self) {
        if *self.done.borrow() {
            return;
        }
        let _ = self.detached.send(true);
        self.client.shut_down();
        if let Some(listener) = self.listener.lock().ok().and_then(|mut l| l.take()) {
            listener.abort();
        }
        let mut done = self.done.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), done.wait_for(|d| *d)).await;
    }
}

impl Drop for AgentConnection {
    fn drop(&mut self) {
        self.client.shut_down();
        if let Some(listener) = self.listener.lock().ok().and_then(|mut l| l.take()) {
            listener.abort();
        }
    }
}
