//! Failed responses as data: every error the session answers carries DAP's
//! `body.error` (a stable `id` per kind, the message as `format`, `kind`,
//! `path` and `line` as `variables`), besides the plain `message`.

use std::collections::BTreeMap;

use dap::types::{ErrorMessage, ErrorResponseBody};
use host_protocol::{ErrorKind, HostError};
use serde_json::Value;

use crate::runtime::RuntimeError;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Failure {
    pub(super) message: String,
    kind: &'static str,
    id: i64,
    path: Option<String>,
    line: Option<i64>,
    reason: Option<String>,
}

/// Session-level kinds (the runtime's own kinds are `host_protocol::ErrorKind`;
/// where the same thing happens, the session uses the runtime's kind).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// The request's arguments do not parse.
    InvalidArguments,
    /// No handler for the command.
    Unsupported,
    /// The frame's body could not be read as a request.
    BadRequest,
    /// No program runs, or it is gone.
    NotRunning,
    /// Cancelled by the client.
    Cancelled,
    /// Too much is waiting already.
    Busy,
    /// Starting the runtime failed (unknown runtime, missing host, ...).
    Launch,
    /// The runtime sent something unexpected, or a handler panicked.
    Internal,
}

impl Kind {
    fn name_and_id(self) -> (&'static str, i64) {
        match self {
            Kind::InvalidArguments => same(ErrorKind::InvalidArguments),
            Kind::Unsupported => same(ErrorKind::Unsupported),
            Kind::BadRequest => ("badRequest", 2002),
            Kind::NotRunning => ("notRunning", 2003),
            Kind::Cancelled => same(ErrorKind::Cancelled),
            Kind::Busy => same(ErrorKind::Busy),
            Kind::Launch => ("launch", 2004),
            Kind::Internal => same(ErrorKind::Internal),
        }
    }
}

fn same(kind: ErrorKind) -> (&'static str, i64) {
    (kind.name(), kind.id())
}

impl Failure {
    pub(super) fn new(kind: Kind, message: impl Into<String>) -> Failure {
        let (kind, id) = kind.name_and_id();
        Failure {
            message: message.into(),
            kind,
            id,
            path: None,
            line: None,
            reason: None,
        }
    }

    fn host(error: HostError) -> Failure {
        let (path, line) = match error.location {
            Some(at) => (Some(at.path), at.line),
            None => (None, None),
        };
        Failure {
            message: error.message,
            kind: error.kind.name(),
            id: error.kind.id(),
            path,
            line,
            reason: error.reason,
        }
    }

    /// The response body: `{"error": {...}}`.
    pub(super) fn body(&self) -> Option<Value> {
        let mut variables = BTreeMap::new();
        variables.insert("kind".to_owned(), self.kind.to_owned());
        if let Some(path) = &self.path {
            variables.insert("path".to_owned(), path.clone());
        }
        if let Some(line) = self.line {
            variables.insert("line".to_owned(), line.to_string());
        }
        if let Some(reason) = &self.reason {
            variables.insert("reason".to_owned(), reason.clone());
        }
        let body = ErrorResponseBody {
            error: Some(ErrorMessage {
                id: self.id,
                // Clients fill `{kind}`, `{path}`, `{line}` and leave any
                // other brace as it is: the message reads unchanged.
                format: self.message.clone(),
                variables,
                show_user: self.kind != ErrorKind::Cancelled.name(),
            }),
        };
        serde_json::to_value(body).ok()
    }
}

impl From<RuntimeError> for Failure {
    fn from(error: RuntimeError) -> Failure {
        let kind = match &error {
            RuntimeError::Host(host) => return Failure::host(host.clone()),
            RuntimeError::Gone => Kind::NotRunning,
            RuntimeError::Protocol(_) => Kind::Internal,
            _ => Kind::Launch,
        };
        Failure::new(kind, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use host_protocol::ErrorLocation;

    #[test]
    fn host_errors_become_dap_error_bodies() {
        let failure = Failure::from(RuntimeError::Host(HostError {
            kind: ErrorKind::Compile,
            message: "m.lua:3: '}' expected".into(),
            location: Some(ErrorLocation {
                path: "/p/m.lua".into(),
                line: Some(3),
            }),
            reason: Some("'}' expected".into()),
        }));
        assert_eq!(failure.message, "m.lua:3: '}' expected");
        assert_eq!(
            failure.body(),
            Some(serde_json::json!({"error": {"id": 1005,
                "format": "m.lua:3: '}' expected",
                "variables": {"kind": "compile", "path": "/p/m.lua", "line": "3",
                    "reason": "'}' expected"},
                "showUser": true}}))
        );
    }

    #[test]
    fn session_errors_have_kinds_too() {
        let gone = Failure::from(RuntimeError::Gone).body().unwrap_or_default();
        assert_eq!(gone["error"]["variables"]["kind"], "notRunning");
        let cancelled = Failure::from(RuntimeError::failed(ErrorKind::Cancelled, "cancelled"));
        let body = cancelled.body().unwrap_or_default();
        assert_eq!(body["error"]["showUser"], false);
        assert_eq!(body["error"]["id"], ErrorKind::Cancelled.id());
    }
}
