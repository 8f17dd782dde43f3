//! The protocol reader thread: parses requests from the session, answers the
//! ones that need no VM, queues the rest, and interrupts a running program so
//! it serves them. End of input ends the host.

use std::fs::File;
use std::io::{BufRead, BufReader};

use host_protocol::{HostCommand, HostRequest, Outcome};
use serde_json::Value;

use crate::inflight::{self, Interruption};
use crate::interrupt;
use crate::io;
use crate::panics;
use crate::queue::{self, RunState};

/// Starts the reader thread on the protocol input.
pub fn spawn(input: File) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("protocol-reader".into())
        .spawn(move || {
            let reader = BufReader::new(input);
            for line in reader.split(b'\n') {
                match line {
                    Ok(line) => {
                        // A bug here must not end the reader: nothing would
                        // be answered any more.
                        if let Err(e) = panics::catch("a request", || handle_line(&line)) {
                            match request_id(&line) {
                                Some(id) => io::respond(id, Outcome::Error(e)),
                                None => io::output("console", &format!("hotreload-host: {e}\n")),
                            }
                        }
                    }
                    Err(_) => break,
                }
            }
            // The session is gone: so is the program.
            io::exit_now();
        })?;
    Ok(())
}

fn handle_line(line: &[u8]) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match serde_json::from_slice::<HostRequest>(line) {
        Ok(request) => route(request),
        Err(err) => match request_id(line) {
            Some(id) => io::respond(id, Outcome::Error(format!("bad request: {err}"))),
            None => io::output(
                "console",
                &format!("hotreload-host: unreadable request: {err}\n"),
            ),
        },
    }
}

/// The `id` of a request line that may not parse as a whole.
fn request_id(line: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(line)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_u64))
}

fn route(request: HostRequest) {
    let id = request.id;
    match (&request.command, queue::state()) {
        (HostCommand::Terminate, _) => {
            io::respond(id, Outcome::Ok(Value::Null));
            io::exit_now();
        }
        (HostCommand::Cancel(args), _) => {
            let target = args.request_id;
            if let Some(waiting) = queue::remove(target) {
                io::respond(waiting.id, Outcome::Error("cancelled".into()));
            } else {
                inflight::interrupt(Some(target), Interruption::Cancelled);
            }
            io::respond(id, Outcome::Ok(Value::Null));
        }
        (HostCommand::Threads, _) if inflight::busy() => {
            io::respond(id, Outcome::Ok(inflight::last_threads()));
        }
        (HostCommand::Pause, state) if inflight::busy() && !queue::no_debug() => {
            inflight::interrupt(None, Interruption::Paused);
            match state {
                // Already stopped: stopping the evaluation is all.
                RunState::Stopped | RunState::Idle => io::respond(id, Outcome::Ok(Value::Null)),
                // Then stop the program too, once the evaluation has ended.
                RunState::Running => {
                    if inflight::push_unless_stuck(request).is_some() {
                        interrupt::request();
                    }
                }
            }
        }
        (HostCommand::Pause, _) if queue::no_debug() => io::respond(
            id,
            Outcome::Error("pause is not available: the program runs with noDebug".into()),
        ),
        (command, RunState::Running) => match command {
            HostCommand::Continue => io::respond(id, Outcome::Ok(Value::Null)),
            HostCommand::Next
            | HostCommand::StepIn
            | HostCommand::StepOut
            | HostCommand::StackTrace(_)
            | HostCommand::Scopes(_)
            | HostCommand::Variables(_) => io::respond(
                id,
                Outcome::Error("the program is running; pause it first".into()),
            ),
            HostCommand::Launch(_) | HostCommand::ConfigurationDone => {
                io::respond(id, Outcome::Error("the program is already running".into()))
            }
            _ => {
                if inflight::push_unless_stuck(request).is_some() {
                    interrupt::request();
                }
            }
        },
        _ => {
            // The VM may have started running since we looked.
            if inflight::push_unless_stuck(request) == Some(RunState::Running) {
                interrupt::request();
            }
        }
    }
}
