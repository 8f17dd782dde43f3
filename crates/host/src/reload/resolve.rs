//! Which loaded module (or the program) a requested path means.

use std::path::{Path, PathBuf};

/// How the program loaded a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// With `require`.
    Module,
    /// With `dofile` or `loadfile`.
    File,
    /// It is the main program.
    Program,
}

/// A file the engine can reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// How it was loaded.
    pub kind: Kind,
    /// The module name given to `require` (modules only).
    pub module: Option<String>,
    /// The path as the program's loader saw it.
    pub path: String,
}

/// What a reload request resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A module; `path` is its file when known.
    Module {
        /// The module name.
        name: String,
        /// Its file, when the engine saw `require` find it.
        path: Option<String>,
    },
    /// A file the program ran with `dofile` or `loadfile`.
    File {
        /// The path as the program gave it (the engine's key).
        path: String,
    },
    /// The main program file.
    Program {
        /// Its file.
        path: Option<String>,
    },
}

impl Target {
    /// The file reloaded, when known.
    pub fn path(&self) -> Option<&str> {
        match self {
            Target::Module { path, .. } | Target::Program { path } => path.as_deref(),
            Target::File { path } => Some(path),
        }
    }
}

/// The same file? Compares canonical paths when both exist, else the text.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => normalize(a) == normalize(b),
    }
}

/// Drops `.` components so `./a/b.lua` and `a/b.lua` compare equal.
fn normalize(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// Finds the module, file or program whose file is `path`. Modules first:
/// a module file also run with `dofile` reloads as the module.
pub fn by_path(path: &str, files: &[File], program: Option<&Path>) -> Option<Target> {
    let wanted = Path::new(path);
    let find = |kind: Kind| {
        files
            .iter()
            .find(|f| f.kind == kind && same_file(Path::new(&f.path), wanted))
    };
    if let Some(f) = find(Kind::Module) {
        return Some(Target::Module {
            name: f.module.clone().unwrap_or_default(),
            path: Some(f.path.clone()),
        });
    }
    if let Some(f) = find(Kind::File) {
        return Some(Target::File {
            path: f.path.clone(),
        });
    }
    let program = program?;
    same_file(program, wanted).then(|| Target::Program {
        path: Some(path.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, path: &str) -> File {
        File {
            kind: Kind::Module,
            module: Some(name.into()),
            path: path.into(),
        }
    }

    #[test]
    fn finds_a_file_the_program_ran() {
        let files = [
            module("a", "./a.lua"),
            File {
                kind: Kind::File,
                module: None,
                path: "./conf/settings.lua".into(),
            },
        ];
        assert_eq!(
            by_path("conf/settings.lua", &files, None),
            Some(Target::File {
                path: "./conf/settings.lua".into()
            })
        );
    }

    #[test]
    fn finds_a_module_by_a_differently_spelled_path() {
        let files = [module("game.player", "./game/player.lua")];
        assert_eq!(
            by_path("game/player.lua", &files, None),
            Some(Target::Module {
                name: "game.player".into(),
                path: Some("./game/player.lua".into())
            })
        );
    }

    #[test]
    fn finds_the_program_and_nothing_else() {
        let files = [module("a", "./a.lua")];
        assert_eq!(
            by_path("./main.lua", &files, Some(Path::new("main.lua"))),
            Some(Target::Program {
                path: Some("./main.lua".into())
            })
        );
        assert_eq!(
            by_path("other.lua", &files, Some(Path::new("main.lua"))),
            None
        );
    }

    #[test]
    fn compares_canonical_paths_of_existing_files() {
        let dir = std::env::temp_dir().join(format!("hr-resolve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        let file = dir.join("m.lua");
        std::fs::write(&file, "return {}").expect("write");
        let spelled = dir.join("sub").join("..").join("m.lua");
        let files = [module("m", &file.to_string_lossy())];
        assert!(matches!(
            by_path(&spelled.to_string_lossy(), &files, None),
            Some(Target::Module { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
