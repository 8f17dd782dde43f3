//! Bad input, dying hosts, floods and the end of a session, against the
//! real adapter and host: every request is answered, every byte of output
//! arrives, nothing is left running.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::{alive, descendants, fixture, wait_gone, Client};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn bodies_that_are_not_json_are_skipped_and_the_session_goes_on() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    // No seq to answer: skipped with a note.
    client.send_raw(&frame(b"{not json"));
    client.send_raw(&frame(&[0xff, 0xfe, 0x00]));
    client.send_raw(&frame(
        br#"{"seq":"x","type":"request","command":"threads"}"#,
    ));
    // A seq, but not UTF-8 or a lone surrogate: an error response.
    let mut bad_utf8 =
        br#"{"seq":9001,"type":"request","command":"evaluate","arguments":{"expression":""#
            .to_vec();
    bad_utf8.extend_from_slice(&[0xc3, 0x28]);
    bad_utf8.extend_from_slice(br#""}}"#);
    client.send_raw(&frame(&bad_utf8));
    client.send_raw(&frame(
        br#"{"seq":9002,"type":"request","command":"evaluate","arguments":{"expression":"'\ud800'"}}"#,
    ));
    for seq in [9001, 9002] {
        let response = client.response(seq);
        let kind = response
            .body
            .as_ref()
            .map(|b| b["error"]["variables"]["kind"].clone());
        if response.success || kind != Some(json!("badRequest")) {
            client.fail(&format!("request {seq}: expected a 'bad request' error"));
        }
    }
    let notes = client.wait_output_of("console", "three notes", |text| {
        text.matches("ignored a message").count() >= 3
    });
    if !notes.contains("invalid JSON") {
        client.fail("the note does not say what was wrong");
    }
    // Still serving, and the program still runs.
    let threads = client.ok("threads", json!({}));
    if threads["threads"].as_array().is_none_or(Vec::is_empty) {
        client.fail("no threads after the bad messages");
    }
    client.ok("pause", json!({"threadId": 1}));
    client.wait_stopped("pause");
    client.ok("disconnect", json!({}));
    if client.wait_exit(Duration::from_secs(10)) != Some(0) {
        client.fail("the adapter did not end cleanly");
    }
}

#[test]
fn terminate_ends_the_programs_children_too() {
    let program = Client::temp_program(
        "children.lua",
        "local p = io.popen('sleep 300')\n\
         os.execute('sleep 301 &')\n\
         print('spawned')\n\
         while true do end\n",
    );
    let mut client = Client::start();
    client.run(json!({"program": program}));
    let host = client.host_pid();
    client.wait_output_of("stdout", "spawned", |t| t.contains("spawned"));
    let below = descendants(host);
    if below.len() < 2 {
        client.fail(&format!(
            "expected the two sleeps below the host, found {below:?}"
        ));
    }
    client.ok("terminate", json!({}));
    client.wait_event("terminated");
    for pid in below.iter().copied().chain([host]) {
        if !wait_gone(pid, Duration::from_secs(10)) {
            client.fail(&format!("process {pid} outlived terminate"));
        }
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn a_normal_end_also_ends_what_the_program_left_running() {
    let program = Client::temp_program(
        "leaves_child.lua",
        "os.execute('sleep 302 &')\nprint('spawned')\n",
    );
    let mut client = Client::start();
    client.run(json!({"program": program}));
    let host = client.host_pid();
    let below = descendants(host);
    client.wait_event("terminated");
    for pid in below {
        if !wait_gone(pid, Duration::from_secs(10)) {
            client.fail(&format!("process {pid} outlived the program"));
        }
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn all_output_arrives_before_exited_however_large() {
    const SIZE: usize = 32 * 1024 * 1024;
    let program = Client::temp_program(
        "big_write.lua",
        &format!("io.write(string.rep('x', {SIZE})); print('END')\n"),
    );
    let mut client = Client::start();
    client.run(json!({"program": program}));
    // 32 MiB through debug builds takes seconds, many more on a loaded
    // machine (28 of 32 MiB had come in 15 s once): wait while output keeps
    // arriving, fail when it stalls.
    let exited = loop {
        let before = client.stdout_text().len();
        if let Some(exited) = client.wait_event_for("exited", support::TIMEOUT) {
            break exited;
        }
        if client.stdout_text().len() == before {
            client.fail(&format!(
                "no exited event and no output for {:?}",
                support::TIMEOUT
            ));
        }
    };
    let text = client.stdout_text();
    if text.len() != SIZE + 4 || !text.ends_with("xEND\n") {
        client.fail(&format!(
            "stdout before exited: {} bytes ending {:?}, expected {} ending \"xEND\\n\"",
            text.len(),
            &text[text.len().saturating_sub(8)..],
            SIZE + 4
        ));
    }
    if exited["exitCode"] != 0 || client.output_of("stderr").contains("unexpectedly") {
        client.fail("a normal end was reported as a crash");
    }
    let events = client
        .event_names()
        .iter()
        .filter(|e| *e == "output")
        .count();
    if events > SIZE / 1024 {
        client.fail(&format!(
            "{events} output events for {SIZE} bytes: not coalesced"
        ));
    }
    client.wait_event("terminated");
    client.ok("disconnect", json!({}));
}

#[test]
fn a_host_that_dies_mid_request_answers_it_and_ends_cleanly() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.ok("pause", json!({"threadId": 1}));
    client.wait_stopped("pause");
    // The evaluation reads from a fifo nobody writes: it waits until killed.
    let fifo = std::env::temp_dir().join(format!("hotreload-fifo-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        client.fail("mkfifo failed");
    }
    let evaluate = client.send(
        "evaluate",
        json!({"expression": blocking_read(&fifo), "context": "repl"}),
    );
    let queued = client.send("stackTrace", json!({"threadId": 1}));
    // The host is inside the evaluation once it opened the fifo.
    let _writer = open_writer(&mut client, &fifo);
    let killed = Command::new("kill")
        .args(["-ABRT", &host.to_string()])
        .status();
    if !killed.is_ok_and(|s| s.success()) {
        client.fail("could not kill the host");
    }
    for seq in [evaluate, queued] {
        let response = client.response(seq);
        if response.success {
            client.fail(&format!("request {seq} succeeded after the host died"));
        }
    }
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 128 + 6 {
        client.fail(&format!("exit code {}, expected 134", exited["exitCode"]));
    }
    client.wait_event("terminated");
    let failure = client.err("threads", json!({}));
    if failure.kind != "notRunning" {
        client.fail(&format!("after the crash: {failure}"));
    }
    client.ok("disconnect", json!({}));
    let _ = std::fs::remove_file(&fifo);
}

/// An expression that reads a line from `fifo`, retrying when a signal
/// interrupts the blocking open or read.
fn blocking_read(fifo: &std::path::Path) -> String {
    // '*l': Lua 5.2 knows no 'l'; 5.3 and 5.4 read both.
    format!(
        "(function() local f repeat f = io.open('{}') until f \
         local l repeat l = f:read('*l') until l return l end)()",
        fifo.display()
    )
}

/// Opens the write end of `fifo` once the evaluation opened its read end
/// (a non-blocking open for writing fails until a reader is there).
fn open_writer(client: &mut Client, fifo: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = std::time::Instant::now() + support::TIMEOUT;
    loop {
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo);
        match opened {
            Ok(file) => return file,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => client.fail(&format!("the evaluation never opened the fifo: {e}")),
        }
    }
}

#[test]
fn cancel_answers_a_queued_request_cancelled() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    client.ok("pause", json!({"threadId": 1}));
    client.wait_stopped("pause");
    let caps = client.ok("initialize", json!({"adapterID": "again"}));
    if caps["supportsCancelRequest"] != true {
        client.fail("supportsCancelRequest is not announced");
    }
    let fifo = std::env::temp_dir().join(format!("hotreload-fifo-c-{}", std::process::id()));
    let _ = std::fs::remove_file(&fifo);
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        client.fail("mkfifo failed");
    }
    let evaluate = client.send(
        "evaluate",
        json!({"expression": blocking_read(&fifo), "context": "repl"}),
    );
    let queued = client.send("stackTrace", json!({"threadId": 1}));
    let mut writer = open_writer(&mut client, &fifo);
    client.ok("cancel", json!({"requestId": queued}));
    let response = client.response(queued);
    if response.success || support::Failure::of(&response).kind != "cancelled" {
        client.fail("the queued request was not answered 'cancelled'");
    }
    // Let the evaluation finish: it is answered, and the session goes on.
    let _ = writer.write_all(b"hello\n");
    drop(writer);
    let response = client.response(evaluate);
    if !response.success {
        client.fail("the evaluation failed");
    }
    client.ok("stackTrace", json!({"threadId": 1}));
    client.ok("disconnect", json!({}));
    let _ = std::fs::remove_file(&fifo);
}

#[test]
fn disconnect_is_answered_before_exited_and_terminated() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.ok("disconnect", json!({}));
    client.drain_until_closed(support::TIMEOUT);
    let arrivals = client.arrivals().to_vec();
    let at = |name: &str| arrivals.iter().position(|a| a == name);
    let response = at("response:disconnect");
    for end in ["event:exited", "event:terminated"] {
        if let (Some(r), Some(e)) = (response, at(end)) {
            if e < r {
                client.fail(&format!("{end} came before the disconnect response"));
            }
        }
    }
    if !wait_gone(host, Duration::from_secs(5)) || alive(host) {
        client.fail("the host outlived disconnect");
    }
    if client.wait_exit(Duration::from_secs(10)) != Some(0) {
        client.fail("disconnect did not end the adapter cleanly");
    }
}

#[test]
fn terminate_is_answered_before_exited_and_terminated() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    client.ok("terminate", json!({}));
    client.wait_event("terminated");
    let arrivals = client.arrivals().to_vec();
    let response = arrivals.iter().position(|a| a == "response:terminate");
    let exited = arrivals.iter().position(|a| a == "event:exited");
    if !matches!((response, exited), (Some(r), Some(e)) if r < e) {
        client.fail("terminate was not answered before exited");
    }
    client.ok("disconnect", json!({}));
}

/// A client that leaves right after the `disconnect` response, without
/// reading the events after it: the adapter still exits 0, silently.
#[test]
fn a_client_that_leaves_after_disconnect_is_a_normal_end() {
    support::require_host();
    let mut adapter = Command::new(env!("CARGO_BIN_EXE_hotreload-dap"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("HOTRELOAD_HOST_DIR")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start hotreload-dap: {e}"));
    let mut stdin = adapter.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let stdout = adapter.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut stderr = adapter.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut reader = BufReader::new(stdout);
    let mut send = |seq: i64, command: &str, arguments: serde_json::Value| {
        let body =
            json!({"seq": seq, "type": "request", "command": command, "arguments": arguments});
        let _ = stdin.write_all(&frame(body.to_string().as_bytes()));
        let _ = stdin.flush();
    };
    send(1, "initialize", json!({"adapterID": "t"}));
    send(2, "launch", json!({"program": fixture("busy.lua")}));
    send(3, "configurationDone", json!({}));
    send(4, "disconnect", json!({}));
    // Read frames until the disconnect response, then close our end.
    loop {
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("the adapter closed before answering disconnect");
            }
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            panic!("short body");
        }
        let message: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if message["type"] == "response" && message["command"] == "disconnect" {
            break;
        }
    }
    drop(reader);
    let status = adapter.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    let mut noise = String::new();
    let _ = stderr.read_to_string(&mut noise);
    assert!(
        status.success() && noise.is_empty(),
        "exit {status}, stderr {noise:?}"
    );
}
