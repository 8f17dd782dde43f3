//! The one error type of the native module; Lua sees its `Display` text.

use std::path::PathBuf;

/// Why a native function failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NativeError {
    /// An option passed from Lua has the wrong type or value.
    #[error("hotreload_native: option `{key}`: {reason}")]
    InvalidOption {
        /// The option's name.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The socket directory exists but others could open it.
    #[error(
        "hotreload_native: socket dir {path} is not private ({reason}); \
         use a directory only you can open (`chmod 700 {path}`) or set `socket_dir`",
        path = .path.display()
    )]
    InsecureSocketDir {
        /// The directory.
        path: PathBuf,
        /// What was found (owner, mode, not a directory).
        reason: String,
    },
    /// A file system or socket operation failed.
    #[error("hotreload_native: {what} {path}: {source}", path = .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server thread or its runtime could not be started.
    #[error("hotreload_native: cannot start the server: {0}")]
    Start(String),
    /// Neovim's event loop refused the wake-up handle.
    #[error("hotreload_native: libuv: {0}")]
    Libuv(#[from] nvim_oxi::libuv::Error),
    /// A bug: Rust code panicked; the panic was stopped at the FFI boundary.
    #[error("hotreload_native: internal error (please report): {0}")]
    Panic(String),
}
