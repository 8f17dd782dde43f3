//! The host runs a program as this version's stock `lua` (or `luajit`)
//! would: an uncaught error prints what that interpreter's message handler
//! and report print (they differ between 5.1, 5.2, 5.3/5.4 and LuaJIT), and
//! the init code comes from that version's `LUA_INIT_5_x` or `LUA_INIT`.
//! Each expectation was checked against the stock interpreter of the same
//! version. Runs on whichever host the crate's feature builds.

mod common;

use common::{Host, Scratch};
use serde_json::json;

/// Runs `text` as main.lua with `noDebug` and `env`; returns (exit code,
/// stdout, stderr, the program's path).
fn run(name: &str, text: &str, env: &[(&str, &str)]) -> (i64, String, String, String) {
    let dir = Scratch::new(name);
    let program = dir.file("main.lua", text);
    let mut host = Host::spawn_with(|cmd| {
        for var in ["LUA_INIT", "LUA_INIT_5_2", "LUA_INIT_5_3", "LUA_INIT_5_4"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
    });
    host.start(&program, json!({"noDebug": true}), &[]);
    let code = host.exited();
    (code, host.output("stdout"), host.output("stderr"), program)
}

const V51: bool = cfg!(feature = "lua51");
const V52: bool = cfg!(feature = "lua52");
const JIT: bool = cfg!(feature = "luajit");

#[test]
fn an_uncaught_error_message_reads_as_this_versions_lua_prints_it() {
    let (code, _, err, path) = run(
        "uncaught-message",
        "local function f() error('boom') end\nf()\n",
        &[],
    );
    assert_eq!(code, 1);
    // 5.1, 5.2 and LuaJIT name a local function as a function.
    let f = if V51 || V52 || JIT {
        "function 'f'"
    } else {
        "local 'f'"
    };
    let head = format!(
        "lua: {path}:1: boom\nstack traceback:\n\t[C]: in function 'error'\n\
         \t{path}:1: in {f}\n\t{path}:2: in main chunk\n\t[C]: "
    );
    assert!(err.starts_with(&head), "{err}");
    // The C function below the main chunk: 5.1 says `?`, LuaJIT its address.
    let bottom = &err[head.len()..];
    if V51 {
        assert_eq!(bottom, "?\n");
    } else if JIT {
        assert!(bottom.starts_with("at 0x"), "{err}");
    } else {
        assert_eq!(bottom, "in ?\n");
    }
}

#[test]
fn an_uncaught_error_object_reads_as_this_versions_lua_prints_it() {
    let (code, _, table, _) = run("uncaught-table", "error({})\n", &[]);
    assert_eq!(code, 1);
    if V51 || JIT {
        assert_eq!(table, "lua: (error object is not a string)\n");
    } else if V52 {
        assert_eq!(table, "lua: (no error message)\n");
    } else {
        assert!(
            table.starts_with("lua: (error object is a table value)\nstack traceback:\n"),
            "{table}"
        );
    }

    let text = "error(setmetatable({}, {__tostring = function() return 'custom' end}))\n";
    let (code, _, shown, _) = run("uncaught-tostring", text, &[]);
    assert_eq!(code, 1);
    if V51 {
        assert_eq!(shown, "lua: (error object is not a string)\n");
    } else if JIT {
        assert!(
            shown.starts_with("lua: custom\nstack traceback:\n"),
            "{shown}"
        );
    } else {
        assert_eq!(shown, "lua: custom\n");
    }

    // 5.1, 5.2 and LuaJIT say nothing of a nil error; the exit code is 1.
    let (code, _, silent, _) = run("uncaught-nil", "error(nil)\n", &[]);
    assert_eq!(code, 1);
    if V51 || V52 || JIT {
        assert_eq!(silent, "");
    } else {
        assert!(
            silent.starts_with("lua: (error object is a nil value)\nstack traceback:\n"),
            "{silent}"
        );
    }
}

#[test]
fn init_code_comes_from_this_versions_variable() {
    let env = [
        ("LUA_INIT", "WHICH = 'LUA_INIT'"),
        ("LUA_INIT_5_2", "WHICH = 'LUA_INIT_5_2'"),
        ("LUA_INIT_5_3", "WHICH = 'LUA_INIT_5_3'"),
        ("LUA_INIT_5_4", "WHICH = 'LUA_INIT_5_4'"),
    ];
    let (code, out, err, _) = run("init-variable", "print(WHICH)\n", &env);
    let expected = if V51 || JIT {
        "LUA_INIT"
    } else if V52 {
        "LUA_INIT_5_2"
    } else if cfg!(feature = "lua53") {
        "LUA_INIT_5_3"
    } else {
        "LUA_INIT_5_4"
    };
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, format!("{expected}\n").as_str(), "")
    );

    // An error in it is reported under that variable's chunk name.
    let (code, _, err, _) = run(
        "init-error",
        "print('not reached')\n",
        &[("LUA_INIT", "error('x')")],
    );
    assert_eq!(code, 1);
    let head = "lua: LUA_INIT:1: x\nstack traceback:\n\t[C]: in function 'error'\n\
                \tLUA_INIT:1: in main chunk\n";
    assert!(err.starts_with(head), "{err}");

    // A syntax error in it is its message alone.
    let (code, _, err, _) = run(
        "init-syntax",
        "print('not reached')\n",
        &[("LUA_INIT", "x = = 1")],
    );
    assert_eq!(code, 1);
    assert!(
        err.starts_with("lua: LUA_INIT:1: unexpected symbol near '='") && err.lines().count() == 1,
        "{err}"
    );
}
