//! LuaNext programs: compiling `.luax` files with the user's `luanext`
//! (its documented command line: `FILES --out-dir DIR --target VER
//! --source-map`) into a private directory, whose Lua and maps the
//! source-map layer then serves.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use dap::types::LaunchArguments;
use host_protocol::{ErrorKind, ErrorLocation, HostError};

use crate::host::RuntimeAvailability;
use crate::runtime::RuntimeError;

/// Directories the search for a program's `.luax` modules skips.
const SKIPPED_DIRS: &[&str] = &["node_modules", ".git", "target", ".venv"];
const SEARCH_DEPTH: usize = 8;
const SEARCH_FILES: usize = 2000;

/// How to get the compiler.
const INSTALL_HINT: &str = "install the LuaNext compiler (build `luanext-cli` from the LuaNext repository with cargo and put `luanext` on PATH), or set the `luanextPath` launch argument to it";

/// Whether `launch` asks for a LuaNext program.
pub fn is_luanext(args: &LaunchArguments) -> bool {
    args.runtime.as_deref() == Some("luanext") || args.program.ends_with(".luax")
}

/// The runtime whose host runs the program: for LuaNext, `target`, or
/// `luanext` when none is given (the source-map layer then picks the newest
/// host built, see [`newest_host`]); else `runtime`, or `target` for a
/// source-mapped program that names no `runtime`.
pub fn host_runtime(args: &LaunchArguments) -> Option<&str> {
    if is_luanext(args) {
        Some(args.target.as_deref().unwrap_or(LUANEXT))
    } else if args.source_maps {
        args.runtime.as_deref().or(args.target.as_deref())
    } else {
        args.runtime.as_deref()
    }
}

/// The `runtime` of LuaNext programs, which is never a host of its own.
pub const LUANEXT: &str = "luanext";

/// The newest runtime whose host is built: the first of the runtimes list
/// (newest first) that can run here.
pub fn newest_host(runtimes: &[RuntimeAvailability]) -> Result<&'static str, RuntimeError> {
    if let Some(found) = runtimes
        .iter()
        .find(|r| r.runtime != LUANEXT && r.unavailable.is_none())
    {
        return Ok(found.runtime);
    }
    let why: Vec<String> = runtimes
        .iter()
        .filter(|r| r.runtime != LUANEXT)
        .filter_map(|r| r.unavailable.clone())
        .collect();
    Err(RuntimeError::failed(
        ErrorKind::Unsupported,
        format!(
            "no Lua host is built to run the LuaNext program on ({}); build one with scripts/build or set `target`",
            why.join("; ")
        ),
    ))
}

/// LuaNext's `--target` for a host runtime.
fn target_flag(runtime: &str) -> Result<&'static str, RuntimeError> {
    Ok(match runtime {
        "lua5.4" => "5.4",
        "lua5.3" => "5.3",
        "lua5.2" => "5.2",
        "lua5.1" => "5.1",
        "luajit" => "jit",
        other => {
            return Err(RuntimeError::failed(
                ErrorKind::InvalidArguments,
                format!(
                    "target '{other}' is not a Lua host (lua5.4, lua5.3, lua5.2, lua5.1, luajit)"
                ),
            ))
        }
    })
}

/// A compiler invocation for one program, kept for reloads.
#[derive(Debug)]
pub struct Compiler {
    exe: String,
    target: &'static str,
    /// Where the compiler runs (the launch `cwd`).
    cwd: PathBuf,
    /// The private output directory; removed when the session ends.
    pub out_dir: PathBuf,
}

impl Drop for Compiler {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.out_dir);
    }
}

/// The number of the next private directory this process makes.
static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

fn private_dir() -> Result<PathBuf, RuntimeError> {
    let mut builder = std::fs::DirBuilder::new();
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    // mkdir is exclusive: a name left by an earlier process that had our pid
    // (or made by someone else) is skipped, never reused.
    let mut taken = None;
    for _ in 0..100 {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("hotreload-luanext-{}-{n}", std::process::id()));
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => taken = Some(dir),
            Err(e) => {
                return Err(RuntimeError::failed(
                    ErrorKind::Io,
                    format!("cannot create {}: {e}", dir.display()),
                ))
            }
        }
    }
    Err(RuntimeError::failed(
        ErrorKind::Io,
        format!(
            "cannot create a private directory: names up to {} exist",
            taken.unwrap_or_default().display()
        ),
    ))
}

impl Compiler {
    /// Compiles the program and the `.luax` files beside it (its modules)
    /// for `runtime`, the host it runs on; on success `args` launch the
    /// compiled Lua, with the output directory first on `package.path`.
    pub async fn launch(
        args: &mut LaunchArguments,
        runtime: &str,
    ) -> Result<Compiler, RuntimeError> {
        let runtime = runtime.to_owned();
        let target = target_flag(&runtime)?;
        let base = std::env::current_dir().unwrap_or_default();
        let cwd = match args.cwd.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => base.join(c),
            None => base,
        };
        let program = cwd.join(&args.program);
        if !program.is_file() {
            let shown = program.display().to_string();
            return Err(RuntimeError::Host(
                HostError::new(ErrorKind::NotFound, format!("cannot open program {shown}"))
                    .at(shown, None),
            ));
        }
        let compiler = Compiler {
            exe: args
                .luanext_path
                .clone()
                .unwrap_or_else(|| "luanext".to_owned()),
            target,
            cwd,
            out_dir: private_dir()?,
        };
        let mut files = Vec::new();
        if let Some(dir) = program.parent() {
            collect_luax(dir, 0, &mut files);
        }
        if !files.contains(&program) {
            files.push(program.clone());
        }
        compiler.compile(&files).await?;
        let stem = program
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        args.program = compiler
            .out_dir
            .join(format!("{stem}.lua"))
            .display()
            .to_string();
        let out_path = format!("{}/?.lua", compiler.out_dir.display());
        args.lua_path = Some(match args.lua_path.take() {
            Some(user) if !user.is_empty() => format!("{out_path};{user}"),
            _ => out_path,
        });
        args.source_maps = true;
        args.runtime = Some(runtime);
        Ok(compiler)
    }

    /// Where the compiler writes the Lua of `source` (it flattens the
    /// output directory: `<out-dir>/<stem>.lua`).
    pub fn output_of(&self, source: &Path) -> PathBuf {
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        self.out_dir.join(format!("{stem}.lua"))
    }

    /// Compiles `files` into the output directory. A failure's message is
    /// the compiler's diagnostics, first the `file:line: reason` of the
    /// first error.
    pub async fn compile(&self, files: &[PathBuf]) -> Result<(), RuntimeError> {
        let output = tokio::process::Command::new(&self.exe)
            .args(files)
            .arg("--out-dir")
            .arg(&self.out_dir)
            .arg("--target")
            .arg(self.target)
            .arg("--source-map")
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| {
                RuntimeError::failed(
                    ErrorKind::Unsupported,
                    format!(
                        "cannot run the LuaNext compiler '{}': {e}; {INSTALL_HINT}",
                        self.exe
                    ),
                )
            })?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        let text = text.trim();
        let first = first_error(text);
        let summary = match &first {
            Some((file, line, message)) => format!("{file}:{line}: {message}"),
            None => format!("the LuaNext compiler failed ({})", output.status),
        };
        let message = if text.is_empty() || summary == text {
            summary
        } else {
            format!("{summary}\n{text}")
        };
        // A compile error, located at the source line, like the host's own.
        Err(RuntimeError::Host(HostError {
            kind: ErrorKind::Compile,
            message,
            reason: first.as_ref().map(|(_, _, reason)| reason.clone()),
            location: first.map(|(file, line, _)| ErrorLocation {
                path: file,
                line: Some(i64::from(line)),
            }),
        }))
    }
}

/// File, line and message of the first error in LuaNext's diagnostics
/// (`file:line:col: error: message`).
pub fn first_error(diagnostics: &str) -> Option<(String, u32, String)> {
    diagnostics.lines().find_map(|line| {
        let (location, message) = line.split_once(": error: ")?;
        let mut parts = location.rsplitn(3, ':');
        let _column = parts.next()?.parse::<u32>().ok()?;
        let line_number = parts.next()?.parse::<u32>().ok()?;
        let file = parts.next()?;
        Some((file.to_owned(), line_number, message.to_owned()))
    })
}

fn collect_luax(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > SEARCH_DEPTH || found.len() >= SEARCH_FILES {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| entry.file_name() == **s) {
                collect_luax(&path, depth + 1, found);
            }
        } else if path.extension().is_some_and(|e| e == "luax") && found.len() < SEARCH_FILES {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_directory_name_left_by_an_earlier_process_is_skipped() {
        let next = NEXT_DIR.load(Ordering::Relaxed);
        let left: Vec<PathBuf> = (next..next + 3)
            .map(|n| {
                std::env::temp_dir().join(format!("hotreload-luanext-{}-{n}", std::process::id()))
            })
            .collect();
        for dir in &left {
            std::fs::create_dir_all(dir).ok();
        }
        let made = private_dir().ok();
        for dir in &left {
            std::fs::remove_dir_all(dir).ok();
        }
        let made = made.unwrap_or_default();
        assert!(made.is_dir() && !left.contains(&made), "{made:?}");
        std::fs::remove_dir_all(&made).ok();
    }

    #[test]
    fn first_error_reads_the_simple_diagnostic_format() {
        let text = "src/a.luax:3:7: warning: unused\nsrc/a.luax:12:5: error: Type 'string' is not assignable to 'number'\n";
        assert_eq!(
            first_error(text),
            Some((
                "src/a.luax".to_owned(),
                12,
                "Type 'string' is not assignable to 'number'".to_owned()
            ))
        );
        assert_eq!(first_error("panic: no"), None);
        assert_eq!(first_error("a.luax:x:1: error: m"), None);
    }

    #[test]
    fn luanext_programs_run_on_their_target_host() {
        let mut args = LaunchArguments {
            program: "main.luax".into(),
            ..Default::default()
        };
        assert!(is_luanext(&args));
        assert_eq!(host_runtime(&args), Some(LUANEXT), "chosen at start");
        args.target = Some("luajit".into());
        assert_eq!(host_runtime(&args), Some("luajit"));
        assert_eq!(target_flag("luajit").ok(), Some("jit"));
        assert!(target_flag("luanext").is_err());
        let lua = LaunchArguments {
            program: "main.lua".into(),
            runtime: Some("lua5.3".into()),
            ..Default::default()
        };
        assert!(!is_luanext(&lua));
        assert_eq!(host_runtime(&lua), Some("lua5.3"));
        let mapped = LaunchArguments {
            program: "out/main.lua".into(),
            target: Some("lua5.2".into()),
            source_maps: true,
            ..Default::default()
        };
        assert_eq!(host_runtime(&mapped), Some("lua5.2"));
    }

    fn availability(built: &[&str]) -> Vec<RuntimeAvailability> {
        crate::host::RUNTIMES
            .iter()
            .map(|&runtime| RuntimeAvailability {
                runtime,
                host: None,
                unavailable: (!built.contains(&runtime)).then(|| format!("no {runtime} host")),
            })
            .collect()
    }

    #[test]
    fn the_default_target_is_the_newest_host_built() {
        assert_eq!(
            newest_host(&availability(&["lua5.2", "lua5.3"])).ok(),
            Some("lua5.3")
        );
        assert_eq!(
            newest_host(&availability(&["luajit", "lua5.1"])).ok(),
            Some("lua5.1")
        );
        assert_eq!(newest_host(&availability(&["luajit"])).ok(), Some("luajit"));
        let none = newest_host(&availability(&["luanext"]))
            .err()
            .map(|e| e.to_string());
        let none = none.unwrap_or_default();
        assert!(
            none.contains("no lua5.4 host") && none.contains("`target`"),
            "{none}"
        );
    }
}
