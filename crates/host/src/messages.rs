//! The protocol messages every writer sends, in terms of its `io::send`
//! (the host's stdout, the attach agent's socket), which the `io` module
//! of each re-exports.

use dap::types::OutputEventBody;
use host_protocol::{HostEvent, HostMessage, HostResponse, Outcome};

use crate::io::send;

/// Answers request `id`.
pub fn respond(id: u64, outcome: Outcome) {
    send(&HostMessage::Response(HostResponse { id, outcome }));
}

/// Sends an event.
pub fn event(event: HostEvent) {
    send(&HostMessage::Event(event));
}

/// Sends text as an `output` event (nothing for empty text). Program output
/// goes through the host's `io::OUTPUT`; notes of our own may be sent here
/// directly.
pub fn output(category: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    event(HostEvent::Output(OutputEventBody {
        category: Some(category.to_string()),
        output: text.to_string(),
        ..Default::default()
    }));
}
