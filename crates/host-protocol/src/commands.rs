//! Typed host commands: each marker ties a command name to its arguments
//! and its reply, so the session writes one generic call
//! (`call::<commands::Scopes>(args)`) instead of one method per command.
//!
//! The wire form is the one [`crate::HostCommand`] reads:
//! `{"id": N, "command": NAME, "arguments": ARGS}`, with no `arguments` for
//! commands that take none. A test checks every marker against the enum.

use dap::types::{
    CompletionsArguments, CompletionsResponseBody, EvaluateArguments, EvaluateResponseBody,
    HotReloadArguments, HotReloadResponseBody, LaunchArguments, RestartFrameArguments,
    ScopesArguments, ScopesResponseBody, SetBreakpointsArguments, SetBreakpointsResponseBody,
    SetExceptionBreakpointsArguments, SetExceptionBreakpointsResponseBody, SetExpressionArguments,
    SetExpressionResponseBody, SetVariableArguments, SetVariableResponseBody, StackTraceArguments,
    StackTraceResponseBody, ThreadsResponseBody, VariablesArguments, VariablesResponseBody,
};
use dap::types::{
    DataBreakpointInfoArguments, DataBreakpointInfoResponseBody, ExceptionInfoArguments,
    ExceptionInfoResponseBody, LoadedSourcesResponseBody, SetDataBreakpointsArguments,
    SetFunctionBreakpointsArguments, SourceArguments, SourceResponseBody,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::CancelArguments;

/// A command a host understands: its name, arguments and reply payload.
pub trait Command {
    /// The `command` field on the wire.
    const NAME: &'static str;
    /// The `arguments`; `()` for none.
    type Arguments: Serialize + DeserializeOwned + Send;
    /// The reply payload; `()` for `null`.
    type Reply: Serialize + DeserializeOwned + Send;
}

/// One request line (with its newline) for a command given its arguments as
/// JSON; `Null` arguments are left out, as the host expects for commands
/// without any.
pub fn request_line(id: u64, command: &str, arguments: &Value) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), Value::from(id));
    object.insert("command".into(), Value::from(command));
    if !arguments.is_null() {
        object.insert("arguments".into(), arguments.clone());
    }
    // A map of strings, numbers and `Value`s always serialises.
    let mut line = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Replies of `null` are read as `()` whatever the host sent alongside.
pub fn reply<C: Command>(value: Value) -> Result<C::Reply, serde_json::Error> {
    match serde_json::from_value(value) {
        Ok(reply) => Ok(reply),
        // `()` accepts only `null`; a unit command's payload is ignored.
        Err(e) => serde_json::from_value(Value::Null).map_err(|_| e),
    }
}

macro_rules! commands {
    ($($(#[$doc:meta])* $name:ident = $command:literal, $args:ty => $reply:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}

            impl Command for $name {
                const NAME: &'static str = $command;
                type Arguments = $args;
                type Reply = $reply;
            }
        )*

        /// Every command's name, for tests and for routing.
        pub const NAMES: &[&str] = &[$($command),*];
    };
}

commands! {
    /// See [`crate::HostCommand::Launch`].
    Launch = "launch", LaunchArguments => ();
    /// See [`crate::HostCommand::SetBreakpoints`].
    SetBreakpoints = "setBreakpoints", SetBreakpointsArguments => SetBreakpointsResponseBody;
    /// See [`crate::HostCommand::SetExceptionBreakpoints`].
    SetExceptionBreakpoints = "setExceptionBreakpoints",
        SetExceptionBreakpointsArguments => SetExceptionBreakpointsResponseBody;
    /// See [`crate::HostCommand::ConfigurationDone`].
    ConfigurationDone = "configurationDone", () => ();
    /// See [`crate::HostCommand::Threads`].
    Threads = "threads", () => ThreadsResponseBody;
    /// See [`crate::HostCommand::Continue`].
    Continue = "continue", () => ();
    /// See [`crate::HostCommand::Next`].
    Next = "next", () => ();
    /// See [`crate::HostCommand::StepIn`].
    StepIn = "stepIn", () => ();
    /// See [`crate::HostCommand::StepOut`].
    StepOut = "stepOut", () => ();
    /// See [`crate::HostCommand::Pause`].
    Pause = "pause", () => ();
    /// See [`crate::HostCommand::StackTrace`].
    StackTrace = "stackTrace", StackTraceArguments => StackTraceResponseBody;
    /// See [`crate::HostCommand::Scopes`].
    Scopes = "scopes", ScopesArguments => ScopesResponseBody;
    /// See [`crate::HostCommand::Variables`].
    Variables = "variables", VariablesArguments => VariablesResponseBody;
    /// See [`crate::HostCommand::Evaluate`].
    Evaluate = "evaluate", EvaluateArguments => EvaluateResponseBody;
    /// See [`crate::HostCommand::SetVariable`].
    SetVariable = "setVariable", SetVariableArguments => SetVariableResponseBody;
    /// See [`crate::HostCommand::SetExpression`].
    SetExpression = "setExpression", SetExpressionArguments => SetExpressionResponseBody;
    /// See [`crate::HostCommand::RestartFrame`].
    RestartFrame = "restartFrame", RestartFrameArguments => ();
    /// See [`crate::HostCommand::Completions`].
    Completions = "completions", CompletionsArguments => CompletionsResponseBody;
    /// See [`crate::HostCommand::HotReload`].
    HotReload = "hotReload", HotReloadArguments => HotReloadResponseBody;
    /// See [`crate::HostCommand::Terminate`].
    Terminate = "terminate", () => ();
    /// See [`crate::HostCommand::Cancel`].
    Cancel = "cancel", CancelArguments => ();
    /// See [`crate::HostCommand::ExceptionInfo`].
    ExceptionInfo = "exceptionInfo", ExceptionInfoArguments => ExceptionInfoResponseBody;
    /// See [`crate::HostCommand::LoadedSources`].
    LoadedSources = "loadedSources", () => LoadedSourcesResponseBody;
    /// See [`crate::HostCommand::Source`].
    Source = "source", SourceArguments => SourceResponseBody;
    /// See [`crate::HostCommand::SetFunctionBreakpoints`].
    SetFunctionBreakpoints = "setFunctionBreakpoints",
        SetFunctionBreakpointsArguments => SetBreakpointsResponseBody;
    /// See [`crate::HostCommand::DataBreakpointInfo`].
    DataBreakpointInfo = "dataBreakpointInfo",
        DataBreakpointInfoArguments => DataBreakpointInfoResponseBody;
    /// See [`crate::HostCommand::SetDataBreakpoints`].
    SetDataBreakpoints = "setDataBreakpoints",
        SetDataBreakpointsArguments => SetBreakpointsResponseBody;
    /// See [`crate::HostCommand::BreakpointLocations`].
    BreakpointLocations = "breakpointLocations",
        dap::types::BreakpointLocationsArguments => dap::types::BreakpointLocationsResponseBody;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HostCommand, HostRequest};

    fn line<C: Command>(args: &C::Arguments) -> Vec<u8> {
        let value = serde_json::to_value(args).unwrap_or(Value::Null);
        request_line(7, C::NAME, &value)
    }

    fn decoded(bytes: &[u8]) -> HostRequest {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(bytes)))
    }

    #[test]
    fn every_marker_encodes_as_the_host_reads_it() {
        let cases: Vec<(Vec<u8>, HostCommand)> = vec![
            (
                line::<Launch>(&LaunchArguments {
                    program: "p.lua".into(),
                    ..Default::default()
                }),
                HostCommand::Launch(LaunchArguments {
                    program: "p.lua".into(),
                    ..Default::default()
                }),
            ),
            (
                line::<SetBreakpoints>(&Default::default()),
                HostCommand::SetBreakpoints(Default::default()),
            ),
            (
                line::<SetExceptionBreakpoints>(&Default::default()),
                HostCommand::SetExceptionBreakpoints(Default::default()),
            ),
            (
                line::<ConfigurationDone>(&()),
                HostCommand::ConfigurationDone,
            ),
            (line::<Threads>(&()), HostCommand::Threads),
            (line::<Continue>(&()), HostCommand::Continue),
            (line::<Next>(&()), HostCommand::Next),
            (line::<StepIn>(&()), HostCommand::StepIn),
            (line::<StepOut>(&()), HostCommand::StepOut),
            (line::<Pause>(&()), HostCommand::Pause),
            (
                line::<StackTrace>(&Default::default()),
                HostCommand::StackTrace(Default::default()),
            ),
            (
                line::<Scopes>(&Default::default()),
                HostCommand::Scopes(Default::default()),
            ),
            (
                line::<Variables>(&Default::default()),
                HostCommand::Variables(Default::default()),
            ),
            (
                line::<Evaluate>(&Default::default()),
                HostCommand::Evaluate(Default::default()),
            ),
            (
                line::<SetVariable>(&Default::default()),
                HostCommand::SetVariable(Default::default()),
            ),
            (
                line::<SetExpression>(&Default::default()),
                HostCommand::SetExpression(Default::default()),
            ),
            (
                line::<RestartFrame>(&Default::default()),
                HostCommand::RestartFrame(Default::default()),
            ),
            (
                line::<Completions>(&Default::default()),
                HostCommand::Completions(Default::default()),
            ),
            (
                line::<HotReload>(&Default::default()),
                HostCommand::HotReload(Default::default()),
            ),
            (line::<Terminate>(&()), HostCommand::Terminate),
            (
                line::<Cancel>(&CancelArguments { request_id: 3 }),
                HostCommand::Cancel(CancelArguments { request_id: 3 }),
            ),
            (
                line::<ExceptionInfo>(&Default::default()),
                HostCommand::ExceptionInfo(Default::default()),
            ),
            (line::<LoadedSources>(&()), HostCommand::LoadedSources),
            (
                line::<Source>(&Default::default()),
                HostCommand::Source(Default::default()),
            ),
            (
                line::<SetFunctionBreakpoints>(&Default::default()),
                HostCommand::SetFunctionBreakpoints(Default::default()),
            ),
            (
                line::<DataBreakpointInfo>(&Default::default()),
                HostCommand::DataBreakpointInfo(Default::default()),
            ),
            (
                line::<SetDataBreakpoints>(&Default::default()),
                HostCommand::SetDataBreakpoints(Default::default()),
            ),
            (
                line::<BreakpointLocations>(&Default::default()),
                HostCommand::BreakpointLocations(Default::default()),
            ),
        ];
        assert_eq!(cases.len(), NAMES.len(), "a marker has no case here");
        for (bytes, command) in cases {
            let request = decoded(&bytes);
            assert_eq!(request.id, 7);
            assert_eq!(request.command.name(), command.name());
            assert_eq!(request.command, command);
            // And the enum writes exactly what the marker writes.
            let mut expected =
                serde_json::to_vec(&HostRequest { id: 7, command }).unwrap_or_default();
            expected.push(b'\n');
            let ours: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let theirs: Value = serde_json::from_slice(&expected).unwrap_or_default();
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn unit_replies_accept_any_payload() {
        assert!(reply::<Next>(Value::Null).is_ok());
        assert!(reply::<Next>(serde_json::json!({"x": 1})).is_ok());
        assert!(reply::<Threads>(serde_json::json!(3)).is_err());
    }
}
