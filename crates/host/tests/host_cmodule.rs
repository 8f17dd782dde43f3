//! A C module built for the host's Lua version loads into the host through
//! `luaCPath` and binds to the host's own VM: the host exports the Lua API (-rdynamic), and a
//! function the module registers survives a hot reload of the Lua module that
//! holds it (C functions are never touched).

mod common;

use common::{Host, Scratch, Vm, VM};
use serde_json::json;

const C_MODULE: &str = r#"
#include "lua.h"
#include "lauxlib.h"

static int twice(lua_State *L) {
  lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
  return 1;
}

/* The version of the VM the module runs in (5.1 and LuaJIT cannot say). */
static int version(lua_State *L) {
#if LUA_VERSION_NUM >= 504
  lua_pushnumber(L, lua_version(L));
#elif LUA_VERSION_NUM >= 502
  lua_pushnumber(L, *lua_version(L));
#else
  lua_pushnumber(L, LUA_VERSION_NUM);
#endif
  return 1;
}

/* The functions in a new table, as every version can. */
int luaopen_native_math(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, twice);
  lua_setfield(L, -2, "twice");
  lua_pushcfunction(L, version);
  lua_setfield(L, -2, "version");
  return 1;
}
"#;

/// Builds `native_math.so` with the C compiler, against the Lua headers the
/// host was built from, leaving the Lua symbols to the host.
fn build_module(dir: &Scratch) -> String {
    let source = dir.file("native_math.c", C_MODULE);
    let out = dir.path("lib/native_math.so");
    std::fs::create_dir_all(dir.path("lib")).expect("create lib dir");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = std::process::Command::new(&cc)
        .args(["-shared", "-fPIC", "-O1", "-o", &out, &source, "-I"])
        .arg(env!("HOTRELOAD_LUA_SOURCE_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success(), "{cc} failed to build the test module");
    out
}

#[test]
fn a_c_module_loads_and_survives_a_reload() {
    let dir = Scratch::new("cmodule");
    build_module(&dir);
    dir.file(
        "calc.lua",
        "local native = require('native_math')\nlocal M = {}\nM.twice = native.twice\nfunction M.describe(n) return 'v1 ' .. M.twice(n) end\nreturn M\n",
    );
    let program = dir.file(
        "main.lua",
        "local calc = require('calc')\nprint(calc.describe(21), require('native_math').version())\nlocal stop_here = true -- stop\nprint(calc.describe(4), calc.twice(5))\n",
    );
    let mut host = Host::spawn();
    host.start(
        &program,
        json!({
            "luaPath": format!("{}/?.lua", dir.dir.display()),
            "luaCPath": format!("{}/lib/?.so", dir.dir.display()),
        }),
        &[(&program, &[3])],
    );
    host.stopped("breakpoint");
    let body = host.ok(
        "hotReload",
        Some(json!({"module": "calc", "source": "local native = require('native_math')\nlocal M = {}\nM.twice = native.twice\nfunction M.describe(n) return 'v2 ' .. M.twice(n) end\nreturn M\n"})),
    );
    assert_eq!(body["changed"], json!(["calc.describe"]), "{body}");
    host.ok("continue", None);
    assert_eq!(host.exited(), 0);
    // The version as a float where the VM has integers too.
    let version = match VM {
        Vm::Lua54 => "504.0",
        Vm::Lua53 => "503.0",
        Vm::Lua52 => "502",
        Vm::Lua51 | Vm::LuaJit => "501",
    };
    assert_eq!(
        host.output("stdout"),
        format!("v1 42\t{version}\nv2 8\t10\n")
    );
}
