//! Compiles the stock-VM side of the host's VM contract (`stock/*.c`)
//! against the public headers of the Lua version the agent is built for
//! (from the `lua-src` crate, so no system package is needed to build). The
//! agent links no Lua: the program that loads it provides the symbols.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let vm = selected_vm();
    let lua_headers = match vm.sources {
        Sources::LuaJit => crate_dir(&manifest_dir, "luajit-src").join("luajit2/src"),
        Sources::Lua(dir) => crate_dir(&manifest_dir, "lua-src").join(dir),
    };
    assert!(
        lua_headers.join("lua.h").exists(),
        "no Lua headers at {}",
        lua_headers.display()
    );
    let host_vm = manifest_dir.join("../host/vm");
    let mut build = cc::Build::new();
    build
        .include(&lua_headers)
        .include(&host_vm)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .file(manifest_dir.join("stock/stock_vm.c"))
        .file(manifest_dir.join(format!("stock/lines_{}.c", vm.feature)));
    if vm.sources == Sources::LuaJit {
        build.define("HR_STOCK_LUAJIT", None);
        // The in-place swap for a stock LuaJIT (checked against the running
        // VM at first use; the pure-Lua walk when it does not match).
        build.define("HR_STOCK_AGENT", None);
        build.include(host_vm.join("luajit"));
        for file in ["layout.c", "vessel.c", "swap.c", "nested.c", "open.c"] {
            build.file(host_vm.join("luajit_stock").join(file));
        }
        println!("cargo:rerun-if-changed=../host/vm/luajit_stock");
        println!("cargo:rerun-if-changed=../host/vm/luajit/reload_swap.c");
        println!("cargo:rerun-if-changed=../host/vm/luajit/bc_names.h");
    } else {
        // The verified in-place swap (and 5.1's upvalue functions): the
        // internal headers of this release, checked against the running VM
        // at attach (stock/fast_reload.c).
        build.file(manifest_dir.join("stock/fast_reload.c"));
    }
    build.compile("hotreload_stock_vm");
    println!("cargo:rerun-if-changed=stock");
    println!("cargo:rerun-if-changed=../host/vm/hotreload_vm.h");
    println!("cargo:rerun-if-changed=../host/vm/lua51/upvalues.c");
    // The host's own modules read the release they serve and the C API
    // they speak (the same cfgs as the host's build.rs).
    println!("cargo:rustc-env=HOTRELOAD_LUA_RELEASE={}", vm.release);
    println!("cargo::rustc-check-cfg=cfg(hr_native_backend)");
    println!("cargo::rustc-check-cfg=cfg(hr_debug_extras)");
    // Never set here: the host's patched VM (host/build.rs).
    println!("cargo::rustc-check-cfg=cfg(hr_host_vm)");
    // An in-place swap on every stock VM: a PUC one's is
    // stock/fast_reload.c's, used only where its attach-time check passed
    // (src/attach.rs; 5.1's upvalueid/upvaluejoin likewise); a LuaJIT's is
    // vm/luajit_stock, which compiles the host's vm/luajit/reload_swap.c
    // against checked internals.
    println!("cargo::rustc-check-cfg=cfg(hr_inplace_swap)");
    println!("cargo::rustc-check-cfg=cfg(hr_stock_fast_reload)");
    println!("cargo:rustc-cfg=hr_inplace_swap");
    if vm.sources != Sources::LuaJit {
        println!("cargo:rustc-cfg=hr_stock_fast_reload");
    }
    if vm.feature == "lua51" {
        println!("cargo:rustc-cfg=hr_debug_extras");
    }
    println!("cargo::rustc-check-cfg=cfg(hr_lua51_api)");
    if vm.lua51_api {
        println!("cargo:rustc-cfg=hr_lua51_api");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// Where a VM's public headers come from.
#[derive(PartialEq)]
enum Sources {
    /// A directory of the `lua-src` crate.
    Lua(&'static str),
    /// The `luajit-src` crate.
    LuaJit,
}

/// One Lua ABI the agent is built for: its Cargo feature (also the name of
/// its `stock/lines_<feature>.c`), headers, and the release it reports.
struct Vm {
    feature: &'static str,
    sources: Sources,
    release: &'static str,
    /// The 5.1 C API (Lua 5.1 and LuaJIT).
    lua51_api: bool,
}

const VMS: &[Vm] = &[
    Vm {
        feature: "lua51",
        sources: Sources::Lua("lua-5.1.5"),
        release: "5.1 (stock)",
        lua51_api: true,
    },
    Vm {
        feature: "lua52",
        sources: Sources::Lua("lua-5.2.4"),
        release: "5.2 (stock)",
        lua51_api: false,
    },
    Vm {
        feature: "lua53",
        sources: Sources::Lua("lua-5.3.6"),
        release: "5.3 (stock)",
        lua51_api: false,
    },
    Vm {
        feature: "lua54",
        sources: Sources::Lua("lua-5.4.9"),
        release: "5.4 (stock)",
        lua51_api: false,
    },
    Vm {
        feature: "luajit",
        sources: Sources::LuaJit,
        release: "LuaJIT 2.1 (stock)",
        lua51_api: true,
    },
];

/// The VM of the one feature enabled.
fn selected_vm() -> &'static Vm {
    let enabled: Vec<&Vm> = VMS
        .iter()
        .filter(|vm| {
            std::env::var_os(format!("CARGO_FEATURE_{}", vm.feature.to_uppercase())).is_some()
        })
        .collect();
    match enabled.as_slice() {
        [vm] => vm,
        _ => panic!(
            "build hotreload-agent with exactly one of the features {}",
            VMS.iter()
                .map(|vm| vm.feature)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Where Cargo unpacked the version of crate `name` Cargo.lock pins.
fn crate_dir(manifest_dir: &Path, name: &str) -> PathBuf {
    let lock_path = manifest_dir
        .ancestors()
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.exists())
        .expect("Cargo.lock above the agent crate");
    let lock = std::fs::read_to_string(&lock_path).expect("Cargo.lock is readable");
    let version = locked_version(&lock, name).unwrap_or_else(|| panic!("Cargo.lock pins {name}"));
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

fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let name_line = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.find(|line| *line == name_line)?;
    lines
        .next()?
        .strip_prefix("version = \"")?
        .strip_suffix('"')
}
