//! Breakpoints per canonical file path: placing them on lines that hold code,
//! and the pure rules of hit conditions and log messages.

use host_protocol::{ErrorKind, HostError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use dap::types::{Breakpoint, SetBreakpointsArguments, SetBreakpointsResponseBody, Source};

use crate::native;

/// One placed breakpoint.
#[derive(Debug, Clone)]
pub struct Bp {
    /// Id reported to the client.
    pub id: i64,
    /// Stop only when this expression is truthy.
    pub condition: Option<String>,
    /// Stop only when the hit count satisfies this (`5`, `>= 5`, `% 2`, ...).
    pub hit_condition: Option<String>,
    /// Print this (with `{expr}` interpolated) instead of stopping.
    pub log_message: Option<String>,
    /// How many times the line was reached with the condition true.
    pub hits: u64,
    /// A function breakpoint: stop only in the function defined on this
    /// line (not in the chunk defining it, which may share the line).
    pub function_line: Option<i32>,
}

/// All breakpoints of the session.
#[derive(Debug, Default)]
pub struct Breakpoints {
    by_file: HashMap<PathBuf, BTreeMap<i32, Bp>>,
    /// Where function breakpoints are bound, per file and first line.
    functions: HashMap<PathBuf, BTreeMap<i32, Bp>>,
    /// The function breakpoints as requested.
    pub wanted: Vec<crate::function_breakpoints::Wanted>,
    /// Each file's text when its breakpoints were set: what their lines
    /// refer to (see `follow`).
    texts: HashMap<PathBuf, String>,
    /// Every line that holds a breakpoint in some file: a cheap first test.
    lines: LineSet,
    next_id: i64,
    /// Bumped on every change, so caches of "does this file have any" expire.
    pub generation: u64,
}

/// The canonical form of a path, used as the key of a file's breakpoints.
pub fn canonical(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    absolute.canonicalize().unwrap_or(absolute)
}

impl Breakpoints {
    /// Replaces the breakpoints of one source, verifying each requested line.
    pub fn set(
        &mut self,
        args: &SetBreakpointsArguments,
    ) -> Result<SetBreakpointsResponseBody, HostError> {
        let Some(raw_path) = args.source.path.as_deref() else {
            return Err(HostError::invalid("setBreakpoints needs source.path"));
        };
        let path = canonical(Path::new(raw_path));
        let requested: Vec<dap::types::SourceBreakpoint> = if args.breakpoints.is_empty() {
            args.lines
                .iter()
                .flatten()
                .map(|&line| dap::types::SourceBreakpoint {
                    line,
                    ..Default::default()
                })
                .collect()
        } else {
            args.breakpoints.clone()
        };
        let code = native::code_lines(&path);
        let source = Source {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            path: Some(path.to_string_lossy().into_owned()),
            source_reference: None,
        };
        let mut placed = BTreeMap::new();
        let mut answers = Vec::new();
        for want in &requested {
            let id = self.next_id();
            let line = match &code {
                Err(message) => Err(message.clone()),
                Ok(lines) => place(lines, want.line)
                    .ok_or_else(|| format!("no code at or after line {}", want.line)),
            };
            answers.push(match line {
                Ok(line) => {
                    placed.entry(line as i32).or_insert(Bp {
                        id,
                        condition: non_empty(&want.condition),
                        hit_condition: non_empty(&want.hit_condition),
                        log_message: non_empty(&want.log_message),
                        hits: 0,
                        function_line: None,
                    });
                    Breakpoint {
                        id: Some(id),
                        verified: true,
                        message: None,
                        source: Some(source.clone()),
                        line: Some(line),
                    }
                }
                Err(message) => Breakpoint {
                    id: Some(id),
                    verified: false,
                    message: Some(message),
                    source: Some(source.clone()),
                    line: Some(want.line),
                },
            });
        }
        if placed.is_empty() {
            self.by_file.remove(&path);
            self.texts.remove(&path);
        } else {
            if let Ok(text) = std::fs::read_to_string(&path) {
                self.texts.insert(path.clone(), text);
            }
            self.by_file.insert(path, placed);
        }
        self.changed();
        Ok(SetBreakpointsResponseBody {
            breakpoints: answers,
        })
    }

    fn changed(&mut self) {
        self.lines = LineSet::from_lines(
            self.by_file
                .values()
                .chain(self.functions.values())
                .flat_map(|m| m.keys().copied()),
        );
        self.generation += 1;
    }

    /// Moves the line breakpoints of `path` from the text they were set in
    /// to `new_text` (with code on `code_lines`); returns the ones that
    /// moved, as the client should now show them.
    pub fn follow(&mut self, path: &Path, new_text: &str, code_lines: &[i32]) -> Vec<Breakpoint> {
        let (Some(old_text), Some(old)) = (self.texts.get(path), self.by_file.remove(path)) else {
            return Vec::new();
        };
        let old_lines: Vec<&str> = old_text.lines().collect();
        let new_lines: Vec<&str> = new_text.lines().collect();
        let map = crate::follow::line_map(&old_lines, &new_lines);
        let mut placed = BTreeMap::new();
        let mut moved = Vec::new();
        for (line, bp) in old {
            let target = crate::follow::moved_line(&map, i64::from(line));
            let new_line = place(code_lines, target).unwrap_or(target);
            let Ok(new_line) = i32::try_from(new_line) else {
                continue;
            };
            if new_line != line {
                moved.push(Breakpoint {
                    id: Some(bp.id),
                    verified: true,
                    message: None,
                    source: Some(crate::sources::file_source(path)),
                    line: Some(i64::from(new_line)),
                });
            }
            placed.entry(new_line).or_insert(bp);
        }
        self.by_file.insert(path.to_path_buf(), placed);
        self.texts.insert(path.to_path_buf(), new_text.to_string());
        self.changed();
        moved
    }

    /// Drops the function breakpoints bound in `path` (to bind them again).
    pub fn unbind_functions(&mut self, path: &Path) {
        if self.functions.remove(path).is_some() {
            self.changed();
        }
    }

    /// A fresh breakpoint id.
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Drops every function breakpoint.
    pub fn clear_functions(&mut self) {
        self.wanted.clear();
        self.functions.clear();
        self.changed();
    }

    /// Binds function breakpoint `w` at `entry` of `path`, for the function
    /// defined on line `def`.
    pub fn add_function(
        &mut self,
        path: &Path,
        entry: i32,
        def: i32,
        w: &crate::function_breakpoints::Wanted,
    ) {
        self.functions
            .entry(path.to_path_buf())
            .or_default()
            .entry(entry)
            .or_insert(Bp {
                id: w.id,
                condition: w.condition.clone(),
                hit_condition: w.hit_condition.clone(),
                log_message: None,
                hits: 0,
                function_line: Some(def),
            });
        self.changed();
    }

    /// Whether any breakpoint exists.
    pub fn any(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Whether some file has a breakpoint on `line` (cheap pre-check).
    pub fn maybe_line(&self, line: i32) -> bool {
        self.lines.contains(line)
    }

    /// The lines holding a breakpoint in some file.
    pub fn line_set(&self) -> &LineSet {
        &self.lines
    }

    /// Whether the file has breakpoints.
    pub fn has_file(&self, path: &Path) -> bool {
        self.by_file.contains_key(path) || self.functions.contains_key(path)
    }

    /// The breakpoint at `line` of `path` (a line breakpoint before a
    /// function breakpoint on the same line).
    pub fn get_mut(&mut self, path: &Path, line: i32) -> Option<&mut Bp> {
        if self
            .by_file
            .get(path)
            .is_some_and(|m| m.contains_key(&line))
        {
            return self.by_file.get_mut(path)?.get_mut(&line);
        }
        self.functions.get_mut(path)?.get_mut(&line)
    }
}

/// `breakpointLocations`: the lines of `line..=endLine` (default: `line`)
/// that hold code, where a breakpoint stays where it is put.
pub fn locations(
    args: &dap::types::BreakpointLocationsArguments,
) -> Result<dap::types::BreakpointLocationsResponseBody, HostError> {
    let Some(raw_path) = args.source.path.as_deref() else {
        return Err(HostError::invalid("breakpointLocations needs source.path"));
    };
    let path = canonical(Path::new(raw_path));
    if !path.is_file() {
        let shown = path.display().to_string();
        return Err(
            HostError::new(ErrorKind::NotFound, format!("{shown}: no such file")).at(shown, None),
        );
    }
    let last = args.end_line.unwrap_or(args.line).max(args.line);
    // The compiler's message: the file does not load (syntax, or unreadable).
    let mut lines: Vec<i64> = native::code_lines(&path)
        .map_err(|e| HostError::new(ErrorKind::Compile, e).at(path.display().to_string(), None))?
        .into_iter()
        .map(i64::from)
        .filter(|l| (args.line..=last).contains(l))
        .collect();
    lines.sort_unstable();
    lines.dedup();
    Ok(dap::types::BreakpointLocationsResponseBody {
        breakpoints: lines
            .into_iter()
            .map(|line| dap::types::BreakpointLocation { line })
            .collect(),
    })
}

/// A set of line numbers with a one-instruction membership test (a bitmap
/// for ordinary line numbers), for the line hook's hot path.
#[derive(Debug, Default, Clone)]
pub struct LineSet {
    bits: Vec<u64>,
    large: HashSet<i32>,
}

/// Lines below this go in the bitmap (64 KiB of bits at most).
const BITMAP_LINES: i32 = 1 << 19;

impl LineSet {
    /// The set of these lines.
    pub fn from_lines(lines: impl IntoIterator<Item = i32>) -> LineSet {
        let mut set = LineSet::default();
        for line in lines {
            if (0..BITMAP_LINES).contains(&line) {
                let word = (line / 64) as usize;
                if set.bits.len() <= word {
                    set.bits.resize(word + 1, 0);
                }
                set.bits[word] |= 1 << (line % 64);
            } else {
                set.large.insert(line);
            }
        }
        set
    }

    /// Membership.
    #[inline]
    pub fn contains(&self, line: i32) -> bool {
        if (0..BITMAP_LINES).contains(&line) {
            self.bits
                .get((line / 64) as usize)
                .is_some_and(|w| w & (1 << (line % 64)) != 0)
        } else {
            self.large.contains(&line)
        }
    }

    /// The set as a byte bitmap (bit `l % 8` of byte `l / 8`), or `None`
    /// when a line lies outside the bitmap's range.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        if !self.large.is_empty() {
            return None;
        }
        Some(self.bits.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// No line at all.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0) && self.large.is_empty()
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

/// The first line at or after `want` that holds code.
pub fn place(code_lines: &[i32], want: i64) -> Option<i64> {
    code_lines.iter().map(|&l| l as i64).find(|&l| l >= want)
}

/// Whether a breakpoint with this hit condition stops on hit number `hits`.
/// `N` and `== N` stop on the Nth hit, `>= N`, `> N`, `<= N`, `< N` compare,
/// `% N` stops on every Nth. An unreadable condition always stops.
pub fn hit_matches(condition: &str, hits: u64) -> bool {
    let c = condition.trim();
    let (op, rest) = ["==", ">=", "<=", ">", "<", "%", "="]
        .iter()
        .find_map(|op| c.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("==", c));
    let Ok(n) = rest.trim().parse::<u64>() else {
        return true;
    };
    match op {
        ">=" => hits >= n,
        "<=" => hits <= n,
        ">" => hits > n,
        "<" => hits < n,
        "%" => n != 0 && hits.is_multiple_of(n),
        _ => hits == n,
    }
}

/// A log message split into literal text and `{expression}` parts.
#[derive(Debug, PartialEq, Eq)]
pub enum LogPart {
    Text(String),
    Expr(String),
}

/// Splits a log message; `{{` and `}}` stand for literal braces, an
/// unclosed `{` is literal text.
pub fn parse_log_message(message: &str) -> Vec<LogPart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut expr = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    expr.push(c);
                }
                if closed {
                    if !text.is_empty() {
                        parts.push(LogPart::Text(std::mem::take(&mut text)));
                    }
                    parts.push(LogPart::Expr(expr));
                } else {
                    text.push('{');
                    text.push_str(&expr);
                }
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(LogPart::Text(text));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_on_the_next_line_with_code() {
        let lines = [1, 2, 5, 9];
        assert_eq!(place(&lines, 2), Some(2));
        assert_eq!(place(&lines, 3), Some(5));
        assert_eq!(place(&lines, 10), None);
    }

    #[test]
    fn line_sets() {
        let set = LineSet::from_lines([1, 64, 700, 1 << 20, -3]);
        for line in [1, 64, 700, 1 << 20, -3] {
            assert!(set.contains(line), "{line}");
        }
        for line in [0, 2, 63, 65, 699, 5000, (1 << 20) + 1] {
            assert!(!set.contains(line), "{line}");
        }
        assert!(LineSet::from_lines([]).is_empty() && !set.is_empty());
        assert_eq!(set.to_bytes(), None, "line 1 << 20 does not fit");
        let bytes = LineSet::from_lines([1, 10]).to_bytes().unwrap_or_default();
        assert_eq!(&bytes[..2], &[0b10, 0b100]);
    }

    #[test]
    fn hit_conditions() {
        assert!(hit_matches("3", 3));
        assert!(!hit_matches("3", 2));
        assert!(hit_matches(">= 2", 2) && hit_matches(">=2", 5) && !hit_matches(">=2", 1));
        assert!(hit_matches("> 2", 3) && !hit_matches("> 2", 2));
        assert!(hit_matches("% 2", 4) && !hit_matches("%2", 3));
        assert!(hit_matches("== 1", 1) && hit_matches("<3", 2) && !hit_matches("<= 1", 2));
        assert!(hit_matches("nonsense", 1));
    }

    #[test]
    fn log_messages() {
        assert_eq!(
            parse_log_message("x = {x}, {{literal}} {t.y}!"),
            vec![
                LogPart::Text("x = ".into()),
                LogPart::Expr("x".into()),
                LogPart::Text(", {literal} ".into()),
                LogPart::Expr("t.y".into()),
                LogPart::Text("!".into()),
            ]
        );
        assert_eq!(
            parse_log_message("open {x"),
            vec![LogPart::Text("open {x".into())]
        );
    }
}
