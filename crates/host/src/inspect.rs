//! Looking at a stopped program: frames, scopes, variables, value display.
//! Frames keep their `lua_Debug` (which points at the frame's CallInfo), so
//! locals stay reachable while the program is stopped, also on coroutines.

use std::ffi::CStr;
use std::os::raw::c_int;

use dap::types::{
    Scope, ScopesArguments, ScopesResponseBody, Source, StackFrame, StackTraceArguments,
    StackTraceResponseBody, Variable, VariablesArguments, VariablesResponseBody,
};
use mlua::ffi::{self, lua_Debug, lua_State};
use mlua::{Function, Lua, Table, Value};

use crate::breakpoints::canonical;
use crate::coroutines;
use crate::format::{key_label, key_order, quote};
use crate::routing::Refusal;
use crate::session::{Session, Vm};
use crate::threads;

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
}

impl Frame {
    /// A copy of the frame's debug record (functions like lua_getinfo write to it).
    pub fn ar(&self) -> lua_Debug {
        // SAFETY: lua_Debug is plain data; the copy points at the same CallInfo.
        unsafe { std::ptr::read(&self.ar) }
    }
}

/// What a variables reference stands for.
#[derive(Clone)]
pub enum VarRef {
    /// A frame's locals (and varargs).
    Locals(usize),
    /// A frame's upvalues.
    Upvalues(usize),
    /// The children of a table or userdata, how to name them in code, and
    /// the frame it was reached from (where `setVariable` evaluates).
    Value(Value, Option<String>, Option<usize>),
    /// Locals or upvalues of a frame that was dropped (see
    /// `StopContext::forget_other_threads`).
    Gone,
}

impl VarRef {
    /// The frame whose scope the reference belongs to, if any.
    pub fn frame(&self) -> Option<usize> {
        match self {
            VarRef::Locals(i) | VarRef::Upvalues(i) => Some(*i),
            VarRef::Value(_, _, frame) => *frame,
            VarRef::Gone => None,
        }
    }
}

/// Frames and variable references of the current stop.
pub struct StopContext {
    /// Frames: first the stopped stack (innermost first, across the resume
    /// chain), then those of other coroutines as they are asked for.
    pub frames: Vec<Frame>,
    refs: Vec<VarRef>,
    /// How many frames the stopped stack has.
    pub stopped_len: usize,
    /// Stacks of suspended coroutines: thread id -> frame range; the thread
    /// is held so its frames stay valid while stopped.
    pub others: Vec<(i64, std::ops::Range<usize>, mlua::Thread)>,
    /// `coroutines::resumes()` when the frames were taken.
    resumes: u64,
}

impl StopContext {
    /// A stop with these frames and no references yet.
    pub fn new(frames: Vec<Frame>) -> StopContext {
        StopContext {
            stopped_len: frames.len(),
            frames,
            refs: Vec::new(),
            others: Vec::new(),
            resumes: coroutines::resumes(),
        }
    }

    /// Forgets the frames of other coroutines if Lua code run while stopped
    /// (an evaluation, a reload) resumed any coroutine, which may have moved
    /// their frames. The next stack request captures them again.
    pub fn forget_other_threads(&mut self) {
        if coroutines::resumes() != self.resumes {
            self.frames.truncate(self.stopped_len);
            self.others.clear();
            let kept = self.stopped_len;
            for r in &mut self.refs {
                match r {
                    VarRef::Locals(i) | VarRef::Upvalues(i) if *i >= kept => *r = VarRef::Gone,
                    VarRef::Value(_, _, frame) if frame.is_some_and(|i| i >= kept) => *frame = None,
                    _ => {}
                }
            }
            self.resumes = coroutines::resumes();
        }
    }

    /// The frame a request names by DAP id (1-based; default: the top one).
    /// `None` when no id was given and the stack is empty.
    pub fn requested_frame(&self, frame_id: Option<i64>) -> Result<Option<&Frame>, String> {
        let Some(id) = frame_id else {
            return Ok(self.frames.first());
        };
        frame_index(self, id).map(|i| self.frames.get(i))
    }

    /// What a reference id stands for.
    pub fn get(&self, reference: i64) -> Result<VarRef, String> {
        reference
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.refs.get(i).cloned())
            .ok_or_else(|| format!("no variables reference {reference}"))
    }

    /// Registers a reference; returns its id (> 0).
    pub fn add(&mut self, r: VarRef) -> i64 {
        self.refs.push(r);
        self.refs.len() as i64
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
        if limit.is_some_and(|n| out.len() - start >= n) {
            break;
        }
        // SAFETY: lua_Debug is plain data; getstack/getinfo fill it for `l`.
        let mut ar: lua_Debug = unsafe { std::mem::zeroed() };
        if unsafe { ffi::lua_getstack(l, level, &mut ar) } == 0 {
            break;
        }
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
        let is_lua = what != "C";
        internal_caller_pending = !is_lua;
        let short_src = unsafe {
            CStr::from_ptr(ar.short_src.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        let name = match unsafe { cstr(ar.name) } {
            n if !n.is_empty() => n,
            _ if what == "main" => "main chunk".to_string(),
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
            Some(Source {
                name: Some(short_src),
                path: None,
                source_reference: None,
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
        });
    }
}

/// `stackTrace` of a thread (see `threads`).
pub fn stack_trace(
    session: &mut Session,
    args: &StackTraceArguments,
) -> Result<StackTraceResponseBody, String> {
    let range = threads::stack_range(session, args.thread_id)?;
    let stop = session
        .stop
        .as_ref()
        .ok_or_else(|| Refusal::not_stopped().to_string())?;
    let start = usize::try_from(args.start_frame.unwrap_or(0)).unwrap_or(0);
    let levels = match args.levels {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let total = range.len();
    let stack_frames = stop.frames[range.clone()]
        .iter()
        .zip(range)
        .skip(start)
        .take(levels)
        .map(|(f, i)| StackFrame {
            id: i as i64 + 1,
            name: f.name.clone(),
            source: f.source.clone(),
            line: f.line,
            column: if f.is_lua { 1 } else { 0 },
            presentation_hint: (!f.is_lua).then(|| "subtle".to_string()),
        })
        .collect();
    Ok(StackTraceResponseBody {
        stack_frames,
        total_frames: Some(total as i64),
    })
}

const FRAME_GONE: &str = "that frame is gone: ask for the stack again";

/// The index of a frame named by its DAP id (1-based; any i64 from the client).
pub fn frame_index(stop: &StopContext, frame_id: i64) -> Result<usize, String> {
    frame_id
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .filter(|&i| i < stop.frames.len())
        .ok_or_else(|| format!("no frame {frame_id}"))
}

/// `scopes`.
pub fn scopes(session: &mut Session, args: &ScopesArguments) -> Result<ScopesResponseBody, String> {
    let vm = session
        .vm
        .as_ref()
        .ok_or_else(|| Refusal::NotLaunched.to_string())?;
    let stop = session
        .stop
        .as_mut()
        .ok_or_else(|| Refusal::not_stopped().to_string())?;
    let index = frame_index(stop, args.frame_id)?;
    let mut scopes = Vec::new();
    if stop.frames[index].is_lua {
        scopes.push(Scope {
            name: "Locals".into(),
            presentation_hint: Some("locals".into()),
            variables_reference: stop.add(VarRef::Locals(index)),
            named_variables: None,
            expensive: false,
        });
        scopes.push(Scope {
            name: "Upvalues".into(),
            presentation_hint: None,
            variables_reference: stop.add(VarRef::Upvalues(index)),
            named_variables: None,
            expensive: false,
        });
    }
    let globals = Value::Table(vm.lua.globals());
    scopes.push(Scope {
        name: "Globals".into(),
        presentation_hint: None,
        variables_reference: stop.add(VarRef::Value(globals, Some("_G".into()), Some(index))),
        named_variables: None,
        expensive: true,
    });
    Ok(ScopesResponseBody { scopes })
}

/// `variables`.
pub fn variables(
    session: &mut Session,
    args: &VariablesArguments,
) -> Result<VariablesResponseBody, String> {
    let vm = session
        .vm
        .as_ref()
        .ok_or_else(|| Refusal::NotLaunched.to_string())?;
    let stop = session
        .stop
        .as_mut()
        .ok_or_else(|| Refusal::not_stopped().to_string())?;
    let r = stop.get(args.variables_reference)?;
    let frame = r.frame();
    let lua = &vm.lua;
    // (name, value, expression naming it)
    let entries: Vec<(String, Value, Option<String>)> = match r {
        VarRef::Locals(i) => locals(lua, stop.frames.get(i).ok_or(FRAME_GONE)?)
            .into_iter()
            .map(|(name, value, _)| {
                let eval = (!name.starts_with("...")).then(|| name.clone());
                (name, value, eval)
            })
            .collect(),
        VarRef::Upvalues(i) => match frame_function(lua, stop.frames.get(i).ok_or(FRAME_GONE)?) {
            Some(f) => upvalues(lua, &f)
                .into_iter()
                .map(|(name, value, _)| (name.clone(), value, Some(name)))
                .collect(),
            None => Vec::new(),
        },
        VarRef::Value(value, eval, _) => children(lua, &value, eval.as_deref()),
        VarRef::Gone => return Err(FRAME_GONE.into()),
    };
    let start = usize::try_from(args.start.unwrap_or(0)).unwrap_or(0);
    let count = match args.count {
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let variables = entries
        .into_iter()
        .skip(start)
        .take(count)
        .map(|(name, value, eval)| make_variable(vm, stop, name, value, eval, frame))
        .collect();
    Ok(VariablesResponseBody { variables })
}

/// A variable for the client, with a reference when it can be expanded.
pub fn make_variable(
    vm: &Vm,
    stop: &mut StopContext,
    name: String,
    value: Value,
    eval: Option<String>,
    frame: Option<usize>,
) -> Variable {
    let (text, type_name) = describe(vm, &value);
    let variables_reference = if expandable(&vm.lua, &value) {
        stop.add(VarRef::Value(value, eval.clone(), frame))
    } else {
        0
    };
    Variable {
        name,
        value: text,
        type_: Some(type_name),
        variables_reference,
        evaluate_name: eval,
    }
}

/// Whether a value has children to show.
pub fn expandable(lua: &Lua, value: &Value) -> bool {
    match value {
        Value::Table(_) => true,
        Value::UserData(_) => raw_metatable(lua, value).is_some(),
        _ => false,
    }
}

/// The metatable of a table or userdata, ignoring `__metatable`.
pub fn raw_metatable(lua: &Lua, value: &Value) -> Option<Table> {
    if !matches!(value, Value::Table(_) | Value::UserData(_)) {
        return None;
    }
    // SAFETY: the value is at the top; lua_getmetatable pushes the metatable
    // or nothing; we leave exactly the result (or nothing).
    let mt: Value = unsafe {
        lua.exec_raw(value.clone(), |s| {
            if ffi::lua_getmetatable(s, -1) != 0 {
                ffi::lua_remove(s, -2);
            } else {
                ffi::lua_pop(s, 1);
            }
        })
    }
    .ok()?;
    match mt {
        Value::Table(t) => Some(t),
        _ => None,
    }
}

/// The children of a table or userdata: `(name, value, expression)`.
pub fn children(
    lua: &Lua,
    value: &Value,
    eval: Option<&str>,
) -> Vec<(String, Value, Option<String>)> {
    let mut out = Vec::new();
    if let Some(mt) = raw_metatable(lua, value) {
        out.push((
            "[metatable]".to_string(),
            Value::Table(mt),
            eval.map(|e| format!("getmetatable({e})")),
        ));
    }
    if let Value::Table(t) = value {
        let mut pairs: Vec<(Value, Value)> =
            t.pairs::<Value, Value>().filter_map(Result::ok).collect();
        pairs.sort_by(|a, b| key_order(&a.0, &b.0));
        for (k, v) in pairs {
            let (name, suffix) = key_label(&k);
            let child_eval = match (eval, suffix) {
                (Some(e), Some(s)) => Some(format!("{e}{s}")),
                _ => None,
            };
            out.push((name, v, child_eval));
        }
    }
    out
}

/// Display text and type name of a value, REPL style.
pub fn describe(vm: &Vm, value: &Value) -> (String, String) {
    let text = match value {
        Value::Nil => "nil".to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(_) => number_text(&vm.lua, value),
        Value::String(s) => quote(&s.as_bytes()),
        Value::Table(t) => table_text(vm, t, 0),
        Value::Function(f) => function_text(f),
        _ => safe_tostring(vm, value),
    };
    (text, value.type_name().to_string())
}

fn number_text(lua: &Lua, value: &Value) -> String {
    match lua.coerce_string(value.clone()) {
        Ok(Some(s)) => s.to_string_lossy(),
        _ => "?".into(),
    }
}

/// `tostring` that never raises.
pub fn safe_tostring(vm: &Vm, value: &Value) -> String {
    vm.helpers
        .safe_tostring
        .call::<String>(value.clone())
        .unwrap_or_else(|_| format!("<{}>", value.type_name()))
}

fn function_text(f: &Function) -> String {
    let info = f.info();
    if info.what == "C" {
        "function: [C]".to_string()
    } else {
        format!(
            "function: {}:{}",
            info.short_src.unwrap_or_default(),
            info.line_defined.unwrap_or(0)
        )
    }
}

/// `{1, 2, 3}` or `{x = 1, y = 2, …}`; a table with `__tostring` shows that.
fn table_text(vm: &Vm, t: &Table, depth: usize) -> String {
    if let Some(mt) = t.metatable() {
        if mt.raw_get::<Value>("__tostring").is_ok_and(|v| !v.is_nil()) {
            return safe_tostring(vm, &Value::Table(t.clone()));
        }
    }
    if depth > 0 {
        return "{…}".into();
    }
    const SHOWN: usize = 5;
    let mut items = Vec::new();
    let mut next_index = 1i64;
    let mut more = false;
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, v)) = pair else { continue };
        if items.len() == SHOWN {
            more = true;
            break;
        }
        let value = match &v {
            Value::Table(inner) => table_text(vm, inner, depth + 1),
            Value::String(s) => {
                let q = quote(&s.as_bytes());
                if q.chars().count() > 40 {
                    format!("{}…\"", q.chars().take(38).collect::<String>())
                } else {
                    q
                }
            }
            other => describe(vm, other).0,
        };
        if matches!(k, Value::Integer(i) if i == next_index) {
            next_index += 1;
            items.push(value);
        } else {
            next_index = 0;
            items.push(format!("{} = {}", key_label(&k).0, value));
        }
    }
    if more {
        items.push("…".into());
    }
    format!("{{{}}}", items.join(", "))
}

/// Locals of a frame: `(name, value, slot)`; varargs come last as `...[i]`
/// with negative slots. Temporaries are left out.
pub fn locals(lua: &Lua, frame: &Frame) -> Vec<(String, Value, c_int)> {
    let mut out = Vec::new();
    if !frame.is_lua {
        return out;
    }
    for n in 1.. {
        match get_local(lua, frame, n) {
            Some((name, value)) => {
                if !name.starts_with('(') {
                    out.push((name, value, n));
                }
            }
            None => break,
        }
    }
    for n in 1.. {
        match get_local(lua, frame, -n) {
            Some((_, value)) => out.push((format!("...[{n}]"), value, -n)),
            None => break,
        }
    }
    out
}

fn get_local(lua: &Lua, frame: &Frame, n: c_int) -> Option<(String, Value)> {
    let mut name = None;
    let ar = frame.ar();
    // SAFETY: the frame is alive while stopped; lua_getlocal pushes one value
    // on the frame's thread when it finds the local, which we move to ours.
    let value: Value = unsafe {
        lua.exec_raw((), |s| {
            let p = ffi::lua_getlocal(frame.state, &ar, n);
            if !p.is_null() {
                name = Some(CStr::from_ptr(p).to_string_lossy().into_owned());
                ffi::lua_xmove(frame.state, s, 1);
            }
        })
    }
    .ok()?;
    name.map(|n| (n, value))
}

/// Assigns a local of a frame.
pub fn set_local(lua: &Lua, frame: &Frame, n: c_int, value: Value) -> Result<(), String> {
    let ar = frame.ar();
    // SAFETY: the value is moved onto the frame's thread and popped by
    // lua_setlocal (or by us when the slot does not exist).
    unsafe {
        lua.exec_raw::<()>(value, |s| {
            ffi::lua_xmove(s, frame.state, 1);
            if ffi::lua_setlocal(frame.state, &ar, n).is_null() {
                ffi::lua_pop(frame.state, 1);
            }
        })
    }
    .map_err(|e| e.to_string())
}

/// The function running in a frame.
pub fn frame_function(lua: &Lua, frame: &Frame) -> Option<Function> {
    let mut ar = frame.ar();
    // SAFETY: lua_getinfo("f") pushes the frame's function on its thread.
    let value: Value = unsafe {
        lua.exec_raw((), |s| {
            ffi::lua_getinfo(frame.state, c"f".as_ptr(), &mut ar);
            ffi::lua_xmove(frame.state, s, 1);
        })
    }
    .ok()?;
    match value {
        Value::Function(f) => Some(f),
        _ => None,
    }
}

/// Upvalues of a Lua function: `(name, value, index)`.
pub fn upvalues(lua: &Lua, f: &Function) -> Vec<(String, Value, c_int)> {
    let mut out = Vec::new();
    for n in 1.. {
        let mut name = None;
        // SAFETY: the function is at the top; lua_getupvalue pushes one value
        // when the upvalue exists; we drop the function below it.
        let value: Option<Value> = unsafe {
            lua.exec_raw(f.clone(), |s| {
                let p = ffi::lua_getupvalue(s, -1, n);
                if !p.is_null() {
                    name = Some(CStr::from_ptr(p).to_string_lossy().into_owned());
                    ffi::lua_remove(s, -2);
                } else {
                    ffi::lua_pop(s, 1);
                }
            })
        }
        .ok();
        match (name, value) {
            (Some(name), Some(value)) if !name.is_empty() => out.push((name, value, n)),
            (Some(_), _) => {}
            (None, _) => break,
        }
    }
    out
}

/// Assigns upvalue `n` of a function.
pub fn set_upvalue(lua: &Lua, f: &Function, n: c_int, value: Value) -> Result<(), String> {
    // SAFETY: stack is [f, value]; lua_setupvalue pops the value (or we do).
    unsafe {
        lua.exec_raw::<()>((f.clone(), value), |s| {
            if ffi::lua_setupvalue(s, -2, n).is_null() {
                ffi::lua_pop(s, 1);
            }
            ffi::lua_pop(s, 1);
        })
    }
    .map_err(|e| e.to_string())
}
