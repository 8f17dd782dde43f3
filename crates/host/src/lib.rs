//! The host's library half: the hot reload engine, shared by the host binary
//! (`src/main.rs`), the engine's scenario tests and the reload benchmark.
//! Linking this crate links the Lua that `build.rs` compiles.

pub mod position;
pub mod reload;
