//! Which Lua files carry source maps, and the line lookups between them and
//! their sources. Lua files are found by scanning the program's directory
//! and `cwd` at launch (sources must be known before the first breakpoint),
//! and loaded on first sight when a stack shows one the scan missed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sourcemap::{load_for_lua, normalize, LoadedMap};

/// Directories the launch scan skips: dependencies and VCS data hold no
/// program code and can be huge.
const SKIPPED_DIRS: &[&str] = &["node_modules", ".git", "target", ".venv"];
/// Bounds of the launch scan, so a launch from `/` stays quick.
const SCAN_DEPTH: usize = 8;
const SCAN_FILES: usize = 5000;

/// A source line's place in the generated Lua.
#[derive(Debug, Clone, PartialEq)]
pub struct LuaPlace {
    /// The generated Lua file.
    pub lua: PathBuf,
    /// The source line actually used (the next with code, if the asked one
    /// compiled to nothing).
    pub source_line: u32,
    /// Generated lines holding its code.
    pub lua_lines: Vec<u32>,
}

/// Maps of the program's Lua files.
#[derive(Debug, Default)]
pub struct MapIndex {
    /// Where relative paths (from the host or the client) start.
    base: PathBuf,
    /// Every Lua file looked at; `None` when it has no (usable) map.
    by_lua: HashMap<PathBuf, Option<Arc<LoadedMap>>>,
    /// Source file -> the Lua files generated from it (a bundle may hold
    /// several sources; a source normally has one Lua file).
    by_source: HashMap<PathBuf, Vec<PathBuf>>,
    /// Problems met while loading maps, reported once to the user.
    pub problems: Vec<String>,
}

impl MapIndex {
    /// An index rooted at `base`, with the Lua files under `roots` loaded.
    pub fn scan(base: PathBuf, roots: &[PathBuf]) -> MapIndex {
        let mut index = MapIndex {
            base,
            ..Default::default()
        };
        let mut found = Vec::new();
        for root in roots {
            let root = index.absolute(root);
            collect_lua(&root, 0, &mut found);
        }
        found.sort();
        found.dedup();
        for lua in found {
            index.load(&lua);
        }
        index
    }

    /// `path` made absolute against the base and canonical where it exists
    /// (the host names files by their canonical paths).
    pub fn absolute(&self, path: &Path) -> PathBuf {
        let path = normalize(&self.base.join(path));
        path.canonicalize().unwrap_or(path)
    }

    fn load(&mut self, lua: &Path) -> Option<Arc<LoadedMap>> {
        if let Some(known) = self.by_lua.get(lua) {
            return known.clone();
        }
        let loaded = match load_for_lua(lua) {
            Ok(map) => map.map(|mut map| {
                for source in &mut map.sources {
                    if let Ok(canonical) = source.canonicalize() {
                        *source = canonical;
                    }
                }
                Arc::new(map)
            }),
            Err(e) => {
                self.problems
                    .push(format!("{}: source map ignored: {e}", lua.display()));
                None
            }
        };
        if let Some(map) = &loaded {
            for source in &map.sources {
                let luas = self.by_source.entry(source.clone()).or_default();
                if !luas.iter().any(|l| l == lua) {
                    luas.push(lua.to_path_buf());
                }
            }
        }
        self.by_lua.insert(lua.to_path_buf(), loaded.clone());
        loaded
    }

    /// Forgets what is known of `lua` and reads its map again (after its
    /// source was recompiled, its lines moved).
    pub fn refresh(&mut self, lua: &Path) {
        self.by_lua.remove(lua);
        for luas in self.by_source.values_mut() {
            luas.retain(|l| l != lua);
        }
        self.by_source.retain(|_, luas| !luas.is_empty());
        self.load(lua);
    }

    /// Loads the maps of the Lua files under `dir` (compiler output).
    pub fn add_dir(&mut self, dir: &Path) {
        let mut found = Vec::new();
        collect_lua(dir, 0, &mut found);
        for lua in found {
            let lua = self.absolute(&lua);
            self.refresh(&lua);
        }
    }

    /// The map of a Lua file as the host names it (relative, absolute, or
    /// Lua's `...tail` for long chunk names), loading it on first sight.
    pub fn map_of(&mut self, lua: &str) -> Option<(PathBuf, Arc<LoadedMap>)> {
        if let Some(tail) = lua.strip_prefix("...") {
            let matches: Vec<_> = self
                .by_lua
                .iter()
                .filter(|(path, map)| map.is_some() && path.to_string_lossy().ends_with(tail))
                .collect();
            return match matches.as_slice() {
                [(path, Some(map))] => Some(((*path).clone(), map.clone())),
                _ => None,
            };
        }
        if !lua.ends_with(".lua") {
            return None;
        }
        let path = self.absolute(Path::new(lua));
        let map = self.load(&path)?;
        Some((path, map))
    }

    /// Where generated `line` of `lua` came from: source path and line.
    pub fn to_source(&mut self, lua: &str, line: u32) -> Option<(PathBuf, u32)> {
        let (_, loaded) = self.map_of(lua)?;
        let at = loaded.map.original_line(line)?;
        Some((loaded.sources.get(at.source)?.clone(), at.line))
    }

    /// Whether `path` is a source some known map was generated from.
    pub fn is_source(&self, path: &Path) -> bool {
        self.by_source.contains_key(&self.absolute(path))
    }

    /// The Lua files generated from `source`.
    pub fn luas_of(&self, source: &Path) -> Vec<PathBuf> {
        self.by_source
            .get(&self.absolute(source))
            .cloned()
            .unwrap_or_default()
    }

    /// The lines of `source` that compiled to code in `lua`, sorted.
    pub fn lines_with_code(&mut self, source: &Path, lua: &Path) -> Vec<u32> {
        let source = self.absolute(source);
        let Some(loaded) = self.load(lua) else {
            return Vec::new();
        };
        let Some(index) = loaded.source_index(&source) else {
            return Vec::new();
        };
        let mut lines: Vec<u32> = loaded
            .map
            .lines
            .iter()
            .flatten()
            .filter_map(|segment| segment.original)
            .filter(|original| original.source == index)
            .filter_map(|original| original.line.checked_add(1))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// Where `line` of `source` runs in `lua`; `None` when no code at or
    /// after that line compiled into `lua`.
    pub fn to_lua(&mut self, source: &Path, lua: &Path, line: u32) -> Option<LuaPlace> {
        let source = self.absolute(source);
        let loaded = self.load(lua)?;
        let index = loaded.source_index(&source)?;
        let (source_line, lua_lines) = loaded.map.nearest_generated_lines(index, line)?;
        Some(LuaPlace {
            lua: lua.to_path_buf(),
            source_line,
            lua_lines,
        })
    }
}

fn collect_lua(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > SCAN_DEPTH || found.len() >= SCAN_FILES {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if found.len() >= SCAN_FILES {
            return;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        if kind.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| name == **s) {
                collect_lua(&path, depth + 1, found);
            }
        } else if path.extension().is_some_and(|e| e == "lua") {
            found.push(path);
        }
    }
}
