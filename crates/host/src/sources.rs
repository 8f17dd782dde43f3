//! What the program has loaded, for `loadedSources`, `loadedSource` events
//! and the `source` request: every file it ran (the program, and each chunk
//! the VM's load notification reports: `require`, `dofile`, `loadfile`),
//! and the chunks made by `load` from a string, met in stack traces, whose
//! text is their chunk name (Lua keeps it as the source). Chunks get a
//! `sourceReference`; one loaded under a name of its own (`=name`) has no
//! text to give and gets none.

use host_protocol::{ErrorKind, HostError};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use dap::types::{LoadedSourceEventBody, LoadedSourcesResponseBody, Source, SourceResponseBody};
use host_protocol::HostEvent;
use mlua::ffi::{self, lua_State};

use crate::breakpoints::canonical;
use crate::io;

/// At most this many `load` chunks get a reference (a program that calls
/// `load` in a loop must not grow the host without bound).
const MAX_CHUNKS: usize = 10_000;

#[derive(Default)]
struct Sources {
    files: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    /// `load` chunks by reference - 1: their text and display name.
    chunks: Vec<(Vec<u8>, String)>,
    by_text: HashMap<Vec<u8>, i64>,
}

thread_local! {
    static SOURCES: RefCell<Sources> = RefCell::new(Sources::default());
}

/// The DAP source of a file.
pub fn file_source(path: &Path) -> Source {
    Source {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        path: Some(path.to_string_lossy().into_owned()),
        source_reference: None,
    }
}

/// Notes a file the program runs; the first time, tells the client.
/// Returns whether it was new.
pub fn note_file(path: &Path) -> bool {
    let path = canonical(path);
    let new = SOURCES.with_borrow_mut(|s| {
        let new = s.seen.insert(path.clone());
        if new {
            s.files.push(path.clone());
        }
        new
    });
    if new {
        io::event(HostEvent::LoadedSource(LoadedSourceEventBody {
            reason: "new".into(),
            source: file_source(&path),
        }));
    }
    new
}

/// The files the program has run so far, in load order.
pub fn files() -> Vec<PathBuf> {
    SOURCES.with_borrow(|s| s.files.clone())
}

/// The `sourceReference` of a chunk whose source string is `source` (not a
/// file, not `=name`), registered (and announced) the first time.
pub fn chunk_reference(source: &[u8], short_src: &str) -> Option<i64> {
    if source.is_empty() || matches!(source[0], b'@' | b'=') {
        return None;
    }
    let (reference, new) = SOURCES.with_borrow_mut(|s| {
        if let Some(&r) = s.by_text.get(source) {
            return (Some(r), false);
        }
        if s.chunks.len() >= MAX_CHUNKS {
            return (None, false);
        }
        s.chunks.push((source.to_vec(), short_src.to_string()));
        let r = s.chunks.len() as i64;
        s.by_text.insert(source.to_vec(), r);
        (Some(r), true)
    });
    if let (Some(r), true) = (reference, new) {
        io::event(HostEvent::LoadedSource(LoadedSourceEventBody {
            reason: "new".into(),
            source: chunk_source(r, short_src),
        }));
    }
    reference
}

fn chunk_source(reference: i64, short_src: &str) -> Source {
    Source {
        name: Some(short_src.to_string()),
        path: None,
        source_reference: Some(reference),
    }
}

/// `loadedSources`: the files, then the `load` chunks met so far.
pub fn list() -> LoadedSourcesResponseBody {
    SOURCES.with_borrow(|s| {
        let mut sources: Vec<Source> = s.files.iter().map(|p| file_source(p)).collect();
        sources.extend(
            s.chunks
                .iter()
                .enumerate()
                .map(|(i, (_, name))| chunk_source(i as i64 + 1, name)),
        );
        LoadedSourcesResponseBody { sources }
    })
}

/// `source`: the text of a chunk by reference, or of a loaded file by path.
pub fn text(args: &dap::types::SourceArguments) -> Result<SourceResponseBody, HostError> {
    let reference = match args.source.as_ref().and_then(|s| s.source_reference) {
        Some(r) if r > 0 => r,
        _ => args.source_reference,
    };
    if reference > 0 {
        let text = SOURCES.with_borrow(|s| {
            usize::try_from(reference - 1)
                .ok()
                .and_then(|i| s.chunks.get(i))
                .map(|(text, _)| String::from_utf8_lossy(text).into_owned())
        });
        return text
            .map(|content| SourceResponseBody {
                content,
                mime_type: Some("text/x-lua".into()),
            })
            .ok_or_else(|| HostError::invalid(format!("no source with reference {reference}")));
    }
    let Some(path) = args.source.as_ref().and_then(|s| s.path.as_deref()) else {
        return Err(HostError::invalid(
            "source needs a sourceReference or a source.path",
        ));
    };
    let path = canonical(Path::new(path));
    if !SOURCES.with_borrow(|s| s.seen.contains(&path)) {
        let shown = path.display().to_string();
        return Err(HostError::new(
            ErrorKind::NotFound,
            format!("{shown} is not a source the program loaded"),
        )
        .at(shown, None));
    }
    std::fs::read(&path)
        .map(|bytes| SourceResponseBody {
            content: String::from_utf8_lossy(&bytes).into_owned(),
            mime_type: Some("text/x-lua".into()),
        })
        .map_err(|e| {
            let shown = path.display().to_string();
            HostError::new(ErrorKind::Io, format!("{shown}: {e}")).at(shown, None)
        })
}

/// The VM's load notification: the chunk on top of `l`'s stack was loaded
/// from a file (its name starts with '@'). Leaves the stack as it was.
///
/// # Safety
/// Called from the patched `lua_load` only, with the chunk on top.
pub unsafe fn on_load(l: *mut lua_State) -> Option<PathBuf> {
    // SAFETY: per the contract above; getinfo '>' pops the copy we push.
    let path = unsafe {
        if ffi::lua_checkstack(l, 1) == 0 {
            return None;
        }
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        ffi::lua_pushvalue(l, -1);
        if ffi::lua_getinfo(l, c">S".as_ptr(), &mut ar) == 0 || ar.source.is_null() {
            return None;
        }
        let source = std::ffi::CStr::from_ptr(ar.source).to_bytes();
        let file = source.strip_prefix(b"@")?;
        PathBuf::from(std::ffi::OsStr::new(std::str::from_utf8(file).ok()?))
    };
    note_file(&path).then_some(canonical(&path))
}
