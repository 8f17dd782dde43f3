//! A TypeScript program compiled by TypeScriptToLua, debugged with
//! `sourceMaps: true` through `hotreload-dap` and the real host: breakpoints,
//! stacks, steps and output at `.ts` lines, and a reload of a recompiled
//! module.
//!
//! The compiler comes from `$HOTRELOAD_TSTL` or `.venv/node` (installed by
//! `scripts/tstl-env`, which `scripts/test` runs). Without it these tests
//! print why and return; under CI (`CI` set) a missing compiler fails them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use support::{fixtures, Client};

/// `tstl`, or `None` (after saying so) when these tests cannot run here.
fn tstl() -> Option<PathBuf> {
    let path = std::env::var_os("HOTRELOAD_TSTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/node/node_modules/.bin/tstl")
        });
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{} is missing (run scripts/tstl-env, or set HOTRELOAD_TSTL)",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED: source-map tests need TypeScriptToLua: {why}");
    None
}

/// A fresh private copy of tests/fixtures/ts (its sources and
/// tsconfig.json); returns its directory.
fn project_copy(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hotreload-ts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for file in [
        "main.ts",
        "counter.ts",
        "fail.ts",
        "names.ts",
        "tsconfig.json",
    ] {
        let from = fixtures().join("ts").join(file);
        std::fs::copy(&from, dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    dir
}

/// A private copy of tests/fixtures/ts, compiled; returns its directory.
fn compiled_project(tstl: &Path, name: &str) -> PathBuf {
    let dir = project_copy(name);
    compile(tstl, &dir);
    dir.canonicalize().unwrap_or(dir)
}

fn compile(tstl: &Path, dir: &Path) {
    let out = Command::new(tstl)
        .arg("-p")
        .arg(dir.join("tsconfig.json"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", tstl.display()));
    assert!(
        out.status.success(),
        "tstl failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Launch arguments for the compiled `out/main.lua` of `dir`.
fn launch_args(dir: &Path) -> Value {
    launch_args_of(dir, "main")
}

/// Launch arguments for the compiled `out/<module>.lua` of `dir`.
fn launch_args_of(dir: &Path, module: &str) -> Value {
    json!({
        "program": dir.join(format!("out/{module}.lua")).display().to_string(),
        "luaPath": format!("{}/out/?.lua", dir.display()),
        "cwd": dir.display().to_string(),
        "sourceMaps": true,
    })
}

fn path_of(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

/// Steps with `command` from the stop `stopped`: the step's stop and its
/// top frame's source path and line.
fn step(client: &mut Client, stopped: &Value, command: &str) -> (Value, (String, i64)) {
    client.ok(command, json!({"threadId": stopped["threadId"]}));
    let stopped = client.wait_stopped("step");
    let at = client.top_of(&stopped);
    (stopped, at)
}

/// With a breakpoint at `line` of `file`, configured: the stop there.
fn stopped_at(client: &mut Client, file: &str, line: i64) -> Value {
    client.set_breakpoints(file, &[line]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    assert_eq!(client.top_of(&stopped), (file.to_owned(), line));
    stopped
}

/// Clears the breakpoints of `file` and continues from `stopped`.
fn clear_and_continue(client: &mut Client, stopped: &Value, file: &str) {
    client.set_breakpoints(file, &[]);
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
}

/// Reloads `counter_ts` (its text changed): answered for that path, with
/// `describe` changed.
fn reload_changing_describe(client: &mut Client, counter_ts: &str) {
    let body = client.ok("hotReload", json!({"path": counter_ts}));
    assert_eq!(body["path"], counter_ts, "{body}");
    assert!(body["changed"].to_string().contains("describe"), "{body}");
}

/// Reloads `path`, which must fail there as a `kind` error: the error's
/// `variables`.
fn failed_reload(client: &mut Client, path: &str, kind: &str) -> Value {
    let failed = client.request("hotReload", json!({"path": path}));
    assert!(!failed.success);
    let variables = failed.body.unwrap_or_default()["error"]["variables"].clone();
    assert_eq!(variables["kind"], kind, "{variables}");
    assert_eq!(variables["path"], path, "{variables}");
    variables
}

/// After `initialize`, a launch of the TypeScript `program` in `dir` that
/// fails: how.
fn failed_ts_launch(client: &mut Client, dir: &Path, program: &str) -> support::Failure {
    client.err(
        "launch",
        json!({"program": program, "cwd": dir.display().to_string(), "sourceMaps": true, "runtime": support::runtime()}),
    )
}

#[test]
fn breakpoints_stacks_and_steps_are_at_ts_lines() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "steps");
    let main_ts = path_of(&dir, "main.ts");
    let counter_ts = path_of(&dir, "counter.ts");
    let mut client = Client::start();
    client.launch(launch_args(&dir));

    // Line 8 is `total = bump(1);`; line 4 is blank and moves to `function run`
    // (line 5); line 99 is past the end.
    let placed = client.set_breakpoints(&main_ts, &[8, 99]);
    assert_eq!(placed[0]["verified"], true, "{placed:?}");
    assert_eq!(placed[0]["line"], 8);
    assert_eq!(placed[0]["source"]["path"], main_ts.as_str());
    assert_eq!(placed[1]["verified"], false);
    let message = placed[1]["message"].as_str().unwrap_or_default();
    assert!(message.contains("main.ts:99"), "{message}");
    client.ok("configurationDone", json!({}));

    let stopped = client.wait_stopped("breakpoint");
    assert_eq!(client.top_of(&stopped), (main_ts.clone(), 8));
    let frames = client.stack(&stopped["threadId"]);
    let caller = &frames[1];
    assert_eq!(caller["source"]["path"], main_ts.as_str());
    assert_eq!(caller["line"], 14, "run(2) is called on main.ts:14");

    // Into bump: `const next: number =` on counter.ts:6 (the Lua line holds
    // lines 6 and 7).
    client.set_breakpoints(&main_ts, &[]);
    let (stopped, at) = step(&mut client, &stopped, "stepIn");
    assert_eq!(at, (counter_ts.clone(), 6));
    let (stopped, at) = step(&mut client, &stopped, "next");
    assert_eq!(at, (counter_ts.clone(), 8));
    let (stopped, at) = step(&mut client, &stopped, "stepOut");
    assert_eq!(at.0, main_ts);

    // From `print(describe())` (9) `next` reaches the loop header (7):
    // `i = i + 1` and `while i < times` are both line 7 in Lua, so a second
    // `next` must step through both and land on line 8, not stop twice on 7.
    let (mut stopped, mut line) = (stopped, at.1);
    while line != 9 {
        (stopped, (_, line)) = step(&mut client, &stopped, "next");
    }
    let (stopped, at) = step(&mut client, &stopped, "next");
    assert_eq!(at, (main_ts.clone(), 7));
    let (stopped, at) = step(&mut client, &stopped, "next");
    assert_eq!(at, (main_ts.clone(), 8));

    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    // The traceback the program prints names main.ts lines, not main.lua.
    let out = client.wait_output("the traceback", |t| t.contains("stack traceback"));
    assert!(out.contains("main.ts:17"), "{out}");
    assert!(!out.contains("main.lua"), "{out}");
    client.wait_event("terminated");
}

#[test]
fn a_recompiled_module_reloads_keeping_its_state() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "reload");
    let main_ts = path_of(&dir, "main.ts");
    let counter_ts = path_of(&dir, "counter.ts");
    let mut client = Client::start();
    client.launch(launch_args(&dir));
    // `const second: number = run(2);`: after two v1 rounds.
    let stopped = stopped_at(&mut client, &main_ts, 15);

    let v1 = std::fs::read_to_string(&counter_ts).unwrap_or_default();
    std::fs::write(&counter_ts, v1.replace("\"v1 count=\"", "\"v2 count=\""))
        .unwrap_or_else(|e| panic!("{counter_ts}: {e}"));
    compile(&tstl, &dir);
    reload_changing_describe(&mut client, &counter_ts);

    // A version whose top level fails: a failed reload, located at the .ts
    // line, that changes nothing.
    let v2 = std::fs::read_to_string(&counter_ts).unwrap_or_default();
    let error_line = v2.lines().count() + 3;
    let broken = format!(
        "{v2}\ndeclare function error(this: void, message: string): never;\nerror(\"bad top level\");\n"
    );
    std::fs::write(&counter_ts, broken).unwrap_or_else(|e| panic!("{counter_ts}: {e}"));
    compile(&tstl, &dir);
    // Located at the TypeScript line, as data (the message says the same).
    let variables = failed_reload(&mut client, &counter_ts, "runtime");
    assert_eq!(variables["line"], error_line.to_string(), "{variables}");

    clear_and_continue(&mut client, &stopped, &main_ts);
    let out = client.wait_output("done", |t| t.contains("done"));
    assert!(
        out.contains("v1 count=1\nv1 count=2\nv2 count=3\nv2 count=4\ndone 6"),
        "{out}"
    );
    client.wait_event("terminated");
}

#[test]
fn a_breakpoint_in_a_file_no_map_names_is_refused_clearly() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "unknown");
    let mut client = Client::start();
    client.launch(launch_args(&dir));
    let stray = path_of(&dir, "stray.ts");
    let placed = client.set_breakpoints(&stray, &[1]);
    assert_eq!(placed[0]["verified"], false);
    let message = placed[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no source map"), "{message}");
    // Nothing was lost: the program still runs to its end.
    client.ok("configurationDone", json!({}));
    client.wait_output("done", |t| t.contains("done 6"));
    client.wait_event("terminated");
}

#[test]
fn an_uncaught_error_stops_at_its_ts_line_with_a_ts_message() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "error");
    let fail_ts = path_of(&dir, "fail.ts");
    let mut client = Client::start();
    client.launch(launch_args_of(&dir, "fail"));
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("exception");
    let text = stopped["text"].as_str().unwrap_or_default();
    assert!(text.contains(&format!("{fail_ts}:6: boom 2")), "{stopped}");
    assert!(!stopped.to_string().contains("fail.lua"), "{stopped}");
    let frames = client.stack(&stopped["threadId"]);
    let lua_frames: Vec<(String, i64)> = frames
        .iter()
        .filter(|f| f["source"]["path"].is_string())
        .map(|f| {
            (
                f["source"]["path"].as_str().unwrap_or_default().to_owned(),
                f["line"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        lua_frames,
        vec![(fail_ts.clone(), 6), (fail_ts.clone(), 11)],
        "{frames:?}"
    );
    let info = client.ok("exceptionInfo", json!({"threadId": stopped["threadId"]}));
    let description = info["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&format!("{fail_ts}:6: boom 2")),
        "{info}"
    );
    let traceback = info["details"]["stackTrace"].as_str().unwrap_or_default();
    assert!(traceback.contains(&format!("{fail_ts}:11")), "{info}");
    assert!(!info.to_string().contains("fail.lua"), "{info}");
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    client.wait_event("terminated");
}

#[test]
fn a_logpoint_on_a_ts_line_logs_from_that_line() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "logpoint");
    let counter_ts = path_of(&dir, "counter.ts");
    let mut client = Client::start();
    client.launch(launch_args(&dir));
    let body = client.ok(
        "setBreakpoints",
        json!({"source": {"path": counter_ts}, "breakpoints": [{"line": 8, "logMessage": "step={step}"}]}),
    );
    assert_eq!(body["breakpoints"][0]["verified"], true, "{body}");
    client.ok("configurationDone", json!({}));
    let logged = loop {
        let event = client.wait_event("output");
        if event["output"]
            .as_str()
            .unwrap_or_default()
            .contains("step=1")
        {
            break event;
        }
    };
    // The host sends logpoint output without a location today; when it
    // carries one, it is the .ts line.
    if !logged["source"].is_null() {
        assert_eq!(logged["source"]["path"], counter_ts.as_str(), "{logged}");
        assert_eq!(logged["line"], 8, "{logged}");
    }
    client.wait_event("terminated");
}

#[test]
fn a_malformed_map_is_reported_and_its_file_debugged_as_lua() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "badmap");
    let map = dir.join("out/counter.lua.map");
    std::fs::write(
        &map,
        r#"{"version":3,"sources":["../counter.ts"],"mappings":"AA!A"}"#,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    let mut client = Client::start();
    client.launch(launch_args(&dir));
    let counter_ts = path_of(&dir, "counter.ts");
    let placed = client.set_breakpoints(&counter_ts, &[8]);
    assert_eq!(placed[0]["verified"], false, "{placed:?}");
    client.ok("configurationDone", json!({}));
    let notice = client.wait_output_of("console", "the bad map", |t| {
        t.contains("source map ignored")
    });
    assert!(
        notice.contains("counter.lua") && notice.contains("'!'"),
        "{notice}"
    );
    // Nothing was lost: the program runs to its end.
    client.wait_output("done", |t| t.contains("done 6"));
    client.wait_event("terminated");
}

#[test]
fn variables_show_the_names_the_ts_source_used() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "names");
    let names_ts = path_of(&dir, "names.ts");
    let mut client = Client::start();
    client.launch(launch_args_of(&dir, "names"));
    // `return repeat;`: the Lua says `return ____repeat`. Its condition
    // and the logpoint before it are written with the source's names.
    let body = client.ok(
        "setBreakpoints",
        json!({"source": {"path": names_ts}, "breakpoints": [
            {"line": 5, "logMessage": "end={end} local={local} {{end}}"},
            {"line": 6, "condition": "end == 2 and local == 3"},
        ]}),
    );
    assert_eq!(body["breakpoints"][1]["verified"], true, "{body}");
    client.ok("configurationDone", json!({}));
    let logged = client.wait_output_of("console", "the logpoint", |t| t.contains("end="));
    assert!(logged.contains("end=2 local=3 {end}"), "{logged}");
    let stopped = client.wait_stopped("breakpoint");
    let frames = client.stack(&stopped["threadId"]);
    let frame = frames[0]["id"].clone();
    let scopes = client.ok("scopes", json!({"frameId": frame}));
    let locals = scopes["scopes"][0]["variablesReference"].clone();
    let shown: Vec<(String, String)> = client
        .variables(&locals)
        .into_iter()
        .map(|(name, v)| (name, v["value"].as_str().unwrap_or_default().to_owned()))
        .collect();
    for (name, value) in [("end", "2"), ("local", "3"), ("repeat", "6")] {
        assert!(
            shown.contains(&(name.to_owned(), value.to_owned())),
            "{name} = {value} missing from {shown:?}"
        );
    }
    assert!(
        !shown.iter().any(|(name, _)| name.starts_with("____")),
        "{shown:?}"
    );
    // Typed with the source's names: hover, watch, the REPL, assignment.
    assert_eq!(client.evaluate("end * local", Some(&frame), "hover"), "6");
    assert_eq!(
        client.evaluate("'end' .. end", Some(&frame), "repl"),
        "\"end2\""
    );
    let set = client.ok(
        "setVariable",
        json!({"variablesReference": locals, "name": "repeat", "value": "end + 5"}),
    );
    assert_eq!(set["value"], "7", "{set}");
    // The REPL's completions offer the source's names.
    let offered = client.ok(
        "completions",
        json!({"text": "", "column": 1, "frameId": frame}),
    );
    let labels: Vec<&str> = offered["targets"]
        .as_array()
        .map(|t| t.iter().filter_map(|c| c["label"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        labels.contains(&"end") && labels.contains(&"repeat"),
        "{offered}"
    );
    assert!(!labels.iter().any(|l| l.starts_with("____")), "{offered}");
    // A name the source never had is still an error, not a guess.
    let error = client.err(
        "evaluate",
        json!({"expression": "nope.x", "frameId": frame, "context": "repl"}),
    );
    assert_eq!(error.kind, "runtime", "{error}");
    assert!(error.message.contains("nope"), "names the name: {error}");

    // Loaded sources are the .ts files, not their Lua.
    let loaded = client.ok("loadedSources", json!({}));
    let paths: Vec<&str> = loaded["sources"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["path"].as_str()).collect())
        .unwrap_or_default();
    assert!(paths.contains(&names_ts.as_str()), "{loaded}");
    assert!(!paths.iter().any(|p| p.ends_with("names.lua")), "{loaded}");

    clear_and_continue(&mut client, &stopped, &names_ts);
    let out = client.wait_output("the assigned result", |t| t.contains("area 7"));
    assert!(!out.contains("<error"), "{out}");
    client.wait_event("terminated");
}

/// A private copy of tests/fixtures/ts, not compiled, whose
/// `node_modules/.bin/tstl` is the test's compiler (as a project that
/// installed TypeScriptToLua has it).
fn uncompiled_project(tstl: &Path, name: &str) -> PathBuf {
    let dir = project_copy(name);
    let bin = dir.join("node_modules/.bin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let tstl = tstl.canonicalize().unwrap_or_else(|_| tstl.to_path_buf());
    std::os::unix::fs::symlink(&tstl, bin.join("tstl"))
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    dir.canonicalize().unwrap_or(dir)
}

#[test]
fn a_ts_program_is_compiled_at_launch_and_a_saved_module_recompiled_on_reload() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = uncompiled_project(&tstl, "recompile");
    let main_ts = path_of(&dir, "main.ts");
    let counter_ts = path_of(&dir, "counter.ts");
    let mut client = Client::start();
    // The program is the .ts file: no Lua exists yet.
    client.launch(json!({
        "program": "main.ts",
        "cwd": dir.display().to_string(),
        "sourceMaps": true,
    }));
    assert!(
        dir.join("out/main.lua").is_file(),
        "launch compiled the project"
    );
    let stopped = stopped_at(&mut client, &main_ts, 15);

    // Saved, not compiled: the reload compiles it.
    let v1 = std::fs::read_to_string(&counter_ts).unwrap_or_default();
    let v2 = v1.replace("\"v1 count=\"", "\"v2 count=\"");
    std::fs::write(&counter_ts, &v2).unwrap_or_else(|e| panic!("{counter_ts}: {e}"));
    reload_changing_describe(&mut client, &counter_ts);

    // A type error: a failed reload at the .ts line, as a compile error,
    // and no Lua written for it.
    let lua_before = std::fs::read_to_string(dir.join("out/counter.lua")).unwrap_or_default();
    let broken = v2.replace(
        "export let count: number = 0;\n",
        "export let count: number = 0;\nexport const label: number = \"x\";\n",
    );
    std::fs::write(&counter_ts, &broken).unwrap_or_else(|e| panic!("{counter_ts}: {e}"));
    let variables = failed_reload(&mut client, &counter_ts, "compile");
    assert_eq!(variables["line"], "4", "{variables}");
    let lua_after = std::fs::read_to_string(dir.join("out/counter.lua")).unwrap_or_default();
    assert_eq!(lua_before, lua_after, "a failed compile wrote Lua");

    // Unsaved text of a compiled source is refused, not silently ignored.
    std::fs::write(&counter_ts, &v2).unwrap_or_else(|e| panic!("{counter_ts}: {e}"));
    let error = client.err(
        "hotReload",
        json!({"path": counter_ts, "source": "export const x = 1;\n"}),
    );
    assert_eq!(error.kind, "refused", "{error}");

    clear_and_continue(&mut client, &stopped, &main_ts);
    let out = client.wait_output("done", |t| t.contains("done"));
    assert!(
        out.contains("v1 count=1\nv1 count=2\nv2 count=3\nv2 count=4\ndone 6"),
        "the reload kept the count; the failures changed nothing: {out}"
    );
    client.wait_event("terminated");
}

#[test]
fn a_ts_program_without_a_compiler_fails_launch_saying_how_to_get_one() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = uncompiled_project(&tstl, "nocompiler");
    std::fs::remove_dir_all(dir.join("node_modules"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut client = Client::start_with_env(&[("PATH", "/usr/bin:/bin")]);
    client.initialize();
    let error = failed_ts_launch(&mut client, &dir, "main.ts");
    assert_eq!(error.kind, "unsupported", "{error}");
    // It names the compiler it looked for.
    assert!(error.message.contains("node_modules/.bin/tstl"), "{error}");
    // A source no map names and no project compiles: said plainly.
    let stray = dir.join("stray.luau");
    std::fs::write(&stray, "x = 1\n").unwrap_or_else(|e| panic!("{}: {e}", stray.display()));
    let error = failed_ts_launch(&mut client, &dir, "stray.luau");
    assert_eq!(error.kind, "notFound", "{error}");
}

#[test]
fn function_breakpoints_and_breakpoint_locations_are_at_ts_lines() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "functions");
    let names_ts = path_of(&dir, "names.ts");
    let mut client = Client::start();
    client.launch(launch_args_of(&dir, "names"));

    let body = client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [{"name": "area"}]}),
    );
    let placed = &body["breakpoints"][0];
    assert_eq!(placed["verified"], true, "{body}");
    assert_eq!(placed["source"]["path"], names_ts.as_str(), "{body}");
    assert_eq!(
        placed["line"], 5,
        "the first line of `area`'s body is names.ts:5: {body}"
    );

    // Lines with code: the function's body and the call, not the comments,
    // the `declare` or the blank line. A client's range is taken as given.
    let locations = client.ok(
        "breakpointLocations",
        json!({"source": {"path": names_ts}, "line": -5, "endLine": i64::MAX}),
    );
    let lines: Vec<i64> = locations["breakpoints"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["line"].as_i64()).collect())
        .unwrap_or_default();
    for line in [5, 6, 9] {
        assert!(lines.contains(&line), "{line} missing: {lines:?}");
    }
    for line in [1, 2, 3, 8] {
        assert!(!lines.contains(&line), "{line} has no code: {lines:?}");
    }
    let one = client.ok(
        "breakpointLocations",
        json!({"source": {"path": names_ts}, "line": 6}),
    );
    assert_eq!(one["breakpoints"], json!([{"line": 6}]), "{one}");

    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let (path, line) = client.top_of(&stopped);
    assert_eq!(path, names_ts);
    assert_eq!(line, 5, "stopped on entry to area");
    client.ok("setFunctionBreakpoints", json!({"breakpoints": []}));
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    client.wait_output("the result", |t| t.contains("area 6"));
    client.wait_event("terminated");
}

#[test]
fn a_breakpoint_bound_when_its_module_loads_is_reported_at_its_ts_line() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "bound");
    let counter_ts = path_of(&dir, "counter.ts");
    let mut client = Client::start();
    client.launch(launch_args(&dir));
    // counter.lua is not loaded yet: TypeScriptToLua names the function
    // `____exports.bump` in Lua.
    let body = client.ok(
        "setFunctionBreakpoints",
        json!({"breakpoints": [{"name": "____exports.bump"}]}),
    );
    assert_eq!(body["breakpoints"][0]["verified"], false, "{body}");
    client.ok("configurationDone", json!({}));
    let event = client.wait_event("breakpoint");
    let bound = &event["breakpoint"];
    assert_eq!(bound["verified"], true, "{event}");
    assert_eq!(bound["source"]["path"], counter_ts.as_str(), "{event}");
    assert_eq!(
        bound["line"], 6,
        "bump's body starts on counter.ts:6: {event}"
    );
    let stopped = client.wait_stopped("breakpoint");
    assert_eq!(client.top_of(&stopped), (counter_ts.clone(), 6));
    client.ok("setFunctionBreakpoints", json!({"breakpoints": []}));
    client.ok("continue", json!({"threadId": stopped["threadId"]}));
    client.wait_event("terminated");
}

#[test]
fn a_source_compiled_twice_is_refused_naming_the_choice() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    let dir = compiled_project(&tstl, "twice");
    // A second output directory whose maps name the same sources.
    let copy = dir.join("out2");
    std::fs::create_dir_all(&copy).unwrap_or_else(|e| panic!("{}: {e}", copy.display()));
    for entry in std::fs::read_dir(dir.join("out"))
        .into_iter()
        .flatten()
        .flatten()
    {
        std::fs::copy(entry.path(), copy.join(entry.file_name()))
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
    }
    let mut client = Client::start();
    client.initialize();
    let error = failed_ts_launch(&mut client, &dir, "main.ts");
    assert_eq!(error.kind, "invalidArguments", "{error}");
    // Nothing was lost: its Lua file launches, and reloading the shared
    // source asks which Lua file to reload.
    client.ok("launch", launch_args(&dir));
    client.wait_event("initialized");
    client.set_breakpoints(&path_of(&dir, "main.ts"), &[15]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let error = client.err("hotReload", json!({"path": path_of(&dir, "counter.ts")}));
    assert_eq!(error.kind, "invalidArguments", "{error}");
    clear_and_continue(&mut client, &stopped, &path_of(&dir, "main.ts"));
    client.wait_output("done", |t| t.contains("done 6"));
}

#[test]
fn a_ts_program_launched_from_its_src_directory_finds_the_projects_output() {
    let Some(tstl) = tstl() else { return };
    support::require_host();
    // tsconfig.json and node_modules at the top, the sources in src/, the
    // output in out/ beside src/: cwd (src/) does not hold the Lua.
    let dir = uncompiled_project(&tstl, "src-layout");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    for file in ["main.ts", "counter.ts", "fail.ts", "names.ts"] {
        std::fs::rename(dir.join(file), src.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    // TypeScript 6 wants the root of the sources said.
    let tsconfig = dir.join("tsconfig.json");
    let text = std::fs::read_to_string(&tsconfig).unwrap_or_default();
    std::fs::write(
        &tsconfig,
        text.replace(
            "\"outDir\": \"out\",",
            "\"outDir\": \"out\", \"rootDir\": \"src\",",
        ),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", tsconfig.display()));
    let main_ts = path_of(&src, "main.ts");
    let mut client = Client::start();
    client.launch(json!({
        "program": "main.ts",
        "cwd": src.display().to_string(),
        "sourceMaps": true,
    }));
    let stopped = stopped_at(&mut client, &main_ts, 15);
    clear_and_continue(&mut client, &stopped, &main_ts);
    client.wait_output("done", |t| t.contains("done 6"));
    client.wait_event("terminated");
}
