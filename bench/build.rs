//! Builds Lua 5.4 from the lua-src crate's sources together with the engine's
//! native file, the same way the host does (see crates/host/build.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let lua_dir = lua_source_dir("lua-5.4.9");
    let native = Path::new("../crates/host/native");
    let mut build = cc::Build::new();
    build
        .include(&lua_dir)
        .define("LUA_USE_LINUX", None)
        .define("LUA_COMPAT_5_3", None)
        .warnings(false)
        .opt_level(2);
    for entry in std::fs::read_dir(&lua_dir).expect("lua source dir is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".c") && name != "lua.c" && name != "luac.c" {
            build.file(&path);
        }
    }
    for entry in std::fs::read_dir(native).expect("native dir is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("reload") && name.ends_with(".c") {
            build.file(&path);
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    build.cargo_metadata(false).compile("hotreload_lua");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=hotreload_lua");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-link-lib=dylib=dl");
    println!("cargo:rerun-if-changed=build.rs");
}

fn lua_source_dir(version_dir: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir")).join("Cargo.toml");
    let target = std::env::var("TARGET").expect("TARGET");
    let metadata = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            &target,
        ]);
        if offline {
            cmd.arg("--offline");
        }
        cmd.arg("--manifest-path").arg(&manifest);
        cmd.output().expect("cargo metadata runs")
    };
    let mut output = metadata(true);
    if !output.status.success() {
        output = metadata(false);
    }
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let lua_src = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "lua-src")
        .expect("lua-src is a build dependency");
    let dir = Path::new(lua_src["manifest_path"].as_str().expect("manifest_path"))
        .parent()
        .expect("parent")
        .join(version_dir);
    assert!(
        dir.join("lapi.c").exists(),
        "no Lua sources at {}",
        dir.display()
    );
    dir
}
