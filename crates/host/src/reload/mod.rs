//! The hot reload engine (owned by the engine work; this is the agreed API).

use std::path::Path;

use dap::types::{HotReloadArguments, HotReloadResponseBody};

/// Why a reload did not happen. `Display` is the user-facing `file:line: reason`.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// Placeholder until the engine lands.
    #[error("hot reload is not available yet")]
    Unavailable,
}

/// The reload engine installed in one VM.
pub struct Engine {}

impl Engine {
    /// Installs the engine into a fresh VM, before the program runs.
    pub fn install(_lua: &mlua::Lua) -> Result<Engine, ReloadError> {
        Ok(Engine {})
    }

    /// Remembers the main program file, so that reloading it works too.
    pub fn set_program(&mut self, _path: &Path) {}

    /// Performs one reload; on error the VM is exactly as before.
    pub fn reload(
        &mut self,
        _lua: &mlua::Lua,
        _args: &HotReloadArguments,
    ) -> Result<HotReloadResponseBody, ReloadError> {
        Err(ReloadError::Unavailable)
    }
}
