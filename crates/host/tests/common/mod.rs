//! A real host process driven over its real pipes, for integration tests.
//! Every failure message lists everything that arrived from the host.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub use host_protocol::{ErrorKind, HostError};
use serde_json::{json, Value};

/// The kind of a failed response (`None` when it succeeded).
pub fn kind(result: &Result<Value, HostError>) -> Option<ErrorKind> {
    result.as_ref().err().map(|e| e.kind)
}

/// How long any single expectation waits.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A running host.
pub struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    /// Everything received, for failure messages.
    pub log: Vec<Value>,
    events: VecDeque<Value>,
    /// Responses that arrived while waiting for another one, by id.
    responses: HashMap<u64, Value>,
    next_id: u64,
    /// The thread of the last `stopped` event (the one `stack` shows).
    pub stopped_thread: i64,
}

/// A scratch directory with the test's Lua files.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    /// A fresh directory named after the test.
    pub fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("hotreload-host-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch {
            dir: dir.canonicalize().expect("canonical scratch dir"),
        }
    }

    /// Writes a file and returns its path as a string.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, text).expect("write file");
        path.to_string_lossy().into_owned()
    }

    /// The path of a file in the directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The line (1-based) of the first line of `text` containing `marker`.
pub fn line_of(text: &str, marker: &str) -> i64 {
    text.lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("marker {marker:?} not in the program"))
}

/// The host binary this test build made: the one of the VM feature the
/// tests are built with (`cargo test -p hotreload-host --no-default-features
/// --features lua53` runs them on Lua 5.3).
pub fn host_exe() -> &'static str {
    #[cfg(feature = "lua54")]
    return env!("CARGO_BIN_EXE_hotreload-host-lua54");
    #[cfg(all(feature = "lua53", not(feature = "lua54")))]
    return env!("CARGO_BIN_EXE_hotreload-host-lua53");
    #[cfg(all(feature = "lua52", not(any(feature = "lua54", feature = "lua53"))))]
    return env!("CARGO_BIN_EXE_hotreload-host-lua52");
    #[cfg(all(
        feature = "lua51",
        not(any(feature = "lua54", feature = "lua53", feature = "lua52"))
    ))]
    return env!("CARGO_BIN_EXE_hotreload-host-lua51");
    #[cfg(all(
        feature = "luajit",
        not(any(
            feature = "lua54",
            feature = "lua53",
            feature = "lua52",
            feature = "lua51"
        ))
    ))]
    return env!("CARGO_BIN_EXE_hotreload-host-luajit");
}

/// The VM of the host [`host_exe`] starts, for the expectations that differ
/// between versions (each checked against that version's stock
/// interpreter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vm {
    Lua51,
    Lua52,
    Lua53,
    Lua54,
    LuaJit,
}

/// The VM under test (the same precedence as [`host_exe`]).
pub const VM: Vm = if cfg!(feature = "lua54") {
    Vm::Lua54
} else if cfg!(feature = "lua53") {
    Vm::Lua53
} else if cfg!(feature = "lua52") {
    Vm::Lua52
} else if cfg!(feature = "lua51") {
    Vm::Lua51
} else {
    Vm::LuaJit
};

impl Vm {
    /// Lua's message for indexing nil, `what` naming it (`local 't'`):
    /// 5.3 and 5.4 name it after the value, 5.1, 5.2 and LuaJIT before.
    pub fn index_nil(self, what: &str) -> String {
        match self {
            Vm::Lua53 | Vm::Lua54 => format!("attempt to index a nil value ({what})"),
            Vm::Lua51 | Vm::Lua52 | Vm::LuaJit => format!("attempt to index {what} (a nil value)"),
        }
    }

    /// What `print(debug.gethook())` prints with no hook set: 5.4 returns
    /// one nil, the others nil, an empty mask and a count of 0.
    pub fn no_hook(self) -> &'static str {
        match self {
            Vm::Lua54 => "nil",
            _ => "nil\t\t0",
        }
    }

    /// The stock interpreter's line for an uncaught error object that is a
    /// table without `__tostring`.
    pub fn table_error(self) -> &'static str {
        match self {
            Vm::Lua51 | Vm::LuaJit => "(error object is not a string)",
            Vm::Lua52 => "(no error message)",
            Vm::Lua53 | Vm::Lua54 => "(error object is a table value)",
        }
    }
}

impl Host {
    /// Starts the host binary built by this package.
    pub fn spawn() -> Host {
        Host::spawn_with(|_| {})
    }

    /// Starts the host after `setup` adjusts the command.
    pub fn spawn_with(setup: impl FnOnce(&mut Command)) -> Host {
        let mut cmd = Command::new(host_exe());
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        setup(&mut cmd);
        let mut child = cmd.spawn().expect("spawn the host");
        let stdout = child.stdout.take().expect("host stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| json!({"unparsable": line, "error": e.to_string()}));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Host {
            child,
            stdin,
            rx,
            log: Vec::new(),
            events: VecDeque::new(),
            responses: HashMap::new(),
            next_id: 0,
            stopped_thread: 1,
        }
    }

    fn transcript(&self) -> String {
        self.log
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Fails the test, showing what arrived.
    pub fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- received from the host ---\n{}",
            self.transcript()
        )
    }

    fn receive(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(v) => {
                self.log.push(v.clone());
                Some(v)
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Sends a request without waiting; returns its id.
    pub fn send(&mut self, command: &str, arguments: Option<Value>) -> u64 {
        self.next_id += 1;
        let mut request = json!({"id": self.next_id, "command": command});
        if let Some(a) = arguments {
            request["arguments"] = a;
        }
        self.send_raw(&request.to_string());
        self.next_id
    }

    /// Writes one raw line to the host.
    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("host stdin open");
        writeln!(stdin, "{line}").expect("write to the host");
        stdin.flush().expect("flush to the host");
    }

    /// Waits for the response to `id`: Ok(payload) or Err(the failure).
    pub fn response(&mut self, id: u64) -> Result<Value, HostError> {
        let deadline = Instant::now() + TIMEOUT;
        let mut early = self.responses.remove(&id);
        loop {
            let v = match early.take() {
                Some(v) => v,
                None => match self.receive(deadline) {
                    Some(v) => v,
                    None => self.fail(&format!("no response to request {id}")),
                },
            };
            if v["kind"] == "response" && v["id"] != id {
                if let Some(other) = v["id"].as_u64() {
                    self.responses.insert(other, v);
                }
                continue;
            }
            if v["kind"] == "response" && v["id"] == id {
                if let Some(ok) = v.get("ok") {
                    return Ok(ok.clone());
                }
                return match serde_json::from_value(v["failure"].clone()) {
                    Ok(failure) => Err(failure),
                    Err(e) => self.fail(&format!("neither ok nor a failure ({e}): {v}")),
                };
            }
            if v["kind"] == "event" {
                self.events.push_back(v);
            }
        }
    }

    /// Sends a request and waits for its response.
    pub fn request(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, HostError> {
        let id = self.send(command, arguments);
        self.response(id)
    }

    /// Like `request`, failing the test on an error response.
    pub fn ok(&mut self, command: &str, arguments: Option<Value>) -> Value {
        match self.request(command, arguments) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{command} failed: {e}")),
        }
    }

    /// Waits for the next event named `name` (earlier other events are kept).
    pub fn event(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self.events.iter().position(|e| e["event"] == name) {
                let e = self.events.remove(i).expect("event present");
                if name == "stopped" {
                    self.stopped_thread = e["body"]["threadId"].as_i64().unwrap_or(1);
                }
                return e["body"].clone();
            }
            match self.receive(deadline) {
                Some(v) if v["kind"] == "event" => self.events.push_back(v),
                Some(_) => {}
                None => self.fail(&format!("no {name} event")),
            }
        }
    }

    /// Waits for the next event named one of `names`: (its name, its body).
    pub fn event_of(&mut self, names: &[&str]) -> (String, Value) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| names.iter().any(|n| e["event"] == *n))
            {
                let e = self.events.remove(i).expect("event present");
                let name = e["event"].as_str().unwrap_or("").to_string();
                if name == "stopped" {
                    self.stopped_thread = e["body"]["threadId"].as_i64().unwrap_or(1);
                }
                return (name, e["body"].clone());
            }
            match self.receive(deadline) {
                Some(v) if v["kind"] == "event" => self.events.push_back(v),
                Some(_) => {}
                None => self.fail(&format!("no {names:?} event")),
            }
        }
    }

    /// Waits for a `stopped` event and checks its reason.
    pub fn stopped(&mut self, reason: &str) -> Value {
        let body = self.event("stopped");
        if body["reason"] != reason {
            self.fail(&format!(
                "stopped for {} instead of {reason}",
                body["reason"]
            ));
        }
        body
    }

    /// Waits for `exited` and returns the exit code.
    pub fn exited(&mut self) -> i64 {
        self.event("exited")["exitCode"].as_i64().unwrap_or(-1)
    }

    /// All output of a category received so far (events stay queued).
    pub fn output(&self, category: &str) -> String {
        self.log
            .iter()
            .filter(|v| v["event"] == "output" && v["body"]["category"] == category)
            .filter_map(|v| v["body"]["output"].as_str())
            .collect()
    }

    /// Waits until the output of `category` contains `text`.
    pub fn wait_output(&mut self, category: &str, text: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.output(category).contains(text) {
            match self.receive(deadline) {
                Some(v) if v["kind"] == "event" => self.events.push_back(v),
                Some(_) => {}
                None => self.fail(&format!("no {category} output containing {text:?}")),
            }
        }
    }

    /// `launch` with `program` and extra arguments, then `configurationDone`
    /// after setting `breakpoints` (file, lines).
    pub fn start(&mut self, program: &str, extra: Value, breakpoints: &[(&str, &[i64])]) {
        let mut args = json!({"program": program});
        if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                a.insert(k.clone(), v.clone());
            }
        }
        self.ok("launch", Some(args));
        for (file, lines) in breakpoints {
            self.set_breakpoints(file, lines);
        }
        self.ok("configurationDone", None);
    }

    /// Sets plain line breakpoints; returns the response body.
    pub fn set_breakpoints(&mut self, file: &str, lines: &[i64]) -> Value {
        let bps: Vec<Value> = lines.iter().map(|l| json!({"line": l})).collect();
        self.ok(
            "setBreakpoints",
            Some(json!({"source": {"path": file}, "breakpoints": bps})),
        )
    }

    /// The stack of the current stop (of the thread it stopped on).
    pub fn stack(&mut self) -> Vec<Value> {
        let thread = self.stopped_thread;
        let body = self.ok("stackTrace", Some(json!({"threadId": thread})));
        body["stackFrames"].as_array().cloned().unwrap_or_default()
    }

    /// The line of the top frame.
    pub fn top_line(&mut self) -> i64 {
        let stack = self.stack();
        match stack.first() {
            Some(f) => f["line"].as_i64().unwrap_or(-1),
            None => self.fail("empty stack"),
        }
    }

    /// Evaluates in a frame (1 = top).
    pub fn eval(&mut self, expression: &str, frame_id: i64) -> Result<Value, HostError> {
        self.request(
            "evaluate",
            Some(json!({"expression": expression, "frameId": frame_id, "context": "repl"})),
        )
    }

    /// The variables of a reference as (name, value) pairs.
    pub fn variables(&mut self, reference: i64) -> Vec<(String, String, i64)> {
        let body = self.ok("variables", Some(json!({"variablesReference": reference})));
        body["variables"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap_or("").to_string(),
                    v["value"].as_str().unwrap_or("").to_string(),
                    v["variablesReference"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    }

    /// The scope references of a frame by name.
    pub fn scope(&mut self, frame_id: i64, name: &str) -> i64 {
        let body = self.ok("scopes", Some(json!({"frameId": frame_id})));
        let found = body["scopes"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .and_then(|s| s["variablesReference"].as_i64());
        match found {
            Some(r) => r,
            None => self.fail(&format!("no scope {name} in {body}")),
        }
    }

    /// Closes the host's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the process to end; its exit status code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.fail("the host did not exit")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `path` as the host reports it (canonical).
pub fn canonical(path: &str) -> String {
    Path::new(path)
        .canonicalize()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.into())
}
