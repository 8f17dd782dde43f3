//! The private directory that holds the server's Unix socket. Only the user
//! may open it: a socket anyone can connect to would let them run programs.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::NativeError;

/// The default directory: `$XDG_RUNTIME_DIR/hotreload`, else
/// `<tmp>/hotreload-<uid>`.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("hotreload"),
        _ => std::env::temp_dir().join(format!("hotreload-{}", current_uid())),
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Creates `dir` with mode 0700 if missing, then [`check_private`].
pub fn ensure_private(dir: &Path) -> Result<(), NativeError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| NativeError::Io {
            what: "cannot create socket dir",
            path: dir.to_owned(),
            source,
        })?;
    check_private(dir)
}

/// Checks, without creating anything, that `dir` is a real directory owned
/// by the user that nobody else can enter.
pub fn check_private(dir: &Path) -> Result<(), NativeError> {
    let meta = std::fs::symlink_metadata(dir).map_err(|source| NativeError::Io {
        what: "cannot inspect socket dir",
        path: dir.to_owned(),
        source,
    })?;
    let insecure = |reason: String| NativeError::InsecureSocketDir {
        path: dir.to_owned(),
        reason,
    };
    if !meta.file_type().is_dir() {
        return Err(insecure("not a directory".into()));
    }
    if meta.uid() != current_uid() {
        return Err(insecure(format!("owned by uid {}", meta.uid())));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(insecure(format!("mode {mode:o}")));
    }
    Ok(())
}

/// Removes sockets left by Neovims that are gone (`nvim-<pid>-<n>.sock`
/// whose pid no longer exists), e.g. after a crash. Best effort.
pub fn remove_stale_sockets(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("nvim-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid > 0 && !process_exists(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn process_exists(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hotreload-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&dir);
        dir
    }

    fn refusal(dir: &Path) -> String {
        match ensure_private(dir) {
            Ok(()) => format!("{} was accepted", dir.display()),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn creates_a_private_dir() -> TestResult {
        let dir = scratch("create").join("nested");
        ensure_private(&dir)?;
        let mode = std::fs::metadata(&dir)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "mode of {}", dir.display());
        Ok(())
    }

    #[test]
    fn refuses_a_dir_others_can_open() -> TestResult {
        let dir = scratch("open");
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let err = refusal(&dir);
        assert!(
            err.contains("not private") && err.contains("chmod 700"),
            "got: {err}"
        );
        Ok(())
    }

    #[test]
    fn removes_only_sockets_of_dead_processes() -> TestResult {
        let dir = scratch("stale");
        ensure_private(&dir)?;
        let mine = dir.join(format!("nvim-{}-1.sock", std::process::id()));
        // Pids above the kernel's pid_max (at most 2^22) never exist.
        let dead = dir.join("nvim-99999999-1.sock");
        let other = dir.join("notes.txt");
        for file in [&mine, &dead, &other] {
            std::fs::write(file, "")?;
        }
        remove_stale_sockets(&dir);
        assert!(mine.exists(), "removed a live process's socket");
        assert!(!dead.exists(), "kept a dead process's socket");
        assert!(other.exists(), "removed a file that is not ours");
        Ok(())
    }

    #[test]
    fn refuses_a_file() -> TestResult {
        let dir = scratch("file");
        std::fs::write(&dir, "x")?;
        let err = refusal(&dir);
        assert!(err.contains("socket dir"), "got: {err}");
        std::fs::remove_file(&dir)?;
        Ok(())
    }
}
