//! Source Map V3 for generated Lua: decoding (`mappings`, `sources`,
//! `sourcesContent`, `names`), finding the map of a Lua file (inline `data:`
//! URL, `sourceMappingURL` comment, or `<file>.map` beside it), and mapping
//! lines both ways. Lines in this API are 1-based, as in Lua and DAP.
//! Depends on serde only; the only I/O is reading a Lua file and its map
//! (`locate`).

mod locate;
mod vlq;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

pub use locate::{load_for_lua, map_url, LoadedMap};

/// Why a map could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The map is not JSON of the V3 shape.
    #[error("not a source map: {0}")]
    Json(String),
    /// The map says it is another version.
    #[error("unsupported source map version {0} (only 3)")]
    Version(u64),
    /// The `mappings` string is malformed.
    #[error("bad mappings: {0}")]
    Mappings(String),
    /// An inline `data:` URL cannot be decoded.
    #[error("bad data: URL: {0}")]
    DataUrl(String),
    /// Reading the Lua file or its map failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file that was read.
        path: String,
        /// The OS error, as text.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMap {
    version: u64,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    source_root: Option<String>,
    #[serde(default)]
    sources: Vec<Option<String>>,
    #[serde(default)]
    sources_content: Vec<Option<String>>,
    #[serde(default)]
    names: Vec<String>,
    mappings: String,
}

/// One decoded segment: a generated column and, when mapped, where it came
/// from. Lines and columns are 0-based here, as in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Column in the generated line.
    pub column: u32,
    /// Where it came from, if anywhere.
    pub original: Option<OriginalPosition>,
}

/// A position in a source, 0-based as stored in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginalPosition {
    /// Index into [`SourceMap::sources`].
    pub source: usize,
    /// 0-based line.
    pub line: u32,
    /// 0-based column.
    pub column: u32,
    /// Index into [`SourceMap::names`].
    pub name: Option<usize>,
}

/// A source line, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLine {
    /// Index into [`SourceMap::sources`].
    pub source: usize,
    /// 1-based line.
    pub line: u32,
}

/// A decoded V3 source map.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMap {
    /// The generated file the map describes, if named.
    pub file: Option<String>,
    /// Source names with `sourceRoot` applied (not yet resolved against the
    /// map's directory: see [`SourceMap::resolve_sources`]).
    pub sources: Vec<String>,
    /// The sources' text where the map carries it.
    pub sources_content: Vec<Option<String>>,
    /// Original identifiers.
    pub names: Vec<String>,
    /// Segments per generated line (index 0 is line 1), by column.
    pub lines: Vec<Vec<Segment>>,
}

fn field(value: i64, what: &str) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Mappings(format!("{what} {value} is out of range")))
}

fn add(base: i64, delta: i64, what: &str) -> Result<i64, Error> {
    base.checked_add(delta)
        .ok_or_else(|| Error::Mappings(format!("{what} overflows")))
}

impl SourceMap {
    /// Parses a map's JSON text.
    pub fn parse(json: &str) -> Result<SourceMap, Error> {
        let raw: RawMap = serde_json::from_str(json).map_err(|e| Error::Json(e.to_string()))?;
        if raw.version != 3 {
            return Err(Error::Version(raw.version));
        }
        let root = raw.source_root.unwrap_or_default();
        let sources: Vec<String> = raw
            .sources
            .into_iter()
            .map(|s| {
                let s = s.unwrap_or_default();
                if root.is_empty() || Path::new(&s).is_absolute() {
                    s
                } else if root.ends_with('/') {
                    format!("{root}{s}")
                } else {
                    format!("{root}/{s}")
                }
            })
            .collect();
        let lines = decode_mappings(&raw.mappings, sources.len(), raw.names.len())?;
        Ok(SourceMap {
            file: raw.file,
            sources,
            sources_content: raw.sources_content,
            names: raw.names,
            lines,
        })
    }

    /// The sources as paths, relative ones resolved against `base` (the
    /// directory of the map, or of the Lua file for an inline map) and
    /// normalised lexically (`a/../b` -> `b`), so they compare with the
    /// paths a client sends.
    pub fn resolve_sources(&self, base: &Path) -> Vec<PathBuf> {
        self.sources
            .iter()
            .map(|s| {
                let s = s.strip_prefix("file://").unwrap_or(s);
                normalize(&base.join(s))
            })
            .collect()
    }

    /// Where generated `line` came from: its first mapped segment, or, for a
    /// line without segments, the last mapping before it (a V3 mapping holds
    /// until the next one). `None` before the first mapping or past the end.
    pub fn original_line(&self, line: u32) -> Option<SourceLine> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        if index >= self.lines.len() {
            return None;
        }
        if let Some(first) = self.lines[index].iter().find_map(|s| s.original) {
            return Some(first.into());
        }
        self.lines[..index]
            .iter()
            .rev()
            .find_map(|segments| segments.iter().rev().find_map(|s| s.original))
            .map(Into::into)
    }

    /// Every source line generated `line` holds code of (a statement split
    /// over several source lines compiles to one Lua line).
    pub fn original_lines(&self, line: u32) -> Vec<SourceLine> {
        let mut found: Vec<SourceLine> = line
            .checked_sub(1)
            .and_then(|i| self.lines.get(usize::try_from(i).ok()?))
            .map(|segments| {
                segments
                    .iter()
                    .filter_map(|s| s.original.map(SourceLine::from))
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by_key(|l| (l.source, l.line));
        found.dedup();
        found
    }

    /// Generated lines holding code of source line `line` (1-based), sorted.
    /// Empty when that line compiled to nothing.
    pub fn generated_lines(&self, source: usize, line: u32) -> Vec<u32> {
        let Some(wanted) = line.checked_sub(1) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (index, segments) in self.lines.iter().enumerate() {
            let hit = segments.iter().any(|s| {
                s.original
                    .is_some_and(|o| o.source == source && o.line == wanted)
            });
            if hit {
                if let Ok(generated) = u32::try_from(index + 1) {
                    found.push(generated);
                }
            }
        }
        found
    }

    /// Like [`generated_lines`](Self::generated_lines), but a source line
    /// that compiled to nothing moves to the next one that did, as a Lua
    /// breakpoint moves to the next line with code. Returns the source line
    /// used and its generated lines; `None` past the last mapped line.
    pub fn nearest_generated_lines(&self, source: usize, line: u32) -> Option<(u32, Vec<u32>)> {
        let wanted = line.checked_sub(1)?;
        let next = self
            .lines
            .iter()
            .flatten()
            .filter_map(|s| s.original)
            .filter(|o| o.source == source && o.line >= wanted)
            .map(|o| o.line)
            .min()?;
        let used = next.checked_add(1)?;
        Some((used, self.generated_lines(source, used)))
    }

    /// Original identifiers named by the segments of generated `line`.
    pub fn names_on_line(&self, line: u32) -> Vec<&str> {
        line.checked_sub(1)
            .and_then(|i| self.lines.get(usize::try_from(i).ok()?))
            .map(|segments| {
                segments
                    .iter()
                    .filter_map(|s| s.original?.name)
                    .filter_map(|n| self.names.get(n).map(String::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The identifier starting at `column` (UTF-16 code units, as V3 counts)
/// of `line`, if one starts there.
fn identifier_at(line: &str, column: u32) -> Option<&str> {
    let mut units = 0u32;
    let start = line.char_indices().find_map(|(at, c)| {
        let here = units;
        units = units.saturating_add(u32::try_from(c.len_utf16()).unwrap_or(2));
        (here == column).then_some(at)
    })?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let word = &rest[..end];
    let starts_well = word
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well.then_some(word)
}

impl SourceMap {
    /// Generated identifiers whose source spelled them differently, read
    /// from segments that carry a name (`____end` -> `end` for
    /// TypeScriptToLua, which renames Lua keywords). `generated` is the
    /// generated file's text. An identifier named two ways is left out: no
    /// guess.
    pub fn renames(&self, generated: &str) -> BTreeMap<String, String> {
        let mut found: BTreeMap<&str, Option<&str>> = BTreeMap::new();
        for (segments, line) in self.lines.iter().zip(generated.lines()) {
            for segment in segments {
                let Some(name) = segment
                    .original
                    .and_then(|o| o.name)
                    .and_then(|n| self.names.get(n))
                else {
                    continue;
                };
                let Some(word) = identifier_at(line, segment.column) else {
                    continue;
                };
                if word == name || name.is_empty() {
                    continue;
                }
                let entry = found.entry(word).or_insert(Some(name));
                if *entry != Some(name.as_str()) {
                    *entry = None;
                }
            }
        }
        found
            .into_iter()
            .filter_map(|(word, name)| Some((word.to_owned(), name?.to_owned())))
            .collect()
    }
}

impl From<OriginalPosition> for SourceLine {
    fn from(o: OriginalPosition) -> SourceLine {
        SourceLine {
            source: o.source,
            line: o.line.saturating_add(1),
        }
    }
}

fn decode_mappings(
    mappings: &str,
    source_count: usize,
    name_count: usize,
) -> Result<Vec<Vec<Segment>>, Error> {
    let mut lines = Vec::new();
    // Source, line, column and name are deltas across the whole string; the
    // generated column restarts on every line.
    let (mut source, mut line, mut column, mut name) = (0i64, 0i64, 0i64, 0i64);
    for (line_index, text) in mappings.split(';').enumerate() {
        let mut segments = Vec::new();
        let mut generated = 0i64;
        for segment in text.split(',').filter(|s| !s.is_empty()) {
            let values = vlq::decode_segment(segment)?;
            let at = |what: &str| format!("{what} (generated line {})", line_index + 1);
            generated = add(generated, values[0], "column")?;
            let original = match values.len() {
                1 => None,
                4 | 5 => {
                    source = add(source, values[1], "source index")?;
                    line = add(line, values[2], "line")?;
                    column = add(column, values[3], "column")?;
                    let index = usize::try_from(source).ok().filter(|&i| i < source_count);
                    let index = index.ok_or_else(|| {
                        Error::Mappings(at(&format!("source index {source} out of range")))
                    })?;
                    let name_index = if values.len() == 5 {
                        name = add(name, values[4], "name index")?;
                        let n = usize::try_from(name).ok().filter(|&n| n < name_count);
                        Some(n.ok_or_else(|| {
                            Error::Mappings(at(&format!("name index {name} out of range")))
                        })?)
                    } else {
                        None
                    };
                    Some(OriginalPosition {
                        source: index,
                        line: field(line, "line")?,
                        column: field(column, "column")?,
                        name: name_index,
                    })
                }
                n => {
                    return Err(Error::Mappings(at(&format!(
                        "segment '{segment}' has {n} fields (1, 4 or 5)"
                    ))))
                }
            };
            segments.push(Segment {
                column: field(generated, "generated column")?,
                original,
            });
        }
        segments.sort_by_key(|s| s.column);
        lines.push(segments);
    }
    Ok(lines)
}

/// Removes `.` and resolves `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(mappings: &str) -> SourceMap {
        let json = format!(
            r#"{{"version":3,"sources":["a.ts","b.ts"],"names":["x","y"],"mappings":"{mappings}"}}"#
        );
        SourceMap::parse(&json).expect("test map parses")
    }

    #[test]
    fn lines_map_both_ways_with_gaps() {
        // gen 1: nothing; gen 2: a.ts:1; gen 3: a.ts:3 and a.ts:4; gen 4: b.ts:1
        let m = map(";AAAA;AAEA,IACA;ACHA");
        assert_eq!(m.original_line(1), None);
        assert_eq!(m.original_line(2), Some(SourceLine { source: 0, line: 1 }));
        assert_eq!(m.original_line(3), Some(SourceLine { source: 0, line: 3 }));
        assert_eq!(m.original_line(4), Some(SourceLine { source: 1, line: 1 }));
        assert_eq!(m.original_line(5), None);
        assert_eq!(m.original_lines(3).len(), 2);
        assert_eq!(m.generated_lines(0, 4), vec![3]);
        assert!(m.generated_lines(0, 2).is_empty());
        assert_eq!(m.nearest_generated_lines(0, 2), Some((3, vec![3])));
        assert_eq!(m.nearest_generated_lines(0, 9), None);
        assert_eq!(m.nearest_generated_lines(1, 1), Some((1, vec![4])));
    }

    #[test]
    fn unmapped_line_takes_the_mapping_before_it() {
        let m = map("AAAA;;A;AACA");
        assert_eq!(m.original_line(2), Some(SourceLine { source: 0, line: 1 }));
        // A one-field segment maps nothing; the mapping before still holds.
        assert_eq!(m.original_line(3), Some(SourceLine { source: 0, line: 1 }));
        assert_eq!(m.original_line(4), Some(SourceLine { source: 0, line: 2 }));
    }

    #[test]
    fn one_source_line_may_become_several_lua_lines() {
        let m = map("AAAA;AAAA;AACA;AADA");
        assert_eq!(m.generated_lines(0, 1), vec![1, 2, 4]);
    }

    #[test]
    fn names_are_read_from_five_field_segments() {
        let m = map("AAAAA,EAAAC");
        assert_eq!(m.names_on_line(1), vec!["x", "y"]);
    }

    #[test]
    fn renamed_identifiers_come_from_named_segments() {
        // TypeScriptToLua's own output for `function area(end, local, $x)`
        // and `const repeat = end * local;`.
        let json = r#"{"version":3,"sources":["a.ts"],"names":["end","local","$x","repeat"],"mappings":";AACA,SAAS,KAAKA,SAAaC,WAAeC;AAClC,UAAAC,aAAS,AAAAH,UAAMC"}"#;
        let lua = "--[[ header ]]\nfunction area(____end, ____local, _____24x)\n    local ____repeat = ____end * ____local\n";
        let m = SourceMap::parse(json).expect("parses");
        let renames = m.renames(lua);
        let expected: Vec<(&str, &str)> = vec![
            ("_____24x", "$x"),
            ("____end", "end"),
            ("____local", "local"),
            ("____repeat", "repeat"),
        ];
        let got: Vec<(&str, &str)> = renames
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn renames_skip_same_names_ambiguity_and_columns_off_an_identifier() {
        // names x, y. Line 1 `a b a`: `a` is x at 0 and y at 4 (named two
        // ways), `b` is x. Line 2 `b é x`: `b` is x again, `x` (UTF-16
        // column 4) is spelled as its name, column 9 is past the end.
        let m = map("AAAAA,EAAAA,EAAAC;AAAAD,IAAAA,KAAAA");
        let renames = m.renames("a b a\nb é x\n");
        assert_eq!(renames.get("a"), None, "named two ways");
        assert_eq!(renames.get("b").map(String::as_str), Some("x"));
        assert_eq!(renames.get("x"), None, "spelled the same");
        assert_eq!(identifier_at("é x", 2), Some("x"));
        assert_eq!(identifier_at("é x", 1), None);
        assert_eq!(identifier_at("1abc", 0), None);
        assert_eq!(identifier_at("ab", 9), None);
    }

    #[test]
    fn source_root_applies_and_sources_resolve() {
        let m = SourceMap::parse(
            r#"{"version":3,"sourceRoot":"src","sources":["../x.ts","/abs/y.ts"],"mappings":""}"#,
        )
        .expect("parses");
        let resolved = m.resolve_sources(Path::new("/p/out"));
        assert_eq!(resolved[0], PathBuf::from("/p/out/x.ts"));
        assert_eq!(resolved[1], PathBuf::from("/abs/y.ts"));
    }

    #[test]
    fn bad_maps_say_what_is_wrong() {
        let e = SourceMap::parse(r#"{"version":2,"sources":[],"mappings":""}"#);
        assert!(matches!(e, Err(Error::Version(2))));
        assert!(matches!(SourceMap::parse("{"), Err(Error::Json(_))));
        let e = SourceMap::parse(r#"{"version":3,"sources":["a"],"mappings":"ACAA"}"#);
        assert!(matches!(e, Err(Error::Mappings(m)) if m.contains("source index 1")));
        let e = SourceMap::parse(r#"{"version":3,"sources":["a"],"mappings":"AA"}"#);
        assert!(matches!(e, Err(Error::Mappings(m)) if m.contains("2 fields")));
        let e = SourceMap::parse(r#"{"version":3,"sources":["a"],"mappings":"AAAAC"}"#);
        assert!(matches!(e, Err(Error::Mappings(m)) if m.contains("name index")));
        let e = SourceMap::parse(r#"{"version":3,"sources":["a"],"mappings":"AAHA"}"#);
        assert!(matches!(e, Err(Error::Mappings(m)) if m.contains("line -3")));
    }
}
