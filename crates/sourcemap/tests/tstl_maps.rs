//! Maps made by TypeScriptToLua (the fixtures were compiled from the `.ts`
//! files beside them with `tstl`, once as `.lua.map` files beside the Lua, once
//! inline as a `data:` URL).

use std::path::{Path, PathBuf};

use sourcemap::{load_for_lua, LoadedMap, SourceLine};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tstl")
}

fn load(relative: &str) -> LoadedMap {
    load_for_lua(&fixtures().join(relative))
        .expect("map loads")
        .expect("file has a map")
}

fn at(line: u32) -> Option<SourceLine> {
    Some(SourceLine { source: 0, line })
}

#[test]
fn map_beside_the_lua_resolves_its_source() {
    let main = load("out/main.lua");
    assert_eq!(main.sources, vec![fixtures().join("main.ts")]);
    assert_eq!(
        main.source_index(&fixtures().join("out/../main.ts")),
        Some(0)
    );
    assert!(main.map_path.is_some());
}

#[test]
fn generated_lines_map_to_their_ts_lines() {
    let main = load("out/main.lua").map;
    assert_eq!(main.original_line(1), None, "the banner comes from nowhere");
    assert_eq!(main.original_line(3), at(2), "require <- import");
    assert_eq!(main.original_line(6), at(5), "local total <- let total");
    assert_eq!(main.original_line(10), at(7), "total = bump(1)");
    assert_eq!(main.original_line(14), at(9), "return total");
    assert_eq!(main.original_line(16), at(12), "print(run(3))");
}

#[test]
fn ts_lines_map_to_generated_lines_or_the_next_with_code() {
    let main = load("out/main.lua").map;
    assert_eq!(main.generated_lines(0, 7), vec![10]);
    assert!(main.generated_lines(0, 3).is_empty(), "a blank line");
    // `function run` is the `local function` line and its closing `end`.
    assert_eq!(main.nearest_generated_lines(0, 3), Some((4, vec![5, 15])));
    // The `for` header becomes several Lua lines.
    assert!(main.generated_lines(0, 6).len() > 1);
    let counter = load("out/counter.lua").map;
    // `const next: number =\n count + step;` is one Lua line.
    assert_eq!(counter.generated_lines(0, 5), vec![5]);
    assert_eq!(counter.generated_lines(0, 6), vec![5]);
    assert_eq!(counter.original_lines(5).len(), 2);
}

#[test]
fn inline_map_decodes_like_the_file_beside() {
    let inline = load("inline/counter.lua");
    let beside = load("out/counter.lua");
    assert_eq!(inline.map_path, None);
    assert_eq!(inline.map.lines, beside.map.lines);
    assert_eq!(inline.sources, vec![fixtures().join("counter.ts")]);
}

#[test]
fn a_lua_file_without_map_has_none_and_a_missing_file_is_an_error() {
    let ts = fixtures().join("main.ts");
    assert_eq!(load_for_lua(&ts).ok(), Some(None));
    let missing = load_for_lua(&fixtures().join("nope.lua"));
    assert!(matches!(missing, Err(e) if e.to_string().contains("nope.lua")));
}
