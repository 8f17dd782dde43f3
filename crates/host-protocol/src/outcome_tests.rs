//! The wire form of responses, old and structured.

use serde_json::json;

use crate::{ErrorKind, ErrorLocation, HostError, HostMessage, HostResponse, Outcome};

fn read(value: serde_json::Value) -> HostMessage {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[test]
fn plain_errors_still_read() {
    let message = read(json!({"kind": "response", "id": 3, "error": "the program is running"}));
    assert_eq!(
        message,
        HostMessage::Response(HostResponse {
            id: 3,
            outcome: Outcome::Error("the program is running".into())
        })
    );
}

#[test]
fn structured_errors_round_trip_and_unknown_kinds_read_as_other() {
    let failure = HostError {
        kind: ErrorKind::Compile,
        message: "m.lua:3: unexpected symbol".into(),
        location: Some(ErrorLocation {
            path: "/p/m.lua".into(),
            line: Some(3),
        }),
    };
    let response = HostMessage::Response(HostResponse {
        id: 9,
        outcome: Outcome::Failure(failure.clone()),
    });
    let wire = serde_json::to_value(&response).unwrap_or_default();
    assert_eq!(
        wire,
        json!({"kind": "response", "id": 9, "failure": {"kind": "compile",
            "message": "m.lua:3: unexpected symbol", "location": {"path": "/p/m.lua", "line": 3}}})
    );
    assert_eq!(read(wire), response);
    let other =
        read(json!({"kind": "response", "id": 1, "failure": {"kind": "novel", "message": "x"}}));
    match other {
        HostMessage::Response(HostResponse {
            outcome: Outcome::Failure(HostError { kind, .. }),
            ..
        }) => assert_eq!(kind, ErrorKind::Other),
        other => panic!("{other:?}"),
    }
    assert_eq!(ErrorKind::NotFound.name(), "notFound");
}
