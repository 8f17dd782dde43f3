//! The agent's protocol reader: one thread per attached session. It hands
//! requests to the host's `dispatch` as the host's reader does, with what
//! differs for a program we did not start: `launch` does not apply,
//! `configurationDone` only ends a `wait`, and the end of the connection
//! *detaches* (breakpoints and steps cleared, a stopped program resumed,
//! hooks off) instead of ending the program.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use host_protocol::{ErrorKind, HostCommand, HostError, HostRequest, Outcome};
use serde_json::{json, Value};

use crate::dispatch::{self, enqueue};
use crate::io;
use crate::queue::{self, RunState};
use crate::transport::Stream;

/// Sources that have breakpoints, so that detaching can clear them.
static BREAKPOINT_SOURCES: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
/// Ids of the agent's own requests (their answers go nowhere).
static OWN_IDS: AtomicU64 = AtomicU64::new(1 << 62);

/// Which attached session is current (heartbeats of an earlier one stop).
static SESSION: AtomicU64 = AtomicU64::new(0);
/// How often the heartbeat goes out; the session's limit is far longer.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// Serves one attached session until its connection ends, then detaches.
pub fn serve(stream: Stream) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    io::attach(Box::new(writer));
    let session = SESSION.fetch_add(1, Ordering::SeqCst) + 1;
    // Its own thread: it answers while Lua is busy or blocked in C, and
    // stops only with the whole process (what the session detects).
    let _ = std::thread::Builder::new()
        .name("hotreload-heartbeat".into())
        .spawn(move || {
            while SESSION.load(Ordering::SeqCst) == session && io::attached() {
                io::heartbeat();
                std::thread::sleep(HEARTBEAT_EVERY);
            }
        });
    let reader = BufReader::new(stream);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        dispatch::guarded(&line, "hotreload-agent", |line| {
            if let Some(request) = dispatch::parse(line, "hotreload-agent") {
                route(request);
            }
        });
        if !io::attached() {
            break;
        }
    }
    SESSION.fetch_add(1, Ordering::SeqCst);
    detach();
}

/// Answers what applies only to an attached program, and hands the rest
/// to the host's dispatch.
fn route(request: HostRequest) {
    let id = request.id;
    let state = queue::state();
    match &request.command {
        HostCommand::Launch(_) => {
            io::respond(
                id,
                Outcome::Failure(HostError::new(
                    ErrorKind::Refused,
                    "this program is attached, not launched: 'launch' does not apply",
                )),
            );
            return;
        }
        // Ends a `wait` in `start`; otherwise the program already runs.
        HostCommand::ConfigurationDone if state != RunState::Idle => {
            io::respond(id, Outcome::Ok(Value::Null));
            return;
        }
        HostCommand::SetBreakpoints(args) => {
            if let Some(path) = args.source.path.clone() {
                let mut sources = BREAKPOINT_SOURCES.lock().unwrap_or_else(|e| e.into_inner());
                if args.breakpoints.is_empty() {
                    sources.remove(&path);
                } else {
                    sources.insert(path);
                }
            }
        }
        _ => {}
    }
    dispatch::route(request);
}

/// The session is gone: answers go nowhere from now on; every breakpoint
/// kind is cleared and a stopped (or waiting) program goes on, hook-free.
fn detach() {
    io::detach();
    let sources =
        std::mem::take(&mut *BREAKPOINT_SOURCES.lock().unwrap_or_else(|e| e.into_inner()));
    let mut commands: Vec<Value> = sources
        .into_iter()
        .map(|path| json!({"command": "setBreakpoints", "arguments": {"source": {"path": path}, "breakpoints": []}}))
        .collect();
    commands.push(json!({"command": "setFunctionBreakpoints", "arguments": {"breakpoints": []}}));
    commands.push(json!({"command": "setDataBreakpoints", "arguments": {"breakpoints": []}}));
    commands.push(json!({"command": "setExceptionBreakpoints", "arguments": {"filters": []}}));
    commands.push(json!({"command": "configurationDone"}));
    commands.push(json!({"command": "continue"}));
    for mut command in commands {
        command["id"] = json!(OWN_IDS.fetch_add(1, Ordering::Relaxed));
        if let Ok(request) = serde_json::from_value::<HostRequest>(command) {
            enqueue(request);
        }
    }
}
