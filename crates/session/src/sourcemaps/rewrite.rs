//! Rewrites Lua locations inside text (error messages, tracebacks, output):
//! `out/main.lua:10:` becomes `main.ts:7:`, `<out/main.lua:5>` becomes
//! `<main.ts:4>`, `(out/main.lua:5)` (reload warnings) `(main.ts:4)`.
//! Locations without a map stay as they are.

use std::path::{Path, PathBuf};

/// Characters that end a path when walking back from `.lua`.
fn ends_path(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '(' | '<' | '[' | '`')
}

/// Rewrites every `path.lua:LINE:`, `path.lua:LINE>` and `path.lua:LINE)`
/// in `text` for which
/// `lookup(path, line)` knows a source location.
pub fn rewrite_locations(
    text: &str,
    mut lookup: impl FnMut(&str, u32) -> Option<(PathBuf, u32)>,
    show: impl Fn(&Path) -> String,
) -> String {
    const MARK: &str = ".lua:";
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find(MARK) {
        let mark = search + found;
        let digits_start = mark + MARK.len();
        let digits_len = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let after = digits_start + digits_len;
        search = digits_start;
        let closed = matches!(text[after..].chars().next(), Some(':' | '>' | ')'));
        if digits_len == 0 || !closed {
            continue;
        }
        let start = text[..mark]
            .char_indices()
            .rev()
            .find(|&(_, c)| ends_path(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if start < copied {
            continue;
        }
        let lua = &text[start..mark + ".lua".len()];
        let Ok(line) = text[digits_start..after].parse::<u32>() else {
            continue;
        };
        if let Some((source, source_line)) = lookup(lua, line) {
            out.push_str(&text[copied..start]);
            out.push_str(&show(&source));
            out.push(':');
            out.push_str(&source_line.to_string());
            copied = after;
            search = after;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(lua: &str, line: u32) -> Option<(PathBuf, u32)> {
        (lua.ends_with("out/main.lua") || lua == "...t/main.lua")
            .then(|| (PathBuf::from("main.ts"), line * 10))
    }

    fn show(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn rewrites_messages_and_tracebacks() {
        let text = "out/main.lua:3: boom\nstack traceback:\n\t/abs/out/main.lua:4: in function <out/main.lua:2>\n\t[C]: in ?";
        assert_eq!(
            rewrite_locations(text, lookup, show),
            "main.ts:30: boom\nstack traceback:\n\tmain.ts:40: in function <main.ts:20>\n\t[C]: in ?"
        );
    }

    #[test]
    fn leaves_unmapped_and_malformed_locations() {
        for text in [
            "other.lua:3: boom",
            "out/main.lua: no line",
            "out/main.lua:12 no colon",
            "x.lua:",
            "[string \"out/main.lua\"]:1: eh",
            "",
        ] {
            assert_eq!(rewrite_locations(text, lookup, show), text);
        }
    }

    #[test]
    fn rewrites_truncated_chunk_names_and_quoted_paths() {
        assert_eq!(
            rewrite_locations("...t/main.lua:1: x", lookup, show),
            "main.ts:10: x"
        );
        assert_eq!(
            rewrite_locations("error in 'out/main.lua:2:'", lookup, show),
            "error in 'main.ts:20:'"
        );
        assert_eq!(
            rewrite_locations("M.step (/abs/out/main.lua:6) is running", lookup, show),
            "M.step (main.ts:60) is running"
        );
    }

    #[test]
    fn huge_line_numbers_are_left_alone() {
        let text = "out/main.lua:99999999999999999999: x";
        assert_eq!(rewrite_locations(text, lookup, show), text);
    }
}
