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

/// Creates `dir` with mode 0700 if missing, then checks that it is a real
/// directory owned by the user that nobody else can enter.
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
    fn refuses_a_file() -> TestResult {
        let dir = scratch("file");
        std::fs::write(&dir, "x")?;
        let err = refusal(&dir);
        assert!(err.contains("socket dir"), "got: {err}");
        std::fs::remove_file(&dir)?;
        Ok(())
    }
}
