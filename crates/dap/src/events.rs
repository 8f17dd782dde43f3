//! Typed events: each marker type ties an event name to its body.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{
    BreakpointEventBody, ContinuedEventBody, ExitedEventBody, HotReloadResponseBody,
    InvalidatedEventBody, OutputEventBody, StoppedEventBody, TerminatedEventBody, ThreadEventBody,
};

/// A DAP event: its name and body.
pub trait Event {
    /// The `event` field on the wire.
    const EVENT: &'static str;
    /// The `body`; `()` for none.
    type Body: DeserializeOwned + Serialize;
}

/// Turns a typed event body into an envelope body (`None` for `()`).
pub fn body<E: Event>(body: &E::Body) -> Option<serde_json::Value> {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Null) | Err(_) => None,
        Ok(value) => Some(value),
    }
}

macro_rules! events {
    ($($(#[$doc:meta])* $name:ident = $event:literal, $body:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub enum $name {}

            impl Event for $name {
                const EVENT: &'static str = $event;
                type Body = $body;
            }
        )*
    };
}

events! {
    /// Ready for configuration (breakpoints), sent after `launch`.
    Initialized = "initialized", ();
    /// The program stopped.
    Stopped = "stopped", StoppedEventBody;
    /// The program resumed without being asked to.
    Continued = "continued", ContinuedEventBody;
    /// Program output or an adapter notice.
    Output = "output", OutputEventBody;
    /// A thread (coroutine) started or exited.
    Thread = "thread", ThreadEventBody;
    /// A breakpoint changed (e.g. verified later).
    Breakpoint = "breakpoint", BreakpointEventBody;
    /// The program ended with an exit code.
    Exited = "exited", ExitedEventBody;
    /// Debugging ended.
    Terminated = "terminated", TerminatedEventBody;
    /// State the client shows is stale (after a reload): refetch it.
    Invalidated = "invalidated", InvalidatedEventBody;
    /// (extension) a module was reloaded; the body is the `hotReload` response body.
    HotReloaded = "hotReloaded", HotReloadResponseBody;
    /// A source was loaded (or changed by a reload).
    LoadedSource = "loadedSource", crate::types::LoadedSourceEventBody;
}
