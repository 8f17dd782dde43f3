//! The debug session (filled in by the session work).
