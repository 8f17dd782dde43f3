//! A live stopped session: the real adapter and host, a program stopped on
//! entry, and random inspection requests with untrusted ids (real ones,
//! mutated ones, extremes). Checks: every request is answered; the adapter
//! never dies. A host that dies (a finding for the host) is reported and a
//! fresh session started.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dap::Message;
use serde_json::{json, Value};

use crate::rng::Rng;

const TIMEOUT: Duration = Duration::from_secs(30);

const PROGRAM: &str = r#"
local Account = {}
Account.__index = Account
function Account.new(n) return setmetatable({balance = n, tags = {"a", "b"}}, Account) end
local accounts = {}
for i = 1, 20 do accounts[i] = Account.new(i * 10) end
local deep = {}
local t = deep
for _ = 1, 30 do t.next = {}; t = t.next end
local s = string.rep("é", 300)
local function f(x, ...)
  local y = x * 2
  return y, ...
end
co = coroutine.create(function(a) coroutine.yield(a) end)
coroutine.resume(co, 1)
f(1, 2, 3)
print(#accounts, s:len(), deep ~= nil)
"#;

struct Live {
    child: Child,
    stdin: ChildStdin,
    incoming: mpsc::Receiver<Option<Message>>,
    seq: i64,
    /// Events passed while waiting for responses.
    events: Vec<String>,
}

/// What one live run found.
#[derive(Default, Debug)]
pub struct Report {
    pub requests: usize,
    pub host_deaths: usize,
    pub failures: Vec<String>,
}

impl Live {
    fn start(adapter: &Path, program: &Path) -> Result<Live, String> {
        let mut child = Command::new(adapter)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", adapter.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            loop {
                while let Ok(Some(message)) = dap::decode(&mut buf) {
                    if tx.send(Some(message)).is_err() {
                        return;
                    }
                }
                match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        });
        let mut live = Live {
            child,
            stdin,
            incoming: rx,
            seq: 0,
            events: Vec::new(),
        };
        live.call("initialize", json!({"adapterID": "fuzz"}))?;
        live.call(
            "launch",
            json!({"program": program.display().to_string(), "stopOnEntry": true}),
        )?;
        live.call("configurationDone", json!({}))?;
        live.wait_event("stopped")?;
        Ok(live)
    }

    fn send(&mut self, command: &str, arguments: Value) -> Result<i64, String> {
        self.seq += 1;
        let body =
            json!({"seq": self.seq, "type": "request", "command": command, "arguments": arguments})
                .to_string();
        self.stdin
            .write_all(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("the adapter stopped reading: {e}"))?;
        Ok(self.seq)
    }

    /// Waits for the response to `seq`; `exited` seen on the way is returned
    /// as the second value.
    fn response(&mut self, seq: i64) -> Result<(Value, bool), String> {
        let mut exited = false;
        loop {
            match self.incoming.recv_timeout(TIMEOUT) {
                Ok(Some(Message::Response(r))) if r.request_seq == seq => {
                    let value = serde_json::to_value(&r).unwrap_or_default();
                    return Ok((value, exited));
                }
                Ok(Some(Message::Event(e))) => {
                    exited |= e.event == "exited";
                    if self.events.len() > 256 {
                        self.events.drain(..128);
                    }
                    self.events.push(e.event);
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("the adapter closed before answering {seq}")),
                Err(_) => return Err(format!("request {seq} was never answered")),
            }
        }
    }

    fn call(&mut self, command: &str, arguments: Value) -> Result<Value, String> {
        let seq = self.send(command, arguments)?;
        let (response, _) = self.response(seq)?;
        if response["success"] != true {
            return Err(format!("{command} failed: {response}"));
        }
        Ok(response["body"].clone())
    }

    fn wait_event(&mut self, name: &str) -> Result<(), String> {
        if let Some(i) = self.events.iter().position(|e| e == name) {
            self.events.remove(i);
            return Ok(());
        }
        loop {
            match self.incoming.recv_timeout(TIMEOUT) {
                Ok(Some(Message::Event(e))) if e.event == name => return Ok(()),
                Ok(Some(_)) => {}
                _ => return Err(format!("no {name} event")),
            }
        }
    }

    fn end(mut self) -> Result<(), String> {
        let seq = self.send("disconnect", json!({}))?;
        self.response(seq)?;
        for _ in 0..500 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the adapter ended with {status}"))
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        Err("the adapter did not exit after disconnect".into())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ids seen in answers, to reuse (and mutate).
#[derive(Default)]
struct Seen {
    frames: Vec<i64>,
    refs: Vec<i64>,
}

impl Seen {
    fn learn(&mut self, body: &Value) {
        for frame in body["stackFrames"].as_array().into_iter().flatten() {
            if let Some(id) = frame["id"].as_i64() {
                self.frames.push(id);
            }
        }
        let lists = [&body["scopes"], &body["variables"]];
        for item in lists.into_iter().filter_map(Value::as_array).flatten() {
            if let Some(r) = item["variablesReference"].as_i64().filter(|r| *r > 0) {
                self.refs.push(r);
            }
        }
        if let Some(r) = body["variablesReference"].as_i64().filter(|r| *r > 0) {
            self.refs.push(r);
        }
        for list in [&mut self.frames, &mut self.refs] {
            if list.len() > 256 {
                list.drain(..128);
            }
        }
    }

    fn id(list: &[i64], rng: &mut Rng) -> i64 {
        match (list.is_empty(), rng.below(4)) {
            (false, 0 | 1) => *rng.pick(list),
            (false, 2) => rng.pick(list).wrapping_add(rng.below(5) as i64 - 2),
            _ => rng.edgy_i64(),
        }
    }
}

const EXPRESSIONS: &[&str] = &[
    "accounts",
    "accounts[1]",
    "accounts[1].balance",
    "deep.next.next",
    "s",
    "#s",
    "f",
    "co",
    "Account",
    "_G",
    "_ENV",
    "string",
    "1 + ",
    "nil .. 1",
    "error('x')",
    "error({})",
    "setmetatable({}, {__tostring = function() error('t') end})",
    "('x'):rep(100000)",
    "...",
    "select('#', ...)",
    "coroutine.running()",
    "debug.traceback()",
    "x",
    "y",
    "{1, 2, {3}}",
    "function() end",
    "math.huge",
    "0/0",
    "'\\xff\\xfe'",
    "utf8.char(0x10FFFF)",
];

/// Runs `inputs` requests against live stopped sessions.
pub fn run(adapter: &Path, inputs: usize, seed: u64) -> Report {
    let mut report = Report::default();
    let program = std::env::temp_dir().join(format!("hotreload-fuzz-{}.lua", std::process::id()));
    if let Err(e) = std::fs::write(&program, PROGRAM) {
        report
            .failures
            .push(format!("cannot write the program: {e}"));
        return report;
    }
    let mut rng = Rng::new(seed);
    let mut live = None;
    let mut seen = Seen::default();
    while report.requests < inputs {
        let session = match live.as_mut() {
            Some(session) => session,
            None => match Live::start(adapter, &program) {
                Ok(session) => live.insert(session),
                Err(e) => {
                    report.failures.push(format!("start: {e}"));
                    break;
                }
            },
        };
        let (command, args) = request(&mut rng, &seen);
        report.requests += 1;
        let result = session
            .send(command, args.clone())
            .and_then(|seq| session.response(seq));
        match result {
            Ok((response, exited)) => {
                seen.learn(&response["body"]);
                if exited {
                    report.host_deaths += 1;
                    if let Some(old) = live.take() {
                        if let Err(e) = old.end() {
                            report.failures.push(format!("after the host ended: {e}"));
                        }
                    }
                    seen = Seen::default();
                }
            }
            Err(e) => {
                report
                    .failures
                    .push(format!("{command} {args}: {e} (seed {seed})"));
                live = None;
            }
        }
    }
    if let Some(session) = live {
        if let Err(e) = session.end() {
            report.failures.push(format!("end: {e}"));
        }
    }
    let _ = std::fs::remove_file(&program);
    report
}

fn request(rng: &mut Rng, seen: &Seen) -> (&'static str, Value) {
    let frame = Seen::id(&seen.frames, rng);
    let reference = Seen::id(&seen.refs, rng);
    match rng.below(9) {
        0 => (
            "stackTrace",
            json!({"threadId": *rng.pick(&[1, 2, 0, -1, i64::MAX]),
            "startFrame": rng.below(5), "levels": rng.below(30)}),
        ),
        1 => ("scopes", json!({"frameId": frame})),
        2 | 3 => (
            "variables",
            json!({"variablesReference": reference,
            "start": rng.edgy_i64().rem_euclid(50), "count": rng.below(40)}),
        ),
        4 => (
            "evaluate",
            json!({"expression": *rng.pick(EXPRESSIONS), "frameId": frame,
            "context": *rng.pick(&["watch", "hover", "variables", "repl"])}),
        ),
        5 => (
            "setVariable",
            json!({"variablesReference": reference,
            "name": *rng.pick(&["balance", "x", "y", "[1]", "1", "next", "s"]),
            "value": *rng.pick(&["1", "'v'", "nil", "{}", "error('e')", "1 +"])}),
        ),
        6 => (
            "completions",
            json!({"text": rng.pick(&["acc", "accounts[1].", "s:", "string.", ""]).to_string(),
            "column": rng.below(20) as i64 + 1, "frameId": frame}),
        ),
        7 => ("threads", json!({})),
        _ => ("stackTrace", json!({"threadId": 1})),
    }
}
