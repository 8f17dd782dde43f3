//! DAP `attach` through `hotreload-dap` to real programs that embed a stock
//! Lua and load the agent (`crates/agent`, laid out by `scripts/build` in
//! `agent/<vm>/`): a C application built here against Debian's liblua5.1,
//! 5.2, 5.3, 5.4 and libluajit-5.1 (tests/fixtures/attach/embed.c), and the
//! stock `lua5.4` and `luajit` interpreters through `LUA_INIT`. Breakpoints, evaluation, pause
//! in a busy loop, hot reload with state kept, detaching, and the faults:
//! wrong token, a second program, the program exiting, crashing or
//! stopping (SIGSTOP); which output is forwarded.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dap::Response;
use serde_json::{json, Value};
use support::{fixtures, Client, TIMEOUT};

/// counter.lua's `count = count + 1` line.
const TICK_LINE: i64 = 6;

const COUNTER_V2: &str = r#"-- The module the attach tests edit while the program runs.
local M = {}
local count = 0

function M.tick(frame)
  count = count + 1
  return 'v2 count=' .. count .. ' frame=' .. frame
end

function M.count()
  return count
end

function M.version()
  return 'v2'
end

return M
"#;

/// A stock VM the tests attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vm {
    Lua51,
    Lua52,
    Lua53,
    Lua54,
    LuaJit,
}

impl Vm {
    fn name(self) -> &'static str {
        match self {
            Vm::Lua51 => "lua5.1",
            Vm::Lua52 => "lua5.2",
            Vm::Lua53 => "lua5.3",
            Vm::Lua54 => "lua5.4",
            Vm::LuaJit => "luajit",
        }
    }

    fn headers(self) -> &'static str {
        match self {
            Vm::Lua51 => "/usr/include/lua5.1",
            Vm::Lua52 => "/usr/include/lua5.2",
            Vm::Lua53 => "/usr/include/lua5.3",
            Vm::Lua54 => "/usr/include/lua5.4",
            Vm::LuaJit => "/usr/include/luajit-2.1",
        }
    }

    fn library(self) -> &'static str {
        match self {
            Vm::Lua51 => "-llua5.1",
            Vm::Lua52 => "-llua5.2",
            Vm::Lua53 => "-llua5.3",
            Vm::Lua54 => "-llua5.4",
            Vm::LuaJit => "-lluajit-5.1",
        }
    }

    /// The environment variables its `package.cpath` and `package.path`
    /// start from.
    fn path_vars(self) -> (&'static str, &'static str) {
        match self {
            Vm::Lua52 => ("LUA_CPATH_5_2", "LUA_PATH_5_2"),
            Vm::Lua53 => ("LUA_CPATH_5_3", "LUA_PATH_5_3"),
            Vm::Lua54 => ("LUA_CPATH_5_4", "LUA_PATH_5_4"),
            Vm::Lua51 | Vm::LuaJit => ("LUA_CPATH", "LUA_PATH"),
        }
    }

    /// Its stock interpreter's command, named as the VM.
    fn interpreter(self) -> &'static str {
        self.name()
    }

    fn package(self) -> &'static str {
        match self {
            Vm::Lua51 => "liblua5.1-0-dev",
            Vm::Lua52 => "liblua5.2-dev",
            Vm::Lua53 => "liblua5.3-dev",
            Vm::Lua54 => "liblua5.4-dev",
            Vm::LuaJit => "libluajit-5.1-dev",
        }
    }

    /// The agent `scripts/build` laid out for this VM.
    fn agent(self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../agent")
            .join(self.name())
            .join("hotreload_agent.so")
    }
}

/// Why these tests cannot run here, if they cannot: they run once (not per
/// runtime: the program brings its own Lua) and need the VM's headers and
/// interpreter (scripts/attach-env installs them).
fn skip(vm: Vm) -> bool {
    if support::runtime() != "lua5.4" {
        eprintln!(
            "skipped on {}: attach tests run once, with lua5.4",
            support::runtime()
        );
        return true;
    }
    if !Path::new(vm.headers()).join("lua.h").exists() {
        eprintln!(
            "skipped: {} is not installed (scripts/attach-env installs it)",
            vm.package()
        );
        return true;
    }
    false
}

/// [`skip`], and also when the VM's stock interpreter is missing.
fn skip_interpreter(vm: Vm) -> bool {
    if skip(vm) {
        return true;
    }
    if Command::new(vm.interpreter()).arg("-v").output().is_err() {
        eprintln!(
            "skipped: no {} interpreter (scripts/attach-env installs it)",
            vm.interpreter()
        );
        return true;
    }
    false
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotreload-attach-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch dir");
    // Sockets live in a private directory.
    let sockets = dir.join("sock");
    std::fs::create_dir_all(&sockets).expect("create the socket dir");
    set_mode(&sockets, 0o700);
    dir
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The directory holding the agent of `vm` and the embedding C program
/// built against it, once per test binary.
fn artifacts(vm: Vm) -> &'static (PathBuf, PathBuf) {
    static BUILT: [OnceLock<(PathBuf, PathBuf)>; 5] = [const { OnceLock::new() }; 5];
    let cell = &BUILT[vm as usize];
    cell.get_or_init(|| {
        let agent = vm.agent();
        assert!(
            agent.is_file(),
            "{} is missing: build it first with `scripts/build`",
            agent.display()
        );
        let dir = agent.parent().expect("the agent's directory").to_path_buf();
        let build_dir = std::env::temp_dir().join(format!(
            "hotreload-attach-{}-bin-{}",
            std::process::id(),
            vm.name()
        ));
        std::fs::create_dir_all(&build_dir).expect("create the build dir");
        let embed = build_dir.join("embed");
        let status = Command::new("cc")
            .arg("-o")
            .arg(&embed)
            .arg(fixtures().join("attach/embed.c"))
            .arg(format!("-I{}", vm.headers()))
            .arg(vm.library())
            .status()
            .expect("run cc");
        assert!(
            status.success(),
            "building embed.c against {} failed",
            vm.name()
        );
        (dir, embed)
    })
}

/// A program under test: the C application running game.lua from `dir`.
struct Program {
    child: Child,
    dir: PathBuf,
}

impl Program {
    /// Starts embed.c on a copy of game.lua and counter.lua in `dir`, with
    /// the agent's settings in `env`.
    fn start(vm: Vm, dir: &Path, env: &[(&str, &str)]) -> Program {
        let stdout = std::fs::File::create(dir.join("stdout")).expect("stdout file");
        Program::start_with_stdout(vm, dir, env, stdout.into())
    }

    /// Like [`Program::start`], its stdout going to `stdout`.
    fn start_with_stdout(vm: Vm, dir: &Path, env: &[(&str, &str)], stdout: Stdio) -> Program {
        let (agent_dir, embed) = artifacts(vm);
        let (cpath, path) = vm.path_vars();
        for file in ["game.lua", "counter.lua"] {
            std::fs::copy(fixtures().join("attach").join(file), dir.join(file)).expect("copy");
        }
        std::fs::write(dir.join("run"), "").expect("create the run file");
        let mut command = Command::new(embed);
        command
            .arg(dir.join("game.lua"))
            .arg(dir.join("run"))
            .current_dir(dir)
            .env(cpath, format!("{}/?.so;;", agent_dir.display()))
            .env(path, format!("{}/?.lua;;", dir.display()))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"));
        for (k, v) in env {
            command.env(k, v);
        }
        Program {
            child: command.spawn().expect("start embed"),
            dir: dir.to_path_buf(),
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Waits until `check` holds for the program's stdout or stderr.
    fn wait_for(&self, what: &str, check: impl Fn(&str, &str) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if check(&self.stdout(), &self.stderr()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the program never showed {what}\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
    }

    /// Asks the program to end (its loop stops) and waits for its status.
    fn finish(&mut self) -> i32 {
        let run = self.dir.join("run");
        self.finish_by(&run)
    }

    /// Removes `run_file`, which the program watches, and waits for it.
    fn finish_by(&mut self, run_file: &Path) -> i32 {
        let _ = std::fs::remove_file(run_file);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "the program did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn counter_path(dir: &Path) -> String {
    dir.join("counter.lua").display().to_string()
}

/// Attaches with `listen` at a Unix socket and starts the program waiting
/// for `configurationDone`; returns once the attach succeeded.
fn attach_listening(vm: Vm, client: &mut Client, dir: &Path) -> Program {
    attach_listening_with(vm, client, dir, &[])
}

/// [`attach_listening`] with more environment for the program.
fn attach_listening_with(vm: Vm, client: &mut Client, dir: &Path, env: &[(&str, &str)]) -> Program {
    attach_listening_as(vm, client, dir, json!({}), env)
}

/// [`attach_listening_with`] and more `attach` arguments; the program starts
/// only once the adapter says it listens.
fn attach_listening_as(
    vm: Vm,
    client: &mut Client,
    dir: &Path,
    mut args: Value,
    env: &[(&str, &str)],
) -> Program {
    let socket = dir.join("sock/s");
    client.initialize();
    args["listen"] = json!(socket.display().to_string());
    let seq = client.send("attach", args);
    client.wait_output_of("console", "the listener", |t| {
        t.contains("waiting for a program at")
    });
    let socket_text = socket.display().to_string();
    let mut all = vec![
        ("HOTRELOAD_CONNECT", socket_text.as_str()),
        ("HOTRELOAD_WAIT", "1"),
    ];
    all.extend_from_slice(env);
    let program = Program::start(vm, dir, &all);
    let response = client.response(seq);
    if !response.success {
        client.fail(&format!("attach failed: {:?}", response.message));
    }
    client.wait_event("initialized");
    program
}

/// One test a VM, each named, running `check` with its VM.
macro_rules! tests_per_vm {
    ($check:ident: $($(#[$doc:meta])* $name:ident => $vm:expr),+ $(,)?) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                $check($vm);
            }
        )+
    };
}

tests_per_vm!(stops_evaluates_reloads_with_state_and_detaches:
    lua54_attach_stops_evaluates_reloads_with_state_and_detaches => Vm::Lua54,
    luajit_attach_stops_evaluates_reloads_with_state_and_detaches => Vm::LuaJit,
    lua53_attach_stops_evaluates_reloads_with_state_and_detaches => Vm::Lua53,
    lua52_attach_stops_evaluates_reloads_with_state_and_detaches => Vm::Lua52,
    /// Stock 5.1 has no `debug.upvaluejoin`: the agent brings its own (over
    /// the closure layout its attach-time check verified), so 5.1 reloads
    /// too.
    lua51_attach_stops_evaluates_reloads_with_state_and_detaches => Vm::Lua51,
);

/// The stock interpreter of `vm` on `script` (unmodified), the agent loaded
/// through `LUA_INIT` and listening at `socket`; no stdin.
fn interpreter_with_agent(vm: Vm, script: &Path, socket: &str) -> Command {
    let (agent_dir, _) = artifacts(vm);
    let (cpath, _) = vm.path_vars();
    let mut command = Command::new(vm.interpreter());
    command
        .arg(script)
        .env(cpath, format!("{}/?.so;;", agent_dir.display()))
        .env("LUA_INIT", "require('hotreload_agent').start()")
        .env("HOTRELOAD_LISTEN", socket)
        .stdin(Stdio::null());
    command
}

/// Attaches by connecting to the agent listening at `socket` (waiting up
/// to `timeout` seconds), after `initialize`.
fn attach_connecting(client: &mut Client, socket: &str, timeout: u64) {
    client.initialize();
    client.ok("attach", json!({"connect": socket, "timeout": timeout}));
    client.wait_event("initialized");
}

/// `HOTRELOAD_FAST_RELOAD=0`: the pure-Lua walk instead of the in-place
/// swap, with the same outcome (functions get new identities instead).
#[test]
fn lua54_and_lua51_reload_by_the_walk_when_asked() {
    for vm in [Vm::Lua54, Vm::Lua51] {
        reload_and_detach(vm, Expect::Walk, &[("HOTRELOAD_FAST_RELOAD", "0")], "walk");
    }
}

/// A release the agent does not know (a real `lua_ident` of another text,
/// preloaded before the program's Lua): no fast path, one warning on
/// stderr; 5.4 reloads by the walk, 5.1 refuses reloads with the reason
/// (without its own upvalue functions), losing nothing.
#[test]
fn an_unknown_release_falls_back_with_one_warning() {
    for (vm, expect) in [(Vm::Lua54, Expect::Walk), (Vm::Lua51, Expect::Refused)] {
        if skip(vm) {
            continue;
        }
        let dir = scratch(&format!("ident-{}", vm.name()));
        let version = if vm == Vm::Lua54 { "5.4.99" } else { "5.1.99" };
        std::fs::write(
            dir.join("ident.c"),
            format!("const char lua_ident[] = \"$LuaVersion: Lua {version}  Copyright (C) a stand-in $\";\n"),
        )
        .expect("write ident.c");
        let preload = dir.join("ident.so");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&preload)
            .arg(dir.join("ident.c"))
            .status()
            .expect("run cc");
        assert!(status.success(), "building ident.so failed");
        let preload = preload.display().to_string();
        let stderr = reload_and_detach(vm, expect, &[("LD_PRELOAD", preload.as_str())], "unknown");
        let warning = format!(
            "hotreload-agent: reloads use the slower pure-Lua walk: Lua {version} is not a release"
        );
        assert_eq!(
            stderr.matches(&warning).count(),
            1,
            "{}: {stderr}",
            vm.name()
        );
    }
}

fn stops_evaluates_reloads_with_state_and_detaches(vm: Vm) {
    reload_and_detach(vm, Expect::Swap, &[], "");
}

/// How a reload goes in [`reload_and_detach`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// In place (every stock VM, after the agent's check of its layout:
    /// stock/fast_reload.c for PUC Lua, vm/luajit_stock for LuaJIT).
    Swap,
    /// By the pure-Lua walk.
    Walk,
    /// Refused with the reason (stock 5.1 without verified upvalue functions).
    Refused,
}

/// Attaches to embed.c on `vm` (with `env`), stops at a breakpoint,
/// evaluates, reloads counter.lua as `expect` says, detaches; returns the
/// program's stderr.
fn reload_and_detach(vm: Vm, expect: Expect, env: &[(&str, &str)], tag: &str) -> String {
    if skip(vm) {
        return String::new();
    }
    let dir = scratch(&format!("main-{}-{tag}", vm.name()));
    let mut client = Client::start();
    let mut program = attach_listening_with(vm, &mut client, &dir, env);
    let counter = counter_path(&dir);
    let bps = client.set_breakpoints(&counter, &[TICK_LINE]);
    assert_eq!(bps[0]["verified"], true, "{bps:?}");
    client.ok("configurationDone", json!({}));

    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    assert_eq!(frames[0]["line"], TICK_LINE);
    assert_eq!(frames[0]["source"]["path"], counter.as_str());
    let frame_id = frames[0]["id"].clone();
    assert_eq!(client.evaluate("count", Some(&frame_id), "repl"), "0");
    assert_eq!(client.evaluate("frame", Some(&frame_id), "repl"), "1");

    // Run some frames, then reload while the program runs.
    client.set_breakpoints(&counter, &[]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    program.wait_for("frame 50", |out, _| out.contains("v1 count=50 "));
    // stdout is a file: forwarded without being asked (it stays a file's
    // worth of non-terminal for the program).
    client.wait_output("the program's stdout", |t| t.contains("v1 count=50 "));
    if expect == Expect::Refused {
        let error = client.err("hotReload", json!({"path": counter, "source": COUNTER_V2}));
        assert!(
            error.message.contains("upvaluejoin"),
            "the reason: {error:?}"
        );
        assert_eq!(error.kind, "unsupported", "{error:?}");
        // Nothing was lost: the old code runs on with its count.
        assert_eq!(
            client.evaluate("require('counter').version()", None, "repl"),
            "\"v1\""
        );
        let lines_then = program.stdout().lines().count();
        program.wait_for("v1 output after the refusal", |out, _| {
            out.lines().count() > lines_then + 1
                && out
                    .lines()
                    .last()
                    .is_some_and(|l| l.starts_with("v1 count="))
        });
    } else {
        // `version` never runs in the program: swapped in place, it keeps
        // its identity; the walk gives it the new closure's.
        let identity = "tostring(require('counter').version)";
        let before = client.evaluate(identity, None, "repl");
        let body = client.ok("hotReload", json!({"path": counter, "source": COUNTER_V2}));
        assert!(
            body["changed"].to_string().contains("tick"),
            "reload body: {body}"
        );
        let version = client.evaluate("require('counter').version()", None, "repl");
        assert_eq!(version, "\"v2\"");
        let after = client.evaluate(identity, None, "repl");
        if expect == Expect::Swap {
            assert_eq!(before, after, "not swapped in place");
            assert!(
                !program.stderr().contains("pure-Lua walk"),
                "the fast path was refused: {}",
                program.stderr()
            );
        } else if expect == Expect::Walk {
            assert_ne!(before, after, "the walk kept the old closure");
        }
        let count: i64 = client
            .evaluate("require('counter').count()", None, "repl")
            .parse()
            .expect("a count");
        assert!(count >= 50, "the count was reset by the reload: {count}");
        // The running program uses the new code with its counter kept.
        program.wait_for("v2 output", |out, _| {
            out.lines().any(|l| {
                l.strip_prefix("v2 count=")
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|n| n > 50)
            })
        });
    }

    // A breakpoint again, then detach while stopped: the program goes on.
    client.set_breakpoints(&counter, &[TICK_LINE]);
    client.wait_stopped("breakpoint");
    client.ok("disconnect", json!({}));
    let lines_then = program.stdout().lines().count();
    program.wait_for("output after the detach", |out, _| {
        out.lines().count() > lines_then + 1
    });
    assert!(program.alive(), "detaching ended the program");
    assert_eq!(program.finish(), 0, "stderr: {}", program.stderr());
    // The reader of its stdout may take the last line after the exit.
    program.wait_for("its last line", |out, _| out.contains("embed: done"));
    program.stderr()
}

#[test]
fn the_program_ending_ends_the_session() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("exit");
    let mut client = Client::start();
    // With the program's output forwarded (start's `output`).
    let mut program =
        attach_listening_with(Vm::Lua54, &mut client, &dir, &[("HOTRELOAD_OUTPUT", "1")]);
    client.ok("configurationDone", json!({}));
    program.wait_for("a few frames", |out, _| out.contains("count=50 "));
    client.wait_output("the program's stdout", |t| t.contains("v1 count=50 "));
    assert_eq!(program.finish(), 0);
    let exited = client.wait_event("exited");
    assert_eq!(exited["exitCode"], 0);
    // The last line, printed by C as it exits, reached both.
    program.wait_for("its last line", |out, _| out.contains("embed: done after"));
    assert!(client.output_of("stdout").contains("embed: done after"));
    client.wait_event("terminated");
    // The adapter is still there and says why nothing runs.
    let message = client.err("threads", json!({}));
    assert_eq!(message.kind, "notRunning", "{message}");
}

#[test]
fn a_crashed_program_ends_the_session_with_a_message() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("crash");
    let mut client = Client::start();
    let mut program = attach_listening(Vm::Lua54, &mut client, &dir);
    client.ok("configurationDone", json!({}));
    program.wait_for("a few frames", |out, _| out.contains("count=50 "));
    let _ = program.child.kill();
    let _ = program.child.wait();
    client.wait_event("exited");
    client.wait_event("terminated");
    let said = client.output_of("stderr");
    assert!(
        said.contains("closed the connection (it exited or crashed)"),
        "{said}"
    );
}

/// A free loopback port (bound then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn tcp_needs_the_token_and_a_busy_listener_refuses_a_second_program() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("tcp");
    let address = format!("127.0.0.1:{}", free_port());
    let mut client = Client::start();
    client.initialize();
    let seq = client.send("attach", json!({"listen": address, "token": "s3cret"}));
    // A program started before the adapter listens finds nobody.
    client.wait_output_of("console", "the listener", |t| {
        t.contains("waiting for a program at") && t.contains("HOTRELOAD_TOKEN")
    });

    // Without the right token: refused and logged on both sides.
    let intruder_dir = dir.join("intruder");
    std::fs::create_dir_all(&intruder_dir).expect("mkdir");
    let mut intruder = Program::start(
        Vm::Lua54,
        &intruder_dir,
        &[
            ("HOTRELOAD_CONNECT", &address),
            ("HOTRELOAD_TOKEN", "guess"),
        ],
    );
    intruder.wait_for("the refusal", |_, err| err.contains("token"));
    assert!(
        intruder.alive(),
        "a refused agent must leave its program running"
    );
    client.wait_output_of("console", "the refusal note", |t| {
        t.contains("refused a program") && t.contains("token")
    });

    let mut program = Program::start(
        Vm::Lua54,
        &dir,
        &[
            ("HOTRELOAD_CONNECT", &address),
            ("HOTRELOAD_TOKEN", "s3cret"),
            ("HOTRELOAD_WAIT", "1"),
        ],
    );
    let response = client.response(seq);
    assert!(response.success, "{:?}", response.message);
    client.wait_event("initialized");
    client.ok("configurationDone", json!({}));
    program.wait_for("frames", |out, _| out.contains("count=50 "));

    // A second program while one is attached: told so, not queued.
    let second_dir = dir.join("second");
    std::fs::create_dir_all(&second_dir).expect("mkdir");
    let mut second = Program::start(
        Vm::Lua54,
        &second_dir,
        &[
            ("HOTRELOAD_CONNECT", &address),
            ("HOTRELOAD_TOKEN", "s3cret"),
        ],
    );
    second.wait_for("the busy refusal", |_, err| {
        err.contains("already attached")
    });
    assert!(second.alive());
    client.wait_output_of("console", "the second program's note", |t| {
        t.contains("refused a second program")
    });
    assert_eq!(second.finish(), 0);
    assert_eq!(intruder.finish(), 0);
    client.ok("disconnect", json!({}));
    assert_eq!(program.finish(), 0);
}

tests_per_vm!(connect_pause_in_a_busy_loop_and_attach_again:
    lua54_connect_to_a_listening_agent_pause_in_a_busy_loop_and_attach_again => Vm::Lua54,
    luajit_connect_to_a_listening_agent_pause_in_a_busy_loop_and_attach_again => Vm::LuaJit,
    lua53_connect_to_a_listening_agent_pause_in_a_busy_loop_and_attach_again => Vm::Lua53,
    lua52_connect_to_a_listening_agent_pause_in_a_busy_loop_and_attach_again => Vm::Lua52,
    lua51_connect_to_a_listening_agent_pause_in_a_busy_loop_and_attach_again => Vm::Lua51,
);

fn connect_pause_in_a_busy_loop_and_attach_again(vm: Vm) {
    if skip_interpreter(vm) {
        return;
    }
    let dir = scratch(&format!("connect-{}", vm.name()));
    let socket = dir.join("sock/agent").display().to_string();
    let script = dir.join("busy.lua");
    std::fs::write(
        &script,
        "local n = 0\nwhile true do\n  n = n + 1\n  if n % 1000000 == 0 then\n    io.stdout:write('tick\\n') io.stdout:flush()\n  end\nend\n",
    )
    .expect("write busy.lua");
    let child = interpreter_with_agent(vm, &script, &socket)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the interpreter");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(child);
    for round in 0..2 {
        let mut client = Client::start();
        attach_connecting(&mut client, &socket, 10);
        client.ok("configurationDone", json!({}));
        client.ok("pause", json!({"threadId": 1}));
        let stopped = client.wait_stopped("pause");
        let frames = client.stack(&stopped["threadId"]);
        assert_eq!(frames[0]["source"]["path"], script.display().to_string());
        let n_text = client.evaluate("n", Some(&frames[0]["id"]), "repl");
        let scopes = client.ok("scopes", json!({"frameId": frames[0]["id"]}));
        let locals = client.variables(&scopes["scopes"][0]["variablesReference"]);
        let n: f64 = n_text.parse().unwrap_or_else(|e| {
            panic!("n is not a number: {n_text:?} ({e}); frames {frames:?}; locals {locals:?}")
        });
        assert!(n > 0.0, "round {round}: n = {n}");
        client.ok("disconnect", json!({}));
    }
    assert!(
        matches!(child.0.try_wait(), Ok(None)),
        "detaching ended lua5.4"
    );
}

#[test]
fn bad_attach_arguments_are_refused_with_the_reason() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("bad");
    let mut client = Client::start();
    client.initialize();
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "invalidArguments"),
        (json!({"listen": "a", "connect": "b"}), "invalidArguments"),
        (json!({"listen": "example.com:80"}), "invalidArguments"),
        (
            json!({"listen": "10.1.2.3:80", "token": "t"}),
            "invalidArguments",
        ),
        (json!({"listen": "127.0.0.1:9"}), "invalidArguments"),
        (
            json!({"connect": dir.join("sock/none").display().to_string()}),
            "io",
        ),
        (
            json!({"listen": "127.0.0.1:1", "token": "t", "timeout": -1}),
            "invalidArguments",
        ),
    ];
    for (args, expected) in cases {
        let message = client.err("attach", args.clone());
        assert_eq!(message.kind, expected, "{args}: {message}");
    }
    // A socket in a directory others can enter is refused.
    let open = dir.join("open");
    std::fs::create_dir_all(&open).expect("mkdir");
    set_mode(&open, 0o755);
    let message = client.err(
        "attach",
        json!({"listen": open.join("s").display().to_string(), "timeout": 1}),
    );
    assert_eq!(message.kind, "refused", "{message}");
    // Nothing connects in time: a clear message, and the session goes on.
    let message = client.err(
        "attach",
        json!({"listen": dir.join("sock/late").display().to_string(), "timeout": 0.3}),
    );
    assert_eq!(message.kind, "timedOut", "{message}");
    let message = client.err("threads", json!({}));
    assert_eq!(message.kind, "notRunning", "{message}");
}

/// player.lua of examples/love with `describe` saying v2.
fn player_v2(v1: &str) -> String {
    v1.replace("('v1 score=", "('v2 score=")
}

#[test]
fn love_game_headless_stops_evaluates_and_reloads_with_state() {
    if skip(Vm::LuaJit) {
        return;
    }
    if Command::new("love").arg("--version").output().is_err() {
        eprintln!("skipped: LÖVE is not installed (scripts/attach-env installs the love package)");
        return;
    }
    let dir = scratch("love");
    let game = dir.join("game");
    std::fs::create_dir_all(&game).expect("mkdir");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/love");
    for file in ["conf.lua", "main.lua", "player.lua"] {
        std::fs::copy(example.join(file), game.join(file)).expect("copy the example");
    }
    let (agent_dir, _) = artifacts(Vm::LuaJit);
    let socket = dir.join("sock/s").display().to_string();
    let run_file = dir.join("run");
    std::fs::write(&run_file, "").expect("run file");
    let mut client = Client::start();
    client.initialize();
    let seq = client.send("attach", json!({"listen": socket}));
    let child = Command::new("love")
        .arg(".")
        .current_dir(&game)
        .env("LUA_CPATH", format!("{}/?.so;;", agent_dir.display()))
        .env("HOTRELOAD_CONNECT", &socket)
        .env("HOTRELOAD_WAIT", "1")
        .env("HOTRELOAD_HEADLESS", "1")
        .env("HOTRELOAD_RUN_FILE", &run_file)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout")).expect("stdout"))
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr"))
        .spawn()
        .expect("start love");
    let mut program = Program {
        child,
        dir: dir.clone(),
    };
    let response = client.response(seq);
    assert!(
        response.success,
        "attach: {:?} {}",
        response.message,
        program.stderr()
    );
    client.wait_event("initialized");
    let player = game.join("player.lua").display().to_string();
    // p.score = p.score + 1 in M.update.
    let bps = client.set_breakpoints(&player, &[13]);
    assert_eq!(bps[0]["verified"], true, "{bps:?}");
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    assert!(
        frames[0]["source"]["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("player.lua"),
        "{frames:?}"
    );
    assert_eq!(
        client.evaluate("p.score", Some(&frames[0]["id"]), "repl"),
        "0"
    );
    client.set_breakpoints(&player, &[]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    program.wait_for("a few seconds of frames", |out, _| {
        out.contains("v1 score=120 ")
    });

    let v1 = std::fs::read_to_string(game.join("player.lua")).expect("read player.lua");
    let body = client.ok(
        "hotReload",
        json!({"path": player, "source": player_v2(&v1)}),
    );
    assert!(body["changed"].to_string().contains("describe"), "{body}");
    program.wait_for("the new describe with the score kept", |out, _| {
        out.lines().any(|l| {
            l.strip_prefix("v2 score=")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|n| n > 120)
        })
    });
    client.ok("disconnect", json!({}));
    let lines_then = program.stdout().lines().count();
    program.wait_for("frames after the detach", |out, _| {
        out.lines().count() > lines_then
    });
    assert_eq!(program.finish_by(&run_file), 0, "{}", program.stderr());
}

/// Attaches to a Lua 5.4 program listening at `socket`, holds it in C (no
/// Lua runs) while an `evaluate` waits, waits for the session's console
/// note about the unanswered request, then lets the program run Lua again:
/// the program and the evaluate's answer.
fn hold_in_c_while_evaluating(
    client: &mut Client,
    dir: &Path,
    socket: &str,
    hold: &Path,
) -> (Program, Response) {
    client.initialize();
    let seq = client.send("attach", json!({"listen": socket}));
    let hold_text = hold.display().to_string();
    let program = Program::start(
        Vm::Lua54,
        dir,
        &[
            ("HOTRELOAD_CONNECT", socket),
            ("HOTRELOAD_WAIT", "1"),
            ("EMBED_HOLD", &hold_text),
        ],
    );
    assert!(client.response(seq).success);
    client.wait_event("initialized");
    client.ok("configurationDone", json!({}));
    program.wait_for("frames", |out, _| out.contains("count=50 "));
    std::fs::write(hold, "").expect("hold the program in C");
    let asked = client.send(
        "evaluate",
        json!({"expression": "1 + 1", "context": "repl"}),
    );
    client.wait_output_of("console", "the note about the unanswered request", |t| {
        t.contains("has not answered 'evaluate'")
    });
    std::fs::remove_file(hold).expect("let the program run Lua again");
    (program, client.response(asked))
}

#[test]
fn a_program_that_runs_no_lua_is_reported_and_answers_later() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("silent");
    let hold = dir.join("hold");
    let socket = dir.join("sock/s").display().to_string();
    let mut client = Client::start();
    let (mut program, answer) = hold_in_c_while_evaluating(&mut client, &dir, &socket, &hold);
    assert!(answer.success, "{:?}", answer.message);
    assert_eq!(
        answer.body.as_ref().map(|b| b["result"].clone()),
        Some(json!("2"))
    );
    client.ok("disconnect", json!({}));
    assert_eq!(program.finish(), 0);
}

#[test]
fn start_says_why_and_the_program_runs_on() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("start");
    let (agent_dir, _) = artifacts(Vm::Lua54);
    let nobody = dir.join("sock/nobody").display().to_string();
    let script = format!(
        "local a = require('hotreload_agent')\n\
         print(a.start({{ connect = 'example.com:80' }}))\n\
         print(a.start({{ connect = '127.0.0.1:9' }}))\n\
         print(a.start({{ connect = 'a', listen = 'b' }}))\n\
         print(a.start({{ connect = {nobody:?} }}))\n\
         print('still running')\n"
    );
    let out = Command::new("lua5.4")
        .arg("-e")
        .arg(&script)
        .env("LUA_CPATH_5_4", format!("{}/?.so;;", agent_dir.display()))
        .env_remove("HOTRELOAD_TOKEN")
        .output()
        .expect("run lua5.4");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("nil\t") && lines[0].contains("not an address"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("nil\t") && lines[1].contains("needs a token"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("nil\t") && lines[2].contains("not both"),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with("false\t") && lines[3].contains("nobody listens"),
        "{stdout}"
    );
    assert_eq!(lines[4], "still running");
    assert!(stderr.contains("nobody listens"), "{stderr}");
}

/// Sends `signal` (STOP, CONT) to process `pid`.
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

#[test]
fn a_stopped_program_ends_the_session_and_one_blocked_in_c_does_not() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("frozen");
    let hold = dir.join("hold");
    let socket = dir.join("sock/s").display().to_string();
    // A short silence limit, far below the 10 s after which the session
    // notes an unanswered request: blocked in C, the agent's own thread
    // keeps the session alive past it.
    let mut client = Client::start_with_env(&[("HOTRELOAD_ATTACH_SILENCE", "3")]);
    let (mut program, answer) = hold_in_c_while_evaluating(&mut client, &dir, &socket, &hold);
    assert!(answer.success, "{:?}", answer.message);
    assert!(
        !client.event_names().iter().any(|e| e == "terminated"),
        "a program blocked in C ended the session"
    );

    // Frozen: nothing in the process runs, not even the agent's thread.
    let pid = program.child.id();
    signal(pid, "STOP");
    let terminated = client.wait_event_for("terminated", TIMEOUT);
    signal(pid, "CONT");
    assert!(terminated.is_some(), "a stopped program kept the session");
    let said = client.output_of("stderr");
    assert!(said.contains("stopped answering"), "{said}");
    // The adapter is still there and says why nothing runs.
    let message = client.err("threads", json!({}));
    assert!(message.message.contains("no longer running"), "{message:?}");
    // Woken, the program runs on: its agent sees the end and detaches.
    let lines_then = program.stdout().lines().count();
    program.wait_for("output after the wake", |out, _| {
        out.lines().count() > lines_then + 1
    });
    assert_eq!(program.finish(), 0, "stderr: {}", program.stderr());
}

#[test]
fn output_is_forwarded_by_default_unless_it_goes_to_a_terminal() {
    if skip(Vm::Lua54) {
        return;
    }
    let dir = scratch("tty");
    let socket = dir.join("sock/s").display().to_string();
    let mut client = Client::start();
    client.initialize();
    let seq = client.send("attach", json!({"listen": socket}));
    // stdout is a terminal (a pty we read), stderr a file; no `output`.
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills the two descriptors; the others may be null.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty");
    // SAFETY: both descriptors are ours, each owned once from here on.
    let (master, slave) = unsafe {
        use std::os::fd::FromRawFd;
        (
            std::fs::File::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut master = master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    let mut program = Program::start_with_stdout(
        Vm::Lua54,
        &dir,
        &[("HOTRELOAD_CONNECT", &socket), ("HOTRELOAD_WAIT", "1")],
        Stdio::from(slave),
    );
    assert!(client.response(seq).success);
    client.wait_event("initialized");
    client.ok("configurationDone", json!({}));
    let deadline = Instant::now() + TIMEOUT;
    while !seen.lock().is_ok_and(|s| s.contains("count=50 ")) {
        assert!(Instant::now() < deadline, "no output on the terminal");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The file-backed stderr is forwarded; the terminal is left alone.
    client.evaluate("io.stderr:write('to the file\\n')", None, "repl");
    client.wait_output_of("stderr", "stderr forwarded", |t| t.contains("to the file"));
    assert!(
        !client.output_of("stdout").contains("count="),
        "the terminal's output was forwarded: {}",
        client.output_of("stdout")
    );
    assert!(program.stderr().contains("to the file"));
    client.ok("disconnect", json!({}));
    assert_eq!(program.finish(), 0, "stderr: {}", program.stderr());
}

/// handler.lua's `hits = hits + 1` line.
const HANDLER_LINE: i64 = 6;

/// One HTTP/1.0 GET of `/` over nginx's Unix socket; the response body.
fn http_get(socket: &Path) -> String {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connect to nginx at {}: {e}", socket.display()));
    stream
        .set_read_timeout(Some(TIMEOUT))
        .expect("set a read timeout");
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    match response.split_once("\r\n\r\n") {
        Some((_, body)) => body.trim().to_string(),
        None => panic!("not an HTTP response: {response:?}"),
    }
}

/// OpenResty's Lua module in Debian's nginx (`libnginx-mod-http-lua`, on
/// libluajit-5.1): the agent started from `init_worker_by_lua_block`, a
/// breakpoint in a request handler, evaluate there, hot reload of the
/// handler's module with its state kept, detach with nginx serving on.
#[test]
fn openresty_request_handler_stops_and_reloads_with_state() {
    const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_lua_module.so";
    const NDK: &str = "/usr/lib/nginx/modules/ndk_http_module.so";
    if skip(Vm::LuaJit) {
        return;
    }
    if !Path::new(MODULE).exists() || Command::new("nginx").arg("-v").output().is_err() {
        // CI installs it (scripts/attach-env): there its absence is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx's Lua module is missing on CI: scripts/attach-env installs libnginx-mod-http-lua"
        );
        eprintln!("skipped: nginx's Lua module is not installed (scripts/attach-env installs libnginx-mod-http-lua)");
        return;
    }
    let dir = scratch("openresty");
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join("tmp").join(temp)).expect("nginx temp dir");
    }
    std::fs::copy(
        fixtures().join("attach/openresty/handler.lua"),
        dir.join("handler.lua"),
    )
    .expect("copy handler.lua");
    let handler = dir.join("handler.lua").display().to_string();
    let (agent_dir, _) = artifacts(Vm::LuaJit);
    let socket = dir.join("sock/s").display().to_string();
    let http = dir.join("sock/http");
    let d = dir.display();
    // nginx passes its workers no environment (only what `env` names): the
    // agent gets its address from start's options.
    let conf = format!(
        r#"load_module {NDK};
load_module {MODULE};
daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 16; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  lua_package_path "{d}/?.lua;;";
  lua_package_cpath "{agent}/?.so;;";
  init_worker_by_lua_block {{
    assert(require("hotreload_agent").start({{ connect = "{socket}", wait = true }}))
  }}
  server {{
    listen unix:{http};
    location / {{ content_by_lua_block {{ ngx.say(require("handler").handle()) }} }}
  }}
}}
"#,
        agent = agent_dir.display(),
        http = http.display(),
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");

    let mut client = Client::start();
    client.initialize();
    let seq = client.send("attach", json!({"listen": socket}));
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout")).expect("stdout file"))
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start nginx");
    let mut nginx = Program {
        child,
        dir: dir.clone(),
    };
    let response = client.response(seq);
    if !response.success {
        client.fail(&format!(
            "attach failed: {:?}\nerror.log:\n{}",
            response.message,
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        ));
    }
    client.wait_event("initialized");
    let bps = client.set_breakpoints(&handler, &[HANDLER_LINE]);
    assert_eq!(bps[0]["verified"], true, "{bps:?}");
    client.ok("configurationDone", json!({}));

    // A request stops in its handler.
    let first = {
        let http = http.clone();
        std::thread::spawn(move || http_get(&http))
    };
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    assert_eq!(frames[0]["line"], HANDLER_LINE);
    assert_eq!(frames[0]["source"]["path"], handler.as_str());
    assert_eq!(client.evaluate("hits", Some(&frames[0]["id"]), "repl"), "0");
    // The request's own API works from the debug console (the evaluation
    // thread gets the stopped request's host data).
    assert_eq!(
        client.evaluate("ngx.var.request_method", Some(&frames[0]["id"]), "repl"),
        "\"GET\""
    );
    assert_eq!(
        client.evaluate("ngx.get_phase()", Some(&frames[0]["id"]), "repl"),
        "\"content\""
    );

    // Reload the handler's module while stopped in it: this request ends
    // with the old code, the next runs the new one on the same `hits`.
    let v2 = std::fs::read_to_string(&handler)
        .expect("read handler.lua")
        .replace("'v1 hits='", "'v2 hits='");
    let body = client.ok("hotReload", json!({"path": handler, "source": v2}));
    assert!(
        body["changed"].to_string().contains("handle"),
        "reload body: {body}"
    );
    client.set_breakpoints(&handler, &[]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    assert_eq!(first.join().expect("the first request"), "v1 hits=1");
    assert_eq!(http_get(&http), "v2 hits=2");

    // Detached, nginx serves on with the new code and its state.
    client.ok("disconnect", json!({}));
    assert_eq!(http_get(&http), "v2 hits=3");
    assert!(nginx.alive(), "nginx ended: {}", nginx.stderr());
}

/// `attach` with `sourceMaps`, as `launch` has it: a program whose Lua was
/// compiled from another language (a stand-in: counter.lua with a V3 map to
/// `counter.ts`, whose lines are two further down) is debugged at the
/// source's lines: breakpoints set there, stacks shown there.
#[test]
fn attach_with_source_maps_stops_at_source_lines() {
    let vm = Vm::Lua54;
    if skip(vm) {
        return;
    }
    const OFFSET: i64 = 2;
    let dir = scratch("sourcemaps");
    let lua = std::fs::read_to_string(fixtures().join("attach/counter.lua")).expect("counter.lua");
    let lines = lua.lines().count();
    std::fs::write(
        dir.join("counter.ts"),
        format!("// compiled to counter.lua\n// (a stand-in source)\n{lua}"),
    )
    .expect("write counter.ts");
    // Lua line n (from 1) <- counter.ts line n + OFFSET: the first segment
    // says +2 lines ("E"), each next line +1 ("C").
    let mappings = std::iter::once("AAEA")
        .chain(std::iter::repeat_n("AACA", lines - 1))
        .collect::<Vec<_>>()
        .join(";");
    let map = json!({"version": 3, "file": "counter.lua", "sources": ["counter.ts"],
                     "names": [], "mappings": mappings});
    std::fs::write(dir.join("counter.lua.map"), map.to_string()).expect("write the map");
    std::fs::copy(
        fixtures().join("attach/counter.lua"),
        dir.join("counter.lua"),
    )
    .expect("copy");
    let source = dir.join("counter.ts").display().to_string();

    let mut client = Client::start();
    // The listener's note comes before the program is attached, source maps
    // or not (it once waited behind the source-map layer until attached).
    let mut program = attach_listening_as(
        vm,
        &mut client,
        &dir,
        json!({"sourceMaps": true, "cwd": dir.display().to_string()}),
        &[],
    );
    let bps = client.set_breakpoints(&source, &[TICK_LINE + OFFSET]);
    assert_eq!(bps[0]["verified"], true, "{bps:?}");
    assert_eq!(bps[0]["line"], TICK_LINE + OFFSET, "{bps:?}");
    client.ok("configurationDone", json!({}));

    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    assert_eq!(frames[0]["source"]["path"], source.as_str(), "{frames:?}");
    assert_eq!(frames[0]["line"], TICK_LINE + OFFSET, "{frames:?}");
    assert_eq!(
        client.evaluate("count", Some(&frames[0]["id"]), "repl"),
        "0"
    );

    client.set_breakpoints(&source, &[]);
    client.ok("disconnect", json!({}));
    program.wait_for("frame 50", |out, _| out.contains("v1 count=50 "));
    assert_eq!(program.finish(), 0, "stderr: {}", program.stderr());
}

/// The in-place swap writes into the VM's objects without its GC barriers
/// (a stock VM hides them): what it touched is kept until the collector ends
/// a cycle (stock/fast_reload.c). Reloads served while a program churns
/// garbage (the incremental collector mid-cycle) keep every old reference
/// working, through full collections, with the module's state kept.
#[test]
fn lua54_and_lua51_reloads_while_the_collector_runs_keep_the_heap_sound() {
    for vm in [Vm::Lua54, Vm::Lua51] {
        reloads_while_the_collector_runs(vm);
    }
}

fn reloads_while_the_collector_runs(vm: Vm) {
    const KEPT: usize = 20_000;
    if skip_interpreter(vm) {
        return;
    }
    let dir = scratch(&format!("churn-{}", vm.name()));
    let socket = dir.join("sock/agent").display().to_string();
    let module = dir.join("churnmod.lua");
    let module_v = |version: usize| {
        format!(
            "local M = {{}}\nlocal n = 0\nfunction M.bump()\n  n = n + 1\n  return n\nend\nfunction M.get()\n  return {version}\nend\nreturn M\n"
        )
    };
    std::fs::write(&module, module_v(1)).expect("write churnmod.lua");
    let script = dir.join("churn.lua");
    std::fs::write(
        &script,
        format!(
            "local mod = require('churnmod')\nkeep = {{}}\nfor i = 1, {KEPT} do\n  keep[i] = {{ f = mod.get, g = mod.bump }}\nend\nready = true\nlocal sum = 0\nwhile true do\n  local t = {{}}\n  for i = 1, 200 do\n    t[i] = {{ i }}\n  end\n  sum = sum + keep[#keep].f()\nend\n"
        ),
    )
    .expect("write churn.lua");
    let (_, path) = vm.path_vars();
    let child = interpreter_with_agent(vm, &script, &socket)
        .current_dir(&dir)
        .env(path, format!("{}/?.lua;;", dir.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start the interpreter");
    let mut program = Program {
        child,
        dir: dir.clone(),
    };
    let mut client = Client::start();
    attach_connecting(&mut client, &socket, 30);
    client.ok("configurationDone", json!({}));
    // The agent starts from LUA_INIT, before the script built its heap.
    let deadline = Instant::now() + TIMEOUT;
    while client.evaluate("ready == true", None, "repl") != "true" {
        assert!(
            Instant::now() < deadline,
            "{}: the heap was never built",
            vm.name()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let path = module.display().to_string();
    let mut bumps = 0;
    for version in 2..=21 {
        client.ok(
            "hotReload",
            json!({"path": path, "source": module_v(version)}),
        );
        let expect = |n: usize| n.to_string();
        assert_eq!(
            client.evaluate(&format!("keep[1].f() + keep[{KEPT}].f()"), None, "repl"),
            expect(2 * version),
            "{}: after reload {version}",
            vm.name()
        );
        bumps += 1;
        assert_eq!(
            client.evaluate("keep[2].g()", None, "repl"),
            expect(bumps),
            "{}: the module's state after reload {version}",
            vm.name()
        );
    }
    let all = client.evaluate(
        "(function() collectgarbage() collectgarbage() local s = 0 for i = 1, #keep do s = s + keep[i].f() + keep[i].g() * 0 end return s end)()",
        None,
        "repl",
    );
    assert_eq!(all, (KEPT * 21).to_string(), "{}", vm.name());
    assert!(
        !program.stderr().contains("pure-Lua walk"),
        "{}: the fast path was refused: {}",
        vm.name(),
        program.stderr()
    );
    client.ok("disconnect", json!({}));
    assert!(
        program.alive(),
        "{}: the program ended: {}",
        vm.name(),
        program.stderr()
    );
}
