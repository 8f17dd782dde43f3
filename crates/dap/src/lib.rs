//! The Debug Adapter Protocol as data: the message envelope, typed requests,
//! responses and events, and the Content-Length codec.
//!
//! This crate knows the wire format and nothing else: it depends on serde only
//! and never does I/O.

pub mod codec;
pub mod envelope;
pub mod events;
pub mod requests;
pub mod types;

pub use codec::{decode, encode, CodecError};
pub use envelope::{Event, Message, Request, Response};
