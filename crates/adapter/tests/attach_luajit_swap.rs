//! The in-place swap of the attach agent in a stock LuaJIT (Debian's
//! `luajit`, started with the agent through `LUA_INIT`): after its layout
//! check, a reload gives a closure made inside a function (a factory's
//! product held by the program) the new code; with the check failing
//! (`HOTRELOAD_LUAJIT_STOCK=off`), the pure-Lua walk reloads the module,
//! the closure keeps its code, and stderr says why once.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::Client;

const MODULE_V1: &str = "local M = {}\nfunction M.version() return 1 end\nfunction M.make(n)\n  return function() return n * 10 + 1 end\nend\nreturn M\n";
const MODULE_V2: &str = "local M = {}\nfunction M.version() return 2 end\nfunction M.make(n)\n  return function() return n * 10 + 2 end\nend\nreturn M\n";
const MAIN: &str = "local ffi = require('ffi')\nffi.cdef('int usleep(unsigned int usec);')\nlocal mod = require('swapmod')\nkeep = { cb = mod.make(4) }\nready = true\nwhile true do ffi.C.usleep(2000) end\n";

fn skip() -> bool {
    if support::runtime() != "lua5.4" {
        eprintln!("skipped on {}: attach tests run once", support::runtime());
        return true;
    }
    let found = Command::new("luajit")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: no luajit (scripts/attach-env installs it)");
    }
    !found
}

fn agent_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../agent/luajit")
}

struct Program {
    child: Child,
    stderr: PathBuf,
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `luajit main.lua` in `dir` with the agent listening on a socket
/// there, attaches to it and waits until the program is ready.
fn attach(dir: &Path, env: &[(&str, &str)]) -> (Client, Program) {
    let _ = std::fs::remove_dir_all(dir);
    let sockets = dir.join("sock");
    std::fs::create_dir_all(&sockets).expect("scratch dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    std::fs::write(dir.join("swapmod.lua"), MODULE_V1).expect("module");
    std::fs::write(dir.join("main.lua"), MAIN).expect("main");
    let socket = sockets.join("s");
    let stderr = dir.join("stderr.txt");
    let mut command = Command::new("luajit");
    command
        .arg("main.lua")
        .current_dir(dir)
        .env("LUA_CPATH", format!("{}/?.so;;", agent_dir().display()))
        .env("LUA_PATH", format!("{}/?.lua;;", dir.display()))
        .env("HOTRELOAD_LISTEN", &socket)
        .env("LUA_INIT", "require('hotreload_agent').start()")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"));
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("start luajit");
    let program = Program { child, stderr };
    let mut client = Client::start();
    client.ok("initialize", json!({"adapterID": "hotreload"}));
    client.ok(
        "attach",
        json!({"connect": socket.display().to_string(), "timeout": 60}),
    );
    client.ok("configurationDone", json!({}));
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.evaluate("ready == true", None, "repl") != "true" {
        assert!(Instant::now() < deadline, "the program never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    (client, program)
}

#[test]
fn a_closure_made_inside_a_function_gets_the_new_code() {
    if skip() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hotreload-ljswap-{}", std::process::id()));
    let (mut client, program) = attach(&dir, &[]);
    assert_eq!(client.evaluate("keep.cb()", None, "repl"), "41");
    let path = dir.join("swapmod.lua").display().to_string();
    let body = client.ok("hotReload", json!({"path": path, "source": MODULE_V2}));
    assert!(
        body["warnings"].as_array().is_some_and(|w| w.is_empty()),
        "{body}"
    );
    assert_eq!(
        client.evaluate("require('swapmod').version()", None, "repl"),
        "2",
        "{body}"
    );
    // The factory's product, made before the reload, runs the new code
    // with its own upvalue.
    assert_eq!(client.evaluate("keep.cb()", None, "repl"), "42");
    client.ok("disconnect", json!({}));
    let err = std::fs::read_to_string(&program.stderr).unwrap_or_default();
    assert!(!err.contains("no in-place swap"), "stderr: {err}");
    drop(program);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_swap_the_walk_reloads_and_stderr_says_why() {
    if skip() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hotreload-ljwalk-{}", std::process::id()));
    let (mut client, program) = attach(&dir, &[("HOTRELOAD_LUAJIT_STOCK", "off")]);
    let path = dir.join("swapmod.lua").display().to_string();
    client.ok("hotReload", json!({"path": path, "source": MODULE_V2}));
    assert_eq!(
        client.evaluate("require('swapmod').version()", None, "repl"),
        "2"
    );
    // The walk cannot reach into closures made inside functions.
    assert_eq!(client.evaluate("keep.cb()", None, "repl"), "41");
    client.ok("hotReload", json!({"path": path, "source": MODULE_V1}));
    assert_eq!(
        client.evaluate("require('swapmod').version()", None, "repl"),
        "1"
    );
    client.ok("disconnect", json!({}));
    let err = std::fs::read_to_string(&program.stderr).unwrap_or_default();
    assert_eq!(err.matches("no in-place swap").count(), 1, "stderr: {err}");
    assert!(err.contains("HOTRELOAD_LUAJIT_STOCK=off"), "stderr: {err}");
    drop(program);
    let _ = std::fs::remove_dir_all(&dir);
}
