//! Program lifecycle through the real host: output, exit codes, uncaught
//! errors, launch arguments, termination.

mod common;

use common::{canonical, ErrorKind, Host, Scratch, Vm, VM};
use serde_json::json;

#[test]
fn version_names_lua_and_protocol() {
    let out = std::process::Command::new(common::host_exe())
        .arg("--version")
        .output()
        .expect("run --version");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let exe = std::path::Path::new(common::host_exe());
    let name = exe.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let release = env!("HOTRELOAD_LUA_RELEASE");
    assert_eq!(
        text.trim(),
        format!(
            "{name} {} (Lua {release}, protocol 1)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn output_arrives_in_program_order() {
    let dir = Scratch::new("order");
    let program = dir.file(
        "main.lua",
        r#"print("one", 2, 3.5, nil, true)
io.write("two ", 3, " ", 1.0, "\n")
io.stdout:write("three\n")
io.stderr:write("err-one\n")
print("four")
io.stderr:write("err-two\n")
"#,
    );
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 0);
    assert_eq!(
        host.output("stdout"),
        "one\t2\t3.5\tnil\ttrue\ntwo 3 1\nthree\nfour\n"
    );
    assert_eq!(host.output("stderr"), "err-one\nerr-two\n");
    // stdout and stderr interleave in program order too.
    let kinds: Vec<String> = host
        .log
        .iter()
        .filter(|v| v["event"] == "output")
        .map(|v| v["body"]["category"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        kinds,
        ["stdout", "stdout", "stdout", "stderr", "stdout", "stderr"]
    );
}

#[test]
fn output_of_child_processes_and_c_stdio_is_forwarded() {
    let dir = Scratch::new("fds");
    let program = dir.file(
        "main.lua",
        "os.execute('echo from-child; echo child-err >&2')\nlocal f = io.popen('echo piped') print(f:read('*l')) f:close()\n",
    );
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 0);
    assert!(
        host.output("stdout").contains("from-child\n"),
        "{:?}",
        host.log
    );
    assert!(host.output("stdout").contains("piped\n"), "{:?}", host.log);
    assert!(
        host.output("stderr").contains("child-err\n"),
        "{:?}",
        host.log
    );
}

#[test]
fn os_exit_reports_its_code_after_flushing_output() {
    let dir = Scratch::new("exit");
    let program = dir.file(
        "main.lua",
        "print('before')\nio.stdout:setvbuf('full')\nos.exit(7)\nprint('never')\n",
    );
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 7);
    assert_eq!(host.output("stdout"), "before\n");
    assert_eq!(host.wait_exit(), Some(7));

    // A boolean status came with 5.2 (and LuaJIT); 5.1 takes numbers only.
    if VM != Vm::Lua51 {
        let program = dir.file("bool.lua", "os.exit(false)\n");
        let mut host = Host::spawn();
        host.start(&program, json!({}), &[]);
        assert_eq!(host.exited(), 1);
    }
}

#[test]
fn uncaught_error_stops_with_exception_then_exits_1() {
    let dir = Scratch::new("exception");
    let text =
        "local function boom(x)\n  local y = x * 2\n  error('kaboom ' .. y)\nend\nboom(21)\n";
    let program = dir.file("main.lua", text);
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    let stop = host.stopped("exception");
    assert!(
        stop["text"].as_str().unwrap_or("").contains("kaboom 42"),
        "{stop}"
    );
    let stderr = host.output("stderr");
    assert!(
        stderr.contains("kaboom 42") && stderr.contains("stack traceback"),
        "{stderr}"
    );
    // The failing stack is inspectable: top frame is boom at the error line.
    let stack = host.stack();
    assert_eq!(stack[0]["name"], "boom", "{stack:?}");
    assert_eq!(stack[0]["line"], 3);
    assert_eq!(
        host.eval("y", stack[0]["id"].as_i64().unwrap_or(1))
            .map(|v| v["result"].clone()),
        Ok(json!("42"))
    );
    host.ok("continue", None);
    assert_eq!(host.exited(), 1);
}

#[test]
fn uncaught_error_without_debug_prints_and_exits_1() {
    let dir = Scratch::new("nodebug-error");
    let program = dir.file("main.lua", "error({code = 1})\n");
    let mut host = Host::spawn();
    host.start(&program, json!({"noDebug": true}), &[]);
    assert_eq!(host.exited(), 1);
    assert!(
        host.output("stderr").contains(VM.table_error()),
        "{:?}",
        host.log
    );
    assert!(!host.log.iter().any(|v| v["event"] == "stopped"));
}

#[test]
fn launch_passes_args_env_cwd_and_paths() {
    let dir = Scratch::new("launch");
    dir.file("lib/mymod.lua", "return { answer = 42 }\n");
    dir.file("work/data.txt", "from cwd\n");
    let program = dir.file(
        "main.lua",
        r#"local a, b = ...
print(arg[0], arg[1], arg[2], a, b, #arg)
print(os.getenv("HR_TEST_VAR"))
print(io.open("data.txt"):read("*l"))
print(require("mymod").answer)
print(package.path:sub(1, #LIBDIR) == LIBDIR)
"#,
    );
    let lib = format!("{}/lib/?.lua", dir.dir.display());
    let program_text = std::fs::read_to_string(&program).unwrap_or_default();
    std::fs::write(&program, format!("LIBDIR = {lib:?}\n{program_text}")).expect("rewrite");
    let mut host = Host::spawn();
    host.start(
        &program,
        json!({
            "args": ["first", "second"],
            "env": {"HR_TEST_VAR": "env works"},
            "cwd": dir.path("work"),
            "luaPath": lib,
            "luaCPath": format!("{}/lib/?.so", dir.dir.display()),
        }),
        &[],
    );
    assert_eq!(host.exited(), 0);
    assert_eq!(
        host.output("stdout"),
        format!("{program}\tfirst\tsecond\tfirst\tsecond\t2\nenv works\nfrom cwd\n42\ntrue\n")
    );
}

#[test]
fn launch_errors_are_clear() {
    let dir = Scratch::new("launch-errors");
    let mut host = Host::spawn();
    let missing = dir.path("nope.lua");
    let err = host
        .request("launch", Some(json!({"program": missing})))
        .expect_err("missing file");
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let at = err.location.as_ref().map(|l| l.path.as_str());
    assert_eq!(at, Some(missing.as_str()), "{err:?}");

    let bad = dir.file("bad.lua", "local x = = 1\n");
    let err = host
        .request("launch", Some(json!({"program": bad})))
        .expect_err("syntax error");
    assert_eq!(err.kind, ErrorKind::Compile, "{err}");
    let at = err.location.as_ref().map(|l| (l.path.as_str(), l.line));
    assert_eq!(at, Some((canonical(&bad).as_str(), Some(1))), "{err:?}");

    let err = host
        .request("configurationDone", None)
        .expect_err("nothing launched");
    assert_eq!(err.kind, ErrorKind::Refused, "{err}");
}

#[test]
fn terminate_ends_the_host() {
    let dir = Scratch::new("terminate");
    let program = dir.file("main.lua", "while true do end\n");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.ok("terminate", None);
    assert_eq!(host.wait_exit(), Some(0));
}

#[test]
fn host_exits_when_its_stdin_closes_while_the_program_runs() {
    let dir = Scratch::new("stdin-eof");
    let program = dir.file("main.lua", "print('running')\nwhile true do end\n");
    let mut host = Host::spawn();
    host.start(&program, json!({}), &[]);
    host.wait_output("stdout", "running");
    host.close_stdin();
    assert_eq!(host.wait_exit(), Some(0));
}

#[test]
fn bad_requests_get_error_responses() {
    let mut host = Host::spawn();
    host.send_raw(r#"{"id": 5, "command": "fly"}"#);
    let err = host.response(5).expect_err("unknown command");
    assert_eq!(err.kind, ErrorKind::InvalidArguments, "{err}");
    assert!(err.message.contains("fly"), "names the command: {err}");
    host.send_raw("not json at all");
    let err = host
        .request("stackTrace", Some(json!({"threadId": 1})))
        .expect_err("not stopped");
    assert_eq!(err.kind, ErrorKind::Refused, "{err}");
}

#[test]
fn no_debug_ignores_breakpoints_and_entry_and_sets_no_hook() {
    let dir = Scratch::new("nodebug");
    let program = dir.file("main.lua", "local x = 1\nprint(debug.gethook())\n");
    let mut host = Host::spawn();
    host.ok(
        "launch",
        Some(json!({"program": program, "noDebug": true, "stopOnEntry": true})),
    );
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program}, "breakpoints": [{"line": 1}, {"line": 2}]})),
    );
    host.ok("configurationDone", None);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), format!("{}\n", VM.no_hook()));
    assert!(
        !host.log.iter().any(|v| v["event"] == "stopped"),
        "{:?}",
        host.log
    );
}
