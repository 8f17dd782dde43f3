//! Finding the map of a generated Lua file: a `sourceMappingURL` comment
//! (an inline `data:` URL or a path relative to the Lua file), else
//! `<file>.map` beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{normalize, vlq, Error, SourceMap};

/// A map together with where its sources are.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedMap {
    /// The decoded map.
    pub map: SourceMap,
    /// Its sources, resolved to paths (same order as `map.sources`).
    pub sources: Vec<PathBuf>,
    /// Where the map was read from (`None` when inline).
    pub map_path: Option<PathBuf>,
    /// Identifiers the generated Lua spells differently from its source
    /// (generated -> source), see [`SourceMap::renames`].
    pub renames: BTreeMap<String, String>,
}

impl LoadedMap {
    /// The index of `path` among the sources, compared after lexical
    /// normalisation.
    pub fn source_index(&self, path: &Path) -> Option<usize> {
        let wanted = normalize(path);
        self.sources.iter().position(|s| *s == wanted)
    }
}

/// The URL of the last `sourceMappingURL` comment in Lua text (`--#
/// sourceMappingURL=...`, also `--@` and `-- #` as other compilers write it).
pub fn map_url(lua: &str) -> Option<&str> {
    lua.lines().rev().find_map(|line| {
        let rest = line.trim_start().strip_prefix("--")?.trim_start();
        let rest = rest
            .strip_prefix('#')
            .or_else(|| rest.strip_prefix('@'))?
            .trim_start();
        let url = rest.strip_prefix("sourceMappingURL=")?.trim();
        (!url.is_empty()).then_some(url)
    })
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn decode_data_url(url: &str) -> Result<String, Error> {
    let (header, payload) = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(','))
        .ok_or_else(|| Error::DataUrl("no ',' after the media type".into()))?;
    if !header.split(';').any(|part| part == "base64") {
        return Err(Error::DataUrl(
            "only base64 data: URLs are supported".into(),
        ));
    }
    let bytes = vlq::decode_base64(payload)?;
    String::from_utf8(bytes).map_err(|_| Error::DataUrl("the map is not UTF-8".into()))
}

/// The map of the Lua file at `lua_path`, or `None` when it has none.
/// A map that is named but unreadable or malformed is an error: the user
/// asked for source maps and should hear why this file has none.
pub fn load_for_lua(lua_path: &Path) -> Result<Option<LoadedMap>, Error> {
    let lua = read(lua_path)?;
    let dir = lua_path.parent().unwrap_or(Path::new(""));
    let (json, map_path) = match map_url(&lua) {
        Some(url) if url.starts_with("data:") => (decode_data_url(url)?, None),
        Some(url) => {
            let path = dir.join(url.strip_prefix("file://").unwrap_or(url));
            (read(&path)?, Some(path))
        }
        None => {
            let mut beside = lua_path.as_os_str().to_owned();
            beside.push(".map");
            let path = PathBuf::from(beside);
            if !path.is_file() {
                return Ok(None);
            }
            (read(&path)?, Some(path))
        }
    };
    let map = SourceMap::parse(&json).map_err(|e| match &map_path {
        Some(p) => Error::Io {
            path: p.display().to_string(),
            reason: e.to_string(),
        },
        None => e,
    })?;
    let base = map_path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(dir)
        .to_path_buf();
    let sources = map.resolve_sources(&base);
    let renames = map.renames(&lua);
    Ok(Some(LoadedMap {
        map,
        sources,
        map_path,
        renames,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_comment_in_its_spellings() {
        assert_eq!(
            map_url("x = 1\n--# sourceMappingURL=a.lua.map\n"),
            Some("a.lua.map")
        );
        assert_eq!(map_url("--@ sourceMappingURL=b.map"), Some("b.map"));
        assert_eq!(map_url("  -- # sourceMappingURL=c.map  "), Some("c.map"));
        assert_eq!(map_url("-- sourceMappingURL=c.map"), None);
        assert_eq!(map_url("x = '--# sourceMappingURL=' .. y"), None);
        assert_eq!(
            map_url("--# sourceMappingURL=a\n--# sourceMappingURL=b"),
            Some("b")
        );
    }

    #[test]
    fn data_urls_need_base64() {
        assert!(
            matches!(decode_data_url("data:application/json,{}"), Err(Error::DataUrl(m)) if m.contains("base64"))
        );
        assert!(matches!(
            decode_data_url("data:application/json"),
            Err(Error::DataUrl(_))
        ));
        assert_eq!(
            decode_data_url("data:application/json;charset=utf-8;base64,e30=").ok(),
            Some("{}".to_owned())
        );
    }
}
