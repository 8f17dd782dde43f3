//! TypeScript sources: a `.ts` file whose Lua is older than itself is
//! recompiled with its project's TypeScriptToLua (`tstl -p tsconfig.json`)
//! before it is launched or reloaded, so saving a `.ts` file reloads it as
//! saving a `.luax` file does.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use host_protocol::{ErrorKind, ErrorLocation, HostError};
use sourcemap::normalize;

use crate::runtime::RuntimeError;

/// How to get the compiler.
const INSTALL_HINT: &str = "install typescript-to-lua in the project (its node_modules/.bin/tstl is used) or put `tstl` on PATH";

/// Whether `path` is a TypeScript source TypeScriptToLua compiles.
pub fn is_typescript(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "ts" || e == "tsx")
}

/// Whether `source` changed after `lua` was written (or `lua` is missing).
pub fn stale(source: &Path, lua: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(source), modified(lua)) {
        (Some(source), Some(lua)) => source > lua,
        (Some(_), None) => true,
        _ => false,
    }
}

/// A TypeScriptToLua project: its `tsconfig.json` and its compiler.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// The nearest `tsconfig.json` above the source.
    pub tsconfig: PathBuf,
    /// The project's `node_modules/.bin/tstl` (nearest above the
    /// tsconfig), else `tstl` from PATH.
    pub compiler: PathBuf,
}

/// The project `source` belongs to, if a `tsconfig.json` is above it.
pub fn project_of(source: &Path) -> Option<Project> {
    let tsconfig = source
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("tsconfig.json"))
        .find(|p| p.is_file())?;
    let compiler = tsconfig
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("node_modules/.bin/tstl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("tstl"));
    Some(Project { tsconfig, compiler })
}

impl Project {
    /// Compiles the project; emits nothing when it has errors, so the Lua
    /// of a failed compile is never reloaded. A failure is a compile error
    /// at the first diagnostic's source line, with all diagnostics.
    pub async fn compile(&self) -> Result<(), RuntimeError> {
        let dir = self.tsconfig.parent().unwrap_or(Path::new("/"));
        let output = tokio::process::Command::new(&self.compiler)
            .arg("-p")
            .arg(&self.tsconfig)
            .args(["--noEmitOnError", "--pretty", "false"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| {
                RuntimeError::failed(
                    ErrorKind::Unsupported,
                    format!(
                        "cannot run TypeScriptToLua '{}': {e}; {INSTALL_HINT}",
                        self.compiler.display()
                    ),
                )
            })?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let text = text.trim();
        let first = first_error(text)
            .map(|(file, line, reason)| (normalize(&dir.join(file)), line, reason));
        let summary = match &first {
            Some((file, line, reason)) => format!("{}:{line}: {reason}", file.display()),
            None => format!("TypeScriptToLua failed ({})", output.status),
        };
        let message = if text.is_empty() {
            summary
        } else {
            format!("{summary}\n{text}")
        };
        Err(RuntimeError::Host(HostError {
            kind: ErrorKind::Compile,
            message,
            reason: first.as_ref().map(|(_, _, reason)| reason.clone()),
            location: first.map(|(file, line, _)| ErrorLocation {
                path: file.to_string_lossy().into_owned(),
                line: Some(i64::from(line)),
            }),
        }))
    }
}

/// File, line and reason of the first error in TypeScript's diagnostics
/// (`file(line,col): error TS2322: reason`).
pub fn first_error(diagnostics: &str) -> Option<(String, u32, String)> {
    diagnostics.lines().find_map(|line| {
        let (location, rest) = line.split_once("): error ")?;
        let (file, position) = location.rsplit_once('(')?;
        let (line_number, _column) = position.split_once(',')?;
        let line_number = line_number.trim().parse::<u32>().ok()?;
        let reason = rest.split_once(": ").map_or(rest, |(_, r)| r);
        Some((file.to_owned(), line_number, reason.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_error_reads_typescript_diagnostics() {
        let text = "names.ts(3,9): error TS2322: Type 'number' is not assignable to type 'string'.\nnames.ts(5,3): error TS2322: other";
        assert_eq!(
            first_error(text),
            Some((
                "names.ts".to_owned(),
                3,
                "Type 'number' is not assignable to type 'string'.".to_owned()
            ))
        );
        assert_eq!(
            first_error("src/(odd)/a.ts(12,1): error TS1005: ';' expected."),
            Some(("src/(odd)/a.ts".to_owned(), 12, "';' expected.".to_owned()))
        );
        assert_eq!(
            first_error("error TS5058: The specified path does not exist"),
            None
        );
        assert_eq!(first_error("a.ts(x,1): error TS1: m"), None);
    }

    #[test]
    fn projects_are_found_above_the_source() {
        let root = std::env::temp_dir().join(format!("hotreload-tstl-{}", std::process::id()));
        let src = root.join("app/src");
        std::fs::create_dir_all(&src).ok();
        std::fs::create_dir_all(root.join("node_modules/.bin")).ok();
        std::fs::write(root.join("app/tsconfig.json"), "{}").ok();
        std::fs::write(root.join("node_modules/.bin/tstl"), "").ok();
        assert_eq!(
            project_of(&src.join("main.ts")),
            Some(Project {
                tsconfig: root.join("app/tsconfig.json"),
                compiler: root.join("node_modules/.bin/tstl"),
            })
        );
        std::fs::remove_file(root.join("node_modules/.bin/tstl")).ok();
        assert_eq!(
            project_of(&src.join("main.ts")).map(|p| p.compiler),
            Some(PathBuf::from("tstl"))
        );
        std::fs::remove_dir_all(&root).ok();
        assert!(is_typescript(Path::new("a/b.tsx")) && !is_typescript(Path::new("b.lua")));
    }
}
