//! `hotreload-host-lua54`: runs one debuggee in its own Lua VM.

fn main() -> anyhow::Result<()> {
    let lua = mlua::Lua::new();
    let path = std::env::args().nth(1).unwrap_or_default();
    let code = std::fs::read_to_string(&path)?;
    lua.load(code).set_name(format!("@{path}")).exec()?;
    Ok(())
}

#[allow(dead_code)]
mod reload;
