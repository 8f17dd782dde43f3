//! The debug session: serves DAP on any byte stream and drives a
//! `DebugRuntime` (owned by the session work; this is the agreed entry point).

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};

/// How a session finds and starts hosts.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    /// Where `hotreload-host-<runtime>` binaries live; see `host_dir` resolution.
    pub host_dir: Option<PathBuf>,
}

/// Errors that end a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Reading from or writing to the client failed.
    #[error("client stream: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves one DAP client until it disconnects; the host process is gone when
/// this returns.
pub async fn serve<R, W>(_reader: R, _writer: W, _config: SessionConfig) -> Result<(), SessionError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    Ok(())
}
