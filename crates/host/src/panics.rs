//! A bug in the host must not wedge the session: a panic while serving a
//! request becomes that request's error response and the host goes on; a
//! panic that escapes anyway ends the process, which the session reports as
//! the end of the program (`exited`, `terminated`), never silence.

use host_protocol::HostError;
use std::panic::{self, AssertUnwindSafe};

use crate::io;

/// Reports every panic as a host notice (`console` output) before it
/// unwinds, so the client sees what went wrong even where it is caught.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        io::output(
            "console",
            &format!(
                "hotreload-host: internal error{location}: {}\n",
                message(info.payload())
            ),
        );
    }));
}

/// Runs `f`; a panic becomes `Err` with a message naming `what`.
/// State that `f` left half-changed stays as it is: every request reads the
/// debuggee afresh, and a broken stop context only fails its own requests.
pub fn catch<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, HostError> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        HostError::internal(format!(
            "internal error while serving {what}: {} (the host goes on)",
            message(payload.as_ref())
        ))
    })
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::catch;

    #[test]
    fn a_panic_becomes_an_error_naming_the_request() {
        let arithmetic = std::hint::black_box(i64::MIN);
        let result = catch("variables", || arithmetic.checked_neg().expect("overflow"));
        let error = result.expect_err("the panic is caught");
        assert_eq!(error.kind, host_protocol::ErrorKind::Internal);
        // The message names the request and the panic's own words.
        assert!(
            error.message.contains("variables") && error.message.contains("overflow"),
            "{error}"
        );
        assert_eq!(catch("threads", || 7), Ok(7));
    }
}
