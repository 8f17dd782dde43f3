//! The seam between the session and wherever the debuggee's VM lives: a
//! [`RuntimeFactory`] starts a [`DebugRuntime`], which takes host commands
//! (`host_protocol::commands`) as JSON and reports [`RuntimeEvent`]s. The
//! session never knows whether it is a child process, an agent over a
//! socket or a script in a test.

use std::sync::Arc;

use async_trait::async_trait;
use dap::types::{
    ContinuedEventBody, ExitedEventBody, OutputEventBody, StoppedEventBody, ThreadEventBody,
};
use host_protocol::commands::{self, Command};
use serde_json::Value;
use tokio::sync::mpsc;

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
    /// The runtime refused or failed the request: a kind, the message for
    /// the user (`file:line: reason` where a location is known), where.
    #[error("{}", .0.message)]
    Host(host_protocol::HostError),
    /// The runtime went away before answering.
    #[error("the program is no longer running")]
    Gone,
    /// The runtime answered with something that is not the documented payload.
    #[error("the host sent an unexpected reply: {0}")]
    Protocol(String),
}

impl RuntimeError {
    /// A failure of `kind` with `message` and no location.
    pub fn failed(kind: host_protocol::ErrorKind, message: impl Into<String>) -> RuntimeError {
        RuntimeError::Host(host_protocol::HostError::new(kind, message))
    }
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
    /// A breakpoint changed by itself (bound when its code loaded, moved
    /// by a reload).
    Breakpoint(dap::types::BreakpointEventBody),
    /// The runtime is gone for good; always the last event.
    Terminated,
}

/// Names one call to a runtime, so that it can be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallId(pub u64);

/// One debuggee, driven by the session. Methods take `&self` so that a
/// `terminate`, `pause` or `cancel` can run while another call waits for the
/// program.
#[async_trait]
pub trait DebugRuntime: Send + Sync {
    /// A fresh id for the next [`DebugRuntime::request`].
    fn next_call(&self) -> CallId;
    /// Sends one host command (a name of `host_protocol::commands`) with its
    /// arguments (`Null` for none) and waits for the reply payload. Use the
    /// typed [`call`] instead.
    async fn request(
        &self,
        call: CallId,
        command: &'static str,
        arguments: Value,
    ) -> Result<Value, RuntimeError>;
    /// Asks the runtime to give up `call` early; the call still gets its
    /// answer (usually the error `cancelled`). Unknown or finished calls are
    /// ignored.
    async fn cancel(&self, call: CallId);
    /// Ends the program. When this returns the runtime is gone (its process
    /// reaped); calling it again is harmless.
    async fn terminate(&self);
}

/// One typed call: `C`'s arguments in, `C`'s reply out.
pub async fn call<C: Command>(
    runtime: &dyn DebugRuntime,
    id: CallId,
    arguments: C::Arguments,
) -> Result<C::Reply, RuntimeError> {
    let arguments =
        serde_json::to_value(arguments).map_err(|e| RuntimeError::Protocol(e.to_string()))?;
    let value = runtime.request(id, C::NAME, arguments).await?;
    commands::reply::<C>(value).map_err(|e| RuntimeError::Protocol(e.to_string()))
}

/// Starts runtimes for a session; `launch` asks it for one.
#[async_trait]
pub trait RuntimeFactory: Send + Sync {
    /// Starts the runtime named by the `runtime` launch argument (`None`: the
    /// default). Its events, ending with [`RuntimeEvent::Terminated`], go to
    /// `events`; a full channel must slow the runtime down, not grow memory.
    async fn start(
        &self,
        runtime: Option<&str>,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Arc<dyn DebugRuntime>, RuntimeError>;
}
