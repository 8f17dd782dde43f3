//! Compiles the debuggee's Lua from the `lua-src` crate's sources together with
//! our native files. We build Lua ourselves (mlua runs with its `module`
//! feature and links no Lua) because the engine's C code needs the VM's
//! internal headers, and we export the Lua API (`-rdynamic`) so that C modules
//! the debuggee `require`s bind to this VM.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let lua_dir = lua_source_dir("lua-5.4.9");
    let native = Path::new("native");

    let mut build = cc::Build::new();
    build
        .include(&lua_dir)
        .define("LUA_USE_LINUX", None)
        .define("LUA_COMPAT_5_3", None)
        .warnings(false)
        .flag_if_supported("-fno-common");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for entry in std::fs::read_dir(&lua_dir).expect("lua source dir is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // lua.c and luac.c carry their own main().
        if name.ends_with(".c") && name != "lua.c" && name != "luac.c" {
            build.file(patched_source(&path, &out).unwrap_or(path));
        }
    }
    if native.exists() {
        for entry in std::fs::read_dir(native).expect("native dir is readable") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "c") {
                build.file(&path);
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        println!("cargo:rerun-if-changed=native");
    }
    build.cargo_metadata(false).compile("hotreload_lua");

    println!("cargo:rustc-link-search=native={}", out.display());
    // whole-archive: keep every Lua API symbol, used by us or not, for C modules.
    println!("cargo:rustc-link-lib=static:+whole-archive=hotreload_lua");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-link-lib=dylib=dl");
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!(
        "cargo:rustc-env=HOTRELOAD_LUA_SOURCE_DIR={}",
        lua_dir.display()
    );
    let release = lua_dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("lua-"))
        .unwrap_or("5.4");
    println!("cargo:rustc-env=HOTRELOAD_LUA_RELEASE={release}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// Our changes to the VM (see native/debuginfo.c): while breakpoints exist
/// and nothing else needs hooks, code pays only where breakpoints are; and
/// an error can stop the program where it is raised.
/// - ldebug.c, `luaG_tracecall` (function entry and return-to): a function
///   whose source holds no breakpoint runs with its frame's `trap` off
///   (`hr_skip_trace`), so it pays nothing for breakpoints elsewhere.
/// - ldo.c, `rethook`: a returning frame hands `trap` on as set, so the
///   caller always passes through `luaG_tracecall` and decides for itself
///   (OP_RETURN copies the callee's `trap` before jumping to the caller).
/// - ldebug.c, `luaG_traceexec`: a new line that holds no breakpoint in any
///   file does not call the line hook at all (`hr_skip_line`, a bitmap).
/// - ldebug.c, `luaG_errormsg` (every raised error: `error`, `lua_error`,
///   runtime errors): calls `hr_raise_hook` when set, before the message
///   handler runs and the stack unwinds, so the `all` exception filter
///   stops where the error happens. Unset (the filter off), one branch.
///
/// With no policy installed (`hr_set_skip_policy`) and no raise handler
/// (`hr_set_raise_handler`) Lua behaves as stock. The patched copies go to
/// OUT_DIR; the sources themselves stay untouched.
fn patched_source(original: &Path, out: &Path) -> Option<PathBuf> {
    let name = original.file_name()?.to_str()?;
    // (anchor, text put before it, text put after it)
    let edits: &[(&str, &str, &str)] = match name {
        "ldebug.c" => &[
            (
                "int luaG_tracecall (lua_State *L) {\n  CallInfo *ci = L->ci;\n  Proto *p = ci_func(ci)->p;\n",
                "int hr_skip_trace (lua_State *L, const Proto *p);  /* hotreload */\n\
                 int hr_skip_line (int line);  /* hotreload */\n",
                "  if (hr_skip_trace(L, p)) { ci->u.l.trap = 0; return 0; }  /* hotreload */\n",
            ),
            (
                "      luaD_hook(L, LUA_HOOKLINE, newline, 0, 0);  /* call line hook */\n",
                "      if (!hr_skip_line(newline))  /* hotreload */\n",
                "",
            ),
            (
                "l_noret luaG_errormsg (lua_State *L) {\n",
                "extern void (*hr_raise_hook) (lua_State *L);  /* hotreload */\n",
                "  if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
            ),
        ],
        "ldo.c" => &[(
            "static void rethook (lua_State *L, CallInfo *ci, int nres) {\n",
            "",
            "  if (isLua(ci)) ci->u.l.trap = 1;  /* hotreload: caller re-decides */\n",
        )],
        _ => return None,
    };
    let mut patched = std::fs::read_to_string(original).expect("Lua source is readable");
    for (anchor, before, after) in edits {
        assert!(
            patched.contains(anchor),
            "{name} changed: the hotreload patch anchor is gone"
        );
        patched = patched.replacen(anchor, &format!("{before}{anchor}{after}"), 1);
    }
    let path = out.join(name);
    std::fs::write(&path, patched).expect("write a patched Lua source");
    Some(path)
}

/// Finds `<lua-src crate>/<version_dir>` through `cargo metadata`, which works
/// offline once dependencies are fetched.
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
    // Offline first (everything this build needs is already fetched); online
    // only when the workspace has dependencies this build did not fetch.
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
    let packages = meta["packages"].as_array().expect("packages array");
    let lua_src = packages
        .iter()
        .find(|p| p["name"] == "lua-src")
        .expect("lua-src is in the dependency graph (via mlua-sys)");
    let manifest_path = lua_src["manifest_path"].as_str().expect("manifest_path");
    let dir = Path::new(manifest_path)
        .parent()
        .expect("manifest has a parent")
        .join(version_dir);
    assert!(
        dir.join("lapi.c").exists(),
        "no Lua sources at {}",
        dir.display()
    );
    dir
}
