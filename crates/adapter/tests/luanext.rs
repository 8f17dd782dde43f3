//! LuaNext programs (`.luax`) through `hotreload-dap` and the real host:
//! compiled at launch by the compiler the launch names, debugged and
//! reloaded at `.luax` lines.
//!
//! The LuaNext compiler is in no registry these machines reach, so most
//! tests use the stand-in `tests/fixtures/luanext/luanext`, which follows
//! LuaNext's command line and writes real V3 maps. The test of the real
//! compiler runs only when `luanext` is on PATH and says it skipped
//! otherwise.

mod support;

use std::path::{Path, PathBuf};

use serde_json::json;
use support::{fixtures, Client};

fn stand_in() -> String {
    fixtures().join("luanext/luanext").display().to_string()
}

/// A private copy of tests/fixtures/luanext's program.
fn project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotreload-luax-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for file in ["main.luax", "counter.luax"] {
        let from = fixtures().join("luanext").join(file);
        std::fs::copy(&from, dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    dir.canonicalize().unwrap_or(dir)
}

fn path_of(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

/// Stops at `total = counter.bump(1)`, steps into the module, reloads it
/// (a good version, then one with a type error), and runs to the end.
fn debug_and_reload(compiler: Option<String>) {
    support::require_host();
    let dir = project(if compiler.is_some() {
        "stand-in"
    } else {
        "real"
    });
    let main = path_of(&dir, "main.luax");
    let counter = path_of(&dir, "counter.luax");
    let mut client = Client::start();
    // The compiled Lua runs on the host these tests run on.
    let mut args = json!({
        "program": main,
        "cwd": dir.display().to_string(),
        "target": support::runtime(),
    });
    if let Some(compiler) = compiler {
        args["luanextPath"] = json!(compiler);
    }
    client.launch(args);

    let placed = client.set_breakpoints(&main, &[11]);
    assert_eq!(placed[0]["verified"], true, "{placed:?}");
    assert_eq!(placed[0]["line"], 11);
    // Line 3 is a `type` line: it compiled to nothing, the breakpoint moves
    // to the next line with code, as in Lua.
    let moved = client.set_breakpoints(&main, &[3, 11]);
    assert_eq!(moved[0]["line"], 6, "{moved:?}");
    client.set_breakpoints(&main, &[11]);
    client.ok("configurationDone", json!({}));

    let stopped = client.wait_stopped("breakpoint");
    assert_eq!(client.top_of(&stopped), (main.clone(), 11));
    let frames = client.stack(&stopped["threadId"]);
    assert_eq!(frames[1]["line"], 17, "run(2) is called on main.luax:17");
    client.ok("stepIn", json!({"threadId": stopped["threadId"]}));
    let stopped = client.wait_stopped("step");
    assert_eq!(client.top_of(&stopped), (counter.clone(), 8));
    // Inspected: `step` is the argument, `count` the module's state.
    let frame = client.stack(&stopped["threadId"])[0]["id"].clone();
    let scopes = client.ok("scopes", json!({"frameId": frame}));
    let locals = scopes["scopes"][0]["variablesReference"].clone();
    assert_eq!(client.variable(&locals, "step")["value"], "1");
    assert_eq!(client.evaluate("count + step", Some(&frame), "hover"), "1");

    let v1 = std::fs::read_to_string(&counter).unwrap_or_default();
    let v2 = v1.replace("\"v1 count=\"", "\"v2 count=\"");
    std::fs::write(&counter, &v2).unwrap_or_else(|e| panic!("{counter}: {e}"));
    let body = client.ok("hotReload", json!({"path": counter}));
    assert_eq!(body["path"], counter.as_str(), "{body}");

    let broken = v2.replace(
        "local count: Count = 0\n",
        "local count: Count = 0\nlocal bad: number = \"x\"\n",
    );
    std::fs::write(&counter, broken).unwrap_or_else(|e| panic!("{counter}: {e}"));
    let failed = client.request("hotReload", json!({"path": counter}));
    assert!(!failed.success);
    // As data, at the .luax line, for the editor's diagnostics.
    let variables = failed.body.unwrap_or_default()["error"]["variables"].clone();
    assert_eq!(variables["kind"], "compile", "{variables}");
    assert_eq!(variables["path"], counter.as_str(), "{variables}");
    assert_eq!(variables["line"], "6", "{variables}");

    client.set_breakpoints(&main, &[]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    let out = client.wait_output("done", |t| t.contains("done"));
    assert!(
        out.contains("v2 count=1\nv2 count=2\nv2 count=3\nv2 count=4\ndone 6"),
        "the good reload kept the count, the failed one changed nothing: {out}"
    );
    client.wait_event("terminated");
}

#[test]
fn a_luax_program_stops_steps_and_reloads_at_its_own_lines() {
    debug_and_reload(Some(stand_in()));
}

/// The real compiler is on no registry CI reaches: run with `--ignored`
/// where `luanext` is on PATH (reported as ignored, never as a pass).
#[test]
#[ignore = "needs the real `luanext` compiler on PATH"]
fn the_real_luanext_compiler_when_installed() {
    debug_and_reload(None);
}

#[test]
fn a_missing_compiler_fails_launch_saying_how_to_install_it() {
    support::require_host();
    let dir = project("missing");
    let mut client = Client::start();
    client.initialize();
    let error = client.err(
        "launch",
        json!({"program": path_of(&dir, "main.luax"), "luanextPath": path_of(&dir, "no-such-luanext")}),
    );
    assert_eq!(error.kind, "unsupported", "{error}");
    // It names the option that says where the compiler is.
    assert!(error.message.contains("luanextPath"), "{error}");
    // Nothing was lost: the same session launches with a working compiler.
    client.ok(
        "launch",
        json!({"program": path_of(&dir, "main.luax"), "luanextPath": stand_in()}),
    );
    client.wait_event("initialized");
    client.ok("configurationDone", json!({}));
    client.wait_output("done", |t| t.contains("done 6"));
}

#[test]
fn a_program_that_does_not_compile_fails_launch_with_its_diagnostics() {
    support::require_host();
    let dir = project("broken");
    let main = path_of(&dir, "main.luax");
    let text = std::fs::read_to_string(&main).unwrap_or_default();
    std::fs::write(
        &main,
        text.replace(
            "local first: number = run(2)",
            "local first: number = \"two\"",
        ),
    )
    .unwrap_or_else(|e| panic!("{main}: {e}"));
    let mut client = Client::start();
    client.initialize();
    let error = client.err(
        "launch",
        json!({"program": main, "luanextPath": stand_in()}),
    );
    assert_eq!(
        (error.kind.as_str(), error.path.as_deref(), error.line),
        ("compile", Some(main.as_str()), Some(17)),
        "{error}"
    );
    // A bad target is refused before anything runs.
    let error = client.err(
        "launch",
        json!({"program": path_of(&dir, "counter.luax"), "luanextPath": stand_in(), "target": "lua9"}),
    );
    assert_eq!(error.kind, "launch", "{error}");
    assert!(
        error.message.contains("'lua9'"),
        "names the target: {error}"
    );
}

#[test]
fn without_a_target_the_program_runs_on_the_newest_host_built() {
    support::require_host();
    let hosts = support::host_dir();
    // An installation with only the 5.3 and 5.2 hosts: 5.3 is the newest.
    let only = std::env::temp_dir().join(format!("hotreload-luax-hosts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&only);
    std::fs::create_dir_all(&only).unwrap_or_else(|e| panic!("{}: {e}", only.display()));
    for host in ["hotreload-host-lua53", "hotreload-host-lua52"] {
        if !hosts.join(host).is_file() {
            eprintln!("skipped: {host} is not built");
            return;
        }
        std::os::unix::fs::symlink(hosts.join(host), only.join(host))
            .unwrap_or_else(|e| panic!("{}: {e}", only.display()));
    }
    let dir = project("newest");
    let program = dir.join("version.luax");
    std::fs::write(
        &program,
        "local v: string = _VERSION\nprint(\"running on \" .. v)\n",
    )
    .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let mut client = Client::start_with_env(&[("HOTRELOAD_HOST_DIR", &only.display().to_string())]);
    client.launch(json!({
        "program": program.display().to_string(),
        "runtime": "luanext",
        "luanextPath": stand_in(),
    }));
    client.ok("configurationDone", json!({}));
    let out = client.wait_output("the version", |t| t.contains("running on"));
    assert!(out.contains("running on Lua 5.3"), "{out}");
    client.wait_event("terminated");
    drop(client);

    // With no host at all, launch says so and how to get one.
    let empty = only.join("none");
    std::fs::create_dir_all(&empty).unwrap_or_else(|e| panic!("{}: {e}", empty.display()));
    let mut client =
        Client::start_with_env(&[("HOTRELOAD_HOST_DIR", &empty.display().to_string())]);
    client.initialize();
    let error = client.err(
        "launch",
        json!({"program": program.display().to_string(), "luanextPath": stand_in()}),
    );
    assert_eq!(error.kind, "unsupported", "{error}");
    // It names the host it looked for.
    assert!(error.message.contains("hotreload-host-lua54"), "{error}");
    let _ = std::fs::remove_dir_all(&only);
}
