//! Keeps panics on the Rust side of the FFI boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::NativeError;

/// Runs `f`, turning a panic into [`NativeError::Panic`] so that no unwind
/// crosses into Neovim's C stack (that would abort the editor).
pub fn guarded<T>(f: impl FnOnce() -> Result<T, NativeError>) -> Result<T, NativeError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(NativeError::Panic(text))
        }
    }
}
