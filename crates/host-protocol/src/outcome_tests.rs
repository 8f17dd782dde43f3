//! The wire form of responses, old and structured.

use serde_json::json;

use crate::{ErrorKind, ErrorLocation, HostError, HostMessage, HostResponse, Outcome};

fn read(value: serde_json::Value) -> HostMessage {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[test]
fn plain_error_strings_are_not_a_response() {
    let plain: Result<HostMessage, _> = serde_json::from_value(
        json!({"kind": "response", "id": 3, "error": "the program is running"}),
    );
    assert!(plain.is_err(), "{plain:?}");
}

#[test]
fn every_kind_has_its_own_name_and_id() {
    let kinds = [
        ErrorKind::Refused,
        ErrorKind::Cancelled,
        ErrorKind::TimedOut,
        ErrorKind::Busy,
        ErrorKind::InvalidArguments,
        ErrorKind::Unsupported,
        ErrorKind::Compile,
        ErrorKind::Runtime,
        ErrorKind::NotFound,
        ErrorKind::Io,
        ErrorKind::Internal,
        ErrorKind::Other,
    ];
    let mut ids = std::collections::HashSet::new();
    for kind in kinds {
        assert_eq!(serde_json::to_value(kind).ok(), Some(json!(kind.name())));
        assert!(ids.insert(kind.id()), "{kind:?} shares its id");
    }
}

#[test]
fn results_become_outcomes() {
    let ok: Outcome = Ok::<_, HostError>(vec![1]).into();
    assert_eq!(ok, Outcome::Ok(json!([1])));
    let failed: Outcome = Err::<(), _>(HostError::invalid("no frame 9")).into();
    assert_eq!(
        serde_json::to_value(HostResponse {
            id: 1,
            outcome: failed
        })
        .unwrap_or_default(),
        json!({"id": 1, "failure": {"kind": "invalidArguments", "message": "no frame 9"}})
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
        reason: Some("unexpected symbol".into()),
    };
    let response = HostMessage::Response(HostResponse {
        id: 9,
        outcome: Outcome::Failure(failure.clone()),
    });
    let wire = serde_json::to_value(&response).unwrap_or_default();
    assert_eq!(
        wire,
        json!({"kind": "response", "id": 9, "failure": {"kind": "compile",
            "message": "m.lua:3: unexpected symbol", "location": {"path": "/p/m.lua", "line": 3},
            "reason": "unexpected symbol"}})
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
