//! A scripted runtime and a DAP peer for transcript tests. The runtime
//! answers each host command as the test's script says (a reply, a failure,
//! blocking until cancelled, or dying) and records what it was sent.

#![allow(dead_code)] // not every test uses every helper

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dap::types::ExitedEventBody;
use host_protocol::ErrorKind;
use serde_json::{json, Value};
use session::{CallId, DebugRuntime, RuntimeError, RuntimeEvent, RuntimeFactory, SessionError};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long any one expected message may take: generous for loaded machines.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What the scripted runtime does with one command.
pub enum Step {
    /// Answer with this payload.
    Reply(Value),
    /// Fail with this message.
    Fail(String),
    /// Fail with this structured error.
    Error(host_protocol::HostError),
    /// Wait until the call is cancelled (answered `cancelled`) or the
    /// runtime ends.
    Block,
    /// End the runtime now, as a crash would: exit code 1.
    Die,
}

type Script = Arc<dyn Fn(&str, &Value) -> Step + Send + Sync>;

#[derive(Default)]
struct Record {
    commands: Vec<(String, Value)>,
    cancelled: Vec<u64>,
    started: usize,
    /// Weak, so the session sees the runtime's events end with it.
    events: Option<mpsc::WeakSender<RuntimeEvent>>,
}

struct ScriptedRuntime {
    script: Script,
    record: Arc<Mutex<Record>>,
    events: mpsc::Sender<RuntimeEvent>,
    next: AtomicU64,
    blocked: Mutex<HashMap<u64, oneshot::Sender<Result<Value, RuntimeError>>>>,
    ended: Mutex<bool>,
}

impl ScriptedRuntime {
    async fn end(&self, code: i64) {
        {
            let Ok(mut ended) = self.ended.lock() else {
                return;
            };
            if *ended {
                return;
            }
            *ended = true;
        }
        let blocked = std::mem::take(&mut *self.blocked.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, waiter) in blocked {
            let _ = waiter.send(Err(RuntimeError::Gone));
        }
        let _ = self
            .events
            .send(RuntimeEvent::Exited(ExitedEventBody { exit_code: code }))
            .await;
        let _ = self.events.send(RuntimeEvent::Terminated).await;
    }

    fn is_ended(&self) -> bool {
        self.ended.lock().map(|e| *e).unwrap_or(true)
    }
}

#[async_trait]
impl DebugRuntime for ScriptedRuntime {
    fn next_call(&self) -> CallId {
        CallId(self.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn request(
        &self,
        call: CallId,
        command: &'static str,
        arguments: Value,
    ) -> Result<Value, RuntimeError> {
        if self.is_ended() {
            return Err(RuntimeError::Gone);
        }
        if let Ok(mut record) = self.record.lock() {
            record
                .commands
                .push((command.to_owned(), arguments.clone()));
        }
        match (self.script)(command, &arguments) {
            Step::Reply(value) => Ok(value),
            Step::Fail(message) => Err(RuntimeError::failed(ErrorKind::Runtime, message)),
            Step::Error(error) => Err(RuntimeError::Host(error)),
            Step::Block => {
                let (tx, rx) = oneshot::channel();
                if let Ok(mut blocked) = self.blocked.lock() {
                    blocked.insert(call.0, tx);
                }
                rx.await.unwrap_or(Err(RuntimeError::Gone))
            }
            Step::Die => {
                self.end(1).await;
                Err(RuntimeError::Gone)
            }
        }
    }

    async fn cancel(&self, call: CallId) {
        if let Ok(mut record) = self.record.lock() {
            record.cancelled.push(call.0);
        }
        let waiter = self.blocked.lock().ok().and_then(|mut b| b.remove(&call.0));
        if let Some(waiter) = waiter {
            let _ = waiter.send(Err(RuntimeError::failed(ErrorKind::Cancelled, "cancelled")));
        }
    }

    async fn terminate(&self) {
        self.end(0).await;
    }
}

struct ScriptedFactory {
    script: Script,
    record: Arc<Mutex<Record>>,
}

#[async_trait]
impl RuntimeFactory for ScriptedFactory {
    async fn start(
        &self,
        _runtime: Option<&str>,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Arc<dyn DebugRuntime>, RuntimeError> {
        if let Ok(mut record) = self.record.lock() {
            record.started += 1;
            record.events = Some(events.downgrade());
        }
        Ok(Arc::new(ScriptedRuntime {
            script: self.script.clone(),
            record: self.record.clone(),
            events,
            next: AtomicU64::new(1),
            blocked: Mutex::new(HashMap::new()),
            ended: Mutex::new(false),
        }))
    }
}

/// The client's side of a session served over an in-memory pipe.
pub struct Peer {
    reader: ReadHalf<DuplexStream>,
    writer: WriteHalf<DuplexStream>,
    buf: Vec<u8>,
    seq: i64,
    backlog: VecDeque<Value>,
    record: Arc<Mutex<Record>>,
    session: Option<JoinHandle<Result<(), SessionError>>>,
    /// Everything received, for failure messages.
    seen: Vec<Value>,
}

impl Peer {
    /// Serves a session whose runtimes follow `script`.
    pub fn start(script: impl Fn(&str, &Value) -> Step + Send + Sync + 'static) -> Peer {
        let record = Arc::new(Mutex::new(Record::default()));
        let factory = Arc::new(ScriptedFactory {
            script: Arc::new(script),
            record: record.clone(),
        });
        let (client, server) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server);
        let session = tokio::spawn(session::serve_with(
            server_read,
            server_write,
            factory,
            None,
        ));
        let (reader, writer) = tokio::io::split(client);
        Peer {
            reader,
            writer,
            buf: Vec::new(),
            seq: 0,
            backlog: VecDeque::new(),
            record,
            session: Some(session),
            seen: Vec::new(),
        }
    }

    /// Sends one raw body in a correct frame.
    pub async fn raw(&mut self, body: &[u8]) {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        self.writer
            .write_all(&frame)
            .await
            .unwrap_or_else(|e| panic!("write: {e}"));
    }

    /// Sends a request; returns its seq.
    pub async fn send(&mut self, command: &str, arguments: Value) -> i64 {
        self.seq += 1;
        let body =
            json!({"seq": self.seq, "type": "request", "command": command, "arguments": arguments});
        self.raw(body.to_string().as_bytes()).await;
        self.seq
    }

    async fn read_message(&mut self) -> Option<Value> {
        loop {
            match dap::decode(&mut self.buf) {
                Ok(Some(message)) => {
                    let value = serde_json::to_value(message).unwrap_or_default();
                    self.seen.push(value.clone());
                    return Some(value);
                }
                Ok(None) => {}
                Err(e) => panic!("the session sent an undecodable frame: {e}"),
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout(TIMEOUT, self.reader.read(&mut chunk))
                .await
                .unwrap_or_else(|_| panic!("nothing arrived in time; so far: {:#?}", self.seen))
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next message (earlier skipped ones first).
    pub async fn next(&mut self) -> Value {
        if let Some(message) = self.backlog.pop_front() {
            return message;
        }
        match self.read_message().await {
            Some(message) => message,
            None => panic!("the session closed; so far: {:#?}", self.seen),
        }
    }

    /// The next message must contain `pattern` (objects compared by the
    /// keys the pattern has).
    pub async fn expect(&mut self, pattern: Value) -> Value {
        let message = self.next().await;
        assert!(
            contains(&message, &pattern),
            "expected {pattern}\n     got {message}\nso far: {:#?}",
            self.seen
        );
        message
    }

    /// Sends a request; the very next message must be its response,
    /// containing `pattern`.
    pub async fn expect_response(&mut self, command: &str, arguments: Value, pattern: Value) {
        let seq = self.send(command, arguments).await;
        let message = self
            .expect(json!({"type": "response", "request_seq": seq}))
            .await;
        assert!(
            contains(&message, &pattern),
            "{command}: expected {pattern}, got {message}"
        );
    }

    /// Sends a request and returns its response, keeping events for later.
    pub async fn request(&mut self, command: &str, arguments: Value) -> Value {
        let seq = self.send(command, arguments).await;
        let mut skipped = Vec::new();
        let response = loop {
            let message = match self.read_message().await {
                Some(m) => m,
                None => panic!("the session closed before answering {command}"),
            };
            if message["type"] == "response" && message["request_seq"] == seq {
                break message;
            }
            skipped.push(message);
        };
        self.backlog.extend(skipped);
        response
    }

    /// The next `n` responses, in arrival order, keeping events for later.
    pub async fn responses(&mut self, n: usize) -> Vec<Value> {
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        while found.len() < n {
            let message = match self.backlog.pop_front() {
                Some(m) => m,
                None => match self.read_message().await {
                    Some(m) => m,
                    None => panic!("the session closed; so far: {:#?}", self.seen),
                },
            };
            if message["type"] == "response" {
                found.push(message);
            } else {
                skipped.push(message);
            }
        }
        self.backlog.extend(skipped);
        found
    }

    /// `initialize`, `launch`, `initialized`, `configurationDone`.
    pub async fn launched(&mut self) {
        self.request("initialize", json!({"adapterID": "t"})).await;
        self.expect_response(
            "launch",
            json!({"program": "/p/main.lua"}),
            json!({"success": true}),
        )
        .await;
        self.expect(json!({"type": "event", "event": "initialized"}))
            .await;
        self.expect_response("configurationDone", json!({}), json!({"success": true}))
            .await;
    }

    /// Sends a runtime event as the runtime would.
    pub async fn emit(&self, event: RuntimeEvent) {
        let events = self
            .record
            .lock()
            .ok()
            .and_then(|r| r.events.as_ref().and_then(mpsc::WeakSender::upgrade));
        let events = events.unwrap_or_else(|| panic!("no runtime running"));
        events
            .send(event)
            .await
            .unwrap_or_else(|_| panic!("the session stopped taking events"));
    }

    /// The host commands the runtime received, with their arguments.
    pub fn commands(&self) -> Vec<(String, Value)> {
        self.record
            .lock()
            .map(|r| r.commands.clone())
            .unwrap_or_default()
    }

    /// The calls the session cancelled.
    pub fn cancelled(&self) -> Vec<u64> {
        self.record
            .lock()
            .map(|r| r.cancelled.clone())
            .unwrap_or_default()
    }

    /// How many runtimes the session started.
    pub fn started(&self) -> usize {
        self.record.lock().map(|r| r.started).unwrap_or_default()
    }

    /// `disconnect`: its response, whatever events come after, and a
    /// session that ends without error.
    pub async fn disconnect(mut self) {
        let seq = self.send("disconnect", json!({})).await;
        loop {
            let message = self.next().await;
            if message["type"] == "response" && message["request_seq"] == seq {
                assert_eq!(message["success"], true, "{message}");
                break;
            }
        }
        self.closed().await;
    }

    /// The session ends by itself, without error.
    pub async fn closed(&mut self) {
        if let Some(session) = self.session.take() {
            let result = tokio::time::timeout(TIMEOUT, session)
                .await
                .unwrap_or_else(|_| panic!("the session did not end"));
            match result {
                Ok(Ok(())) => {}
                other => panic!("the session ended badly: {other:?}"),
            }
        }
    }
}

/// True when `value` has everything `pattern` has.
fn contains(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p
            .iter()
            .all(|(k, pv)| v.get(k).is_some_and(|vv| contains(vv, pv))),
        _ => value == pattern,
    }
}
