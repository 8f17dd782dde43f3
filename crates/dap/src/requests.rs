//! Typed requests: each marker type ties a command name to its arguments and
//! its response body, so handlers work with structs instead of `Value`s.

use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Serialize};

use crate::envelope;
use crate::types::{
    AttachArguments, CancelArguments, Capabilities, CompletionsArguments, CompletionsResponseBody,
    ContinueResponseBody, DisconnectArguments, EvaluateArguments, EvaluateResponseBody,
    HotReloadArguments, HotReloadResponseBody, InitializeArguments, LaunchArguments, NoArguments,
    RestartFrameArguments, ScopesArguments, ScopesResponseBody, SetBreakpointsArguments,
    SetBreakpointsResponseBody, SetExceptionBreakpointsArguments,
    SetExceptionBreakpointsResponseBody, SetVariableArguments, SetVariableResponseBody,
    StackTraceArguments, StackTraceResponseBody, TerminateArguments, ThreadArguments,
    ThreadsResponseBody, VariablesArguments, VariablesResponseBody,
};

/// A DAP request: its command name, arguments and response body.
pub trait Request {
    /// The `command` field on the wire.
    const COMMAND: &'static str;
    /// The `arguments` of the request.
    type Arguments: DeserializeOwned + Serialize;
    /// The `body` of a successful response; `()` for none.
    type Response: DeserializeOwned + Serialize;
}

/// Reads a request's arguments as `R::Arguments`; absent arguments read as `{}`.
pub fn arguments<R: Request>(
    request: &envelope::Request,
) -> Result<R::Arguments, serde_json::Error> {
    match &request.arguments {
        Some(value) if !value.is_null() => R::Arguments::deserialize(value),
        _ => serde_json::from_value(serde_json::json!({})),
    }
}

/// Turns a typed response body into an envelope body (`None` for `()`).
pub fn body<R: Request>(response: &R::Response) -> Option<serde_json::Value> {
    match serde_json::to_value(response) {
        Ok(serde_json::Value::Null) | Err(_) => None,
        Ok(value) => Some(value),
    }
}

macro_rules! requests {
    ($($(#[$doc:meta])* $name:ident = $command:literal, $args:ty => $response:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}

            impl Request for $name {
                const COMMAND: &'static str = $command;
                type Arguments = $args;
                type Response = $response;
            }
        )*
    };
}

requests! {
    /// `initialize`: capability exchange.
    Initialize = "initialize", InitializeArguments => Capabilities;
    /// `launch`: start the debuggee (README.md "Launch arguments").
    Launch = "launch", LaunchArguments => ();
    /// `attach`: debug a program that loaded the agent (README.md "Attach").
    Attach = "attach", AttachArguments => ();
    /// `setBreakpoints`: replace the breakpoints of one source.
    SetBreakpoints = "setBreakpoints", SetBreakpointsArguments => SetBreakpointsResponseBody;
    /// `setExceptionBreakpoints`: which errors stop the program.
    SetExceptionBreakpoints = "setExceptionBreakpoints",
        SetExceptionBreakpointsArguments => SetExceptionBreakpointsResponseBody;
    /// `configurationDone`: the client finished configuring; run.
    ConfigurationDone = "configurationDone", NoArguments => ();
    /// `threads`: the main thread and live coroutines.
    Threads = "threads", NoArguments => ThreadsResponseBody;
    /// `continue`: resume.
    Continue = "continue", ThreadArguments => ContinueResponseBody;
    /// `next`: step over.
    Next = "next", ThreadArguments => ();
    /// `stepIn`: step into.
    StepIn = "stepIn", ThreadArguments => ();
    /// `stepOut`: step out.
    StepOut = "stepOut", ThreadArguments => ();
    /// `pause`: stop as soon as possible.
    Pause = "pause", ThreadArguments => ();
    /// `stackTrace`: frames of a stopped thread.
    StackTrace = "stackTrace", StackTraceArguments => StackTraceResponseBody;
    /// `scopes`: Locals, Upvalues, Globals of a frame.
    Scopes = "scopes", ScopesArguments => ScopesResponseBody;
    /// `variables`: children of a variables reference.
    Variables = "variables", VariablesArguments => VariablesResponseBody;
    /// `evaluate`: an expression in a frame or the global scope.
    Evaluate = "evaluate", EvaluateArguments => EvaluateResponseBody;
    /// `setVariable`: assign a local, upvalue, global or table field while stopped.
    SetVariable = "setVariable", SetVariableArguments => SetVariableResponseBody;
    /// `restartFrame`: run a stopped function again from its first line.
    RestartFrame = "restartFrame", RestartFrameArguments => ();
    /// `completions`: REPL completions in a frame.
    Completions = "completions", CompletionsArguments => CompletionsResponseBody;
    /// `hotReload` (extension): reload a module while the program runs or is stopped.
    HotReload = "hotReload", HotReloadArguments => HotReloadResponseBody;
    /// `disconnect`: end the session; the debuggee is terminated.
    Disconnect = "disconnect", DisconnectArguments => ();
    /// `terminate`: end the debuggee; the session stays until `disconnect`.
    Terminate = "terminate", TerminateArguments => ();
    /// `cancel`: stop working on an earlier request, which then fails with
    /// the message `cancelled`.
    Cancel = "cancel", CancelArguments => ();
    /// `exceptionInfo`: the error of an exception stop.
    ExceptionInfo = "exceptionInfo",
        crate::types::ExceptionInfoArguments => crate::types::ExceptionInfoResponseBody;
    /// `setFunctionBreakpoints`: replace the function breakpoints.
    SetFunctionBreakpoints = "setFunctionBreakpoints",
        crate::types::SetFunctionBreakpointsArguments => SetBreakpointsResponseBody;
    /// `loadedSources`: every file and chunk the program has run.
    LoadedSources = "loadedSources", NoArguments => crate::types::LoadedSourcesResponseBody;
    /// `source`: the text of a chunk without a file (`load`).
    Source = "source", crate::types::SourceArguments => crate::types::SourceResponseBody;
    /// `dataBreakpointInfo`: whether a variable can be watched, and its id.
    DataBreakpointInfo = "dataBreakpointInfo",
        crate::types::DataBreakpointInfoArguments => crate::types::DataBreakpointInfoResponseBody;
    /// `breakpointLocations`: the lines of a range that hold code.
    BreakpointLocations = "breakpointLocations",
        crate::types::BreakpointLocationsArguments => crate::types::BreakpointLocationsResponseBody;
    /// `setDataBreakpoints`: replace the data breakpoints.
    SetDataBreakpoints = "setDataBreakpoints",
        crate::types::SetDataBreakpointsArguments => SetBreakpointsResponseBody;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(arguments: Option<serde_json::Value>) -> envelope::Request {
        envelope::Request {
            seq: 1,
            command: "x".into(),
            arguments,
        }
    }

    #[test]
    fn absent_or_null_arguments_read_as_empty() {
        assert!(arguments::<ConfigurationDone>(&request(None)).is_ok());
        assert!(arguments::<Threads>(&request(Some(serde_json::Value::Null))).is_ok());
        let parsed = arguments::<Pause>(&request(None)).map(|a| a.thread_id);
        assert_eq!(parsed.ok(), Some(0));
    }

    #[test]
    fn typed_arguments_are_parsed_and_missing_fields_are_errors() {
        let args = serde_json::json!({"module": "game.player", "source": "return {}"});
        let parsed = arguments::<HotReload>(&request(Some(args))).ok();
        assert_eq!(
            parsed.and_then(|a| a.module).as_deref(),
            Some("game.player")
        );
        assert!(arguments::<Launch>(&request(Some(serde_json::json!({})))).is_err());
    }

    #[test]
    fn exception_filters_are_parsed_and_announced() {
        let args =
            serde_json::json!({"filters": ["uncaught"], "filterOptions": [{"filterId": "all"}]});
        let parsed = arguments::<SetExceptionBreakpoints>(&request(Some(args))).ok();
        let ids = parsed.map(|a| (a.filters, a.filter_options[0].filter_id.clone()));
        assert_eq!(ids, Some((vec!["uncaught".to_string()], "all".to_string())));
        let caps = Capabilities::default();
        let plain = body::<Initialize>(&caps).unwrap_or_default();
        assert!(plain.get("exceptionBreakpointFilters").is_none(), "{plain}");
        let caps = Capabilities {
            exception_breakpoint_filters: vec![crate::types::ExceptionBreakpointsFilter {
                filter: "all".into(),
                label: "All errors".into(),
                description: None,
                default: false,
            }],
            ..Capabilities::default()
        };
        let announced = body::<Initialize>(&caps).unwrap_or_default();
        assert_eq!(
            announced["exceptionBreakpointFilters"][0],
            serde_json::json!({"filter": "all", "label": "All errors", "default": false})
        );
    }

    #[test]
    fn unit_responses_have_no_body() {
        assert_eq!(body::<Next>(&()), None);
        let caps = Capabilities::default();
        assert!(body::<Initialize>(&caps).is_some());
    }
}
