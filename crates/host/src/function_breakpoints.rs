//! Function breakpoints: a name as the user writes it (`M.update`,
//! `Player:move`, `helper`), found where the loaded files define it
//! (`function NAME(`, `local function NAME(`, `NAME = function(`), and
//! placed as a breakpoint on the function's first line that stops only in
//! the function defined there (not in the chunk that defines it). A name
//! not defined yet is bound when a file that defines it loads.

use std::path::{Path, PathBuf};

use dap::types::{
    Breakpoint, BreakpointEventBody, SetBreakpointsResponseBody, SetFunctionBreakpointsArguments,
};
use host_protocol::HostEvent;
use mlua::ffi::lua_State;

use crate::breakpoints::Breakpoints;
use crate::debuggee::{Debuggee, DEBUGGEE};
use crate::{hooks, io, native, sources};

thread_local! {
    /// Files loaded while the debuggee was borrowed (the debugger's own Lua ran
    /// a `require`), bound once it is free.
    static PENDING: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A function breakpoint as requested.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Id reported to the client.
    pub id: i64,
    /// The name as written, spaces removed.
    pub name: String,
    /// Stop only when this expression is truthy.
    pub condition: Option<String>,
    /// Stop only when the hit count satisfies this.
    pub hit_condition: Option<String>,
    /// Where it was found first: (file, first line).
    pub bound: Option<(PathBuf, i32)>,
}

/// `setFunctionBreakpoints`: replaces them all and binds each in the files
/// loaded so far.
pub fn set(
    debuggee: &mut Debuggee,
    args: &SetFunctionBreakpointsArguments,
) -> SetBreakpointsResponseBody {
    let files = sources::files();
    let bps = &mut debuggee.bps;
    bps.clear_functions();
    let mut answers = Vec::new();
    for want in &args.breakpoints {
        let name: String = want.name.chars().filter(|c| !c.is_whitespace()).collect();
        let id = bps.next_id();
        if !valid_name(&name) {
            answers.push(Breakpoint {
                id: Some(id),
                verified: false,
                message: Some(format!(
                    "'{}' is not a function name (write it as in the code: M.update, Player:move, helper)",
                    want.name
                )),
                ..Breakpoint::default()
            });
            continue;
        }
        bps.wanted.push(Wanted {
            id,
            name,
            condition: want.condition.clone().filter(|c| !c.trim().is_empty()),
            hit_condition: want.hit_condition.clone().filter(|c| !c.trim().is_empty()),
            bound: None,
        });
    }
    for file in &files {
        bind_file(bps, file);
    }
    let mut wanted = bps.wanted.iter();
    let mut answers_iter = answers.into_iter();
    let breakpoints = args
        .breakpoints
        .iter()
        .map(|want| {
            let name: String = want.name.chars().filter(|c| !c.is_whitespace()).collect();
            if valid_name(&name) {
                wanted.next().map(answer).unwrap_or_default()
            } else {
                answers_iter.next().unwrap_or_default()
            }
        })
        .collect();
    hooks::breakpoints_changed(bps);
    SetBreakpointsResponseBody { breakpoints }
}

fn answer(w: &Wanted) -> Breakpoint {
    match &w.bound {
        Some((path, line)) => Breakpoint {
            id: Some(w.id),
            verified: true,
            message: None,
            source: Some(sources::file_source(path)),
            line: Some(i64::from(*line)),
        },
        None => Breakpoint {
            id: Some(w.id),
            verified: false,
            message: Some(format!(
                "no function named {} is loaded yet (bound when a file defining it loads)",
                w.name
            )),
            ..Breakpoint::default()
        },
    }
}

/// Binds the wanted names `path` defines; returns the breakpoints that
/// became verified.
fn bind_file(bps: &mut Breakpoints, path: &Path) -> Vec<Breakpoint> {
    if bps.wanted.is_empty() {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(code) = native::code_lines(path) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut verified = Vec::new();
    let mut places = Vec::new();
    for (i, w) in bps.wanted.iter_mut().enumerate() {
        for def in definitions(&lines, &w.name) {
            let Some(entry) = entry_line(&lines, def, &code) else {
                continue;
            };
            places.push((i, def, entry));
            if w.bound.is_none() {
                w.bound = Some((path.to_path_buf(), entry));
                verified.push(answer(w));
            }
        }
    }
    for (i, def, entry) in places {
        let w = bps.wanted[i].clone();
        bps.add_function(path, entry, def, &w);
    }
    verified
}

/// Whether `name` is a dotted name with at most one `:` before its last part.
fn valid_name(name: &str) -> bool {
    let (path, method) = match name.rsplit_once(':') {
        Some((p, m)) => (p, Some(m)),
        None => (name, None),
    };
    let ident = |s: &str| {
        let mut c = s.chars();
        matches!(c.next(), Some(f) if f == '_' || f.is_ascii_alphabetic())
            && c.all(|c| c == '_' || c.is_ascii_alphanumeric())
    };
    path.split('.').all(ident) && method.is_none_or(ident)
}

/// The 1-based lines of `lines` that define the function `name`: the last
/// part may be joined with `.` or `:` whichever the user wrote.
pub fn definitions(lines: &[&str], name: &str) -> Vec<i32> {
    let (head, last) = match name.rfind(['.', ':']) {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => ("", name),
    };
    let spellings: Vec<String> = if head.is_empty() {
        vec![last.to_string()]
    } else {
        vec![format!("{head}.{last}"), format!("{head}:{last}")]
    };
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = normalize(line.split("--").next().unwrap_or(""));
        let found = spellings.iter().any(|n| {
            [
                format!("function {n}("),
                format!("local function {n}("),
                format!("{n}=function("),
                format!("local {n}=function("),
            ]
            .iter()
            .any(|p| code.starts_with(p.as_str()))
        });
        if found {
            if let Ok(n) = i32::try_from(i + 1) {
                out.push(n);
            }
        }
    }
    out
}

/// `code` with whitespace only where it separates two names or keywords.
fn normalize(code: &str) -> String {
    let word = |c: char| c == '_' || c.is_ascii_alphanumeric();
    let mut out = String::new();
    for token in code.split_whitespace() {
        if out.ends_with(word) && token.starts_with(word) {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

/// The first line of the function defined on line `def`: that line when
/// code follows its parameter list there, else the next line with code.
fn entry_line(lines: &[&str], def: i32, code: &[i32]) -> Option<i32> {
    let text = lines.get(usize::try_from(def - 1).ok()?)?;
    let after = text
        .split("--")
        .next()
        .and_then(|t| t.split_once(')'))
        .map(|(_, rest)| rest.trim())
        .unwrap_or("");
    if !after.is_empty() && after != "end" && code.contains(&def) {
        return Some(def);
    }
    code.iter().copied().filter(|&l| l > def).min()
}

/// After the VM loaded a file: note it as a source and bind the function
/// breakpoints it defines (telling the client with `breakpoint` events).
///
/// # Safety
/// Called from the patched `lua_load` only, with the chunk on top of `l`.
pub unsafe fn on_load(l: *mut lua_State) {
    // SAFETY: per the contract above.
    let Some(path) = (unsafe { sources::on_load(l) }) else {
        return;
    };
    let bound = DEBUGGEE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut debuggee) => {
            bind_loaded(&mut debuggee, &path);
            true
        }
        Err(_) => false,
    });
    if bound {
        // SAFETY: `l` runs; the new breakpoints may need its line hook.
        unsafe { hooks::apply_base_mask(l) };
    } else {
        PENDING.with_borrow_mut(|p| p.push(path));
    }
}

/// Binds the function breakpoints of `path` again after its text changed
/// (a reload); returns those whose place moved.
pub fn rebind(debuggee: &mut Debuggee, path: &Path) -> Vec<Breakpoint> {
    let bps = &mut debuggee.bps;
    bps.unbind_functions(path);
    let before: Vec<Option<(PathBuf, i32)>> = bps.wanted.iter().map(|w| w.bound.clone()).collect();
    for w in bps.wanted.iter_mut() {
        if w.bound.as_ref().is_some_and(|(p, _)| p == path) {
            w.bound = None;
        }
    }
    bind_file(bps, path);
    bps.wanted
        .iter()
        .zip(before)
        .filter(|(w, old)| w.bound.is_some() && w.bound != *old)
        .map(|(w, _)| answer(w))
        .collect()
}

/// Binds in files loaded while the debuggee was borrowed.
pub fn bind_pending(debuggee: &mut Debuggee) {
    for path in PENDING.take() {
        bind_loaded(debuggee, &path);
    }
}

fn bind_loaded(debuggee: &mut Debuggee, path: &Path) {
    let verified = bind_file(&mut debuggee.bps, path);
    if verified.is_empty() {
        return;
    }
    hooks::breakpoints_changed(&debuggee.bps);
    for breakpoint in verified {
        io::event(HostEvent::Breakpoint(BreakpointEventBody {
            reason: "changed".into(),
            breakpoint,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_found_as_written() {
        let text = [
            "local M = {}",
            "function M.update(dt) -- moves",
            "  return dt",
            "end",
            "function M:draw() end",
            "M.reset = function()",
            "end",
            "local function helper(x)",
            "function M.updater()",
            "-- function M.update(",
            "functionM.update(1)",
            "  local   function  spaced ( a )",
        ];
        assert_eq!(definitions(&text, "M.update"), vec![2]);
        assert_eq!(definitions(&text, "M:draw"), vec![5]);
        assert_eq!(definitions(&text, "M.draw"), vec![5]);
        assert_eq!(definitions(&text, "M.reset"), vec![6]);
        assert_eq!(definitions(&text, "helper"), vec![8]);
        assert!(definitions(&text, "update").is_empty());
        assert_eq!(definitions(&text, "spaced"), vec![12]);
    }

    #[test]
    fn entry_lines() {
        let text = [
            "function f()",
            "  local x = 1",
            "end",
            "function g() return 1 end",
        ];
        let code = [2, 3, 4];
        assert_eq!(entry_line(&text, 1, &code), Some(2));
        assert_eq!(entry_line(&text, 4, &code), Some(4));
    }

    #[test]
    fn names() {
        for good in ["M.update", "Player:move", "helper", "a.b.c:d"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "M.", "1x", "a:b:c", "M..x", "f()", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
