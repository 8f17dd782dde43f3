//! Breakpoint conditions: the trap checks a condition in a small subset of
//! Lua itself and asks the debugger only when it may be true; whatever it
//! cannot be sure of (a metamethod, an operator outside the subset) goes to
//! the debugger's full evaluation. Either way the program stops exactly
//! where the condition is true.

mod common;

use common::{line_of, Host, Scratch};
use serde_json::json;

const PROGRAM: &str = r#"local t = setmetatable({}, { __index = function(_, k) return k == "magic" and 7 or nil end })
local plain = { n = 3, name = "box", list = { 10, 20 } }
G = 5
local strict = setmetatable({}, { __index = function() return 9 end })
local hits = 0
for i = 1, 10 do
  local f = i / 2
  hits = hits + 1 -- cond-line
end
local function inner(up)
  local x = up * 2
  return x -- inner-line
end
for k = 1, 4 do
  inner(k)
end
print(hits, strict.any)
"#;

/// Runs the program with `condition` on `marker`'s line; returns the value
/// of `probe` at each stop.
fn stops(name: &str, marker: &str, condition: &str, probe: &str) -> Vec<String> {
    let dir = Scratch::new(name);
    let program = dir.file("main.lua", PROGRAM);
    let mut host = Host::spawn();
    host.ok("launch", Some(json!({"program": program})));
    host.ok(
        "setBreakpoints",
        Some(json!({"source": {"path": program}, "breakpoints": [
            {"line": line_of(PROGRAM, marker), "condition": condition},
        ]})),
    );
    host.ok("configurationDone", None);
    let mut seen = Vec::new();
    loop {
        let next = host.event_of(&["stopped", "exited"]);
        if next.0 == "exited" {
            break;
        }
        let value = host.eval(probe, 1).map(|v| v["result"].clone());
        seen.push(
            value
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        );
        host.ok("continue", None);
    }
    assert_eq!(host.output("stdout"), "10\t9\n");
    seen
}

#[test]
fn conditions_stop_exactly_where_they_are_true() {
    let cases: &[(&str, &[&str])] = &[
        ("i == 3", &["3"]),
        ("i > 8", &["9", "10"]),
        ("f == 2", &["4"]),
        ("f >= 4.5", &["9", "10"]),
        ("t.magic == i", &["7"]),
        ("plain.name == \"box\" and i == 10", &["10"]),
        ("plain.name == 'other' or i == 1", &["1"]),
        ("not (i < 10)", &["10"]),
        ("#plain.list + i == 12", &["10"]),
        ("G + i == 6", &["1"]),
        ("i % 5 == 0", &["5", "10"]),
        ("-i == -2", &["2"]),
        ("missing == nil and i == 9", &["9"]),
        ("plain['n'] == i", &["3"]),
        ("plain.list[2] == i * 2", &["10"]),
        // A float key with an integer's value finds the integer key (f is
        // 2.0 at i == 4); other numbers are keys of their own.
        ("plain.list[f] == 20", &["4"]),
        ("plain.list[f] == nil and i == 3", &["3"]),
        ("plain.list[i - 9] == 10", &["10"]),
        ("plain.list[0] == nil and i == 2", &["2"]),
        ("#plain.name == i", &["3"]),
        ("strict.zzz == i", &["9"]),
        ("hits == 4", &["5"]),
        ("i == 3 or i == 4", &["3", "4"]),
        ("nil", &[]),
        ("i ~= i", &[]),
    ];
    for (n, (condition, want)) in cases.iter().enumerate() {
        let got = stops(&format!("cond-{n}"), "cond-line", condition, "i");
        assert_eq!(got, *want, "condition `{condition}`");
    }
    // In a nested function: its parameter (a local) and its local.
    let got = stops("cond-inner", "inner-line", "up == 3 or x == 8", "up");
    assert_eq!(got, ["3", "4"]);
}
