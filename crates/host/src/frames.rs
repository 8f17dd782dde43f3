//! The frames of a stopped program: capturing them on a thread and across
//! the resume chain. Frames keep their `lua_Debug` (which points at the
//! frame's CallInfo), so locals stay reachable while the program is
//! stopped, also on coroutines.

use std::ffi::CStr;
use std::os::raw::c_int;

use dap::types::Source;
use mlua::ffi::{self, lua_Debug, lua_State};

use crate::breakpoints::canonical;
use crate::coroutines;

/// One frame of a stopped thread.
pub struct Frame {
    /// The thread the frame lives on.
    pub state: *mut lua_State,
    ar: lua_Debug,
    /// A Lua function (not C).
    pub is_lua: bool,
    /// Display name.
    pub name: String,
    /// Source file, when known.
    pub source: Option<Source>,
    /// Current line (0 for C).
    pub line: i64,
    /// Its level on its thread when captured (0 = the running function).
    pub level: c_int,
}

impl Frame {
    /// A copy of the frame's debug record (functions like lua_getinfo write to it).
    pub fn ar(&self) -> lua_Debug {
        // SAFETY: lua_Debug is plain data; the copy points at the same CallInfo.
        unsafe { std::ptr::read(&self.ar) }
    }
}

unsafe fn cstr(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: Lua strings are NUL-terminated.
        unsafe { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

/// Frames of thread `l` from `first_level` (at most `limit`), followed, when
/// no limit is given, by the frames of the threads that resumed it. The
/// host's own frames are left out.
///
/// # Safety
/// `l` must be a live thread, on the VM thread.
pub unsafe fn capture(l: *mut lua_State, first_level: c_int, limit: Option<usize>) -> Vec<Frame> {
    let mut frames = Vec::new();
    // SAFETY: per the contract; resumers are live (they are waiting in resume).
    unsafe {
        collect(l, first_level, limit, &mut frames);
        if limit.is_none() {
            for resumer in coroutines::resumers_of(l).into_iter().rev() {
                collect(resumer, 0, None, &mut frames);
            }
            // Below the program's main chunk: the host's own C calls.
            while frames.last().is_some_and(|f| !f.is_lua) {
                frames.pop();
            }
        }
    }
    frames
}

/// All frames of thread `l` (a suspended coroutine), innermost first.
///
/// # Safety
/// `l` must be a live thread that stays alive and suspended while the
/// frames are used.
pub unsafe fn capture_thread(l: *mut lua_State) -> Vec<Frame> {
    let mut frames = Vec::new();
    // SAFETY: per the contract above.
    unsafe { collect(l, 0, None, &mut frames) };
    frames
}

unsafe fn collect(
    l: *mut lua_State,
    first_level: c_int,
    limit: Option<usize>,
    out: &mut Vec<Frame>,
) {
    let mut level = first_level;
    let mut internal_caller_pending = false;
    let start = out.len();
    loop {
        // A C frame that our own Lua called is dropped below: not counted.
        let kept = out.len() - start - usize::from(internal_caller_pending);
        if limit.is_some_and(|n| kept >= n) {
            break;
        }
        // SAFETY: lua_Debug is plain data; getstack/getinfo fill it for `l`.
        let mut ar: lua_Debug = unsafe { std::mem::zeroed() };
        if unsafe { ffi::lua_getstack(l, level, &mut ar) } == 0 {
            break;
        }
        let this_level = level;
        level += 1;
        unsafe { ffi::lua_getinfo(l, c"nSl".as_ptr(), &mut ar) };
        let source = unsafe { cstr(ar.source) };
        let what = unsafe { cstr(ar.what) };
        if source.starts_with("=[hotreload]") {
            // A C function called by our own wrapper (the real resume) is ours too.
            if internal_caller_pending {
                out.pop();
            }
            internal_caller_pending = false;
            continue;
        }
        // Lua 5.1 and LuaJIT list the frames a tail call dropped as one
        // level with no function ("tail"): named, with no source or line.
        let dropped = what == "tail";
        let is_lua = what != "C" && !dropped;
        internal_caller_pending = what == "C";
        let short_src = unsafe {
            CStr::from_ptr(ar.short_src.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        let name = match unsafe { cstr(ar.name) } {
            n if !n.is_empty() => n,
            _ if what == "main" => "main chunk".to_string(),
            _ if dropped => "(tail call)".to_string(),
            _ if !is_lua => "?".to_string(),
            _ => format!("function <{}:{}>", short_src, ar.linedefined),
        };
        let source_info = if !is_lua {
            None
        } else if let Some(path) = source.strip_prefix('@') {
            let path = canonical(std::path::Path::new(path));
            Some(Source {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                path: Some(path.to_string_lossy().into_owned()),
                source_reference: None,
            })
        } else {
            // SAFETY: getinfo "S" set `source` to the prototype's string.
            let bytes = unsafe { CStr::from_ptr(ar.source).to_bytes() };
            Some(Source {
                source_reference: crate::sources::chunk_reference(bytes, &short_src),
                name: Some(short_src),
                path: None,
            })
        };
        out.push(Frame {
            state: l,
            line: if is_lua {
                ar.currentline.max(0) as i64
            } else {
                0
            },
            ar,
            is_lua,
            name,
            source: source_info,
            level: this_level,
        });
    }
    if let Some(n) = limit {
        out.truncate(start + n);
    }
}
