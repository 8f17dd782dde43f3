//! Compiles the in-place swap for a stock LuaJIT (`crates/host/vm/luajit_stock`)
//! into the cdylib: Neovim's own Lua is reloaded with it (`hotreload_luajit_stock`,
//! checked against the running LuaJIT at first use). Its C reads LuaJIT's
//! internal headers from the `luajit-src` crate's sources; the cdylib links no
//! Lua (Neovim provides every `lua_*` symbol).

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let headers = luajit_headers(&root);
    let vm = root.join("crates/host/vm");
    let stock = vm.join("luajit_stock");
    let mut build = cc::Build::new();
    build
        .include(&headers)
        .include(&vm)
        .include(vm.join("luajit"))
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    for file in ["layout.c", "vessel.c", "swap.c", "nested.c", "open.c"] {
        build.file(stock.join(file));
    }
    build.compile("hotreload_luajit_stock");
    println!("cargo:rerun-if-changed=crates/host/vm/luajit_stock");
    println!("cargo:rerun-if-changed=crates/host/vm/luajit/reload_swap.c");
    println!("cargo:rerun-if-changed=crates/host/vm/luajit/bc_names.h");
    println!("cargo:rerun-if-changed=build.rs");
}

/// `luajit2/src` of the `luajit-src` version Cargo.lock pins, where Cargo
/// unpacked it.
fn luajit_headers(root: &Path) -> PathBuf {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock is readable");
    let mut lines = lock.lines();
    lines
        .find(|line| *line == "name = \"luajit-src\"")
        .expect("Cargo.lock pins luajit-src");
    let version = lines
        .next()
        .and_then(|l| l.strip_prefix("version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a version line after luajit-src");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let registry = cargo_home.join("registry").join("src");
    let dir = format!("luajit-src-{version}");
    std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", registry.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path().join(&dir).join("luajit2/src")))
        .find(|path| path.join("lj_obj.h").exists())
        .unwrap_or_else(|| panic!("{dir} is not unpacked under {}", registry.display()))
}
