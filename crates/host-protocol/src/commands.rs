//! Every host command, written once: the table at the end of this file
//! makes, from one row per command, the typed marker the session calls
//! (`call::<commands::Scopes>(args)`), the host's [`HostCommand`] enum it
//! reads the same line into, the command's wire name, and [`NAMES`].
//!
//! Most commands are a DAP request the session passes on unchanged: for
//! those the marker *is* the `dap::requests` marker (same name, arguments
//! and reply), so nothing about them is repeated here. The others take no
//! arguments (a DAP request's `threadId` stays in the session) or exist
//! only between session and host.
//!
//! The wire form: `{"id": N, "command": NAME, "arguments": ARGS}`, with no
//! `arguments` for commands that take none.

use dap::requests::Request;
use dap::types::ThreadsResponseBody;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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

/// Something done with a command that is a DAP request passed on as it is
/// (see [`with_forwarded`]).
pub trait ForwardedVisitor {
    /// What the visit gives back.
    type Output;
    /// Visits command `C`, which is also the DAP request `C`.
    fn visit<C>(self) -> Self::Output
    where
        C: Command
            + Request<Arguments = <C as Command>::Arguments, Response = <C as Command>::Reply>
            + 'static;
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

macro_rules! host_commands {
    (
        forwarded { $($(#[$fdoc:meta])* $forwarded:ident,)* }
        unit { $($(#[$udoc:meta])* $unit:ident = $uname:literal => $ureply:ty,)* }
        own { $($(#[$odoc:meta])* $own:ident = $oname:literal, $oargs:ty => $oreply:ty,)* }
    ) => {
        $(
            pub use dap::requests::$forwarded;

            impl Command for $forwarded {
                const NAME: &'static str = <$forwarded as Request>::COMMAND;
                type Arguments = <$forwarded as Request>::Arguments;
                type Reply = <$forwarded as Request>::Response;
            }
        )*
        $(
            #[doc = concat!("The marker of [`HostCommand::", stringify!($unit), "`].")]
            #[derive(Debug)]
            pub enum $unit {}

            impl Command for $unit {
                const NAME: &'static str = $uname;
                type Arguments = ();
                type Reply = $ureply;
            }
        )*
        $(
            #[doc = concat!("The marker of [`HostCommand::", stringify!($own), "`].")]
            #[derive(Debug)]
            pub enum $own {}

            impl Command for $own {
                const NAME: &'static str = $oname;
                type Arguments = $oargs;
                type Reply = $oreply;
            }
        )*

        /// What the session can ask of a host, as the host reads it. Each
        /// documents its reply payload.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "command", content = "arguments", rename_all = "camelCase")]
        pub enum HostCommand {
            $($(#[$fdoc])* $forwarded(<$forwarded as Request>::Arguments),)*
            $($(#[$udoc])* #[serde(rename = $uname)] $unit,)*
            $($(#[$odoc])* #[serde(rename = $oname)] $own($oargs),)*
        }

        impl HostCommand {
            /// The command's name on the wire (`"variables"`, `"hotReload"`),
            /// for messages and logs.
            pub fn name(&self) -> &'static str {
                match self {
                    $(HostCommand::$forwarded(_) => <$forwarded as Command>::NAME,)*
                    $(HostCommand::$unit => $uname,)*
                    $(HostCommand::$own(_) => $oname,)*
                }
            }
        }

        /// Every command's name, for tests and for routing.
        pub const NAMES: &[&str] = &[
            $(<$forwarded as Command>::NAME,)* $($uname,)* $($oname,)*
        ];

        /// Visits the command named `name` when it is a DAP request passed
        /// on as it is; `None` for any other name.
        pub fn with_forwarded<V: ForwardedVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            $(if name == <$forwarded as Command>::NAME {
                return Some(visitor.visit::<$forwarded>());
            })*
            None
        }

        /// Every command with default arguments, and the line its marker
        /// writes for them.
        #[cfg(test)]
        fn every_command() -> Vec<(HostCommand, Vec<u8>)> {
            vec![
                $((HostCommand::$forwarded(Default::default()), tests::line::<$forwarded>()),)*
                $((HostCommand::$unit, tests::line::<$unit>()),)*
                $((HostCommand::$own(Default::default()), tests::line::<$own>()),)*
            ]
        }
    };
}

host_commands! {
    forwarded {
        /// Prepare the VM for `program` (paths, args, env, cwd); does not run it.
        /// Reply: `null`.
        Launch,
        /// Replace the breakpoints of one source. Allowed while running.
        /// Reply: `dap::types::SetBreakpointsResponseBody`.
        SetBreakpoints,
        /// Choose which errors stop the program (filters `uncaught`, on until
        /// this says otherwise, and `all`). Allowed while running.
        /// Reply: `dap::types::SetExceptionBreakpointsResponseBody`.
        SetExceptionBreakpoints,
        /// Only while stopped. Reply: `dap::types::StackTraceResponseBody`.
        StackTrace,
        /// Only while stopped. Reply: `dap::types::ScopesResponseBody`.
        Scopes,
        /// Only while stopped. Reply: `dap::types::VariablesResponseBody`.
        Variables,
        /// In the given frame while stopped; in the global scope while running.
        /// Contexts other than `repl` (watch, hover, variables, ...) stop after
        /// 1 s or 10 million instructions; `repl` after 2 billion instructions,
        /// or on `cancel` or `pause`.
        /// Reply: `dap::types::EvaluateResponseBody`.
        Evaluate,
        /// Only while stopped: assign the child `name` of a variables reference
        /// the value of an expression evaluated in the reference's frame.
        /// Reply: `dap::types::SetVariableResponseBody`.
        SetVariable,
        /// Only while stopped at a line: run the top frame's function again
        /// from its first line, with the code a hot reload gave it and its
        /// parameters' current values; a `stopped` event with reason `restart`
        /// follows. Reply: `null`, or the reason it cannot be restarted.
        RestartFrame,
        /// REPL completions in a frame (stopped) or the global scope (running).
        /// `line` and `column` are 1-based here (the session converts from the
        /// client's base), `column` in UTF-16 code units; so is `start` in the
        /// reply. Never calls Lua functions or metamethods.
        /// Reply: `dap::types::CompletionsResponseBody`.
        Completions,
        /// Allowed while stopped and while running.
        /// Reply: `dap::types::HotReloadResponseBody`.
        HotReload,
        /// Only while stopped: the error of an exception stop (an error when
        /// the stop is not one).
        /// Reply: `dap::types::ExceptionInfoResponseBody`.
        ExceptionInfo,
        /// The text of a `load` chunk (by `sourceReference`) or of a loaded
        /// file. Allowed while running. Reply: `dap::types::SourceResponseBody`.
        Source,
        /// Replace the function breakpoints (bound now where a definition is
        /// loaded, later where one loads). Allowed while running.
        /// Reply: `dap::types::SetBreakpointsResponseBody`.
        SetFunctionBreakpoints,
        /// Only while stopped: whether a child of a variables reference can be
        /// watched for writes, and the `dataId` to watch it with.
        /// Reply: `dap::types::DataBreakpointInfoResponseBody`.
        DataBreakpointInfo,
        /// Replace the data breakpoints. Allowed while running.
        /// Reply: `dap::types::SetBreakpointsResponseBody`.
        SetDataBreakpoints,
        /// The lines of a range of a file that hold code. Allowed in any state.
        /// Reply: `dap::types::BreakpointLocationsResponseBody`.
        BreakpointLocations,
    }
    unit {
        /// Start running the program (stopping on entry if asked). Reply: `null`.
        ConfigurationDone = "configurationDone" => (),
        /// Reply: `dap::types::ThreadsResponseBody`.
        Threads = "threads" => ThreadsResponseBody,
        /// Resume. Reply: `null`, then a `continued`-like state until the next `stopped`.
        Continue = "continue" => (),
        /// Step over. Reply: `null`.
        Next = "next" => (),
        /// Step into. Reply: `null`.
        StepIn = "stepIn" => (),
        /// Step out. Reply: `null`.
        StepOut = "stepOut" => (),
        /// Stop as soon as possible, also inside a long-running loop. Reply: `null`,
        /// then a `stopped` event with reason `pause`. A running evaluation
        /// stops first, with the error `evaluation paused`.
        Pause = "pause" => (),
        /// End the program; the host exits after replying. Reply: `null`.
        Terminate = "terminate" => (),
        /// Every source loaded so far. Allowed while running.
        /// Reply: `dap::types::LoadedSourcesResponseBody`.
        LoadedSources = "loadedSources" => dap::types::LoadedSourcesResponseBody,
    }
    own {
        /// Cancel request `requestId` (a host request id): one still queued is
        /// answered `cancelled` at once; a running evaluation stops with the
        /// error `cancelled` (also when it is inside a C call that cannot be
        /// interrupted: then the host answers `busy` until the call returns).
        /// Anything else finishes normally. Answered at once, in any state.
        /// Reply: `null`.
        Cancel = "cancel", CancelArguments => (),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HostRequest;

    pub(super) fn line<C: Command>() -> Vec<u8>
    where
        C::Arguments: Default,
    {
        let value = serde_json::to_value(C::Arguments::default()).unwrap_or(Value::Null);
        request_line(7, C::NAME, &value)
    }

    #[test]
    fn every_marker_encodes_as_the_host_reads_it() {
        let cases = every_command();
        assert_eq!(cases.len(), NAMES.len());
        for (command, bytes) in cases {
            let request: HostRequest = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&bytes)));
            assert_eq!(request.id, 7);
            assert_eq!(request.command, command);
            // The enum's wire name is the marker's.
            let wire = serde_json::to_value(&command).unwrap_or_default();
            assert_eq!(wire["command"], command.name(), "{wire}");
        }
        let cancel: HostRequest =
            serde_json::from_str(r#"{"id":9,"command":"cancel","arguments":{"requestId":4}}"#)
                .unwrap_or_else(|e| panic!("cancel: {e}"));
        assert_eq!(
            cancel.command,
            HostCommand::Cancel(CancelArguments { request_id: 4 })
        );
    }

    #[test]
    fn only_forwarded_requests_are_visited() {
        struct Name;
        impl ForwardedVisitor for Name {
            type Output = &'static str;
            fn visit<C>(self) -> &'static str
            where
                C: Command
                    + Request<Arguments = <C as Command>::Arguments, Response = <C as Command>::Reply>
                    + 'static,
            {
                <C as Request>::COMMAND
            }
        }
        assert_eq!(with_forwarded("scopes", Name), Some("scopes"));
        assert_eq!(with_forwarded("source", Name), Some("source"));
        assert_eq!(with_forwarded("next", Name), None);
        assert_eq!(with_forwarded("fly", Name), None);
    }

    #[test]
    fn unit_replies_accept_any_payload() {
        assert!(reply::<Next>(Value::Null).is_ok());
        assert!(reply::<Next>(serde_json::json!({"x": 1})).is_ok());
        assert!(reply::<Threads>(serde_json::json!(3)).is_err());
    }
}
