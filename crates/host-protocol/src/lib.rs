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

pub mod commands;

#[cfg(test)]
mod outcome_tests;

use dap::types::ExceptionInfoArguments;
use dap::types::{
    CompletionsArguments, ContinuedEventBody, EvaluateArguments, ExitedEventBody,
    HotReloadArguments, LaunchArguments, OutputEventBody, RestartFrameArguments, ScopesArguments,
    SetBreakpointsArguments, SetExceptionBreakpointsArguments, SetVariableArguments,
    StackTraceArguments, StoppedEventBody, ThreadEventBody, VariablesArguments,
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

/// What the session can ask of a host. Each documents its response payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", content = "arguments", rename_all = "camelCase")]
pub enum HostCommand {
    /// Prepare the VM for `program` (paths, args, env, cwd); does not run it.
    /// Reply: `null`.
    Launch(LaunchArguments),
    /// Replace the breakpoints of one source. Allowed while running.
    /// Reply: `dap::types::SetBreakpointsResponseBody`.
    SetBreakpoints(SetBreakpointsArguments),
    /// Choose which errors stop the program (filters `uncaught`, on until
    /// this says otherwise, and `all`). Allowed while running.
    /// Reply: `dap::types::SetExceptionBreakpointsResponseBody`.
    SetExceptionBreakpoints(SetExceptionBreakpointsArguments),
    /// Start running the program (stopping on entry if asked). Reply: `null`.
    ConfigurationDone,
    /// Reply: `dap::types::ThreadsResponseBody`.
    Threads,
    /// Resume. Reply: `null`, then a `continued`-like state until the next `stopped`.
    Continue,
    /// Step over. Reply: `null`.
    Next,
    /// Step into. Reply: `null`.
    StepIn,
    /// Step out. Reply: `null`.
    StepOut,
    /// Stop as soon as possible, also inside a long-running loop. Reply: `null`,
    /// then a `stopped` event with reason `pause`. A running evaluation
    /// stops first, with the error `evaluation paused`.
    Pause,
    /// Only while stopped. Reply: `dap::types::StackTraceResponseBody`.
    StackTrace(StackTraceArguments),
    /// Only while stopped. Reply: `dap::types::ScopesResponseBody`.
    Scopes(ScopesArguments),
    /// Only while stopped. Reply: `dap::types::VariablesResponseBody`.
    Variables(VariablesArguments),
    /// In the given frame while stopped; in the global scope while running.
    /// Contexts other than `repl` (watch, hover, variables, ...) stop after
    /// 1 s or 10 million instructions; `repl` after 2 billion instructions,
    /// or on `cancel` or `pause`.
    /// Reply: `dap::types::EvaluateResponseBody`.
    Evaluate(EvaluateArguments),
    /// Only while stopped: assign the child `name` of a variables reference
    /// the value of an expression evaluated in the reference's frame.
    /// Reply: `dap::types::SetVariableResponseBody`.
    SetVariable(SetVariableArguments),
    /// Only while stopped at a line: run the top frame's function again
    /// from its first line, with the code a hot reload gave it and its
    /// parameters' current values; a `stopped` event with reason `restart`
    /// follows. Reply: `null`, or the reason it cannot be restarted.
    RestartFrame(RestartFrameArguments),
    /// REPL completions in a frame (stopped) or the global scope (running).
    /// `line` and `column` are 1-based here (the session converts from the
    /// client's base), `column` in UTF-16 code units; so is `start` in the
    /// reply. Never calls Lua functions or metamethods.
    /// Reply: `dap::types::CompletionsResponseBody`.
    Completions(CompletionsArguments),
    /// Allowed while stopped and while running.
    /// Reply: `dap::types::HotReloadResponseBody`.
    HotReload(HotReloadArguments),
    /// End the program; the host exits after replying. Reply: `null`.
    Terminate,
    /// Cancel request `requestId` (a host request id): one still queued is
    /// answered `cancelled` at once; a running evaluation stops with the
    /// error `cancelled` (also when it is inside a C call that cannot be
    /// interrupted: then the host answers `busy` until the call returns).
    /// Anything else finishes normally. Answered at once, in any state.
    /// Reply: `null`.
    Cancel(CancelArguments),
    /// Only while stopped: the error of an exception stop (an error when
    /// the stop is not one).
    /// Reply: `dap::types::ExceptionInfoResponseBody`.
    ExceptionInfo(ExceptionInfoArguments),
    /// Every source loaded so far. Allowed while running.
    /// Reply: `dap::types::LoadedSourcesResponseBody`.
    LoadedSources,
    /// The text of a `load` chunk (by `sourceReference`) or of a loaded
    /// file. Allowed while running. Reply: `dap::types::SourceResponseBody`.
    Source(dap::types::SourceArguments),
    /// Replace the function breakpoints (bound now where a definition is
    /// loaded, later where one loads). Allowed while running.
    /// Reply: `dap::types::SetBreakpointsResponseBody`.
    SetFunctionBreakpoints(dap::types::SetFunctionBreakpointsArguments),
    /// Only while stopped: whether a child of a variables reference can be
    /// watched for writes, and the `dataId` to watch it with.
    /// Reply: `dap::types::DataBreakpointInfoResponseBody`.
    DataBreakpointInfo(dap::types::DataBreakpointInfoArguments),
    /// Replace the data breakpoints. Allowed while running.
    /// Reply: `dap::types::SetBreakpointsResponseBody`.
    SetDataBreakpoints(dap::types::SetDataBreakpointsArguments),
    /// The lines of a range of a file that hold code. Allowed in any state.
    /// Reply: `dap::types::BreakpointLocationsResponseBody`.
    BreakpointLocations(dap::types::BreakpointLocationsArguments),
}

/// Arguments of [`HostCommand::Cancel`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelArguments {
    /// The host request id to cancel.
    pub request_id: u64,
}

impl HostCommand {
    /// The command's name on the wire (`"variables"`, `"hotReload"`), for
    /// messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            HostCommand::Launch(_) => "launch",
            HostCommand::SetBreakpoints(_) => "setBreakpoints",
            HostCommand::SetExceptionBreakpoints(_) => "setExceptionBreakpoints",
            HostCommand::ConfigurationDone => "configurationDone",
            HostCommand::Threads => "threads",
            HostCommand::Continue => "continue",
            HostCommand::Next => "next",
            HostCommand::StepIn => "stepIn",
            HostCommand::StepOut => "stepOut",
            HostCommand::Pause => "pause",
            HostCommand::StackTrace(_) => "stackTrace",
            HostCommand::Scopes(_) => "scopes",
            HostCommand::Variables(_) => "variables",
            HostCommand::Evaluate(_) => "evaluate",
            HostCommand::SetVariable(_) => "setVariable",
            HostCommand::RestartFrame(_) => "restartFrame",
            HostCommand::Completions(_) => "completions",
            HostCommand::HotReload(_) => "hotReload",
            HostCommand::Terminate => "terminate",
            HostCommand::Cancel(_) => "cancel",
            HostCommand::ExceptionInfo(_) => "exceptionInfo",
            HostCommand::LoadedSources => "loadedSources",
            HostCommand::Source(_) => "source",
            HostCommand::SetFunctionBreakpoints(_) => "setFunctionBreakpoints",
            HostCommand::DataBreakpointInfo(_) => "dataBreakpointInfo",
            HostCommand::SetDataBreakpoints(_) => "setDataBreakpoints",
            HostCommand::BreakpointLocations(_) => "breakpointLocations",
        }
    }
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
}

impl HostError {
    /// An error of `kind` with `message` and no location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> HostError {
        HostError {
            kind,
            message: message.into(),
            location: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names() {
        let commands = [
            HostCommand::Launch(LaunchArguments::default()),
            HostCommand::SetBreakpoints(SetBreakpointsArguments::default()),
            HostCommand::ConfigurationDone,
            HostCommand::Threads,
            HostCommand::StepIn,
            HostCommand::Variables(VariablesArguments::default()),
            HostCommand::HotReload(HotReloadArguments::default()),
            HostCommand::Cancel(CancelArguments { request_id: 3 }),
            HostCommand::ExceptionInfo(ExceptionInfoArguments::default()),
            HostCommand::LoadedSources,
            HostCommand::Source(dap::types::SourceArguments::default()),
            HostCommand::SetFunctionBreakpoints(Default::default()),
            HostCommand::DataBreakpointInfo(Default::default()),
            HostCommand::SetDataBreakpoints(Default::default()),
            HostCommand::BreakpointLocations(Default::default()),
        ];
        for command in commands {
            let wire = serde_json::to_value(&command).expect("serializable");
            assert_eq!(wire["command"], command.name(), "{wire}");
        }
        let cancel: HostRequest =
            serde_json::from_str(r#"{"id":9,"command":"cancel","arguments":{"requestId":4}}"#)
                .expect("cancel parses");
        assert_eq!(
            cancel.command,
            HostCommand::Cancel(CancelArguments { request_id: 4 })
        );
    }
}
