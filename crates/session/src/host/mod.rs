//! The child-process runtime: finding a host binary ([`locate`]), running it
//! (`child`: spawn, process group, reaping) and talking to it (`client`: the
//! JSON-lines protocol), joined in [`HostProcess`].

mod child;
pub(crate) mod client;
pub mod locate;
pub mod process;

pub use locate::{
    find_host, host_binary_name, host_dir, runtimes, RuntimeAvailability, DEFAULT_RUNTIME,
    HOST_DIR_ENV, RUNTIMES,
};
pub use process::{HostFactory, HostProcess, PROTOCOL_VERSION_ENV};
