//! Which host binary serves a runtime, and where to look for it.

use std::path::{Path, PathBuf};

use crate::runtime::RuntimeError;

/// Environment variable that overrides every other host directory.
pub const HOST_DIR_ENV: &str = "HOTRELOAD_HOST_DIR";

/// The runtime used when `launch` names none.
pub const DEFAULT_RUNTIME: &str = "lua5.4";

/// The binary name serving `runtime` (`lua5.4` -> `hotreload-host-lua54`).
pub fn host_binary_name(runtime: &str) -> Result<&'static str, RuntimeError> {
    Ok(match runtime {
        "lua5.4" => "hotreload-host-lua54",
        // LuaNext compiles to Lua and will run on a PUC host with its lines
        // mapped back; until its compiler is bundled, say so plainly instead
        // of handing .luax text to a Lua compiler.
        "luanext" => {
            return Err(RuntimeError::NotAvailable {
                runtime: runtime.to_owned(),
                reason: "this build has no LuaNext compiler yet; compile the program to Lua and launch the .lua file with runtime lua5.4".to_owned(),
            })
        }
        "lua5.3" => "hotreload-host-lua53",
        "lua5.2" => "hotreload-host-lua52",
        // No VM folder builds these yet (crates/host/vm/): refuse plainly
        // rather than send the user to a build that cannot make them.
        "lua5.1" | "luajit" => {
            return Err(RuntimeError::NotAvailable {
                runtime: runtime.to_owned(),
                reason: "this release has no host for it yet; launch with runtime lua5.4, lua5.3 or lua5.2".to_owned(),
            })
        }
        other => return Err(RuntimeError::UnknownRuntime(other.to_owned())),
    })
}

/// The directory holding host binaries: `$HOTRELOAD_HOST_DIR`, else
/// `configured`, else the directory of the current executable.
pub fn host_dir(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(HOST_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = configured {
        return Some(dir.to_path_buf());
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

/// The path of the host binary for `runtime`, which must exist.
pub fn find_host(runtime: &str, configured: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    let name = host_binary_name(runtime)?;
    let path = host_dir(configured)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(RuntimeError::HostNotFound {
            runtime: runtime.to_owned(),
            path: path.display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_map_to_their_hosts() {
        let names: Vec<_> = ["lua5.4", "lua5.1", "lua5.2", "lua5.3", "luajit", "luanext"]
            .iter()
            .map(|r| host_binary_name(r).ok())
            .collect();
        assert_eq!(
            names,
            [
                Some("hotreload-host-lua54"),
                None,
                Some("hotreload-host-lua52"),
                Some("hotreload-host-lua53"),
                None,
                None,
            ]
        );
    }

    #[test]
    fn runtimes_without_a_host_are_refused_with_the_ones_to_use() {
        for runtime in ["lua5.1", "luajit"] {
            let err = host_binary_name(runtime).err().map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|e| e.contains(&format!("'{runtime}'"))
                        && e.contains("lua5.4, lua5.3 or lua5.2")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn unknown_runtime_is_named_in_the_error() {
        let err = host_binary_name("python").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("'python'")));
    }

    #[test]
    fn missing_binary_names_runtime_and_path() {
        // Only meaningful when the override is not set in the environment.
        if std::env::var_os(HOST_DIR_ENV).is_some() {
            return;
        }
        let dir = Path::new("/nonexistent/hosts");
        let err = find_host("lua5.3", Some(dir))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("'lua5.3'"), "{err}");
        assert!(
            err.contains("/nonexistent/hosts/hotreload-host-lua53"),
            "{err}"
        );
    }
}
