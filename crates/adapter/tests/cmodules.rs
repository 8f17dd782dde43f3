//! Real C modules built for the runtime's Lua version (Debian's `lua-cjson`
//! and `lua-lpeg`, one build per version) load in its host through
//! `luaCPath`, bind to the host's own VM, and survive a hot reload of the
//! Lua module that holds their functions and userdata (C functions are never
//! touched). Skipped, saying so, where the packages are not installed.

mod support;

use std::path::{Path, PathBuf};

use serde_json::json;
use support::Client;

/// The Lua version whose C modules the runtime loads (`lua5.1` -> `5.1`).
fn abi_version(runtime: &str) -> Option<&str> {
    match runtime {
        "luajit" => Some("5.1"),
        other => other.strip_prefix("lua"),
    }
}

/// The directory where Debian installs C modules for Lua `version`, if it
/// holds both cjson and lpeg.
fn debian_cmodule_dir(version: &str) -> Option<PathBuf> {
    let multiarch = format!("{}-linux-gnu", std::env::consts::ARCH);
    [
        Path::new("/usr/lib")
            .join(&multiarch)
            .join("lua")
            .join(version),
        Path::new("/usr/lib/lua").join(version),
        Path::new("/usr/local/lib/lua").join(version),
    ]
    .into_iter()
    .find(|dir| dir.join("cjson.so").exists() && dir.join("lpeg.so").exists())
}

const CODEC_V1: &str = r#"local cjson = require("cjson")
local lpeg = require("lpeg")
local M = {}
local number = lpeg.C(lpeg.R("09") ^ 1) -- userdata, kept in an upvalue
M.encode = cjson.encode

function M.describe(n)
  return "v1 " .. M.encode({ n = n }) .. " digits=" .. tostring(number:match("x" .. n)) .. tostring(number:match("" .. n))
end

return M
"#;

const CODEC_V2: &str = r#"local cjson = require("cjson")
local lpeg = require("lpeg")
local M = {}
local number = lpeg.C(lpeg.R("09") ^ 1)
M.encode = cjson.encode
M.decode = cjson.decode

function M.describe(n)
  local back = M.decode(M.encode({ n = n }))
  return "v2 n=" .. string.format("%d", back.n) .. " digits=" .. tostring(lpeg.match(number, "" .. n))
end

return M
"#;

const MAIN: &str = r#"local codec = require("codec")
local encode = codec.encode -- the C function, aliased before any reload
local i = 0
while true do
  i = i + 1
  print(codec.describe(i) .. " same=" .. tostring(encode == codec.encode))
  os.execute("sleep 0.05")
end
"#;

#[test]
fn debian_c_modules_load_and_survive_a_reload() {
    let runtime = support::runtime();
    let Some(version) = abi_version(&runtime) else {
        eprintln!("skipped on {runtime}: not a Lua host");
        return;
    };
    let Some(cdir) = debian_cmodule_dir(version) else {
        eprintln!(
            "skipped on {runtime}: Debian's lua-cjson and lua-lpeg for Lua {version} are not \
             installed (apt-get install lua-cjson lua-lpeg)"
        );
        return;
    };
    let program = Client::temp_program(&format!("cmodules-{version}-main.lua"), MAIN);
    let dir = Path::new(&program)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::fs::write(dir.join("codec.lua"), CODEC_V1).expect("write codec.lua");
    let mut client = Client::start();
    client.run(json!({
        "program": program,
        "luaPath": format!("{}/?.lua", dir.display()),
        "luaCPath": format!("{}/?.so", cdir.display()),
    }));
    // The first line would be "digits=nil..." if lpeg's match misbehaved:
    // "x1" has no digits at its start, "1" has.
    client.wait_output("v1 lines from cjson and lpeg", |o| {
        o.lines()
            .any(|l| l == r#"v1 {"n":2} digits=nil2 same=true"#)
    });
    client.ok("hotReload", json!({"module": "codec", "source": CODEC_V2}));
    let output = client.wait_output("v2 lines after the reload", |o| {
        o.lines().filter(|l| l.starts_with("v2 ")).count() >= 2
    });
    let v2: Vec<&str> = output.lines().filter(|l| l.starts_with("v2 ")).collect();
    for line in &v2 {
        let ok = line
            .strip_prefix("v2 n=")
            .and_then(|rest| rest.split_once(" digits="))
            .is_some_and(|(n, rest)| rest == format!("{n} same=true"));
        if !ok {
            client.fail(&format!("after the reload the modules misbehave: {line:?}"));
        }
    }
}
