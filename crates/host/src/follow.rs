//! Breakpoints follow their code across a reload: the lines of a file's
//! breakpoints refer to its text when they were set; after a reload the
//! two texts are compared line by line (common prefix and suffix, then a
//! longest common subsequence of the rest) and each breakpoint moves with
//! its statement, keeping its id, condition, hit count and log message.
//! A breakpoint whose own line was edited keeps its place relative to the
//! nearest unchanged line above, then goes to the next line with code.

use std::path::Path;

use dap::types::BreakpointEventBody;
use host_protocol::HostEvent;

use crate::breakpoints::canonical;
use crate::debuggee::Debuggee;
use crate::{function_breakpoints, hooks, io, native};

/// After a successful reload of `path` (its new text `source`, or the
/// file's): moves its breakpoints and binds its function breakpoints
/// again, telling the client about each one that moved.
pub fn after_reload(debuggee: &mut Debuggee, path: &str, source: Option<&str>) {
    if path.is_empty() {
        return;
    }
    let path = canonical(Path::new(path));
    let text = match source {
        Some(text) => text.to_string(),
        None => match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(_) => return,
        },
    };
    let code = match source {
        Some(text) => code_lines_of(text),
        None => native::code_lines(&path),
    };
    let Ok(code) = code else {
        return;
    };
    let mut moved = debuggee.bps.follow(&path, &text, &code);
    moved.extend(function_breakpoints::rebind(debuggee, &path));
    if moved.is_empty() {
        return;
    }
    hooks::breakpoints_changed(&debuggee.bps);
    for breakpoint in moved {
        io::event(HostEvent::Breakpoint(BreakpointEventBody {
            reason: "changed".into(),
            breakpoint,
        }));
    }
}

/// The lines with code of a source text that is not on disk (compiled from
/// a scratch copy; nothing runs).
fn code_lines_of(text: &str) -> Result<Vec<i32>, String> {
    let scratch = std::env::temp_dir().join(format!(
        "hotreload-lines-{}-{}.lua",
        std::process::id(),
        SCRATCH.with(|n| {
            n.set(n.get() + 1);
            n.get()
        })
    ));
    std::fs::write(&scratch, text).map_err(|e| e.to_string())?;
    let lines = native::code_lines(&scratch);
    let _ = std::fs::remove_file(&scratch);
    lines
}

thread_local! {
    static SCRATCH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Beyond this many cells (changed lines old x new), only the common prefix
/// and suffix are matched.
const MAX_CELLS: usize = 4_000_000;

/// For each old line (index 0 = line 1), its new line index when the line
/// is unchanged.
pub fn line_map(old: &[&str], new: &[&str]) -> Vec<Option<usize>> {
    let mut map = vec![None; old.len()];
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    for (i, m) in map.iter_mut().enumerate().take(prefix) {
        *m = Some(i);
    }
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    for k in 0..suffix {
        map[old.len() - 1 - k] = Some(new.len() - 1 - k);
    }
    let a = &old[prefix..old.len() - suffix];
    let b = &new[prefix..new.len() - suffix];
    if a.is_empty() || b.is_empty() || a.len().saturating_mul(b.len()) > MAX_CELLS {
        return map;
    }
    // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            map[prefix + i] = Some(prefix + j);
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    map
}

/// The new 1-based line for old line `line`: its own when unchanged, else
/// the same distance below the nearest unchanged line above it.
pub fn moved_line(map: &[Option<usize>], line: i64) -> i64 {
    let Some(index) = usize::try_from(line - 1).ok().filter(|&i| i < map.len()) else {
        return line;
    };
    if let Some(new) = map[index] {
        return new as i64 + 1;
    }
    match (0..index).rev().find_map(|i| map[i].map(|n| (i, n))) {
        Some((old_anchor, new_anchor)) => (new_anchor + (index - old_anchor)) as i64 + 1,
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn lines_added_above_move_everything_below() {
        let old = lines("a\nb\nc\nd");
        let new = lines("x\ny\na\nb\nc\nd");
        let map = line_map(&old, &new);
        assert_eq!(map, vec![Some(2), Some(3), Some(4), Some(5)]);
        assert_eq!(moved_line(&map, 3), 5);
    }

    #[test]
    fn edits_in_the_middle_keep_the_rest() {
        let old = lines("f\n  a\n  b\nend\ng\n  c\nend");
        let new = lines("f\n  a\n  added\n  b changed\nend\ng\n  c\nend");
        let map = line_map(&old, &new);
        assert_eq!(moved_line(&map, 2), 2);
        assert_eq!(moved_line(&map, 3), 3, "edited: below its anchor");
        assert_eq!(moved_line(&map, 6), 7);
        assert_eq!(moved_line(&map, 99), 99, "out of range: unchanged");
        assert_eq!(moved_line(&map, 0), 0);
    }

    #[test]
    fn removed_lines_pull_the_rest_up() {
        let old = lines("a\nb\nc\nd\ne");
        let new = lines("a\nd\ne");
        let map = line_map(&old, &new);
        assert_eq!(map, vec![Some(0), None, None, Some(1), Some(2)]);
        assert_eq!(moved_line(&map, 5), 3);
    }
}
