//! Transcript tests of the session against a scripted runtime: DAP in, DAP
//! out, and the host commands the session sent, with no host build (as
//! nvim-dap's `spec/server.lua` tests its session against a scripted peer).

mod scripted;

use scripted::{Peer, Step};
use serde_json::{json, Value};
use session::RuntimeEvent;

fn output(category: &str, text: &str) -> RuntimeEvent {
    RuntimeEvent::Output(dap::types::OutputEventBody {
        category: Some(category.into()),
        output: text.into(),
        ..Default::default()
    })
}

fn stopped() -> RuntimeEvent {
    RuntimeEvent::Stopped(dap::types::StoppedEventBody {
        reason: "breakpoint".into(),
        thread_id: Some(1),
        all_threads_stopped: true,
        ..Default::default()
    })
}

#[tokio::test]
async fn launch_configure_stop_and_inspect() {
    let mut peer = Peer::start(|command, _| match command {
        "stackTrace" => Step::Reply(json!({"stackFrames": [
            {"id": 1, "name": "main", "line": 3, "column": 1}
        ], "totalFrames": 1})),
        _ => Step::Reply(Value::Null),
    });
    let caps = peer.request("initialize", json!({"adapterID": "t"})).await;
    assert_eq!(caps["body"]["supportsCancelRequest"], true);
    assert_eq!(caps["body"]["supportsConfigurationDoneRequest"], true);
    peer.expect_response(
        "launch",
        json!({"program": "/p/main.lua"}),
        json!({"success": true}),
    )
    .await;
    peer.expect(json!({"type": "event", "event": "initialized"}))
        .await;
    peer.expect_response("configurationDone", json!({}), json!({"success": true}))
        .await;
    peer.emit(stopped()).await;
    peer.expect(json!({"type": "event", "event": "stopped", "body": {"reason": "breakpoint", "threadId": 1, "allThreadsStopped": true}})).await;
    let trace = peer
        .request("stackTrace", json!({"threadId": 1, "levels": 20}))
        .await;
    assert_eq!(trace["body"]["stackFrames"][0]["name"], "main");
    peer.expect_response("next", json!({"threadId": 1}), json!({"success": true}))
        .await;
    peer.expect_response(
        "continue",
        json!({"threadId": 1}),
        json!({"success": true, "body": {"allThreadsContinued": true}}),
    )
    .await;
    assert_eq!(
        peer.commands(),
        [
            (
                "launch".into(),
                json!({"program": "/p/main.lua", "args": [], "env": {}, "noDebug": false, "stopOnEntry": false})
            ),
            ("configurationDone".into(), Value::Null),
            ("stackTrace".into(), json!({"threadId": 1, "levels": 20})),
            ("next".into(), Value::Null),
            ("continue".into(), Value::Null),
        ]
    );
    peer.disconnect().await;
}

#[tokio::test]
async fn output_is_coalesced_and_keeps_its_order_around_stopped() {
    let mut peer = Peer::start(|_, _| Step::Reply(Value::Null));
    peer.launched().await;
    for i in 0..1000 {
        peer.emit(output("stdout", &format!("line {i}\n"))).await;
    }
    peer.emit(output("stderr", "oops\n")).await;
    peer.emit(output("stdout", "é")).await;
    peer.emit(stopped()).await;
    peer.emit(output("stdout", "after\n")).await;
    let mut seen = Vec::new();
    let mut text = String::new();
    loop {
        let message = peer.next().await;
        let event = message["event"].as_str().unwrap_or_default().to_owned();
        if event == "output" {
            let category = message["body"]["category"].as_str().unwrap_or_default();
            let piece = message["body"]["output"].as_str().unwrap_or_default();
            if category == "stdout" {
                text.push_str(piece);
            }
            seen.push(format!("{category}:{}", piece.len()));
            if piece == "after\n" {
                break;
            }
        } else {
            seen.push(event);
        }
    }
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(text, format!("{expected}éafter\n"));
    // A few events, not a thousand; stderr and stopped in their place.
    assert!(seen.len() <= 8, "{seen:?}");
    let stderr = seen.iter().position(|s| s == "stderr:5");
    let stop = seen.iter().position(|s| s == "stopped");
    assert!(
        matches!((stderr, stop), (Some(a), Some(b)) if a < b),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("stdout:6"),
        "{seen:?}"
    );
    peer.disconnect().await;
}

#[tokio::test]
async fn pause_and_threads_answer_while_an_evaluation_is_stuck_and_cancel_ends_it() {
    let mut peer = Peer::start(|command, _| match command {
        "evaluate" => Step::Block,
        "threads" => Step::Reply(json!({"threads": [{"id": 1, "name": "main"}]})),
        "stackTrace" => Step::Reply(json!({"stackFrames": []})),
        _ => Step::Reply(Value::Null),
    });
    peer.launched().await;
    let evaluate = peer
        .send(
            "evaluate",
            json!({"expression": "slow()", "context": "repl"}),
        )
        .await;
    let queued = peer.send("stackTrace", json!({"threadId": 1})).await;
    let threads = peer.send("threads", json!({})).await;
    let pause = peer.send("pause", json!({"threadId": 1})).await;
    let answered = peer.responses(2).await;
    let seqs: Vec<_> = answered.iter().map(|r| r["request_seq"].as_i64()).collect();
    assert!(
        seqs.contains(&Some(threads)) && seqs.contains(&Some(pause)),
        "{answered:?}"
    );
    let cancel = peer.send("cancel", json!({"requestId": evaluate})).await;
    let answered = peer.responses(3).await;
    let by_seq = |seq: i64| {
        answered
            .iter()
            .find(|r| r["request_seq"] == seq)
            .cloned()
            .unwrap_or_else(|| panic!("no response to {seq} in {answered:?}"))
    };
    assert_eq!(by_seq(cancel)["success"], true);
    assert_eq!(by_seq(evaluate)["success"], false);
    assert_eq!(by_seq(evaluate)["message"], "cancelled");
    assert_eq!(by_seq(queued)["success"], true);
    assert!(peer.cancelled().len() == 1, "{:?}", peer.cancelled());
    peer.disconnect().await;
}

#[tokio::test]
async fn a_runtime_that_dies_mid_request_answers_it_then_ends() {
    let mut peer = Peer::start(|command, _| match command {
        "evaluate" => Step::Die,
        _ => Step::Reply(Value::Null),
    });
    peer.launched().await;
    let evaluate = peer.send("evaluate", json!({"expression": "boom()"})).await;
    let response = peer.responses(1).await.remove(0);
    assert_eq!(response["request_seq"], evaluate);
    assert_eq!(response["success"], false);
    assert_eq!(response["message"], "the program is no longer running");
    peer.expect(json!({"type": "event", "event": "exited", "body": {"exitCode": 1}}))
        .await;
    peer.expect(json!({"type": "event", "event": "terminated"}))
        .await;
    peer.expect_response(
        "threads",
        json!({}),
        json!({"success": false, "message": "the program is no longer running"}),
    )
    .await;
    peer.disconnect().await;
}

#[tokio::test]
async fn disconnect_and_terminate_are_answered_before_the_end_events() {
    let mut peer = Peer::start(|_, _| Step::Reply(Value::Null));
    peer.launched().await;
    // The scripted runtime reports exited/terminated before terminate returns.
    peer.expect_response("terminate", json!({}), json!({"success": true}))
        .await;
    peer.expect(json!({"type": "event", "event": "exited", "body": {"exitCode": 0}}))
        .await;
    peer.expect(json!({"type": "event", "event": "terminated"}))
        .await;
    peer.disconnect().await;

    let mut peer = Peer::start(|_, _| Step::Reply(Value::Null));
    peer.launched().await;
    let seq = peer.send("disconnect", json!({})).await;
    peer.expect(
        json!({"type": "response", "request_seq": seq, "command": "disconnect", "success": true}),
    )
    .await;
    peer.expect(json!({"type": "event", "event": "exited"}))
        .await;
    peer.expect(json!({"type": "event", "event": "terminated"}))
        .await;
    peer.closed().await;
}

#[tokio::test]
async fn bad_messages_are_answered_or_noted_and_the_session_goes_on() {
    let mut peer = Peer::start(|_, _| Step::Reply(Value::Null));
    peer.raw(b"{not json").await;
    peer.expect(json!({"type": "event", "event": "output", "body": {"category": "console"}}))
        .await;
    peer.raw(br#"{"seq":40,"type":"request","command":"evaluate","arguments":{"expression":"'\ud800'"}}"#).await;
    peer.expect(json!({"type": "response", "request_seq": 40, "success": false}))
        .await;
    peer.expect_response(
        "frobnicate",
        json!({}),
        json!({"success": false, "message": "unsupported request 'frobnicate'"}),
    )
    .await;
    peer.expect_response(
        "variables",
        json!({"variablesReference": "x"}),
        json!({"success": false}),
    )
    .await;
    peer.request("initialize", json!({"adapterID": "t"})).await;
    peer.disconnect().await;
}

#[tokio::test]
async fn structured_runtime_errors_reach_the_client_as_body_error() {
    let mut peer = Peer::start(|command, _| match command {
        "hotReload" => Step::Error(host_protocol::HostError {
            kind: host_protocol::ErrorKind::Compile,
            message: "/p/m.lua:3: unexpected symbol".into(),
            location: Some(host_protocol::ErrorLocation {
                path: "/p/m.lua".into(),
                line: Some(3),
            }),
            reason: Some("unexpected symbol".into()),
        }),
        "evaluate" => Step::Fail("attempt to call a nil value".into()),
        _ => Step::Reply(Value::Null),
    });
    peer.launched().await;
    let response = peer.request("hotReload", json!({"path": "/p/m.lua"})).await;
    assert_eq!(response["message"], "/p/m.lua:3: unexpected symbol");
    assert_eq!(
        response["body"]["error"],
        json!({"id": 1005, "format": "/p/m.lua:3: unexpected symbol", "showUser": true,
            "variables": {"kind": "compile", "path": "/p/m.lua", "line": "3",
                "reason": "unexpected symbol"}})
    );
    let response = peer.request("evaluate", json!({"expression": "f()"})).await;
    assert_eq!(response["body"]["error"]["variables"]["kind"], "runtime");
    peer.disconnect().await;
}

#[tokio::test]
async fn a_second_launch_is_refused_and_the_first_program_kept() {
    let mut peer = Peer::start(|_, _| Step::Reply(Value::Null));
    peer.launched().await;
    peer.expect_response(
        "launch",
        json!({"program": "/q.lua"}),
        json!({"success": false, "message": "a program is already running in this session"}),
    )
    .await;
    assert_eq!(peer.started(), 1);
    peer.disconnect().await;
}

#[tokio::test]
async fn a_cancel_behind_many_queued_requests_is_still_read() {
    let mut peer = Peer::start(|command, _| match command {
        "evaluate" => Step::Block,
        _ => Step::Reply(json!({"stackFrames": []})),
    });
    peer.launched().await;
    let evaluate = peer
        .send(
            "evaluate",
            json!({"expression": "slow()", "context": "repl"}),
        )
        .await;
    for _ in 0..300 {
        peer.send("stackTrace", json!({"threadId": 1})).await;
    }
    let cancel = peer.send("cancel", json!({"requestId": evaluate})).await;
    let answered = peer.responses(302).await;
    let cancelled = answered
        .iter()
        .find(|r| r["request_seq"] == evaluate)
        .cloned()
        .unwrap_or_default();
    assert_eq!(cancelled["message"], "cancelled");
    assert!(answered.iter().any(|r| r["request_seq"] == cancel));
    peer.disconnect().await;
}
