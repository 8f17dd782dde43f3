//! Generated-input robustness runs (see `main.rs` for the command line):
//! the DAP codec, the session against a scripted runtime, and a live
//! stopped session against the real adapter and host.

pub mod codec;
pub mod live;
pub mod rng;
pub mod session_fuzz;

#[path = "../../../crates/session/tests/scripted/mod.rs"]
pub mod scripted;
