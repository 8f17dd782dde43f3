//! The internal protocol between the session and a host process.
//!
//! One JSON object per line. The session writes [`HostRequest`]s to the
//! host's stdin; the host writes [`HostMessage`]s (responses and events) to
//! its stdout. Payloads reuse the DAP types of [`dap::types`] so the session
//! passes them through unchanged; this crate adds only the framing and the
//! commands a host understands.
//!
//! The host keeps its protocol streams apart from the debuggee's: it moves
//! them to private descriptors at startup, points fd 0 at /dev/null and
//! forwards whatever lands on fds 1 and 2 as `output` events.

pub mod attach;
pub mod commands;

pub use commands::HostCommand;

#[cfg(test)]
mod outcome_tests;

use dap::types::{
    ContinuedEventBody, ExitedEventBody, OutputEventBody, StoppedEventBody, ThreadEventBody,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Environment variable that carries the protocol version check; a host that
/// speaks another version refuses to start.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request from the session, answered by exactly one [`HostResponse`] with
/// the same `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRequest {
    pub id: u64,
    #[serde(flatten)]
    pub command: HostCommand,
}

/// Arguments of [`HostCommand::Cancel`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelArguments {
    /// The host request id to cancel.
    pub request_id: u64,
}

/// Everything a host writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HostMessage {
    Response(HostResponse),
    Event(HostEvent),
}

/// The answer to the [`HostRequest`] with the same `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostResponse {
    pub id: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Success with a payload, or a failure as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Ok(Value),
    /// `{"id": N, "failure": {"kind": ..., "message": ..., "location":
    /// {"path": ..., "line": ...}}}`: the message is meant for the user
    /// (`file:line: reason` where a location is known); programs read the
    /// kind and the location.
    Failure(HostError),
}

impl<T: Serialize> From<Result<T, HostError>> for Outcome {
    fn from(result: Result<T, HostError>) -> Outcome {
        match result.map(serde_json::to_value) {
            Ok(Ok(value)) => Outcome::Ok(value),
            Ok(Err(e)) => {
                Outcome::Failure(HostError::internal(format!("cannot encode the reply: {e}")))
            }
            Err(e) => Outcome::Failure(e),
        }
    }
}

/// An error as data: what kind, the message for the user, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<ErrorLocation>,
    /// The message without the `file:line:` position Lua put in front of
    /// it, where it had one (what a diagnostic at `location` says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HostError {
    /// An error of `kind` with `message` and no location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> HostError {
        HostError {
            kind,
            message: message.into(),
            location: None,
            reason: None,
        }
    }

    /// Arguments that are malformed or name nothing that exists.
    pub fn invalid(message: impl Into<String>) -> HostError {
        HostError::new(ErrorKind::InvalidArguments, message)
    }

    /// Something this host cannot do.
    pub fn unsupported(message: impl Into<String>) -> HostError {
        HostError::new(ErrorKind::Unsupported, message)
    }

    /// A failure of the host itself.
    pub fn internal(message: impl Into<String>) -> HostError {
        HostError::new(ErrorKind::Internal, message)
    }

    /// The same error, with `reason` as what it says about its location.
    pub fn because(mut self, reason: Option<String>) -> HostError {
        self.reason = reason;
        self
    }

    /// The same error, located in `path` (at `line` when known).
    pub fn at(mut self, path: impl Into<String>, line: Option<i64>) -> HostError {
        self.location = Some(ErrorLocation {
            path: path.into(),
            line,
        });
        self
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

/// Where an error happened: a file, and a line when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorLocation {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
}

/// What went wrong, for programs (the glue, tests) to decide on without
/// reading the message. Kinds a reader does not know read as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The request is not valid in the current run state.
    Refused,
    /// The request was cancelled (`cancel`, or `pause` for an evaluation).
    Cancelled,
    /// An evaluation ran past its time or instruction limit.
    TimedOut,
    /// The VM is inside a call that cannot be interrupted; try again.
    Busy,
    /// The arguments were malformed or named nothing that exists (a frame,
    /// a variables reference, a thread, a source).
    InvalidArguments,
    /// This host cannot do it (a VM without the feature, a C frame).
    Unsupported,
    /// Lua code did not compile.
    Compile,
    /// Lua code raised an error.
    Runtime,
    /// The module or file is not one the program loaded.
    NotFound,
    /// A file could not be read or written.
    Io,
    /// The host itself failed (a panic, an I/O error).
    Internal,
    #[serde(other)]
    Other,
}

/// Every kind once: `(kind, wire name, DAP error id)`. The ids are stable.
const KINDS: &[(ErrorKind, &str, i64)] = &[
    (ErrorKind::Refused, "refused", 1001),
    (ErrorKind::Cancelled, "cancelled", 1002),
    (ErrorKind::Busy, "busy", 1003),
    (ErrorKind::InvalidArguments, "invalidArguments", 1004),
    (ErrorKind::Compile, "compile", 1005),
    (ErrorKind::Runtime, "runtime", 1006),
    (ErrorKind::NotFound, "notFound", 1007),
    (ErrorKind::Internal, "internal", 1008),
    (ErrorKind::TimedOut, "timedOut", 1009),
    (ErrorKind::Unsupported, "unsupported", 1010),
    (ErrorKind::Io, "io", 1011),
    (ErrorKind::Other, "other", 1099),
];

impl ErrorKind {
    fn entry(self) -> (&'static str, i64) {
        KINDS
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map_or(("other", 1099), |&(_, name, id)| (name, id))
    }

    /// The stable number of the kind, for DAP's `body.error.id`.
    pub fn id(self) -> i64 {
        self.entry().1
    }

    /// The kind's name on the wire (`"notFound"`).
    pub fn name(self) -> &'static str {
        self.entry().0
    }
}

/// Things that happen in the host without being asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "body", rename_all = "camelCase")]
pub enum HostEvent {
    /// The program stopped (breakpoint, step, pause, entry, exception).
    Stopped(StoppedEventBody),
    /// The program resumed.
    Continued(ContinuedEventBody),
    /// Text the program wrote (`stdout`, `stderr`) or a host notice (`console`).
    Output(OutputEventBody),
    /// A coroutine started or ended.
    Thread(ThreadEventBody),
    /// The program ended with this exit code; the host exits right after.
    Exited(ExitedEventBody),
    /// The program loaded a source (a file, or a `load` chunk first met).
    LoadedSource(dap::types::LoadedSourceEventBody),
    /// A breakpoint changed by itself (bound when its code loaded, moved by
    /// a reload).
    Breakpoint(dap::types::BreakpointEventBody),
}
