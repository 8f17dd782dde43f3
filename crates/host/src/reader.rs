//! The protocol reader thread: parses requests from the session, routes them
//! (`routing`): answers the ones that need no VM, queues the rest, and
//! interrupts a running program so it serves them. End of input ends the host.

use std::fs::File;
use std::io::{BufRead, BufReader};

use host_protocol::{ErrorKind, HostError, HostRequest, Outcome};
use serde_json::Value;

use crate::inflight::{self, Interruption};
use crate::interrupt;
use crate::io;
use crate::panics;
use crate::queue::{self, RunState};
use crate::routing::{self, Refusal, Route, Situation};

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
                                Some(id) => io::respond(id, Outcome::Failure(e)),
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
            Some(id) => io::respond(
                id,
                Outcome::Failure(HostError::invalid(format!("bad request: {err}"))),
            ),
            None => io::output(
                "console",
                &format!("hotreload-host: unreadable request: {err}\n"),
            ),
        },
    }
}

/// The `id` of a request line that may not parse as a whole: from the
/// JSON when it is JSON, else from a leading `{"id":N` (how the session
/// writes every request), so even a line with a broken string is answered.
fn request_id(line: &[u8]) -> Option<u64> {
    if let Ok(value) = serde_json::from_slice::<Value>(line) {
        return value.get("id").and_then(Value::as_u64);
    }
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest
        .strip_prefix("\"id\"")?
        .trim_start()
        .strip_prefix(':')?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn route(request: HostRequest) {
    let id = request.id;
    let state = queue::state();
    let situation = Situation {
        state,
        no_debug: queue::no_debug(),
        busy: inflight::busy(),
    };
    match routing::route(situation, &request.command) {
        Route::Terminate => {
            io::respond(id, Outcome::Ok(Value::Null));
            io::exit_now();
        }
        Route::Cancel(target) => {
            if let Some(waiting) = queue::remove(target) {
                io::respond(
                    waiting.id,
                    Outcome::Failure(HostError::new(ErrorKind::Cancelled, "cancelled")),
                );
            } else {
                inflight::interrupt(Some(target), Interruption::Cancelled);
            }
            io::respond(id, Outcome::Ok(Value::Null));
        }
        Route::LastThreads => io::respond(id, Outcome::Ok(inflight::last_threads())),
        Route::PauseEvaluation => {
            inflight::interrupt(None, Interruption::Paused);
            // The pause itself waits its turn: it may follow a `continue`.
            enqueue(request);
        }
        // The state the VM is in decides anything else; while it runs, it
        // reaches its queue only through an interrupt, so decide here.
        Route::Acknowledge if state == RunState::Running => {
            io::respond(id, Outcome::Ok(Value::Null));
        }
        Route::Refuse(refusal) if state == RunState::Running => {
            io::respond(id, Outcome::Failure(refusal.into()));
        }
        Route::Refuse(refusal @ Refusal::PauseWithoutDebug) => {
            io::respond(id, Outcome::Failure(refusal.into()));
        }
        _ => enqueue(request),
    }
}

/// Queues a request for the VM thread and interrupts it if it runs (it may
/// have started running since we looked).
fn enqueue(request: HostRequest) {
    if inflight::push_unless_stuck(request) == Some(RunState::Running) {
        interrupt::request();
    }
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn ids_of_lines_that_do_not_parse() {
        assert_eq!(request_id(br#"{"id": 7, "command": "threads"}"#), Some(7));
        assert_eq!(
            request_id(br#"{"id":8,"command":"evaluate","arguments":{"expression":"\ud800"}}"#),
            Some(8)
        );
        assert_eq!(request_id(br#"{"id":9,"command":"#), Some(9));
        assert_eq!(request_id(br#"{"command":"x","id":3"#), None);
        assert_eq!(request_id(b"\xff\xfe"), None);
        assert_eq!(request_id(br#"{"id":99999999999999999999999,"#), None);
    }
}
