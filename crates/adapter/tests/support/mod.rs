//! A small real DAP client driving `hotreload-dap` over its stdio pipes.
//!
//! Every message sent and received is kept; any failed expectation panics
//! with the whole transcript so the failure shows what actually arrived.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use dap::{Event, Message, Response};
use serde_json::{json, Value};

/// A failed response as the session answers it: `message`, and
/// `body.error` (DAP's ErrorResponse) whose `variables` say the kind and
/// where.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `variables.kind`: `compile`, `runtime`, `refused`, `notFound`, ...
    pub kind: String,
    /// The response's `message` (also `error.format`).
    pub message: String,
    /// `variables.path`.
    pub path: Option<String>,
    /// `variables.line`.
    pub line: Option<i64>,
    /// `variables.reason`: the message without its position.
    pub reason: Option<String>,
    /// `error.showUser`.
    pub show_user: bool,
}

impl Failure {
    /// The failure `response` carries (kind `none` when it has no
    /// `body.error`).
    pub fn of(response: &Response) -> Failure {
        let error = response
            .body
            .as_ref()
            .map(|b| b["error"].clone())
            .unwrap_or(Value::Null);
        let var = |name: &str| error["variables"][name].as_str().map(str::to_string);
        Failure {
            kind: var("kind").unwrap_or_else(|| "none".into()),
            message: response.message.clone().unwrap_or_default(),
            path: var("path"),
            line: var("line").and_then(|l| l.parse().ok()),
            reason: var("reason"),
            show_user: error["showUser"].as_bool().unwrap_or(false),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.kind)
    }
}

/// Default wait for any one response or event. Generous: the machine is
/// shared with builds.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// What the reader thread saw on the adapter's stdout.
enum Incoming {
    Message(Message),
    /// The bytes could not be decoded.
    Garbage(String),
    /// stdout closed.
    Closed,
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .canonicalize()
        .unwrap_or_else(|e| panic!("tests/fixtures is missing: {e}"))
}

/// Absolute path of one fixture file, as a string for launch arguments.
pub fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

/// The runtime every test of this run launches: `$HOTRELOAD_TEST_RUNTIME`
/// (`scripts/test` runs these tests once per host it built), else `lua5.4`.
pub fn runtime() -> String {
    std::env::var("HOTRELOAD_TEST_RUNTIME")
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "lua5.4".to_owned())
}

/// The directory of the hosts: `scripts/build` builds every host into the
/// adapter's own target directory.
pub fn host_dir() -> PathBuf {
    let adapter = Path::new(env!("CARGO_BIN_EXE_hotreload-dap"));
    adapter
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .to_path_buf()
}

/// Fails with a clear message when the host of [`runtime`] was not built.
pub fn require_host() {
    let runtime = runtime();
    let host = host_dir().join(format!("hotreload-host-{}", runtime.replace('.', "")));
    assert!(
        host.is_file(),
        "{} is missing: build it first with `scripts/build`",
        host.display()
    );
}

/// `arguments` naming [`runtime`] unless they name a runtime themselves.
pub fn with_runtime(mut arguments: Value) -> Value {
    if let Some(object) = arguments.as_object_mut() {
        object
            .entry("runtime")
            .or_insert_with(|| Value::String(runtime()));
    }
    arguments
}

/// A running adapter and everything it said.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Incoming>,
    next_seq: i64,
    /// Every line of the conversation, `->` sent and `<-` received.
    transcript: Vec<String>,
    /// Responses not yet claimed by `response`.
    responses: Vec<Response>,
    /// Events not yet claimed by `wait_event`.
    events: VecDeque<Event>,
    /// All stdout/stderr/console output text seen so far, in order.
    output: Vec<(String, String)>,
    /// Names of all events received, in arrival order.
    event_names: Vec<String>,
    /// Every message received, as `event:<name>` or `response:<command>`.
    arrivals: Vec<String>,
    closed: bool,
}

impl Client {
    /// Starts the adapter with the host of [`runtime`] available.
    pub fn start() -> Client {
        require_host();
        Client::start_with_env(&[])
    }

    /// Starts the adapter with extra environment variables.
    pub fn start_with_env(env: &[(&str, &str)]) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hotreload-dap"));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("HOTRELOAD_HOST_DIR", host_dir());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hotreload-dap: {e}"));
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                loop {
                    match dap::decode(&mut buf) {
                        Ok(Some(message)) => {
                            if tx.send(Incoming::Message(message)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = tx.send(Incoming::Garbage(format!(
                                "{e}: {}",
                                String::from_utf8_lossy(&buf)
                            )));
                            return;
                        }
                    }
                }
                match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Incoming::Closed);
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
        Client {
            child,
            stdin,
            incoming: rx,
            next_seq: 1,
            transcript: Vec::new(),
            responses: Vec::new(),
            events: VecDeque::new(),
            output: Vec::new(),
            event_names: Vec::new(),
            arrivals: Vec::new(),
            closed: false,
        }
    }

    /// The adapter's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics with `why` and the whole transcript.
    #[track_caller]
    pub fn fail(&self, why: &str) -> ! {
        panic!(
            "{why}\n--- transcript ({} messages) ---\n{}\n--- end ---",
            self.transcript.len(),
            self.transcript.join("\n")
        )
    }

    /// Writes raw bytes to the adapter's stdin.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.transcript
            .push(format!("-> raw {:?}", String::from_utf8_lossy(bytes)));
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin closed"));
        if let Err(e) = stdin.write_all(bytes).and_then(|()| stdin.flush()) {
            self.transcript.push(format!("!! write failed: {e}"));
        }
    }

    /// Closes the adapter's stdin (the client goes away).
    pub fn close_stdin(&mut self) {
        self.transcript.push("-> (close stdin)".into());
        self.stdin = None;
    }

    /// Sends a request; returns its seq.
    pub fn send(&mut self, command: &str, arguments: Value) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let message =
            json!({"seq": seq, "type": "request", "command": command, "arguments": arguments});
        let body = message.to_string();
        self.transcript.push(format!("-> {body}"));
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin closed"));
        if let Err(e) = stdin
            .write_all(frame.as_bytes())
            .and_then(|()| stdin.flush())
        {
            self.transcript.push(format!("!! write failed: {e}"));
        }
        seq
    }

    /// Takes the next message from the adapter, waiting until `deadline`.
    /// Returns false on timeout or when the adapter closed its stdout.
    fn pump(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(Incoming::Message(message)) => {
                self.transcript.push(format!(
                    "<- {}",
                    serde_json::to_string(&message).unwrap_or_default()
                ));
                match message {
                    Message::Response(r) => {
                        self.arrivals.push(format!("response:{}", r.command));
                        self.responses.push(r);
                    }
                    Message::Event(e) => {
                        self.arrivals.push(format!("event:{}", e.event));
                        self.event_names.push(e.event.clone());
                        if e.event == "output" {
                            let body = e.body.clone().unwrap_or(Value::Null);
                            let category = body["category"].as_str().unwrap_or("console");
                            let text = body["output"].as_str().unwrap_or("");
                            self.output.push((category.to_owned(), text.to_owned()));
                        }
                        self.events.push_back(e);
                    }
                    Message::Request(_) => {}
                }
                true
            }
            Ok(Incoming::Garbage(text)) => {
                self.transcript.push(format!("<- garbage: {text}"));
                self.closed = true;
                false
            }
            Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => {
                self.transcript.push("<- (stdout closed)".into());
                self.closed = true;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
        }
    }

    /// Waits for the response to `seq`.
    #[track_caller]
    pub fn response(&mut self, seq: i64) -> Response {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.responses.iter().position(|r| r.request_seq == seq) {
                return self.responses.remove(i);
            }
            if !self.pump(deadline) {
                self.fail(&format!("no response to request seq {seq}"));
            }
        }
    }

    /// Sends a request and waits for its response, whatever its outcome.
    #[track_caller]
    pub fn request(&mut self, command: &str, arguments: Value) -> Response {
        let seq = self.send(command, arguments);
        self.response(seq)
    }

    /// Sends a request that must succeed; returns its body (`null` if none).
    #[track_caller]
    pub fn ok(&mut self, command: &str, arguments: Value) -> Value {
        let response = self.request(command, arguments);
        if !response.success {
            self.fail(&format!(
                "'{command}' failed: {:?}",
                response.message.unwrap_or_default()
            ));
        }
        response.body.unwrap_or(Value::Null)
    }

    /// Sends a request that must fail; returns the failure as fields.
    #[track_caller]
    pub fn err(&mut self, command: &str, arguments: Value) -> Failure {
        let response = self.request(command, arguments);
        if response.success {
            self.fail(&format!("'{command}' succeeded but should have failed"));
        }
        Failure::of(&response)
    }

    /// Waits for the first unclaimed event named `name` and claims it.
    #[track_caller]
    pub fn wait_event(&mut self, name: &str) -> Value {
        self.wait_event_for(name, TIMEOUT)
            .unwrap_or_else(|| self.fail(&format!("no '{name}' event within {TIMEOUT:?}")))
    }

    /// Like `wait_event`, with a timeout and `None` when it passes.
    pub fn wait_event_for(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().position(|e| e.event == name) {
                let event = self.events.remove(i)?;
                return Some(event.body.unwrap_or(Value::Null));
            }
            if !self.pump(deadline) {
                return None;
            }
        }
    }

    /// Every message received so far, in arrival order, as `event:<name>`
    /// or `response:<command>`.
    pub fn arrivals(&self) -> &[String] {
        &self.arrivals
    }

    /// Names of all events received so far, in arrival order.
    pub fn event_names(&self) -> &[String] {
        &self.event_names
    }

    /// Waits for a `stopped` event and checks its reason.
    #[track_caller]
    pub fn wait_stopped(&mut self, reason: &str) -> Value {
        let body = self.wait_event("stopped");
        if body["reason"] != reason {
            self.fail(&format!(
                "stopped with reason {}, expected {reason}",
                body["reason"]
            ));
        }
        body
    }

    /// Pauses the running program once its output says `marker` (its loop
    /// runs by then), checks that it paused in `function` and, on LuaJIT,
    /// that the loop was compiled; the main thread's stack.
    #[track_caller]
    pub fn pause_in_loop(&mut self, marker: &str, function: &str) -> Vec<Value> {
        self.wait_output("the loop running", |t| t.contains(marker));
        self.ok("pause", json!({"threadId": 1}));
        self.wait_stopped("pause");
        let stack = self.stack(&json!(1));
        if stack.first().map(|f| &f["name"]) != Some(&json!(function)) {
            self.fail(&format!("paused in {:?}, not {function}", stack.first()));
        }
        if runtime() == "luajit" {
            let compiled = self.evaluate("require('jit.util').traceinfo(1) ~= nil", None, "watch");
            if compiled != "true" {
                self.fail("the loop was never compiled");
            }
        }
        stack
    }

    /// Waits until the output (stdout) seen so far satisfies `check`.
    #[track_caller]
    pub fn wait_output(&mut self, what: &str, check: impl Fn(&str) -> bool) -> String {
        self.wait_output_of("stdout", what, check)
    }

    /// Waits until the output of `category` seen so far satisfies `check`.
    #[track_caller]
    pub fn wait_output_of(
        &mut self,
        category: &str,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.output_of(category);
            if check(&text) {
                return text;
            }
            if !self.pump(deadline) {
                self.fail(&format!("{category} output never showed {what}"));
            }
        }
    }

    /// All `stdout` output so far.
    pub fn stdout_text(&self) -> String {
        self.output_of("stdout")
    }

    /// All output of one category so far.
    pub fn output_of(&self, category: &str) -> String {
        self.output
            .iter()
            .filter(|(c, _)| c == category)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    /// A program in a fresh temporary file, for cases no fixture covers.
    pub fn temp_program(name: &str, source: &str) -> String {
        let dir = std::env::temp_dir().join(format!("hotreload-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(name);
        std::fs::write(&path, source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path.display().to_string()
    }

    /// Reads everything until the adapter closes stdout (or `timeout`).
    /// Returns true if it closed.
    pub fn drain_until_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.pump(deadline) {}
        self.closed
    }

    /// Waits for the adapter process to exit; returns its exit code.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => self.fail("the adapter did not exit"),
            }
        }
    }

    /// SIGKILLs the adapter.
    pub fn kill(&mut self) {
        self.transcript.push("!! killing the adapter".into());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `initialize`, the first request of a session; the capabilities.
    #[track_caller]
    pub fn initialize(&mut self) -> Value {
        self.ok(
            "initialize",
            json!({"adapterID": "hotreload", "clientID": "test"}),
        )
    }

    /// `initialize`, `launch` with `arguments`, then the `initialized` event.
    #[track_caller]
    pub fn launch(&mut self, arguments: Value) {
        let caps = self.initialize();
        if caps["supportsConfigurationDoneRequest"] != true {
            self.fail("initialize: supportsConfigurationDoneRequest is not true");
        }
        self.ok("launch", with_runtime(arguments));
        self.wait_event("initialized");
    }

    /// Sets line breakpoints in `path`; returns the response's breakpoints.
    #[track_caller]
    pub fn set_breakpoints(&mut self, path: &str, lines: &[i64]) -> Vec<Value> {
        let breakpoints: Vec<Value> = lines.iter().map(|l| json!({"line": l})).collect();
        let body = self.ok(
            "setBreakpoints",
            json!({"source": {"path": path}, "breakpoints": breakpoints}),
        );
        body["breakpoints"].as_array().cloned().unwrap_or_default()
    }

    /// `launch` then `configurationDone`: the program runs.
    #[track_caller]
    pub fn run(&mut self, arguments: Value) {
        self.launch(arguments);
        self.ok("configurationDone", json!({}));
    }

    /// The host process serving this session (a child of the adapter).
    #[track_caller]
    pub fn host_pid(&self) -> u32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(pid) = children_of(self.pid())
                .into_iter()
                .find(|&pid| process_name(pid).starts_with("hotreload-host"))
            {
                return pid;
            }
            if Instant::now() > deadline {
                self.fail("no hotreload-host child process found");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The frames of the stopped main thread.
    #[track_caller]
    pub fn stack(&mut self, thread_id: &Value) -> Vec<Value> {
        let body = self.ok("stackTrace", json!({"threadId": thread_id}));
        body["stackFrames"].as_array().cloned().unwrap_or_default()
    }

    /// The source path and line of the top frame of the thread the stop
    /// `stopped` (its event body) names.
    #[track_caller]
    pub fn top_of(&mut self, stopped: &Value) -> (String, i64) {
        let frames = self.stack(&stopped["threadId"]);
        let frame = frames
            .first()
            .unwrap_or_else(|| self.fail("no frames"))
            .clone();
        (
            frame["source"]["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            frame["line"].as_i64().unwrap_or_default(),
        )
    }

    /// The variables behind a reference, as (name, variable) pairs.
    #[track_caller]
    pub fn variables(&mut self, reference: &Value) -> Vec<(String, Value)> {
        let body = self.ok("variables", json!({"variablesReference": reference}));
        body["variables"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v["name"].as_str().unwrap_or("").to_owned(), v))
            .collect()
    }

    /// One named variable behind a reference.
    #[track_caller]
    pub fn variable(&mut self, reference: &Value, name: &str) -> Value {
        let vars = self.variables(reference);
        match vars.iter().find(|(n, _)| n == name) {
            Some((_, v)) => v.clone(),
            None => self.fail(&format!(
                "no variable '{name}' among {:?}",
                vars.iter().map(|(n, _)| n).collect::<Vec<_>>()
            )),
        }
    }

    /// Evaluates an expression that must succeed; returns its `result`.
    #[track_caller]
    pub fn evaluate(
        &mut self,
        expression: &str,
        frame_id: Option<&Value>,
        context: &str,
    ) -> String {
        let mut args = json!({"expression": expression, "context": context});
        if let Some(frame) = frame_id {
            args["frameId"] = frame.clone();
        }
        let body = self.ok("evaluate", args);
        body["result"].as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pids whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(parent))
        .collect()
}

fn stat_fields(pid: u32) -> Option<(String, Vec<String>)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let rest = stat[close + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((comm, rest))
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.1.get(1)?.parse().ok()
}

fn process_name(pid: u32) -> String {
    stat_fields(pid).map(|(c, _)| c).unwrap_or_default()
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match stat_fields(pid) {
        Some((_, rest)) => rest.first().map(String::as_str) != Some("Z"),
        None => false,
    }
}

/// Waits until `pid` is gone; false if it is still alive after `timeout`.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Every process below `root` (children, their children, ...).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        for child in children_of(pid) {
            found.push(child);
            frontier.push(child);
        }
    }
    found
}
