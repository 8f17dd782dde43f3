//! Which host binary serves a runtime, and where to look for it.

use std::path::{Path, PathBuf};

use crate::runtime::RuntimeError;

/// Environment variable that overrides every other host directory.
pub const HOST_DIR_ENV: &str = "HOTRELOAD_HOST_DIR";

/// The runtime used when `launch` names none.
pub const DEFAULT_RUNTIME: &str = "lua5.4";

/// Every runtime `launch` names, in the order users are offered them.
pub const RUNTIMES: [&str; 6] = ["lua5.4", "lua5.3", "lua5.2", "lua5.1", "luajit", "luanext"];

/// One runtime and whether this installation can run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeAvailability {
    /// The `launch` argument `runtime`.
    pub runtime: &'static str,
    /// Where its host binary is, or would be.
    pub host: Option<PathBuf>,
    /// Why it cannot run here: no host in this release, or the binary is
    /// missing; `None` when the host binary exists.
    pub unavailable: Option<String>,
}

/// [`RUNTIMES`] with their availability, looking for hosts as [`find_host`]
/// does.
pub fn runtimes(configured: Option<&Path>) -> Vec<RuntimeAvailability> {
    RUNTIMES
        .iter()
        .map(|&runtime| {
            let host = host_binary_name(runtime).ok().map(|name| {
                host_dir(configured)
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join(name)
            });
            RuntimeAvailability {
                runtime,
                host,
                unavailable: find_host(runtime, configured).err().map(|e| e.to_string()),
            }
        })
        .collect()
}

/// The binary name serving `runtime` (`lua5.4` -> `hotreload-host-lua54`).
pub fn host_binary_name(runtime: &str) -> Result<&'static str, RuntimeError> {
    Ok(match runtime {
        "lua5.4" => "hotreload-host-lua54",
        // LuaNext is compiled first (session::sourcemaps::luanext) and runs
        // on its `target` host; it is never a host of its own.
        "luanext" => {
            return Err(RuntimeError::NotAvailable {
                runtime: runtime.to_owned(),
                reason:
                    "LuaNext runs on a Lua host: set `target` to lua5.4, lua5.3, lua5.2, lua5.1 or luajit"
                        .to_owned(),
            })
        }
        "lua5.3" => "hotreload-host-lua53",
        "lua5.2" => "hotreload-host-lua52",
        "lua5.1" => "hotreload-host-lua51",
        "luajit" => "hotreload-host-luajit",
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
                Some("hotreload-host-lua51"),
                Some("hotreload-host-lua52"),
                Some("hotreload-host-lua53"),
                Some("hotreload-host-luajit"),
                None,
            ]
        );
    }

    #[test]
    fn luanext_is_refused_naming_the_hosts_to_target() {
        let err = host_binary_name("luanext").err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("'luanext'")
                && e.contains("lua5.4, lua5.3, lua5.2, lua5.1 or luajit")),
            "{err:?}"
        );
    }

    #[test]
    fn listing_names_every_runtime_and_why_it_cannot_run() {
        if std::env::var_os(HOST_DIR_ENV).is_some() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("hotreload-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        std::fs::write(dir.join("hotreload-host-lua53"), "").ok();
        let listed = runtimes(Some(&dir));
        let names: Vec<_> = listed.iter().map(|r| r.runtime).collect();
        assert_eq!(names, RUNTIMES);
        let by_name = |n: &str| listed.iter().find(|r| r.runtime == n).cloned();
        let lua53 = by_name("lua5.3");
        assert_eq!(lua53.as_ref().and_then(|r| r.unavailable.clone()), None);
        assert_eq!(
            lua53.and_then(|r| r.host),
            Some(dir.join("hotreload-host-lua53"))
        );
        let lua54 = by_name("lua5.4")
            .and_then(|r| r.unavailable)
            .unwrap_or_default();
        assert!(lua54.contains("hotreload-host-lua54"), "{lua54}");
        // LuaNext is never a host of its own: no path, and the reason.
        let luanext = by_name("luanext");
        assert_eq!(luanext.as_ref().and_then(|r| r.host.clone()), None);
        let why = luanext.and_then(|r| r.unavailable).unwrap_or_default();
        assert!(why.contains("set `target`"), "{why}");
        let lua51 = by_name("lua5.1")
            .and_then(|r| r.unavailable)
            .unwrap_or_default();
        assert!(lua51.contains("hotreload-host-lua51"), "{lua51}");
        let luajit = by_name("luajit")
            .and_then(|r| r.unavailable)
            .unwrap_or_default();
        assert!(luajit.contains("hotreload-host-luajit"), "{luajit}");
        std::fs::remove_dir_all(&dir).ok();
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
