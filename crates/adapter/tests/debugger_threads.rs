//! Coroutines as threads through `hotreload-dap` and the real Lua 5.4
//! host: a stop inside a coroutine is reported on its thread id, which the
//! `threads` answer lists, and each thread's stack shows its own frames.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

const PROGRAM: &str = "debugger/coroutines.lua";

fn line_of(marker: &str) -> i64 {
    std::fs::read_to_string(fixture(PROGRAM))
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as i64 + 1)
        .unwrap_or_else(|| panic!("{PROGRAM} has no {marker} line"))
}

/// The lines of the Lua frames (C frames have line 0).
fn lines(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter_map(|f| f["line"].as_i64())
        .filter(|l| *l > 0)
        .collect()
}

/// The fixture launched with breakpoints at the lines of `markers`,
/// configured and running; its client and path.
fn launched_with_breakpoints(markers: &[&str]) -> (Client, String) {
    let mut client = Client::start();
    let program = fixture(PROGRAM);
    client.launch(json!({"program": program}));
    let lines: Vec<i64> = markers.iter().map(|m| line_of(m)).collect();
    client.set_breakpoints(&program, &lines);
    client.ok("configurationDone", json!({}));
    (client, program)
}

#[test]
fn a_stop_inside_a_coroutine_is_on_its_thread() {
    support::require_host();
    let (mut client, _) = launched_with_breakpoints(&["co-yield", "main-done"]);

    let stopped = client.wait_stopped("breakpoint");
    let thread = stopped["threadId"].clone();
    if thread == json!(1) || !thread.is_i64() {
        client.fail(&format!("a coroutine's stop on thread {thread}"));
    }
    let threads = client.ok("threads", json!({}));
    let listed: Vec<Value> = threads["threads"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|t| t["id"].clone())
        .collect();
    if !listed.contains(&thread) || !listed.contains(&json!(1)) || listed.len() != 3 {
        client.fail(&format!("threads: {threads}"));
    }

    // The coroutine: its frames first, then the resumer's.
    let own = client.stack(&thread);
    let own_lines = lines(&own);
    if own_lines.first() != Some(&line_of("co-yield"))
        || !own_lines.contains(&line_of("main-resume"))
    {
        client.fail(&format!("the coroutine's stack: {own_lines:?}"));
    }
    // The main thread: only its own frames, waiting in `resume`.
    let main = lines(&client.stack(&json!(1)));
    if main.first() != Some(&line_of("main-resume")) || main.contains(&line_of("co-yield")) {
        client.fail(&format!("the main thread's stack: {main:?}"));
    }
    // The idle coroutine shows where it waits.
    let idle = listed
        .iter()
        .find(|id| **id != thread && **id != json!(1))
        .cloned()
        .unwrap_or_default();
    let idle_lines = lines(&client.stack(&idle));
    if idle_lines.first() != Some(&line_of("idle-wait")) {
        client.fail(&format!("the idle coroutine's stack: {idle_lines:?}"));
    }
    let i = client.evaluate("i", Some(&own[0]["id"]), "watch");
    if i != "1" {
        client.fail(&format!("i in the coroutine's frame: {i}"));
    }

    // The same coroutine stops on the same thread again; the main chunk on 1.
    client.ok("continue", json!({"threadId": thread}));
    let continued = client.wait_event("continued");
    if continued["threadId"] != thread {
        client.fail(&format!("continued: {continued}"));
    }
    let again = client.wait_stopped("breakpoint");
    if again["threadId"] != thread {
        client.fail(&format!(
            "second stop on {} not {thread}",
            again["threadId"]
        ));
    }
    client.ok("continue", json!({"threadId": thread}));
    let last = client.wait_stopped("breakpoint");
    if last["threadId"] != 1
        || lines(&client.stack(&json!(1))).first() != Some(&line_of("main-done"))
    {
        client.fail(&format!("the main chunk's stop: {last}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}

#[test]
fn step_out_of_a_coroutine_stops_in_its_resumer() {
    support::require_host();
    let (mut client, program) = launched_with_breakpoints(&["co-yield"]);
    let stopped = client.wait_stopped("breakpoint");
    let thread = stopped["threadId"].clone();
    let own = client.stack(&thread);
    // An evaluation first: it runs Lua in the stopped VM.
    let i = client.evaluate("i", Some(&own[0]["id"]), "hover");
    if i != "1" {
        client.fail(&format!("i in the coroutine's frame: {i}"));
    }
    client.set_breakpoints(&program, &[]);
    client.ok("stepOut", json!({"threadId": thread}));
    let stepped = client.wait_stopped("step");
    if stepped["threadId"] != 1 {
        client.fail(&format!("stepOut of the coroutine stopped on: {stepped}"));
    }
    // The resumer, right after the resume that yielded.
    let main = lines(&client.stack(&json!(1)));
    if main.first() != Some(&(line_of("main-resume") + 1)) {
        client.fail(&format!("the resumer's stack after stepOut: {main:?}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}

#[test]
fn a_thread_that_does_not_exist_is_refused() {
    support::require_host();
    let (mut client, program) = launched_with_breakpoints(&["co-yield"]);
    client.wait_stopped("breakpoint");
    for id in [json!(99), json!(-5), json!(i64::MAX)] {
        let refused = client.err("stackTrace", json!({"threadId": id}));
        if refused.kind != "invalidArguments" {
            client.fail(&format!("stackTrace of thread {id}: {refused}"));
        }
    }
    client.ok(
        "setBreakpoints",
        json!({"source": {"path": program}, "breakpoints": []}),
    );
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}

#[test]
fn coroutines_that_become_threads_start_and_exit() {
    support::require_host();
    let (mut client, _) = launched_with_breakpoints(&["co-yield", "main-done"]);
    // The producer stops twice at its yield (on its thread), then ends.
    let producer = client.wait_stopped("breakpoint")["threadId"].clone();
    client.ok("continue", json!({"threadId": producer}));
    let again = client.wait_stopped("breakpoint")["threadId"].clone();
    if again != producer {
        client.fail(&format!(
            "the producer's second stop on {again}, not {producer}"
        ));
    }
    client.ok("continue", json!({"threadId": producer}));
    client.wait_stopped("breakpoint");
    let mut events = Vec::new();
    while let Some(e) = client.wait_event_for("thread", std::time::Duration::from_millis(200)) {
        events.push((
            e["reason"].as_str().unwrap_or("").to_string(),
            e["threadId"].clone(),
        ));
    }
    let started: Vec<&Value> = events
        .iter()
        .filter(|(r, _)| r == "started")
        .map(|(_, t)| t)
        .collect();
    let exited: Vec<&Value> = events
        .iter()
        .filter(|(r, _)| r == "exited")
        .map(|(_, t)| t)
        .collect();
    // The idle coroutine (suspended for good) and the producer started;
    // only the producer ended. Each thread is reported once.
    if started.len() != 2 || !started.contains(&&producer) || exited != vec![&producer] {
        client.fail(&format!("thread events: {events:?} (producer {producer})"));
    }
    if started.iter().any(|t| **t == json!(1)) {
        client.fail(&format!("the main thread has no thread events: {events:?}"));
    }
    let idle = started.iter().find(|t| ***t != producer).cloned().cloned();
    let threads = client.ok("threads", json!({}));
    let listed: Vec<Value> = threads["threads"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|t| t["id"].clone())
        .collect();
    if listed.contains(&producer) || idle.is_none_or(|i| !listed.contains(&i)) {
        client.fail(&format!("threads after the producer ended: {threads}"));
    }
}
