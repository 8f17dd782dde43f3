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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    // Every Lua file, patched or not, is compiled from one copy: a quoted
    // #include looks beside the including file first, so the patched
    // lstate.h must sit next to every .c that includes it.
    let vm_dir = out.join("lua");
    std::fs::create_dir_all(&vm_dir).expect("create the VM source dir");

    let mut build = cc::Build::new();
    build
        .include(&vm_dir)
        .define("LUA_USE_LINUX", None)
        .define("LUA_COMPAT_5_3", None)
        .warnings(false)
        .flag_if_supported("-fno-common");
    for entry in std::fs::read_dir(&lua_dir).expect("lua source dir is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.ends_with(".c") || name.ends_with(".h")) {
            continue;
        }
        let copy = vm_dir.join(name);
        let text = std::fs::read_to_string(&path).expect("Lua source is readable");
        std::fs::write(&copy, patch(name, text)).expect("write a Lua source copy");
        // lua.c and luac.c carry their own main().
        if name.ends_with(".c") && name != "lua.c" && name != "luac.c" {
            build.file(&copy);
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

/// Our changes to the VM, each a few lines that call into `native/`. Without
/// the host switching them on (no skip policy, no raise handler, no debugger
/// hook, no resume or load notification), Lua behaves as stock.
///
/// Breakpoints cost only where they are (native/debuginfo.c):
/// - ldebug.c, `luaG_tracecall` (function entry and return-to): a function
///   whose source holds no breakpoint runs with its frame's `trap` off
///   (`hr_skip_trace`) while the debugger's line hook is the thread's only
///   hook, so it pays nothing for breakpoints elsewhere.
/// - ldo.c, `rethook`: a returning frame hands `trap` on as set, so the
///   caller always passes through `luaG_tracecall` and decides for itself
///   (OP_RETURN copies the callee's `trap` before jumping to the caller).
/// - ldebug.c, `luaG_traceexec`: a new line that holds no breakpoint in any
///   file does not call the line hook (`hr_skip_line`, a bitmap), unless
///   the program hooks lines itself.
/// - ldebug.c, `luaG_errormsg` (every raised error): calls `hr_raise_hook`
///   when set, before the message handler runs and the stack unwinds, so
///   the `all` exception filter stops where the error happens.
///
/// The program sees the stock VM (native/vm_hooks.c):
/// - lstate.h: each thread gets a second hook slot (the program's own hook,
///   mask and count; the debugger's mask) and a parser depth; lstate.c
///   initialises them and hands them to new threads as stock does its hook.
/// - ldebug.c: the stock `lua_sethook` becomes `hr_vm_sethook` (the VM's
///   fields, the union of both slots); vm_hooks.c defines the public
///   `lua_sethook`/`lua_gethook*` over the program's slot.
/// - ldo.c, `lua_resume`: calls `hr_resume_hook` before the coroutine runs
///   and after it returns, yields or fails.
/// - ldo.c, `luaD_protectedparser`: counts the parser depth, so the
///   outermost message handler knows an error is caught by `lua_load`.
/// - lapi.c, `lua_load`: calls `hr_load_hook` after a chunk named `@file`
///   loaded, with its closure on top of the stack.
fn patch(name: &str, text: String) -> String {
    // (anchor, replacement): the replacement keeps the anchor where needed.
    let edits: &[(&str, &str)] = match name {
        "lstate.h" => &[(
            "  volatile l_signalT hookmask;\n};\n",
            "  volatile l_signalT hookmask;\n\
             \x20 /* hotreload (native/vm_hooks.c): the program's own hook slot */\n\
             \x20 lua_Hook hr_hook;\n\
             \x20 int hr_hookmask;\n\
             \x20 int hr_basehookcount;\n\
             \x20 int hr_hookleft;\n\
             \x20 int hr_dmask;  /* the debugger's mask */\n\
             \x20 int hr_parsing;  /* parser depth */\n\
             };\n\
             void hr_thread_init (lua_State *L1, lua_State *L);  /* hotreload */\n\
             void hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count);\n\
             extern void (*hr_resume_hook) (lua_State *L, lua_State *from, int entering);\n\
             extern void (*hr_load_hook) (lua_State *L);\n",
        )],
        "lstate.c" => &[
            (
                "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n",
                "  L->hookmask = 0;\n  L->basehookcount = 0;\n  L->allowhook = 1;\n\
                 \x20 hr_thread_init(L, NULL);  /* hotreload */\n",
            ),
            (
                "  L1->hook = L->hook;\n  resethookcount(L1);\n",
                "  L1->hook = L->hook;\n  resethookcount(L1);\n\
                 \x20 hr_thread_init(L1, L);  /* hotreload: both hook slots */\n",
            ),
        ],
        "ldebug.c" => &[
            (
                "int luaG_tracecall (lua_State *L) {\n  CallInfo *ci = L->ci;\n  Proto *p = ci_func(ci)->p;\n",
                "int hr_skip_trace (lua_State *L, const Proto *p);  /* hotreload */\n\
                 int hr_skip_line (lua_State *L, int line);  /* hotreload */\n\
                 int luaG_tracecall (lua_State *L) {\n  CallInfo *ci = L->ci;\n  Proto *p = ci_func(ci)->p;\n\
                 \x20 if (hr_skip_trace(L, p)) { ci->u.l.trap = 0; return 0; }  /* hotreload */\n",
            ),
            (
                "      luaD_hook(L, LUA_HOOKLINE, newline, 0, 0);  /* call line hook */\n",
                "      if (!hr_skip_line(L, newline))  /* hotreload */\n\
                 \x20     luaD_hook(L, LUA_HOOKLINE, newline, 0, 0);  /* call line hook */\n",
            ),
            (
                "l_noret luaG_errormsg (lua_State *L) {\n",
                "extern void (*hr_raise_hook) (lua_State *L);  /* hotreload */\n\
                 l_noret luaG_errormsg (lua_State *L) {\n\
                 \x20 if (hr_raise_hook) hr_raise_hook(L);  /* hotreload: stop on raise */\n",
            ),
            (
                "LUA_API void lua_sethook (lua_State *L, lua_Hook func, int mask, int count) {\n",
                "void hr_vm_sethook (lua_State *L, lua_Hook func, int mask, int count) {  /* hotreload */\n",
            ),
            (
                "LUA_API lua_Hook lua_gethook (lua_State *L) {\n",
                "lua_Hook hr_vm_gethook (lua_State *L) {  /* hotreload */\n",
            ),
            (
                "LUA_API int lua_gethookmask (lua_State *L) {\n",
                "int hr_vm_gethookmask (lua_State *L) {  /* hotreload */\n",
            ),
            (
                "LUA_API int lua_gethookcount (lua_State *L) {\n",
                "int hr_vm_gethookcount (lua_State *L) {  /* hotreload */\n",
            ),
        ],
        "ldo.c" => &[
            (
                "static void rethook (lua_State *L, CallInfo *ci, int nres) {\n",
                "static void rethook (lua_State *L, CallInfo *ci, int nres) {\n\
                 \x20 if (isLua(ci)) ci->u.l.trap = 1;  /* hotreload: caller re-decides */\n",
            ),
            (
                "  status = luaD_rawrunprotected(L, resume, &nargs);\n",
                "  if (hr_resume_hook) hr_resume_hook(L, from, 1);  /* hotreload */\n\
                 \x20 status = luaD_rawrunprotected(L, resume, &nargs);\n",
            ),
            (
                "                                    : cast_int(L->top.p - (L->ci->func.p + 1));\n  lua_unlock(L);\n",
                "                                    : cast_int(L->top.p - (L->ci->func.p + 1));\n\
                 \x20 if (hr_resume_hook) hr_resume_hook(L, from, 0);  /* hotreload */\n\
                 \x20 lua_unlock(L);\n",
            ),
            (
                "  status = luaD_pcall(L, f_parser, &p, savestack(L, L->top.p), L->errfunc);\n",
                "  L->hr_parsing++;  /* hotreload: errors now are caught by lua_load */\n\
                 \x20 status = luaD_pcall(L, f_parser, &p, savestack(L, L->top.p), L->errfunc);\n\
                 \x20 L->hr_parsing--;  /* hotreload */\n",
            ),
        ],
        "lapi.c" => &[(
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n",
            "      luaC_barrier(L, f->upvals[0], gt);\n    }\n\
             \x20   if (hr_load_hook && chunkname[0] == '@') hr_load_hook(L);  /* hotreload */\n",
        )],
        _ => return text,
    };
    let mut patched = text;
    for (anchor, replacement) in edits {
        assert!(
            patched.matches(anchor).count() == 1,
            "{name} changed: the hotreload patch anchor is gone or not unique"
        );
        patched = patched.replacen(anchor, replacement, 1);
    }
    patched
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
