//! Evaluations that do not end: `cancel`, `pause` and time limits stop
//! them, other requests are answered meanwhile, and a blocking C call gets
//! an answer in time while the host says `busy` until it returns.

mod common;

use std::time::{Duration, Instant};

use common::{kind, ErrorKind, Host, HostError, Scratch};
use serde_json::json;

const PROGRAM: &str = "local n = 1\nprint(n) -- stop\n";

fn stopped_host(name: &str) -> (Scratch, Host) {
    let dir = Scratch::new(name);
    let (mut host, _) = Host::launched_at(&dir, PROGRAM, json!({}), "stop");
    host.stopped("breakpoint");
    (dir, host)
}

/// Sends an evaluation that writes `marker` to stderr and then runs `rest`;
/// returns its id once the marker arrived (so it is running).
fn start_eval(host: &mut Host, context: &str, marker: &str, rest: &str) -> u64 {
    let code = format!("io.stderr:write('{marker}\\n') {rest}");
    let id = host.send(
        "evaluate",
        Some(json!({"expression": code, "frameId": 1, "context": context})),
    );
    host.wait_output("stderr", marker);
    id
}

/// The host serves normally again: a real evaluation, then the program ends.
fn finishes_normally(host: &mut Host) {
    let n = host.eval("n + 1", 1).map(|v| v["result"].clone());
    assert_eq!(n, Ok(json!("2")));
    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
}

/// Asks for the stack until the VM is back (it answers `busy` meanwhile).
fn wait_until_not_busy(host: &mut Host) -> Vec<HostError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut refusals = Vec::new();
    loop {
        match host.request("stackTrace", Some(json!({"threadId": 1}))) {
            Ok(_) => return refusals,
            Err(e) if e.kind == ErrorKind::Busy && Instant::now() < deadline => {
                refusals.push(e);
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => host.fail(&format!("stackTrace: {e}")),
        }
    }
}

#[test]
fn cancel_stops_a_repl_evaluation_and_other_requests_are_answered_meanwhile() {
    let (_dir, mut host) = stopped_host("cancel-repl");
    let eval = start_eval(&mut host, "repl", "spinning", "while true do end");
    // Answered while the evaluation runs.
    let threads = host.ok("threads", None);
    assert_eq!(threads["threads"][0]["id"], 1, "{threads}");
    // A request waiting behind it can be cancelled on its own.
    let waiting = host.send("stackTrace", Some(json!({"threadId": 1})));
    host.ok("cancel", Some(json!({"requestId": waiting})));
    assert_eq!(kind(&host.response(waiting)), Some(ErrorKind::Cancelled));
    // Cancelling the evaluation ends it with DAP's `cancelled`.
    host.ok("cancel", Some(json!({"requestId": eval})));
    assert_eq!(kind(&host.response(eval)), Some(ErrorKind::Cancelled));
    // Cancelling what already ended is harmless.
    host.ok("cancel", Some(json!({"requestId": eval})));
    finishes_normally(&mut host);
}

#[test]
fn pause_stops_a_repl_evaluation_while_stopped() {
    let (_dir, mut host) = stopped_host("pause-repl");
    let eval = start_eval(&mut host, "repl", "spinning", "while true do end");
    host.ok("pause", None);
    assert_eq!(kind(&host.response(eval)), Some(ErrorKind::Cancelled));
    finishes_normally(&mut host);
}

#[test]
fn pause_during_an_evaluation_while_running_stops_both() {
    let dir = Scratch::new("pause-running-eval");
    let program = dir.file("main.lua", "print('started')\nwhile true do end\n");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "started");
    let id = host.send(
        "evaluate",
        Some(json!({"expression": "io.stderr:write('spinning\\n') while true do end", "context": "repl"})),
    );
    host.wait_output("stderr", "spinning");
    host.ok("pause", None);
    assert_eq!(kind(&host.response(id)), Some(ErrorKind::Cancelled));
    host.stopped("pause");
    host.ok("terminate", None);
}

#[test]
fn watch_and_hover_stop_after_their_time_limit() {
    let (_dir, mut host) = stopped_host("watch-time");
    // Few instructions, much time: the clock ends it, not the count.
    let slow = "while true do local s = string.rep('x', 16384) end";
    for context in ["watch", "hover"] {
        let e = host.request(
            "evaluate",
            Some(json!({"expression": slow, "frameId": 1, "context": context})),
        );
        assert_eq!(kind(&e), Some(ErrorKind::TimedOut), "{context}: {e:?}");
    }
    finishes_normally(&mut host);
}

#[test]
fn a_hover_inside_a_blocking_c_call_is_answered_and_the_host_is_busy_until_it_returns() {
    let (_dir, mut host) = stopped_host("hover-blocking");
    let id = start_eval(&mut host, "hover", "sleeping", "os.execute('sleep 6')");
    let e = host.response(id);
    // Answered by the watchdog while the call still runs.
    assert_eq!(kind(&e), Some(ErrorKind::TimedOut), "{e:?}");
    let threads = host.request("threads", None);
    assert!(threads.is_ok(), "{threads:?}");
    let refusals = wait_until_not_busy(&mut host);
    assert!(!refusals.is_empty(), "busy while the call runs");
    finishes_normally(&mut host);
}

#[test]
fn cancel_answers_a_repl_evaluation_stuck_in_a_blocking_c_call() {
    let (_dir, mut host) = stopped_host("cancel-blocking");
    let id = start_eval(&mut host, "repl", "sleeping", "os.execute('sleep 6')");
    host.ok("cancel", Some(json!({"requestId": id})));
    let e = host.response(id);
    assert_eq!(kind(&e), Some(ErrorKind::Cancelled), "{e:?}");
    let refusals = wait_until_not_busy(&mut host);
    assert!(!refusals.is_empty(), "busy while the call runs");
    finishes_normally(&mut host);
}

#[test]
fn cancel_leaves_a_hot_reload_to_finish() {
    let dir = Scratch::new("cancel-reload");
    let module = dir.file("mod.lua", "return {f = function() return 1 end}\n");
    let main = format!(
        "package.path = '{}/?.lua;' .. package.path\nlocal m = require('mod')\nprint(m.f()) -- stop\n",
        dir.dir.display()
    );
    let (mut host, _) = Host::launched_at(&dir, &main, json!({}), "stop");
    host.stopped("breakpoint");
    // The new top level takes a while in a C call; a cancel must not cut
    // the reload short or answer for it.
    let source = "io.stderr:write('reloading\\n') os.execute('sleep 2') return {f = function() return 2 end}\n";
    let id = host.send("hotReload", Some(json!({"path": module, "source": source})));
    host.wait_output("stderr", "reloading");
    host.ok("cancel", Some(json!({"requestId": id})));
    let body = host.response(id);
    assert!(body.is_ok(), "{body:?}");
    let v = host.eval("m.f()", 1).map(|v| v["result"].clone());
    assert_eq!(v, Ok(json!("2")));
    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
}
