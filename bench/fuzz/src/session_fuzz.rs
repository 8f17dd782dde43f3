//! The session against a scripted runtime that answers at random (good
//! and wrong payloads, failures, calls that block until cancelled, a
//! runtime that dies), driven by random requests, bad bodies and cancels.
//! Checks: every request with a usable seq is answered exactly once, and
//! the session ends cleanly on `disconnect`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::rng::Rng;
use crate::scripted::{Peer, Step};

const COMMANDS: &[&str] = &[
    "initialize",
    "launch",
    "setBreakpoints",
    "setExceptionBreakpoints",
    "configurationDone",
    "threads",
    "continue",
    "next",
    "stepIn",
    "stepOut",
    "pause",
    "stackTrace",
    "scopes",
    "variables",
    "evaluate",
    "setVariable",
    "completions",
    "hotReload",
    "terminate",
    "source",
    "frobnicate",
    "",
];

/// Runs one session of up to `messages` messages; returns how many were sent.
pub async fn case(seed: u64, messages: usize) -> Result<usize, String> {
    let rng = Arc::new(Mutex::new(Rng::new(seed ^ 0x5eed)));
    let script_rng = rng.clone();
    let mut peer = Peer::start(move |_command, _args| {
        let mut rng = script_rng.lock().unwrap_or_else(|e| e.into_inner());
        match rng.below(40) {
            0 => Step::Die,
            1..=3 => Step::Block,
            4..=9 => Step::Fail(rng.text()),
            10..=19 => Step::Reply(rng.json(3)),
            _ => Step::Reply(Value::Null),
        }
    });
    let mut rng = Rng::new(seed);
    // seq -> answers seen; every entry must end at exactly 1.
    let mut expected: HashMap<i64, usize> = HashMap::new();
    let mut sent = 0;
    let first = peer.send("initialize", json!({"adapterID": "fuzz"})).await;
    expected.insert(first, 0);
    let launch = peer.send("launch", json!({"program": "/fuzz.lua"})).await;
    expected.insert(launch, 0);
    for _ in 0..messages {
        sent += 1;
        match rng.below(12) {
            0 => {
                // A body without a usable seq: noted, never answered.
                let body = match rng.below(3) {
                    0 => b"{not json".to_vec(),
                    1 => vec![0xff, 0xfe],
                    _ => format!(r#"{{"seq":"{}","type":"request"}}"#, rng.below(9)).into_bytes(),
                };
                peer.raw(&body).await;
            }
            1 => {
                // A cancel for something sent (or not).
                let target = if rng.one_in(4) {
                    rng.edgy_i64()
                } else {
                    expected.keys().copied().max().unwrap_or(0) - rng.below(4) as i64
                };
                let seq = peer.send("cancel", json!({"requestId": target})).await;
                expected.insert(seq, 0);
            }
            2 => {
                let args = rng.json(3);
                let command = *rng.pick(COMMANDS);
                let seq = peer.send(command, args).await;
                expected.insert(seq, 0);
            }
            _ => {
                let command = *rng.pick(COMMANDS);
                let args = plausible(&mut rng, command);
                let seq = peer.send(command, args).await;
                expected.insert(seq, 0);
            }
        }
    }
    // Cancel whatever may be blocked so the queue drains, then collect.
    let outstanding: Vec<i64> = expected.keys().copied().collect();
    for target in outstanding {
        let seq = peer.send("cancel", json!({"requestId": target})).await;
        expected.insert(seq, 0);
    }
    while expected.values().any(|n| *n == 0) {
        let message = peer.next().await;
        if message["type"] != "response" {
            continue;
        }
        let seq = message["request_seq"].as_i64().unwrap_or(i64::MIN);
        match expected.get_mut(&seq) {
            Some(n) => {
                *n += 1;
                if *n > 1 {
                    return Err(format!("request {seq} answered twice: {message}"));
                }
            }
            None => return Err(format!("a response to a request never sent: {message}")),
        }
    }
    peer.disconnect().await;
    Ok(sent)
}

/// Arguments of roughly the right shape, with untrusted numbers.
fn plausible(rng: &mut Rng, command: &str) -> Value {
    match command {
        "launch" => json!({"program": rng.text()}),
        "setBreakpoints" => json!({"source": {"path": rng.text()},
            "breakpoints": [{"line": rng.edgy_i64(), "condition": rng.text()}]}),
        "setExceptionBreakpoints" => json!({"filters": [rng.text()]}),
        "stackTrace" => json!({"threadId": rng.edgy_i64(), "startFrame": rng.edgy_i64(),
            "levels": rng.edgy_i64()}),
        "scopes" => json!({"frameId": rng.edgy_i64()}),
        "variables" => json!({"variablesReference": rng.edgy_i64(), "start": rng.edgy_i64(),
            "count": rng.edgy_i64()}),
        "evaluate" => json!({"expression": rng.text(), "frameId": rng.edgy_i64(),
            "context": *rng.pick(&["repl", "watch", "hover", "variables"])}),
        "setVariable" => json!({"variablesReference": rng.edgy_i64(), "name": rng.text(),
            "value": rng.text()}),
        "completions" => json!({"text": rng.text(), "column": rng.edgy_i64(),
            "line": rng.edgy_i64(), "frameId": rng.edgy_i64()}),
        "hotReload" => json!({"module": rng.text(), "source": rng.text()}),
        _ => json!({"threadId": rng.edgy_i64()}),
    }
}
