//! Untrusted input and failures inside the host: every request is answered
//! and the host keeps serving, whatever numbers the client sends.

mod common;

use common::{kind, ErrorKind, Host, HostError, Scratch, Vm, VM};
use serde_json::{json, Value};

const PROGRAM: &str = r#"local t = {1, 2, {x = 1}}
local function f(a)
  return a + #t -- stop
end
print(f(1))
"#;

/// The ids and counts a fuzzer or a broken client may send.
const EXTREMES: [i64; 6] = [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];

/// Stops at the breakpoint of `PROGRAM`.
fn stopped_host(dir: &Scratch) -> (Host, String) {
    let (mut host, program) = Host::launched_at(dir, PROGRAM, json!({}), "stop");
    host.stopped("breakpoint");
    (host, program)
}

/// Sends a request and requires an answer (success or error), never silence.
fn answered(host: &mut Host, command: &str, arguments: Value) -> Result<Value, HostError> {
    host.request(command, Some(arguments))
}

/// The host still serves real requests and the program still ends normally.
fn still_serving(host: &mut Host) {
    let locals = host.scope(1, "Locals");
    let vars = host.variables(locals);
    assert!(vars.iter().any(|v| v.0 == "a" && v.1 == "1"), "{vars:?}");
    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), "4\n");
}

#[test]
fn extreme_references_and_frame_ids_are_answered_with_errors() {
    let dir = Scratch::new("safety-ids");
    let (mut host, _) = stopped_host(&dir);
    for n in EXTREMES {
        let e = answered(&mut host, "variables", json!({"variablesReference": n}));
        assert_eq!(
            kind(&e),
            Some(ErrorKind::InvalidArguments),
            "variables {n}: {e:?}"
        );
        let e = answered(&mut host, "scopes", json!({"frameId": n}));
        assert_eq!(
            kind(&e),
            Some(ErrorKind::InvalidArguments),
            "scopes {n}: {e:?}"
        );
        let e = answered(
            &mut host,
            "evaluate",
            json!({"expression": "1", "frameId": n, "context": "watch"}),
        );
        assert_eq!(
            kind(&e),
            Some(ErrorKind::InvalidArguments),
            "evaluate {n}: {e:?}"
        );
        let e = answered(
            &mut host,
            "setVariable",
            json!({"variablesReference": n, "name": "a", "value": "2"}),
        );
        assert!(e.is_err(), "setVariable {n}: {e:?}");
        // Counts and positions: an answer either way, never a panic.
        let body = answered(
            &mut host,
            "stackTrace",
            json!({"threadId": n, "startFrame": n, "levels": n}),
        );
        assert!(body.is_ok() || body.is_err(), "stackTrace {n}");
        let _ = answered(
            &mut host,
            "completions",
            json!({"text": "t.", "line": n, "column": n, "frameId": 1}),
        );
    }
    // Paging a real reference with extreme start and count.
    let locals = host.scope(1, "Locals");
    for n in EXTREMES {
        let body = answered(
            &mut host,
            "variables",
            json!({"variablesReference": locals, "start": n, "count": n}),
        );
        assert!(body.is_ok(), "paging {n}: {body:?}");
    }
    still_serving(&mut host);
}

#[test]
fn requests_that_do_not_parse_are_answered_and_serving_goes_on() {
    let dir = Scratch::new("safety-parse");
    let (mut host, _) = stopped_host(&dir);
    // A reference beyond i64 and a missing argument: refused with the id.
    host.send_raw(r#"{"id": 900, "command": "variables", "arguments": {"variablesReference": 99999999999999999999}}"#);
    let e = host.response(900);
    assert!(e.is_err_and(|e| e.kind == ErrorKind::InvalidArguments));
    host.send_raw(r#"{"id": 901, "command": "scopes"}"#);
    assert!(host.response(901).is_err());
    still_serving(&mut host);
}

const GROW: &str = r#"local function grow()
  local t = {}
  while true do t[#t + 1] = {} end
end
local ok, err = pcall(grow)
print('caught', ok, err)
collectgarbage()
grow() -- uncaught
"#;

#[test]
fn memory_limit_is_a_catchable_error_and_an_exception_stop_when_uncaught() {
    let dir = Scratch::new("safety-memory");
    let program = dir.file("main.lua", GROW);
    let mut host = Host::spawn();
    host.start(&program, json!({"memoryLimit": 32_000_000}), &[]);
    host.wait_output("stdout", "caught");
    assert_eq!(host.output("stdout"), "caught\tfalse\tnot enough memory\n");
    let stop = host.stopped("exception");
    assert_eq!(stop["text"], "not enough memory", "{stop}");
    // Lua unwinds a memory error without a message handler: no frames, but
    // the debugger still answers and evaluates.
    assert!(host.stack().is_empty());
    let sum = host.request("evaluate", Some(json!({"expression": "1 + 1"})));
    assert_eq!(sum.map(|v| v["result"].clone()), Ok(json!("2")));
    host.ok("continue", None);
    assert_eq!(host.exited(), 1);
    assert!(host.output("stderr").contains("not enough memory"));
    assert!(host.output("console").contains("memoryLimit"));
}

#[test]
fn a_refused_system_allocation_is_lua_s_error_not_an_abort() {
    let dir = Scratch::new("safety-rlimit");
    // 5.1's string.rep grows its buffer a character at a time: seconds of
    // work (over the event timeout on a loaded machine) before the limit
    // refuses it. A concatenation of 128 x 8 MiB asks for 1 GiB at once.
    let refused_call = if VM == Vm::Lua51 {
        format!(
            "local s = ('x'):rep(1024)\nfor _ = 1, 13 do s = s .. s end\n\
             print(pcall(function() return {} end))\n",
            vec!["s"; 128].join(" .. ")
        )
    } else {
        "print(pcall(string.rep, 'x', 1073741824))\n".to_owned()
    };
    let program = dir.file("main.lua", &format!("{refused_call}print('still here')\n"));
    // An address-space limit makes the system refuse the 1 GiB string at
    // once, without touching memory.
    let mut host = Host::spawn_with(|cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 768 << 20,
                    rlim_max: 768 << 20,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    host.start(&program, json!({}), &[]);
    assert_eq!(host.exited(), 0);
    // 5.3's buffers say which allocation failed.
    let refused = if VM == Vm::Lua53 {
        "not enough memory for buffer allocation"
    } else {
        "not enough memory"
    };
    assert_eq!(
        host.output("stdout"),
        format!("false\t{refused}\nstill here\n")
    );
}

#[test]
fn a_memory_limit_too_small_to_start_fails_the_launch_and_a_retry_works() {
    let dir = Scratch::new("safety-memory-small");
    let program = dir.file("main.lua", "print('ran')\n");
    let mut host = Host::spawn();
    let e = host.request(
        "launch",
        Some(json!({"program": program, "memoryLimit": 1000})),
    );
    assert!(
        e.as_ref()
            .is_err_and(|e| e.kind == ErrorKind::InvalidArguments && e.message.contains("1000")),
        "{e:?}"
    );
    let e = host.request(
        "launch",
        Some(json!({"program": program, "memoryLimit": -5})),
    );
    assert!(e.is_err_and(|e| e.kind == ErrorKind::InvalidArguments));
    host.start(&program, json!({"memoryLimit": 64_000_000}), &[]);
    assert_eq!(host.exited(), 0);
    assert_eq!(host.output("stdout"), "ran\n");
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        let i = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items[i].clone()
    }
    fn number(&mut self) -> Value {
        match self.next() % 4 {
            0 => json!(self.pick(&EXTREMES)),
            1 => json!(self.next() % 8),
            2 => json!(-((self.next() % 8) as i64)),
            _ => self.pick(&[
                json!(null),
                json!("7"),
                json!(1.5),
                json!([]),
                json!(u64::MAX),
            ]),
        }
    }
}

/// Expressions that end quickly, valid or not.
const SNIPPETS: &[&str] = &[
    "1",
    "a",
    "t",
    "t[3]",
    "nil + 1",
    "x.y.z",
    "(",
    "",
    "a = a",
    "\u{1F600}",
    "local",
    "string.rep('x', 100)",
    "error({})",
    "error(setmetatable({}, {__tostring = error}))",
    "coroutine.wrap(function() error('in') end)()",
    "#t",
    "t.",
    "obj:",
    "return 1, 2, 3",
];

/// One generated request line (any command that does not resume or end
/// the program), with `id`.
fn generated_request(g: &mut Gen, id: u64, program: &str) -> String {
    let text = g.pick(SNIPPETS);
    let (command, arguments) = match g.next() % 13 {
        0 => (
            "variables",
            json!({"variablesReference": g.number(), "start": g.number(), "count": g.number()}),
        ),
        1 => ("scopes", json!({"frameId": g.number()})),
        2 => (
            "stackTrace",
            json!({"threadId": g.number(), "startFrame": g.number(), "levels": g.number()}),
        ),
        3 => (
            "evaluate",
            json!({"expression": text, "frameId": g.number(), "context": g.pick(&["repl", "watch", "hover", "variables", "x"])}),
        ),
        4 => (
            "setVariable",
            json!({"variablesReference": g.number(), "name": g.pick(&["a", "[1]", "x", ""]), "value": text}),
        ),
        5 => (
            "completions",
            json!({"text": text, "column": g.number(), "line": g.number(), "frameId": g.number()}),
        ),
        6 => ("threads", Value::Null),
        7 => ("pause", Value::Null),
        8 => ("launch", json!({"program": program})),
        9 => ("configurationDone", Value::Null),
        10 => (
            "setBreakpoints",
            json!({"source": {"path": "/nonexistent/x.lua"}, "breakpoints": [{"line": g.number()}]}),
        ),
        11 => ("hotReload", json!({"module": text})),
        _ => ("cancel", json!({"requestId": g.number()})),
    };
    let mut body = json!({"command": command});
    if !arguments.is_null() {
        body["arguments"] = arguments;
    }
    // The id first, as the session writes it (so even a cut line has one).
    let line = format!("{{\"id\":{id},{}", &body.to_string()[1..]);
    match g.next() % 20 {
        // Framing intact, body broken: cut short, or arguments of the wrong kind.
        0 => {
            let mut cut = line.len() / 2;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line[..cut].to_string()
        }
        1 => json!({"id": id, "command": command, "arguments": "oops"}).to_string(),
        _ => line,
    }
}

#[test]
fn generated_requests_to_a_stopped_program_are_all_answered() {
    // 20,000 by default: this stream once lost a setBreakpoints on 5.1 and
    // 5.2 in 5 runs of 6 (the collector stopped mid-sweep while a dead
    // chunk's freed name was read to place traps; 2,000 caught it rarely).
    // HOTRELOAD_FUZZ_REQUESTS raises the count for a long run, e.g.
    // `HOTRELOAD_FUZZ_REQUESTS=1000000 cargo test --release -p hotreload-host
    // --test host_safety generated` (about 26 s).
    let count: u64 = std::env::var("HOTRELOAD_FUZZ_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let dir = Scratch::new("safety-generated");
    let (mut host, program) = stopped_host(&dir);
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let first = 1000;
    for id in first..first + count {
        let line = generated_request(&mut g, id, &program);
        host.send_raw(&line);
    }
    for id in first..first + count {
        // Any answer will do; silence fails inside `response`.
        let _ = host.response(id);
    }
    // Generated assignments may have changed the program's values: reset
    // them, then it must run on as before.
    if let Err(e) = host.eval("a = 1 t = {1, 2, {x = 1}}", 1) {
        host.fail(&format!("reset: {e}"));
    }
    still_serving(&mut host);
}
