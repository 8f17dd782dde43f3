//! The debug session: serves DAP on any byte stream and drives a
//! [`DebugRuntime`] made by a [`RuntimeFactory`]. The Neovim cdylib and the
//! `hotreload-dap` adapter both call [`serve`], whose factory is
//! [`HostFactory`] (a child process running `hotreload-host-<runtime>`);
//! tests and other runtimes call [`serve_with`] with a factory of their own.

use std::path::PathBuf;

mod log;
mod server;
mod summary;

pub mod attach;
pub mod host;
pub mod runtime;
pub mod sourcemaps;

pub use host::{HostFactory, HostProcess};
pub use log::TranscriptLog;
pub use runtime::{call, CallId, DebugRuntime, RuntimeError, RuntimeEvent, RuntimeFactory};
pub use server::{serve, serve_with};
pub use summary::reload_summary;

/// How a session finds and starts hosts.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// Where `hotreload-host-<runtime>` binaries live. `$HOTRELOAD_HOST_DIR`
    /// wins over this; without either, the current executable's directory.
    pub host_dir: Option<PathBuf>,
    /// Where to append a transcript of the DAP traffic, if anywhere.
    pub log: Option<TranscriptLog>,
}

/// Errors that end a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Reading from or writing to the client failed.
    /// (Not a `source`: the message already holds it, so error chains do
    /// not repeat it.)
    #[error("client stream: {0}")]
    Io(std::io::Error),
    /// The client sent bytes that cannot be framed (bad header, oversized
    /// message, or a body without a `seq` to answer); the session closed.
    #[error("closed the session: {0}")]
    Protocol(dap::CodecError),
}
