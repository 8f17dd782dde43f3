//! Failed reloads are atomic (rules 1, 2 and 6): the response says
//! `file:line: reason` and the program is exactly as before. Also rule 5:
//! C functions and userdata are never touched.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{dir, Running, Stopped};

/// What failures/main.lua prints when bank.lua is still v1.
const UNCHANGED: &str =
    "bank1 balance=105 accounts=1\nbank1 balance=106 accounts=1\ttrue\tnil\tnil\tnil\n";

/// Sends a reload that must fail while failures/main.lua is stopped, checks
/// its kind, the line of bank.lua it names (when `line` is given), that its
/// message names each of `names`, that no reload was announced, that v1
/// still answers `evaluate`, and that the program ends printing what v1
/// prints.
#[track_caller]
fn fails_and_changes_nothing(arguments: Value, kind: &str, line: Option<i64>, names: &[&str]) {
    let mut stop = Stopped::start("failures");
    let failure = stop.reload_err(arguments);
    let at_bank = failure
        .path
        .as_deref()
        .is_some_and(|p| p.ends_with("rules/failures/bank.lua"));
    if failure.kind != kind
        || (line.is_some() && (failure.line != line || !at_bank))
        || names.iter().any(|n| !failure.message.contains(n))
    {
        stop.client.fail(&format!(
            "the error {failure:?} is not {kind} at bank.lua:{line:?} naming {names:?}"
        ));
    }
    if stop
        .client
        .wait_event_for("hotReloaded", Duration::from_millis(200))
        .is_some()
    {
        stop.client.fail("a failed reload sent hotReloaded");
    }
    stop.eval_is("report()", "\"bank1 balance=105 accounts=1\"");
    stop.eval_is("tostring(LEAK)", "\"nil\"");
    stop.eval_is("bank_version()", "\"bank1\"");
    stop.finish(UNCHANGED);
}

fn bank_path() -> String {
    dir("failures").join("bank.lua").display().to_string()
}

#[test]
fn a_syntax_error_changes_nothing() {
    let source =
        "local M = {}\nlocal balance = 0\nM.accounts = { bob = 2 }\nLEAK = = 1\nreturn M\n";
    fails_and_changes_nothing(
        json!({"module": "bank", "source": source}),
        "compile",
        Some(4),
        &[],
    );
}

#[test]
fn an_error_in_the_new_top_level_after_it_wrote_a_global_and_replaced_a_function_changes_nothing() {
    let source = r#"local M = {}
local balance = 0
M.accounts = { bob = 2 }
LEAK = "leaked"
function bank_version()
  return "bank2"
end
function M.report()
  return "broken"
end
M.fresh = true
error("boom in the new top level")
return M
"#;
    fails_and_changes_nothing(
        json!({"module": "bank", "source": source}),
        "runtime",
        Some(12),
        &[],
    );
}

/// A valid new version of bank.lua whose `__on_reload` runs `hook` (line 27
/// on) after everything else was applied.
fn with_hook(hook: &str) -> String {
    format!(
        r#"local M = {{}}
local balance = 0
M.accounts = {{ alice = 1, bob = 2 }}
LEAK = "leaked"

function bank_version()
  return "bank2"
end

function M.deposit(n)
  balance = balance + n * 1000
  return balance
end

function M.count()
  return 99
end

function M.report()
  return bank_version() .. " balance=" .. balance .. " accounts=" .. M.count()
end

M.fresh = true

-- The migration fails.
function M.__on_reload(old)
{hook}
end

return M
"#
    )
}

#[test]
fn an_error_in_on_reload_undoes_the_whole_reload() {
    fails_and_changes_nothing(
        json!({"module": "bank", "source": with_hook("  error(\"migration failed\")")}),
        "runtime",
        Some(27),
        &[],
    );
}

#[test]
fn an_unknown_module_fails_by_name_and_changes_nothing() {
    fails_and_changes_nothing(
        json!({"module": "no.such.module", "source": "return {}"}),
        "notFound",
        None,
        &["no.such.module"],
    );
}

#[test]
fn a_path_the_program_never_loaded_fails_by_name_and_changes_nothing() {
    let spare = dir("failures").join("spare.lua").display().to_string();
    fails_and_changes_nothing(
        json!({"path": spare, "source": "LEAK = 'leaked'\nreturn {}\n"}),
        "notFound",
        None,
        &[&spare],
    );
}

#[test]
fn a_path_that_does_not_exist_fails_by_name_and_changes_nothing() {
    let missing = dir("failures").join("missing.lua").display().to_string();
    fails_and_changes_nothing(json!({"path": missing}), "notFound", None, &[&missing]);
}

#[test]
fn a_non_lua_path_fails_by_name_and_changes_nothing() {
    let notes = dir("failures").join("notes.txt").display().to_string();
    fails_and_changes_nothing(json!({"path": notes}), "notFound", None, &[&notes]);
}

#[test]
fn the_module_reloaded_by_its_path_with_a_syntax_error_changes_nothing() {
    fails_and_changes_nothing(
        json!({"path": bank_path(), "source": "local M = {\nreturn M\n"}),
        "compile",
        Some(2),
        &[],
    );
}

#[test]
fn c_functions_and_userdata_are_never_touched() {
    let line = |v: &'static str| move |i: u64| format!("{v} {i:03} abab file {i} {i:x} upper true");
    let mut run = Running::start("c_values", line("v1"));
    run.reload(
        "native",
        r#"local M = {}
M.out = io.stdout
M.fmt = string.format
M.by_fn = { [string.upper] = "upper" }
local rep = string.rep

function M.show(n)
  return "v2 " .. M.fmt("%03d", n) .. " " .. rep("ab", 2) .. " " .. io.type(M.out)
end

return M
"#,
    );
    run.expect(line("v2"));
    let upper = run.eval("string.upper('abc') .. io.type(io.stdout) .. string.rep('x', 2)");
    if !upper.contains("ABCfilexx") {
        run.client
            .fail(&format!("a C function or userdata broke: {upper}"));
    }
    run.finish();
}

/// counter.lua of new_require, needing extra.lua; `tail` ends its top level.
fn needs_extra(tail: &str) -> String {
    format!(
        "local extra = require(\"extra\")\nlocal M = {{}}\nlocal count = 0\n\nfunction M.step()\n  count = count + 1\n  return \"v2 count=\" .. count .. \" \" .. extra.tag\nend\n{tail}\nreturn M\n"
    )
}

#[test]
fn a_new_version_may_require_a_module_the_program_never_loaded() {
    let mut stop = Stopped::start("new_require");
    stop.reload("counter", &needs_extra(""));
    stop.finish("v1 count=1\nv2 count=2 extra\ttrue\ttrue\n");
}

#[test]
fn an_error_in_on_reload_also_undoes_what_the_hook_itself_wrote() {
    // The hook writes a global, a live table and an upvalue (through the new
    // deposit), then fails: none of it may stay.
    let hook =
        "  LEAK = \"hook\"\n  M.accounts.carol = 3\n  M.deposit(1)\n  error(\"migration failed\")";
    fails_and_changes_nothing(
        json!({"module": "bank", "source": with_hook(hook)}),
        "runtime",
        Some(30),
        &[],
    );
}

#[test]
fn a_failed_new_version_leaves_no_trace_of_a_module_it_required() {
    // Line 9 fails after extra.lua was loaded (and wrote its global).
    let mut stop = Stopped::start("new_require");
    let message =
        stop.reload_err(json!({"module": "counter", "source": needs_extra("error(\"late\")")}));
    let at = message.path.as_deref().unwrap_or_default();
    if message.kind != "runtime"
        || message.line != Some(9)
        || !at.ends_with("rules/new_require/counter.lua")
    {
        stop.client.fail(&format!(
            "the error is not located at counter.lua:9: {message:?}"
        ));
    }
    stop.eval_is("tostring(package.loaded.extra)", "\"nil\"");
    stop.eval_is("tostring(EXTRA_LOADED)", "\"nil\"");
    stop.finish("v1 count=1\nv1 count=2\tfalse\tnil\n");
}
