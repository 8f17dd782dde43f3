//! Reload with real class libraries' designs: a function shared by two paths
//! that the new version splits, a method added to a class whose library
//! keeps its invariants through `__newindex`, a key that changes between a
//! C function and a Lua function, and a report that names only real changes.

use crate::harness::{lists, Running};

const VOICES_V1: &str = "local M = {}\n\nlocal function speak()\n  return \"base\"\nend\n\nM.A = { speak = speak }\nM.B = { speak = speak }\n\nreturn M\n";

#[test]
fn a_function_split_by_the_new_version_runs_the_right_code_at_each_path() {
    let mut run = Running::start("split", |_| "base base base".to_string());
    let body = run.reload(
        "voices",
        &VOICES_V1.replace(
            "M.B = { speak = speak }",
            "M.B = { speak = function() return \"B2\" end }",
        ),
    );
    if !lists(&body, "changed", &["voices.B.speak"]) {
        run.client.fail(&format!("report: {body}"));
    }
    run.expect(|_| "base B2 base".to_string());
    run.finish();
}

#[test]
fn lines_moved_by_an_insertion_are_not_reported_as_changes() {
    let mut run = Running::start("split", |_| "base base base".to_string());
    let body = run.reload("voices", &format!("-- a new first line\n\n{VOICES_V1}"));
    if !lists(&body, "changed", &[]) || !lists(&body, "added", &[]) {
        run.client.fail(&format!("report: {body}"));
    }
    run.expect_unchanged(3);
    run.finish();
}

#[test]
fn a_method_added_to_a_parent_class_reaches_an_existing_instance_of_a_subclass() {
    let rect =
        std::fs::read_to_string(crate::harness::dir("klass").join("rect.lua")).expect("rect.lua");
    let mut run = Running::start("klass", |_| "none".to_string());
    let body = run.reload(
        "rect",
        &rect.replace(
            "return Rect",
            "function Rect:perimeter()\n  return 2 * (self.w + self.h)\nend\n\nreturn Rect",
        ),
    );
    if !lists(&body, "added", &["rect.perimeter"]) || !lists(&body, "changed", &[]) {
        run.client.fail(&format!("report: {body}"));
    }
    run.expect(|i| (4 * i).to_string());
    run.finish();
}

#[test]
fn a_key_changing_between_a_c_function_and_a_lua_function_takes_the_new_source() {
    let mut run = Running::start("c_to_lua", |i| format!("V{i} X"));
    let body = run.reload(
        "conv",
        "local M = {}\nfunction M.up(s)\n  return \"lua:\" .. s\nend\nreturn M\n",
    );
    if !lists(&body, "changed", &["conv.up"]) {
        run.client.fail(&format!("report: {body}"));
    }
    run.expect(|i| format!("lua:v{i} X"));
    run.reload("conv", "local M = {}\nM.up = string.upper\nreturn M\n");
    run.expect(|i| format!("V{i} X"));
    run.finish();
}
