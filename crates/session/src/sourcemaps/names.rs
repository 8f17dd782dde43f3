//! Variable names in the source's spelling: a compiler that renames
//! identifiers (TypeScriptToLua writes `end` as `____end`, Lua keywords
//! being reserved) records the source name in its map's `names`. Scopes
//! show the source names; expressions and assignments typed with them are
//! turned back into the Lua names before the host sees them.

use std::collections::BTreeMap;

/// Lua words that are operators or values in an expression: never taken
/// for a renamed variable, so `a and b` stays what it says.
const EXPRESSION_WORDS: &[&str] = &["and", "or", "not", "nil", "true", "false", "function"];

/// `generated -> source` turned around; a source name two generated names
/// stand for is left out.
pub fn reversed(renames: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut by_source: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (generated, source) in renames {
        by_source
            .entry(source.clone())
            .and_modify(|g| *g = None)
            .or_insert_with(|| Some(generated.clone()));
    }
    by_source
        .into_iter()
        .filter_map(|(source, generated)| Some((source, generated?)))
        .collect()
}

/// `expression` with every free identifier that `to_lua` names replaced by
/// its Lua spelling. Fields (`a.end`, `a:end`), strings, long strings and
/// comments are left as written.
pub fn to_lua_expression(expression: &str, to_lua: &BTreeMap<String, String>) -> String {
    if to_lua.is_empty() {
        return expression.to_owned();
    }
    let chars: Vec<char> = expression.chars().collect();
    let mut out = String::with_capacity(expression.len());
    let mut i = 0;
    // The last significant character, to tell `x.end` from `end`.
    let mut previous: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            let end = quoted_end(&chars, i);
            out.extend(&chars[i..end]);
            previous = Some(c);
            i = end;
        } else if c == '[' && long_bracket_level(&chars, i).is_some() {
            let end = long_bracket_end(&chars, i);
            out.extend(&chars[i..end]);
            previous = Some(']');
            i = end;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            // A comment runs to the end of the text (or of its long bracket).
            let end = if long_bracket_level(&chars, i + 2).is_some() {
                long_bracket_end(&chars, i + 2)
            } else {
                chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |n| i + n)
            };
            out.extend(&chars[i..end]);
            i = end;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = chars[i..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                .map_or(chars.len(), |n| i + n);
            let word: String = chars[i..end].iter().collect();
            // `.` alone is a field access, `..` concatenation.
            let field =
                previous == Some(':') || (previous == Some('.') && dots_before(&chars, i) == 1);
            match to_lua.get(&word) {
                Some(lua) if !field && !EXPRESSION_WORDS.contains(&word.as_str()) => {
                    out.push_str(lua)
                }
                _ => out.push_str(&word),
            }
            previous = Some('a');
            i = end;
        } else if c.is_ascii_digit() {
            // A number (with its exponent or hex digits) is no identifier.
            let end = chars[i..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
                .map_or(chars.len(), |n| i + n);
            out.extend(&chars[i..end]);
            previous = Some('0');
            i = end;
        } else {
            out.push(c);
            if !c.is_whitespace() {
                previous = Some(c);
            }
            i += 1;
        }
    }
    out
}

/// A logpoint message with the expressions in its braces turned to Lua
/// names, read as the host reads it: `{{` and `}}` are literal braces, an
/// expression runs to the first `}`.
pub fn to_lua_log_message(message: &str, to_lua: &BTreeMap<String, String>) -> String {
    if to_lua.is_empty() {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let brace = &rest[open..];
        if brace.starts_with("{{") || brace.starts_with("}}") {
            out.push_str(&brace[..2]);
            rest = &brace[2..];
        } else if let Some(after) = brace.strip_prefix('}') {
            out.push('}');
            rest = after;
        } else if let Some(close) = brace.find('}') {
            out.push('{');
            out.push_str(&to_lua_expression(&brace[1..close], to_lua));
            out.push('}');
            rest = &brace[close + 1..];
        } else {
            out.push_str(brace);
            rest = "";
        }
    }
    out.push_str(rest);
    out
}

/// How many `.` end the text before `at`, spaces skipped.
fn dots_before(chars: &[char], at: usize) -> usize {
    chars[..at]
        .iter()
        .rev()
        .skip_while(|c| c.is_whitespace())
        .take_while(|&&c| c == '.')
        .count()
}

/// The index after the string starting at `start` (or the end of text).
fn quoted_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The level of a long bracket `[==[` opening at `start`.
fn long_bracket_level(chars: &[char], start: usize) -> Option<usize> {
    if chars.get(start) != Some(&'[') {
        return None;
    }
    let level = chars[start + 1..].iter().take_while(|&&c| c == '=').count();
    (chars.get(start + 1 + level) == Some(&'[')).then_some(level)
}

/// The index after the long bracket opening at `start` closes.
fn long_bracket_end(chars: &[char], start: usize) -> usize {
    let level = long_bracket_level(chars, start).unwrap_or(0);
    let mut i = start + level + 2;
    while i < chars.len() {
        if chars[i] == ']'
            && chars[i + 1..].iter().take_while(|&&c| c == '=').count() >= level
            && chars.get(i + 1 + level) == Some(&']')
        {
            return i + level + 2;
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn free_identifiers_take_their_lua_names() {
        let to_lua = table(&[
            ("end", "____end"),
            ("local", "____local"),
            ("and", "____and"),
        ]);
        let cases = [
            ("end", "____end"),
            ("end * local + 1", "____end * ____local + 1"),
            ("t.end + t:end() + t . end", "t.end + t:end() + t . end"),
            ("end .. 'end' .. \"local\"", "____end .. 'end' .. \"local\""),
            ("end..[[end]]", "____end..[[end]]"),
            ("end -- local", "____end -- local"),
            ("ends + 1e3 + 0xend", "ends + 1e3 + 0xend"),
            ("a and end", "a and ____end"),
            ("'it\\'s' .. end", "'it\\'s' .. ____end"),
        ];
        for (written, sent) in cases {
            assert_eq!(to_lua_expression(written, &to_lua), sent, "{written}");
        }
        assert_eq!(to_lua_expression("end", &BTreeMap::new()), "end");
    }

    #[test]
    fn logpoint_expressions_take_lua_names_and_text_stays() {
        let to_lua = table(&[("end", "____end")]);
        let cases = [
            ("end={end}", "end={____end}"),
            ("{{end}} {end * 2}}", "{{end}} {____end * 2}}"),
            ("open {end", "open {end"),
            ("{t.end} {end}", "{t.end} {____end}"),
        ];
        for (written, sent) in cases {
            assert_eq!(to_lua_log_message(written, &to_lua), sent, "{written}");
        }
    }

    #[test]
    fn a_name_two_lua_names_stand_for_is_not_reversed() {
        let renames = table(&[("____end", "end"), ("end_1", "end"), ("____x", "x")]);
        assert_eq!(reversed(&renames), table(&[("x", "____x")]));
    }
}
