//! The child-process runtime: finding a host binary and talking to it.

pub mod locate;
pub mod process;

pub use locate::{find_host, host_binary_name, host_dir, DEFAULT_RUNTIME, HOST_DIR_ENV};
pub use process::HostProcess;
