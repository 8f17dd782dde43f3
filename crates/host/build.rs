//! Compiles the debuggee's Lua from the `lua-src` crate's sources together
//! with the C of one VM folder (`vm/<name>/`, chosen by the host's Cargo
//! feature) and the VM-independent C of `native/`. We build Lua ourselves
//! (mlua runs with its `module` feature and links no Lua) because the VM
//! folder's C needs the VM's internal headers, and we export the Lua API
//! (`-rdynamic`) so that C modules the debuggee `require`s bind to this VM.
//!
//! Lua's own sources compile with warnings off, as upstream ships them; our C
//! compiles with `-Wall -Wextra -Werror`. Nothing here needs the network.

use std::path::{Path, PathBuf};

#[path = "vm/lua51/vm.rs"]
mod lua51;
#[path = "vm/lua52/vm.rs"]
mod lua52;
#[path = "vm/lua53/vm.rs"]
mod lua53;
#[path = "vm/lua54/vm.rs"]
mod lua54;

/// One Lua VM the host can be built for: its folder under `vm/` (the C that
/// implements `vm/hotreload_vm.h` over this VM's insides) and how its
/// sources are compiled and patched.
pub struct Vm {
    /// Folder under `vm/`, also the Cargo feature that selects it.
    folder: &'static str,
    /// Directory of the sources inside the `lua-src` crate.
    sources: &'static str,
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
    /// The edits of one source file of the VM, by file name.
    edits: fn(&str) -> &'static [(&'static str, &'static str)],
}

/// Every VM with a folder; adding one is a new folder and a line here.
const VMS: &[Vm] = &[lua51::VM, lua52::VM, lua53::VM, lua54::VM];

fn main() {
    let vm = selected_vm();
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let lua_dir = lua_src_crate_dir(&manifest_dir).join(vm.sources);
    assert!(
        lua_dir.join("lapi.c").exists(),
        "no Lua sources at {}",
        lua_dir.display()
    );
    let vm_root = manifest_dir.join("vm");
    let vm_folder = vm_root.join(vm.folder);
    let vm_shared = vm_root.join("shared");
    let native = manifest_dir.join("native");
    let out = PathBuf::from(env("OUT_DIR"));

    // Every Lua file, patched or not, is compiled from one copy: a quoted
    // #include looks beside the including file first, so a patched header
    // must sit next to every .c that includes it.
    let lua_copy = out.join("lua");
    std::fs::create_dir_all(&lua_copy).expect("create the VM source dir");
    let mut lua = cc::Build::new();
    lua.include(&lua_copy)
        .warnings(false)
        .flag_if_supported("-fno-common");
    for entry in std::fs::read_dir(&lua_dir).expect("lua source dir is readable") {
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

    let mut ours = cc::Build::new();
    ours.include(&lua_copy)
        .include(&vm_root)
        .include(&vm_shared)
        .include(&vm_folder)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    for dir in [&native, &vm_shared, &vm_folder] {
        for path in c_files(dir) {
            ours.file(&path);
            println!("cargo:rerun-if-changed={}", path.display());
        }
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    println!("cargo:rerun-if-changed={}", vm_root.display());
    for build in [&mut lua, &mut ours] {
        for define in vm.defines {
            build.define(define, None);
        }
    }
    lua.cargo_metadata(false).compile("hotreload_lua");
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
    println!("cargo::rustc-check-cfg=cfg(hr_debug_extras)");
    if vm.debug_extras {
        println!("cargo:rustc-cfg=hr_debug_extras");
    }
    println!("cargo:rerun-if-changed=build.rs");
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

/// The `lua-src` crate's directory, found offline: the version Cargo.lock
/// pins, unpacked in Cargo's registry (Cargo unpacks it to build this
/// script, which depends on it for exactly that reason).
fn lua_src_crate_dir(manifest_dir: &Path) -> PathBuf {
    let lock_path = manifest_dir
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.exists())
        .expect("Cargo.lock above the host crate");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).expect("Cargo.lock is readable");
    let version = locked_version(&lock, "lua-src").expect("Cargo.lock pins lua-src");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME is set");
    let crate_dir = format!("lua-src-{version}");
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
