//! Large tables through `hotreload-dap` and the real Lua 5.4 host:
//! `indexedVariables`/`namedVariables` on variables and evaluate results,
//! and pages (`filter`, `start`, `count`) read without touching the rest.

mod support;

use serde_json::{json, Value};
use support::{fixture, Client};

const PROGRAM: &str = "debugger/big_table.lua";

/// Stopped at the `stop-here` line; returns the top frame's id and the
/// Locals reference.
fn stop(client: &mut Client) -> (Value, Value) {
    let program = fixture(PROGRAM);
    let line = std::fs::read_to_string(&program)
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains("stop-here"))
        .map(|i| i as i64 + 1)
        .unwrap_or(0);
    client.launch(json!({"program": program}));
    client.set_breakpoints(&program, &[line]);
    client.ok("configurationDone", json!({}));
    let stopped = client.wait_stopped("breakpoint");
    let frame = client.stack(&stopped["threadId"])[0]["id"].clone();
    let scopes = client.ok("scopes", json!({"frameId": frame}));
    let locals = scopes["scopes"][0]["variablesReference"].clone();
    (frame, locals)
}

fn page(client: &mut Client, reference: &Value, extra: Value) -> Vec<Value> {
    let mut args = json!({"variablesReference": reference});
    if let (Some(a), Some(e)) = (args.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    let body = client.ok("variables", args);
    body["variables"].as_array().cloned().unwrap_or_default()
}

fn names_values(vars: &[Value]) -> Vec<(String, String)> {
    vars.iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap_or("").to_owned(),
                v["value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn tables_carry_counts_and_are_read_in_pages() {
    support::require_host();
    let mut client = Client::start();
    let (frame, locals) = stop(&mut client);

    let big = client.variable(&locals, "big");
    if big["indexedVariables"] != 1_000_000 || big["namedVariables"] != 2 {
        client.fail(&format!("big: {big}"));
    }
    let small = client.variable(&locals, "small");
    if small["indexedVariables"] != 2 || small["namedVariables"] != 1 {
        client.fail(&format!("small: {small}"));
    }
    let map = client.variable(&locals, "map");
    if map.get("indexedVariables").is_some() || map.get("namedVariables").is_some() {
        client.fail(&format!(
            "a table without an array part has no counts: {map}"
        ));
    }

    let reference = big["variablesReference"].clone();
    let first = page(
        &mut client,
        &reference,
        json!({"filter": "indexed", "start": 0, "count": 100}),
    );
    let shown = names_values(&first);
    if shown.len() != 100
        || shown[0] != ("[1]".to_owned(), "2".to_owned())
        || shown[99] != ("[100]".to_owned(), "200".to_owned())
        || first[0]["evaluateName"] != "big[1]"
    {
        client.fail(&format!("first page: {:?}", &shown[..shown.len().min(3)]));
    }
    let last = page(
        &mut client,
        &reference,
        json!({"filter": "indexed", "start": 999_990, "count": 100}),
    );
    let shown = names_values(&last);
    if shown.len() != 10 || shown[9] != ("[1000000]".to_owned(), "2000000".to_owned()) {
        client.fail(&format!("last page: {shown:?}"));
    }
    let named = names_values(&page(&mut client, &reference, json!({"filter": "named"})));
    if named
        != [
            ("[metatable]".to_owned(), named[0].1.clone()),
            ("name".to_owned(), "\"big\"".to_owned()),
        ]
    {
        client.fail(&format!("named children: {named:?}"));
    }
    let second_named = names_values(&page(
        &mut client,
        &reference,
        json!({"filter": "named", "start": 1, "count": 5}),
    ));
    if second_named != [("name".to_owned(), "\"big\"".to_owned())] {
        client.fail(&format!("named page from 1: {second_named:?}"));
    }

    // Unfiltered requests still list everything, in pages when asked.
    let small_ref = small["variablesReference"].clone();
    let all = names_values(&page(&mut client, &small_ref, json!({})));
    if all.len() != 3 {
        client.fail(&format!("small, unfiltered: {all:?}"));
    }
    let one = names_values(&page(
        &mut client,
        &small_ref,
        json!({"start": 1, "count": 1}),
    ));
    if one != [("[2]".to_owned(), "20".to_owned())] {
        client.fail(&format!("small, start 1 count 1: {one:?}"));
    }

    // evaluate's result carries the counts too.
    let body = client.ok(
        "evaluate",
        json!({"expression": "big", "frameId": frame, "context": "watch"}),
    );
    if body["indexedVariables"] != 1_000_000 || body["namedVariables"] != 2 {
        client.fail(&format!("evaluate big: {body}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    if client.output_of("stderr").contains("metamethod ran") {
        client.fail("a metamethod ran while paging");
    }
}

#[test]
fn bad_pages_are_refused_or_empty_and_the_stop_goes_on() {
    support::require_host();
    let mut client = Client::start();
    let (_, locals) = stop(&mut client);
    let big = client.variable(&locals, "big");
    let reference = big["variablesReference"].clone();
    let refused = client.err(
        "variables",
        json!({"variablesReference": reference, "filter": "odd"}),
    );
    if refused.kind != "invalidArguments" || !refused.message.contains("'odd'") {
        client.fail(&format!("refusal: {refused}"));
    }
    for (start, count) in [(i64::MAX, 10), (-5, 3), (999_999, -1), (2_000_000, 1)] {
        let vars = page(
            &mut client,
            &reference,
            json!({"filter": "indexed", "start": start, "count": count}),
        );
        let expected = match (start, count) {
            (-5, 3) => 3,
            (999_999, -1) => 1,
            _ => 0,
        };
        if vars.len() != expected {
            client.fail(&format!(
                "start {start} count {count}: {} variables",
                vars.len()
            ));
        }
    }
    // Locals have no indexed children.
    if !page(&mut client, &locals, json!({"filter": "indexed"})).is_empty() {
        client.fail("a scope has indexed children");
    }
    let still = client.variable(&locals, "small");
    if still["indexedVariables"] != 2 {
        client.fail(&format!("after bad pages: {still}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
}

#[test]
fn set_variable_invalidates_other_views_of_variables() {
    support::require_host();
    let mut client = Client::start();
    let (_, locals) = stop(&mut client);
    let small = client.variable(&locals, "small")["variablesReference"].clone();
    client.ok(
        "setVariable",
        json!({"variablesReference": small, "name": "x", "value": "41 + 1"}),
    );
    let event = client.wait_event("invalidated");
    if event["areas"] != json!(["variables"]) {
        client.fail(&format!("invalidated: {event}"));
    }
    let before = client
        .event_names()
        .iter()
        .filter(|n| *n == "invalidated")
        .count();
    let refused = client.err(
        "setVariable",
        json!({"variablesReference": small, "name": "x", "value": "("}),
    );
    if refused.kind != "compile" {
        client.fail(&format!("a bad expression: {refused}"));
    }
    client.ok("continue", json!({"threadId": 1}));
    client.wait_event("exited");
    let after = client
        .event_names()
        .iter()
        .filter(|n| *n == "invalidated")
        .count();
    if after != before {
        client.fail("a failed setVariable sent invalidated");
    }
}
