//! What every protocol reader does with a line from the session (the host's
//! stdin reader, the attach agent's socket reader): parse it, answering a
//! line that is not a request (by its id where one can be read); route a
//! request (`routing`): answer what needs no VM, queue the rest and
//! interrupt a running program so it serves them. The readers differ only
//! in what comes before (the agent answers `launch` itself) and after.

use host_protocol::{ErrorKind, HostError, HostRequest, Outcome};
use serde_json::Value;

use crate::inflight::{self, Interruption};
use crate::interrupt;
use crate::io;
use crate::panics;
use crate::queue::{self, RunState};
use crate::routing::{self, Refusal, Route, Situation};

/// The request on `line`, or `None` for a blank line or one that is not a
/// request (answered here; `who` names the reader in console notes).
pub fn parse(line: &[u8], who: &str) -> Option<HostRequest> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice::<HostRequest>(line) {
        Ok(request) => Some(request),
        Err(err) => {
            match request_id(line) {
                Some(id) => io::respond(
                    id,
                    Outcome::Failure(HostError::invalid(format!("bad request: {err}"))),
                ),
                None => io::output("console", &format!("{who}: unreadable request: {err}\n")),
            }
            None
        }
    }
}

/// Runs `handle` on `line`; a bug in it must not end the reader (nothing
/// would be answered any more): the request is answered with the failure.
pub fn guarded(line: &[u8], who: &str, handle: impl FnOnce(&[u8])) {
    if let Err(e) = panics::catch("a request", || handle(line)) {
        match request_id(line) {
            Some(id) => io::respond(id, Outcome::Failure(e)),
            None => io::output("console", &format!("{who}: {e}\n")),
        }
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

/// Routes one request: answers it here or queues it for the VM thread.
pub fn route(request: HostRequest) {
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
pub fn enqueue(request: HostRequest) {
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
