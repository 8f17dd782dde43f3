//! The `DebugRuntime` trait: what the session needs from wherever the
//! debuggee's VM lives. The session never knows whether it is a child
//! process, a thread or something else.

use async_trait::async_trait;
use dap::types::{
    CompletionsArguments, CompletionsResponseBody, ContinuedEventBody, EvaluateArguments,
    EvaluateResponseBody, ExitedEventBody, HotReloadArguments, HotReloadResponseBody,
    LaunchArguments, OutputEventBody, ScopesArguments, ScopesResponseBody, SetBreakpointsArguments,
    SetBreakpointsResponseBody, SetExceptionBreakpointsArguments,
    SetExceptionBreakpointsResponseBody, SetVariableArguments, SetVariableResponseBody,
    StackTraceArguments, StackTraceResponseBody, StoppedEventBody, ThreadEventBody,
    ThreadsResponseBody, VariablesArguments, VariablesResponseBody,
};
use serde_json::Value;

/// Why a runtime call failed. `Display` is what the client shows the user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The `runtime` launch argument names no known runtime.
    #[error("unknown runtime '{0}' (known: lua5.4, lua5.1, lua5.2, lua5.3, luajit, luanext)")]
    UnknownRuntime(String),
    /// The runtime is part of the contract but this build cannot run it.
    #[error("runtime '{runtime}' is not available: {reason}")]
    NotAvailable {
        /// The requested runtime.
        runtime: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// The host binary for the runtime is not where it was looked for.
    #[error("no host for runtime '{runtime}': {path} does not exist (build it with scripts/build, or set HOTRELOAD_HOST_DIR)")]
    HostNotFound {
        /// The requested runtime.
        runtime: String,
        /// The path that was looked at.
        path: String,
    },
    /// Starting the host process failed.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The host binary.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime refused or failed the request; the message is for the user
    /// (`file:line: reason` where a location is known).
    #[error("{0}")]
    Failed(String),
    /// The runtime went away before answering.
    #[error("the program is no longer running")]
    Gone,
    /// The runtime answered with something that is not the documented payload.
    #[error("the host sent an unexpected reply: {0}")]
    Protocol(String),
}

/// Something that happened in the runtime without being asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeEvent {
    /// The program stopped.
    Stopped(StoppedEventBody),
    /// The program resumed.
    Continued(ContinuedEventBody),
    /// Program output or a runtime notice.
    Output(OutputEventBody),
    /// A coroutine started or ended.
    Thread(ThreadEventBody),
    /// The program ended with this exit code.
    Exited(ExitedEventBody),
    /// A source was loaded.
    LoadedSource(dap::types::LoadedSourceEventBody),
    /// A breakpoint changed by itself.
    Breakpoint(dap::types::BreakpointEventBody),
    /// The runtime is gone for good; always the last event.
    Terminated,
}

/// One debuggee, driven by the session. Methods take `&self` so that a
/// `terminate` can run while another request waits for the program.
#[async_trait]
pub trait DebugRuntime: Send + Sync {
    /// Prepares the program (paths, args, env, cwd) without running it.
    async fn launch(&self, args: LaunchArguments) -> Result<(), RuntimeError>;
    /// Replaces the breakpoints of one source; allowed while running.
    async fn set_breakpoints(
        &self,
        args: SetBreakpointsArguments,
    ) -> Result<SetBreakpointsResponseBody, RuntimeError>;
    /// Chooses which errors stop the program (`uncaught`, `all`); allowed
    /// while running. One answer per filter, unknown ones unverified.
    async fn set_exception_breakpoints(
        &self,
        args: SetExceptionBreakpointsArguments,
    ) -> Result<SetExceptionBreakpointsResponseBody, RuntimeError>;
    /// Starts running the program.
    async fn configuration_done(&self) -> Result<(), RuntimeError>;
    /// The main thread and live coroutines.
    async fn threads(&self) -> Result<ThreadsResponseBody, RuntimeError>;
    /// Resumes.
    async fn continue_(&self) -> Result<(), RuntimeError>;
    /// Steps over.
    async fn next(&self) -> Result<(), RuntimeError>;
    /// Steps into.
    async fn step_in(&self) -> Result<(), RuntimeError>;
    /// Steps out.
    async fn step_out(&self) -> Result<(), RuntimeError>;
    /// Stops as soon as possible; a `Stopped` event follows.
    async fn pause(&self) -> Result<(), RuntimeError>;
    /// Frames of the stopped program.
    async fn stack_trace(
        &self,
        args: StackTraceArguments,
    ) -> Result<StackTraceResponseBody, RuntimeError>;
    /// Scopes of a frame.
    async fn scopes(&self, args: ScopesArguments) -> Result<ScopesResponseBody, RuntimeError>;
    /// Children of a variables reference.
    async fn variables(
        &self,
        args: VariablesArguments,
    ) -> Result<VariablesResponseBody, RuntimeError>;
    /// Evaluates an expression in a frame (stopped) or the global scope (running).
    async fn evaluate(&self, args: EvaluateArguments)
        -> Result<EvaluateResponseBody, RuntimeError>;
    /// Assigns a variable of the stopped program the value of an expression
    /// evaluated in the variable's frame; on failure nothing changed.
    async fn set_variable(
        &self,
        args: SetVariableArguments,
    ) -> Result<SetVariableResponseBody, RuntimeError>;
    /// REPL completions; `line`, `column` and the items' `start` are 1-based.
    async fn completions(
        &self,
        args: CompletionsArguments,
    ) -> Result<CompletionsResponseBody, RuntimeError>;
    /// Reloads a module; on failure the program is exactly as before.
    async fn hot_reload(
        &self,
        args: HotReloadArguments,
    ) -> Result<HotReloadResponseBody, RuntimeError>;
    /// Ends the program. When this returns the runtime is gone (its process
    /// reaped); calling it again is harmless.
    async fn terminate(&self);
    /// Sends a host command as it is and waits for its reply payload; the
    /// debugger's later requests (`exceptionInfo`, ...) go this way, typed
    /// by [`forward`].
    async fn forward(&self, command: host_protocol::HostCommand) -> Result<Value, RuntimeError>;
}

/// [`DebugRuntime::forward`] with the reply read as `T`.
pub async fn forward<T: serde::de::DeserializeOwned>(
    runtime: &dyn DebugRuntime,
    command: host_protocol::HostCommand,
) -> Result<T, RuntimeError> {
    let value = runtime.forward(command).await?;
    serde_json::from_value(value).map_err(|e| RuntimeError::Protocol(e.to_string()))
}
