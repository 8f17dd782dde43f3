//! Whole sessions through `hotreload-dap`: start and end, output, errors,
//! malformed input, and the host's lifetime.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{fixture, wait_gone, Client};

#[test]
fn a_program_runs_to_its_end_with_output_in_order() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("hello.lua")}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 0 {
        client.fail(&format!("exit code {}, expected 0", exited["exitCode"]));
    }
    client.wait_event("terminated");
    let mut expected = String::from("one\ntwo\n");
    for i in 1..=100 {
        expected.push_str(&format!("line {i}\n"));
    }
    expected.push_str("last\n");
    if client.stdout_text() != expected {
        client.fail("stdout output is not the program's output in order");
    }
    if !client.output_of("stderr").contains("three\n") {
        client.fail("io.stderr:write did not arrive as stderr output");
    }
    client.ok("disconnect", json!({}));
    if client.wait_exit(Duration::from_secs(5)) != Some(0) {
        client.fail("adapter did not exit cleanly after disconnect");
    }
}

#[test]
fn exited_comes_before_terminated_with_the_exit_code() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("exit_code.lua")}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 3 {
        client.fail(&format!("exit code {}, expected 3", exited["exitCode"]));
    }
    client.wait_event("terminated");
    let names = client.event_names();
    let exited_at = names.iter().position(|n| n == "exited");
    let terminated_at = names.iter().position(|n| n == "terminated");
    if exited_at >= terminated_at || names.iter().filter(|n| *n == "exited").count() != 1 {
        client.fail("expected exactly one exited, then terminated");
    }
    if !client.stdout_text().contains("bye\n") {
        client.fail("output before os.exit was lost");
    }
}

#[test]
fn a_missing_host_is_a_launch_error_naming_runtime_and_path() {
    let dir = std::env::temp_dir().join(format!("hotreload-no-hosts-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let dir_text = dir.display().to_string();
    let mut client = Client::start_with_env(&[("HOTRELOAD_HOST_DIR", &dir_text)]);
    client.ok("initialize", json!({"adapterID": "hotreload"}));
    let message = client.err("launch", json!({"program": fixture("hello.lua")}));
    let expected_path = dir.join("hotreload-host-lua54").display().to_string();
    // The message names the runtime and the path looked at.
    if message.kind != "launch"
        || !message.message.contains("lua5.4")
        || !message.message.contains(&expected_path)
    {
        client.fail(&format!(
            "message does not name runtime and path: {message}"
        ));
    }
    let message = client.err(
        "launch",
        json!({"program": fixture("hello.lua"), "runtime": "cobol"}),
    );
    if message.kind != "launch" || !message.message.contains("cobol") {
        client.fail(&format!("unknown runtime not named: {message}"));
    }
    // LuaNext runs on its target's host, which is just as missing.
    let message = client.err(
        "launch",
        json!({"program": fixture("hello.lua"), "runtime": "luanext"}),
    );
    // No host this build can offer: unsupported, naming the path looked at.
    if message.kind != "unsupported" || !message.message.contains(&expected_path) {
        client.fail(&format!("luanext's missing host is unclear: {message}"));
    }
    let message = client.err(
        "launch",
        json!({"program": fixture("hello.luax"), "target": "luanext"}),
    );
    if message.kind == "none" || !message.message.contains("target") {
        client.fail(&format!("luanext as a target is unclear: {message}"));
    }
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn unknown_commands_and_requests_without_a_program_fail_by_name() {
    let mut client = Client::start_with_env(&[]);
    client.ok("initialize", json!({"adapterID": "hotreload"}));
    let message = client.err("frobnicate", json!({}));
    if message.kind != "unsupported" || !message.message.contains("frobnicate") {
        client.fail(&format!("unknown command not named: {message}"));
    }
    let message = client.err("threads", json!({}));
    if message.kind != "notRunning" {
        client.fail(&format!(
            "threads before launch: unhelpful message: {message}"
        ));
    }
    let message = client.err("launch", json!({"noProgram": true}));
    if message.kind != "invalidArguments" || !message.message.contains("program") {
        client.fail(&format!(
            "launch without program: unhelpful message: {message}"
        ));
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn a_frame_without_command_gets_an_error_response_and_the_session_goes_on() {
    let mut client = Client::start_with_env(&[]);
    let body = r#"{"seq":7,"type":"request"}"#;
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    let response = client.response(7);
    if response.success {
        client.fail("a request without command succeeded");
    }
    client.ok("initialize", json!({"adapterID": "hotreload"}));
}

#[test]
fn a_bad_header_closes_the_session() {
    let mut client = Client::start_with_env(&[]);
    client.ok("initialize", json!({"adapterID": "hotreload"}));
    client.send_raw(b"Content-Lenght: 2\r\n\r\n{}");
    if !client.drain_until_closed(Duration::from_secs(10)) {
        client.fail("the adapter kept its stdout open after a bad header");
    }
    if client.wait_exit(Duration::from_secs(5)) == Some(0) {
        client.fail("the adapter reported success after a protocol error");
    }
}

#[test]
fn disconnect_ends_a_running_program_and_its_host() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.ok("disconnect", json!({"terminateDebuggee": true}));
    if !wait_gone(host, Duration::from_secs(1)) {
        client.fail(&format!(
            "host {host} still alive after disconnect returned"
        ));
    }
    client.wait_exit(Duration::from_secs(5));
}

#[test]
fn terminate_ends_the_program_with_exited_and_terminated() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.ok("terminate", json!({}));
    client.wait_event("exited");
    client.wait_event("terminated");
    if !wait_gone(host, Duration::from_secs(1)) {
        client.fail(&format!("host {host} still alive after terminate"));
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn closing_stdin_ends_the_host() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.close_stdin();
    client.wait_exit(Duration::from_secs(10));
    if !wait_gone(host, Duration::from_secs(5)) {
        client.fail(&format!("host {host} still alive after the client left"));
    }
}

#[test]
fn killing_the_adapter_kills_the_host() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    client.kill();
    if !wait_gone(host, Duration::from_secs(5)) {
        client.fail(&format!("host {host} outlived the killed adapter"));
    }
}

#[test]
fn a_host_that_dies_is_reported_with_exited_and_terminated() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("busy.lua")}));
    let host = client.host_pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &host.to_string()])
        .status();
    if !killed.is_ok_and(|s| s.success()) {
        client.fail("could not kill the host");
    }
    let exited = client.wait_event("exited");
    if exited["exitCode"] != 137 {
        client.fail(&format!("exit code {}, expected 137", exited["exitCode"]));
    }
    client.wait_event("terminated");
    if !client.output_of("stderr").contains("ended unexpectedly") {
        client.fail("the crash was not reported as stderr output");
    }
    let message = client.err("threads", json!({}));
    if message.kind != "notRunning" {
        client.fail(&format!(
            "requests after the crash: unhelpful message: {message}"
        ));
    }
    client.ok("disconnect", json!({}));
}

#[test]
fn version_flag_prints_the_version() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hotreload-dap"))
        .arg("--version")
        .output();
    let stdout = output
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert_eq!(
        stdout.trim(),
        format!("hotreload-dap {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn hotreload_log_records_the_traffic() {
    let log = std::env::temp_dir().join(format!("hotreload-dap-log-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let log_text = log.display().to_string();
    let mut client = Client::start_with_env(&[("HOTRELOAD_LOG", &log_text)]);
    client.ok("initialize", json!({"adapterID": "hotreload"}));
    client.ok("disconnect", json!({}));
    client.wait_exit(Duration::from_secs(5));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    if !text.contains("\"command\":\"initialize\"")
        || !text.contains("supportsConfigurationDoneRequest")
    {
        client.fail(&format!("the log lacks the traffic:\n{text}"));
    }
}

#[test]
fn args_env_and_cwd_reach_the_program() {
    let mut client = Client::start();
    client.run(json!({
        "program": fixture("args.lua"),
        "args": ["hello"],
        "env": {"HOTRELOAD_FIXTURE_VAR": "yes"},
        "cwd": support::fixtures().display().to_string(),
    }));
    client.wait_event("terminated");
    let output = client.stdout_text();
    if output != "arg1=hello\nenv=yes\ncwd=true\n" {
        client.fail(&format!("unexpected output: {output:?}"));
    }
}

#[test]
fn stop_on_entry_stops_before_the_first_line() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("hello.lua"), "stopOnEntry": true}));
    let thread = client.wait_stopped("entry")["threadId"].clone();
    if !client.stdout_text().is_empty() {
        client.fail("the program printed before its entry stop");
    }
    client.ok("continue", json!({"threadId": thread}));
    client.wait_event("exited");
    client.wait_event("terminated");
}

#[test]
fn an_uncaught_error_stops_with_its_traceback_then_exits() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("uncaught.lua")}));
    let stopped = client.wait_stopped("exception");
    let thread = stopped["threadId"].clone();
    let frames = client.stack(&thread);
    if frames.first().map(|f| f["line"].clone()) != Some(json!(3)) {
        client.fail("the exception stop is not at the error's line");
    }
    client.wait_output_of("stderr", "the traceback", |o| {
        o.contains("uncaught.lua:3: kaboom") && o.contains("traceback")
    });
    client.ok("continue", json!({"threadId": thread}));
    let exited = client.wait_event("exited");
    if exited["exitCode"] == 0 {
        client.fail("an uncaught error exited with code 0");
    }
    client.wait_event("terminated");
}

#[test]
fn pause_and_disconnect_work_while_output_floods() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("flood.lua")}));
    let host = client.host_pid();
    client.wait_output("lots of output", |o| o.contains("flood 5000\n"));
    client.ok("pause", json!({"threadId": 1}));
    client.wait_stopped("pause");
    let lines = client.stdout_text();
    let numbers: Vec<u64> = lines
        .lines()
        .filter_map(|l| l.strip_prefix("flood ")?.parse().ok())
        .collect();
    if numbers.windows(2).any(|w| w[1] != w[0] + 1) {
        client.fail("flooded output arrived out of order or with gaps");
    }
    client.ok("disconnect", json!({}));
    if !wait_gone(host, Duration::from_secs(1)) {
        client.fail(&format!("host {host} still alive after disconnect"));
    }
}

#[test]
fn disconnect_is_answered_while_another_request_waits_for_the_program() {
    let mut client = Client::start();
    client.run(json!({"program": fixture("sleeper.lua")}));
    let host = client.host_pid();
    std::thread::sleep(Duration::from_millis(300));
    // The program sits in os.execute: a reload has to wait for it.
    let waiting = client.send(
        "hotReload",
        json!({"path": fixture("sleeper.lua"), "source": "-- empty\n"}),
    );
    let started = std::time::Instant::now();
    client.ok("disconnect", json!({}));
    if started.elapsed() > Duration::from_secs(4) {
        client.fail("disconnect waited for the blocked request");
    }
    // The waiting request was answered either way, never left hanging.
    client.response(waiting);
    if !wait_gone(host, Duration::from_secs(1)) {
        client.fail(&format!("host {host} still alive after disconnect"));
    }
}

/// The program sees its runtime's own libraries: the host's Lua 5.1 lends
/// the reload engine `debug.upvalueid` and `debug.upvaluejoin` without
/// adding them to the program's `debug`, which stays stock 5.1's.
#[test]
fn the_program_sees_its_runtimes_own_debug_library() {
    let program = Client::temp_program(
        "stock_debug",
        "print(_VERSION, type(debug.upvalueid), type(debug.upvaluejoin))\n",
    );
    let runtime = support::runtime();
    let expected = match runtime.as_str() {
        "lua5.1" => "Lua 5.1\tnil\tnil\n".to_owned(),
        "luajit" => "Lua 5.1\tfunction\tfunction\n".to_owned(),
        other => format!(
            "Lua {}\tfunction\tfunction\n",
            other.trim_start_matches("lua")
        ),
    };
    let mut client = Client::start();
    client.run(json!({ "program": program }));
    client.wait_event("terminated");
    let output = client.stdout_text();
    if output != expected {
        client.fail(&format!(
            "expected {expected:?}, the program printed {output:?}"
        ));
    }
}
