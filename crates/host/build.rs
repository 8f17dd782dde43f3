//! Compiles the debuggee's Lua from the `lua-src` crate's sources (LuaJIT:
//! the `luajit-src` crate's tree, through LuaJIT's own Makefile) together
//! with the C of one VM folder (`vm/<name>/`, chosen by the host's Cargo
//! feature) and the VM-independent C of `native/`. We build Lua ourselves
//! (mlua runs with its `module` feature and links no Lua) because the VM
//! folder's C needs the VM's internal headers, and we export the Lua API
//! (`-rdynamic`) so that C modules the debuggee `require`s bind to this VM.
//!
//! Lua's own sources compile with warnings off, as upstream ships them; our C
//! compiles with `-Wall -Wextra -Werror`. Nothing here needs the network.

use std::path::{Path, PathBuf};

#[macro_use]
#[path = "vm/shared/edits.rs"]
mod shared_edits;
#[path = "vm/lua51/vm.rs"]
mod lua51;
#[path = "vm/lua52/vm.rs"]
mod lua52;
#[path = "vm/lua53/vm.rs"]
mod lua53;
#[path = "vm/lua54/vm.rs"]
mod lua54;
#[path = "vm/luajit/vm.rs"]
mod luajit;

/// One Lua VM the host can be built for: its folder under `vm/` (the C that
/// implements `vm/hotreload_vm.h` over this VM's insides) and how its
/// sources are compiled and patched.
pub struct Vm {
    /// Folder under `vm/`, also the Cargo feature that selects it.
    folder: &'static str,
    /// Where the VM's sources come from and how they are built.
    sources: Sources,
    /// The release the host reports (`_VERSION`'s number).
    release: &'static str,
    /// Preprocessor symbols for Lua and for our C alike (they shape luaconf.h).
    defines: &'static [&'static str],
    /// Whether the folder has the reload engine's native backend
    /// (`hotreload_native_backend`); without it the engine walks in Lua.
    native_backend: bool,
    /// Whether the folder has the in-place swap alone
    /// (`hotreload_inplace_swap`), for the `Swap` backend.
    inplace_swap: bool,
    /// Whether the folder provides debug functions the VM's own library
    /// lacks and the engine needs (`hotreload_debug_extras`).
    debug_extras: bool,
    /// Whether the VM's patches give prototypes breakpoint traps (5.2–5.4):
    /// `shared/traps.c` and `cond.c` are built and our C sees `HR_TRAPS`;
    /// without them `shared/no_traps.c` answers the contract (breakpoints on
    /// the line hook, narrowed by `skips.c`).
    traps: bool,
    /// The edits of one source file of the VM, by file name.
    edits: fn(&str) -> &'static [(&'static str, &'static str)],
}

/// Where a VM's sources are, and how they build.
pub enum Sources {
    /// A directory of the `lua-src` crate; its `.c` files compile with `cc`.
    LuaSrc(&'static str),
    /// A tree inside crate `crate_name` built by its own Makefile
    /// (`src/Makefile`, target `libluajit.a`), with the release file the
    /// Makefile wants as `.relver` taken from `relver` in the crate.
    LuaJitMake {
        crate_name: &'static str,
        tree: &'static str,
        relver: &'static str,
    },
}

/// Every VM with a folder; adding one is a new folder and a line here.
const VMS: &[Vm] = &[lua51::VM, lua52::VM, lua53::VM, lua54::VM, luajit::VM];

fn main() {
    let vm = selected_vm();
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let vm_root = manifest_dir.join("vm");
    let vm_folder = vm_root.join(vm.folder);
    let vm_shared = vm_root.join("shared");
    let native = manifest_dir.join("native");
    let out = PathBuf::from(env("OUT_DIR"));

    // The VM, patched, as a static library `hotreload_lua` in OUT_DIR; and
    // the directory of its (patched) headers for our C.
    let (lua_copy, lua_dir) = match vm.sources {
        Sources::LuaSrc(dir) => {
            let lua_dir = crate_dir(&manifest_dir, "lua-src").join(dir);
            (build_lua_src(vm, &lua_dir, &out), lua_dir)
        }
        Sources::LuaJitMake {
            crate_name,
            tree,
            relver,
        } => {
            let crate_root = crate_dir(&manifest_dir, crate_name);
            let src = build_luajit(vm, &crate_root.join(tree), &crate_root.join(relver), &out);
            (src, crate_root.join(tree).join("src"))
        }
    };

    let mut ours = cc::Build::new();
    ours.include(&lua_copy)
        .include(&vm_root)
        .include(&vm_shared)
        .include(&vm_folder)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    for define in vm.defines {
        ours.define(define, None);
    }
    if vm.traps {
        ours.define("HR_TRAPS", None);
    }
    if vm.native_backend {
        // shared/reload_*.c, over the folder's reload_vm.h
        ours.define("HR_NATIVE_BACKEND", None);
    }
    // A file of the VM's folder replaces the shared file of the same name
    // (a VM whose insides differ too much for the shared one).
    let own = c_files(&vm_folder);
    let replaced = |path: &PathBuf| own.iter().any(|o| o.file_name() == path.file_name());
    let unwanted = |path: &PathBuf| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let trap_file = matches!(name, "traps.c" | "cond.c");
        if vm.traps {
            name == "no_traps.c"
        } else {
            trap_file
        }
    };
    for dir in [&native, &vm_shared, &vm_folder] {
        for path in c_files(dir) {
            if dir == &vm_shared && (replaced(&path) || unwanted(&path)) {
                continue;
            }
            ours.file(&path);
            println!("cargo:rerun-if-changed={}", path.display());
        }
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    println!("cargo:rerun-if-changed={}", vm_root.display());
    ours.cargo_metadata(false).compile("hotreload_vm");

    println!("cargo:rustc-link-search=native={}", out.display());
    // whole-archive: keep every Lua API symbol, used by us or not, for C
    // modules; and let Lua's patched files and our C call each other.
    println!("cargo:rustc-link-lib=static:+whole-archive=hotreload_lua");
    println!("cargo:rustc-link-lib=static:+whole-archive=hotreload_vm");
    println!("cargo:rustc-link-lib=dylib=m");
    println!("cargo:rustc-link-lib=dylib=dl");
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    println!(
        "cargo:rustc-env=HOTRELOAD_LUA_SOURCE_DIR={}",
        lua_dir.display()
    );
    println!("cargo:rustc-env=HOTRELOAD_LUA_RELEASE={}", vm.release);
    println!("cargo::rustc-check-cfg=cfg(hr_native_backend)");
    println!("cargo::rustc-check-cfg=cfg(hr_lua51_api)");
    // Lua 5.1 and LuaJIT share a C API that differs from 5.2+ in a few
    // calls (src/lua_api.rs).
    if ["LUA51", "LUAJIT"]
        .iter()
        .any(|vm| std::env::var_os(format!("CARGO_FEATURE_{vm}")).is_some())
    {
        println!("cargo:rustc-cfg=hr_lua51_api");
    }
    if vm.native_backend {
        println!("cargo:rustc-cfg=hr_native_backend");
    }
    println!("cargo::rustc-check-cfg=cfg(hr_inplace_swap)");
    if vm.inplace_swap {
        println!("cargo:rustc-cfg=hr_inplace_swap");
    }
    // The host's own (patched) VM, as opposed to a stock one under the
    // attach agent, which shares these modules (crates/agent).
    println!("cargo::rustc-check-cfg=cfg(hr_host_vm)");
    println!("cargo:rustc-cfg=hr_host_vm");
    println!("cargo::rustc-check-cfg=cfg(hr_debug_extras)");
    if vm.debug_extras {
        println!("cargo:rustc-cfg=hr_debug_extras");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// PUC Lua: every file, patched or not, compiled from one copy in OUT_DIR
/// (a quoted #include looks beside the including file first, so a patched
/// header must sit next to every .c that includes it). Returns the copy.
fn build_lua_src(vm: &Vm, lua_dir: &Path, out: &Path) -> PathBuf {
    assert!(
        lua_dir.join("lapi.c").exists(),
        "no Lua sources at {}",
        lua_dir.display()
    );
    let lua_copy = out.join("lua");
    std::fs::create_dir_all(&lua_copy).expect("create the VM source dir");
    let mut lua = cc::Build::new();
    lua.include(&lua_copy)
        .warnings(false)
        .flag_if_supported("-fno-common");
    for entry in std::fs::read_dir(lua_dir).expect("lua source dir is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.ends_with(".c") || name.ends_with(".h")) {
            continue;
        }
        let copy = lua_copy.join(name);
        let text = std::fs::read_to_string(&path).expect("Lua source is readable");
        std::fs::write(&copy, apply_edits(name, text, (vm.edits)(name)))
            .expect("write a Lua source copy");
        // lua.c and luac.c carry their own main().
        if name.ends_with(".c") && name != "lua.c" && name != "luac.c" {
            lua.file(&copy);
        }
    }
    for define in vm.defines {
        lua.define(define, None);
    }
    lua.cargo_metadata(false).compile("hotreload_lua");
    lua_copy
}

/// LuaJIT: a patched copy of its tree in OUT_DIR, built by its Makefile
/// (which builds its own host tools, minilua and buildvm, then the
/// interpreter from DynASM) into `libhotreload_lua.a`. Files are rewritten
/// only when their text changes, so make rebuilds only what an edit touches.
/// Returns the copy's `src/` (its headers, generated ones included).
fn build_luajit(vm: &Vm, tree: &Path, relver: &Path, out: &Path) -> PathBuf {
    assert!(
        tree.join("src").join("lj_api.c").exists(),
        "no LuaJIT sources at {}",
        tree.display()
    );
    let target_arch = env("CARGO_CFG_TARGET_ARCH");
    assert!(
        target_arch == "x86_64",
        "the luajit host patches LuaJIT's x86_64 interpreter (vm_x64.dasc) only, \
         not {target_arch}"
    );
    let copy = out.join("luajit");
    copy_tree(vm, tree, &copy);
    write_if_changed(
        &copy.join(".relver"),
        &std::fs::read_to_string(relver).expect("LuaJIT's release file is readable"),
    );
    let compiler = cc::Build::new().get_compiler();
    let mut xcflags: Vec<String> = vm.defines.iter().map(|d| format!("-D{d}")).collect();
    xcflags.push("-fPIC".into());
    let jobs = std::env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    let status = std::process::Command::new("make")
        .current_dir(copy.join("src"))
        .arg(format!("-j{jobs}"))
        .arg("libluajit.a")
        .arg("BUILDMODE=static")
        .arg(format!("CC={}", compiler.path().display()))
        .arg(format!("XCFLAGS={}", xcflags.join(" ")))
        .arg("Q=@")
        .arg("E=@:")
        .status()
        .expect("run make (GNU make is needed to build LuaJIT)");
    assert!(status.success(), "building LuaJIT failed ({status})");
    std::fs::copy(
        copy.join("src").join("libluajit.a"),
        out.join("libhotreload_lua.a"),
    )
    .expect("copy libluajit.a");
    copy.join("src")
}

/// Copies `from` to `to` recursively, applying the VM's edits by file name.
fn copy_tree(vm: &Vm, from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the VM source dir");
    for entry in std::fs::read_dir(from).expect("source tree is readable") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let dest = to.join(name);
        if path.is_dir() {
            copy_tree(vm, &path, &dest);
            continue;
        }
        let bytes = std::fs::read(&path).expect("source file is readable");
        let edits = (vm.edits)(name);
        let bytes = if edits.is_empty() {
            bytes
        } else {
            let text = String::from_utf8(bytes).expect("a patched source is UTF-8");
            apply_edits(name, text, edits).into_bytes()
        };
        if std::fs::read(&dest).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&dest, &bytes).expect("write a source copy");
        }
    }
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("write a source copy");
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name} for build scripts"))
}

/// The VM of the one `lua*` feature enabled.
fn selected_vm() -> &'static Vm {
    let enabled: Vec<&Vm> = VMS
        .iter()
        .filter(|vm| {
            let feature = format!("CARGO_FEATURE_{}", vm.folder.to_uppercase());
            std::env::var_os(feature).is_some()
        })
        .collect();
    match enabled.as_slice() {
        [vm] => vm,
        _ => {
            let names: Vec<&str> = VMS.iter().map(|vm| vm.folder).collect();
            panic!(
                "build hotreload-host with exactly one of the features {}",
                names.join(", ")
            )
        }
    }
}

fn c_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "c"))
        .collect();
    files.sort();
    files
}

fn apply_edits(name: &str, text: String, edits: &[(&str, &str)]) -> String {
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

/// A build-dependency's directory (`lua-src`, `luajit-src`), found offline:
/// the version Cargo.lock pins, unpacked in Cargo's registry (Cargo unpacks
/// it to build this script, which depends on it for exactly that reason).
fn crate_dir(manifest_dir: &Path, name: &str) -> PathBuf {
    let lock_path = manifest_dir
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.exists())
        .expect("Cargo.lock above the host crate");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).expect("Cargo.lock is readable");
    let version =
        locked_version(&lock, name).unwrap_or_else(|| panic!("Cargo.lock pins no {name}"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let crate_dir = format!("{name}-{version}");
    let registry = cargo_home.join("registry").join("src");
    std::fs::read_dir(&registry)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", registry.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path().join(&crate_dir)))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("{crate_dir} is not unpacked under {}", registry.display()))
}

/// The version of package `name` in a Cargo.lock.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.find(|line| *line == name_line)?;
    lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')
}
