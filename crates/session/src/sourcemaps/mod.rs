//! Source-mapped debugging: a [`DebugRuntime`] decorator that shows the
//! program in the coordinates of the sources its Lua was compiled from.
//!
//! [`SourceMapFactory`] wraps any factory; its runtimes pass everything
//! through until `launch` asks for `sourceMaps`. Then breakpoints set on
//! source lines go to the Lua lines they compiled to, stack frames, stopped
//! texts, output and error messages show source paths and lines, and `next`
//! and `stepIn` repeat until the mapped source line changes. The host never
//! knows: it sees Lua coordinates only.

mod index;
pub mod luanext;
mod names;
mod rewrite;
pub mod tstl;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use dap::types::{
    Breakpoint, BreakpointLocation, BreakpointLocationsArguments, BreakpointLocationsResponseBody,
    CompletionsArguments, EvaluateArguments, HotReloadArguments, HotReloadResponseBody,
    LaunchArguments, LoadedSourceEventBody, LoadedSourcesResponseBody, OutputEventBody,
    ScopesArguments, SetBreakpointsArguments, SetBreakpointsResponseBody, SetVariableArguments,
    Source, SourceBreakpoint, StackTraceArguments, StackTraceResponseBody, StoppedEventBody,
    VariablesArguments,
};
use host_protocol::commands::{self, Command};
use host_protocol::ErrorKind;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::runtime::{CallId, DebugRuntime, RuntimeError, RuntimeEvent, RuntimeFactory};
pub use index::MapIndex;
pub use luanext::host_runtime;
use luanext::Compiler;
pub use rewrite::rewrite_locations;

/// Events buffered between the inner runtime and the session.
const CHANNEL_CAPACITY: usize = 1024;
/// Most host steps one source step may take, so that a loop that never
/// leaves its source line (`while true do end` compiled) still stops.
const MAX_STEPS_PER_LINE: u32 = 10_000;

/// Starts runtimes of `inner`, each wrapped in the source-map layer.
pub struct SourceMapFactory {
    /// The factory that starts the real runtimes.
    pub inner: Arc<dyn RuntimeFactory>,
    /// Where `inner` finds its hosts, to pick the newest for a LuaNext
    /// program that names no `target`.
    pub host_dir: Option<PathBuf>,
}

#[async_trait]
impl RuntimeFactory for SourceMapFactory {
    async fn start(
        &self,
        runtime: Option<&str>,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Arc<dyn DebugRuntime>, RuntimeError> {
        let runtime = match runtime {
            Some(luanext::LUANEXT) => {
                let available = crate::host::runtimes(self.host_dir.as_deref());
                Some(luanext::newest_host(&available)?)
            }
            other => other,
        };
        let (inner_tx, inner_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let inner = self.inner.start(runtime, inner_tx).await?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                runtime: runtime.map(str::to_owned),
                ..State::default()
            }),
            events: events.clone(),
        });
        tokio::spawn(translate_events(
            inner_rx,
            events,
            Arc::downgrade(&inner),
            shared.clone(),
        ));
        Ok(Arc::new(SourceMapped { inner, shared }))
    }
}

/// What a `next`/`stepIn` started from, to repeat it on the same source line.
#[derive(Debug, Clone)]
struct Step {
    command: &'static str,
    source: PathBuf,
    line: u32,
    taken: u32,
}

/// Breakpoints of one generated Lua file, by the file they were set in (a
/// source, or the Lua file itself), kept so that each `setBreakpoints` on
/// the host sends the union.
type LuaBreakpoints = BTreeMap<PathBuf, Vec<SourceBreakpoint>>;

#[derive(Default)]
struct State {
    /// The runtime whose host was started.
    runtime: Option<String>,
    /// `Some` once `launch` asked for source maps.
    index: Option<MapIndex>,
    breakpoints: HashMap<PathBuf, LuaBreakpoints>,
    /// Host breakpoint ids beyond the first of one source breakpoint -> the
    /// id the client knows.
    aliases: HashMap<i64, i64>,
    step: Option<Step>,
    /// The thread of the last stop, whose top frame a step starts from.
    stopped_thread: i64,
    /// For a LuaNext program: how it was compiled, to recompile on reload.
    compiler: Option<Arc<Compiler>>,
    /// The Lua file (as the host names it) of each frame shown since the
    /// last stop, for the names of its scopes.
    frames: HashMap<i64, String>,
    /// The Lua file of the top frame of the last full stack.
    top_lua: Option<String>,
    /// Variables references of Locals and Upvalues scopes -> their Lua file.
    scopes: HashMap<i64, String>,
}

struct Shared {
    state: Mutex<State>,
    events: mpsc::Sender<RuntimeEvent>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enabled(&self) -> bool {
        self.state().index.is_some()
    }

    /// Identifiers `lua` spells differently from its source (Lua -> source).
    fn renames(&self, lua: &str) -> BTreeMap<String, String> {
        let mut state = self.state();
        let Some(index) = state.index.as_mut() else {
            return BTreeMap::new();
        };
        index
            .map_of(lua)
            .map(|(_, map)| map.renames.clone())
            .unwrap_or_default()
    }

    /// The sources `source` (a Lua file) was generated from; `None` when
    /// it has no map.
    fn sources_of(&self, source: &Source) -> Option<Vec<Source>> {
        let path = source.path.as_deref()?;
        let mut state = self.state();
        let (_, map) = state.index.as_mut()?.map_of(path)?;
        Some(map.sources.iter().map(|s| source_of(s)).collect())
    }

    /// `text` with its Lua locations in source terms.
    fn rewrite(&self, text: &str) -> String {
        let mut state = self.state();
        let Some(index) = state.index.as_mut() else {
            return text.to_owned();
        };
        rewrite_locations(
            text,
            |lua, line| index.to_source(lua, line),
            |path| path.display().to_string(),
        )
    }

    fn rewrite_error(&self, error: RuntimeError) -> RuntimeError {
        match error {
            RuntimeError::Host(mut host) => {
                host.message = self.rewrite(&host.message);
                host.reason = host.reason.map(|reason| self.rewrite(&reason));
                if let Some(location) = host.location.as_mut() {
                    let mapped = self.to_source(&location.path, location.line.unwrap_or(1));
                    if let Some((path, line)) = mapped {
                        location.path = path.to_string_lossy().into_owned();
                        location.line = location.line.map(|_| i64::from(line));
                    }
                }
                RuntimeError::Host(host)
            }
            other => other,
        }
    }

    /// The source place of a Lua location, when mapped.
    fn to_source(&self, lua: &str, line: i64) -> Option<(PathBuf, u32)> {
        let line = u32::try_from(line).ok()?;
        self.state().index.as_mut()?.to_source(lua, line)
    }

    fn map_source(&self, source: &mut Option<Source>, line: &mut i64) -> bool {
        let Some(path) = source.as_ref().and_then(|s| s.path.clone()) else {
            return false;
        };
        let Some((mapped, mapped_line)) = self.to_source(&path, *line) else {
            return false;
        };
        *source = Some(source_of(&mapped));
        *line = i64::from(mapped_line);
        true
    }

    /// A breakpoint the host reports in Lua terms, in source terms: the id
    /// the client knows, the source place, the message's locations.
    fn map_breakpoint(&self, breakpoint: &mut Breakpoint) {
        if let Some(id) = breakpoint.id {
            if let Some(first) = self.state().aliases.get(&id) {
                breakpoint.id = Some(*first);
            }
        }
        if let Some(mut line) = breakpoint.line {
            if self.map_source(&mut breakpoint.source, &mut line) {
                breakpoint.line = Some(line);
            }
        }
        if let Some(message) = breakpoint.message.as_mut() {
            *message = self.rewrite(message);
        }
    }
}

fn source_of(path: &Path) -> Source {
    Source {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        path: Some(path.to_string_lossy().into_owned()),
        source_reference: None,
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, RuntimeError> {
    serde_json::to_value(value).map_err(|e| RuntimeError::Protocol(e.to_string()))
}

fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, RuntimeError> {
    serde_json::from_value(value).map_err(|e| {
        RuntimeError::failed(ErrorKind::InvalidArguments, format!("bad arguments: {e}"))
    })
}

/// A runtime seen through the source maps of its program.
pub struct SourceMapped {
    inner: Arc<dyn DebugRuntime>,
    shared: Arc<Shared>,
}

impl SourceMapped {
    async fn typed<C: Command>(&self, arguments: C::Arguments) -> Result<C::Reply, RuntimeError> {
        crate::runtime::call::<C>(&*self.inner, self.inner.next_call(), arguments).await
    }

    fn start_maps(&self, args: &LaunchArguments, compiled: Option<&Path>) {
        let base = std::env::current_dir().unwrap_or_default();
        let base = match args.cwd.as_deref().filter(|c| !c.is_empty()) {
            Some(cwd) => base.join(cwd),
            None => base,
        };
        let program = base.join(&args.program);
        let mut roots = vec![base.clone()];
        if let Some(dir) = program.parent() {
            roots.push(dir.to_path_buf());
        }
        roots.extend(compiled.map(Path::to_path_buf));
        self.scan_maps(base, &roots);
    }

    /// Source-maps a runtime that already runs (an attached program): the
    /// maps are those of the Lua files under `cwd` (relative to the
    /// adapter's working directory; that directory itself when `None`).
    /// `inner_events` are the runtime's events, passed on to `events` in
    /// source terms.
    pub fn attached(
        inner: Arc<dyn DebugRuntime>,
        inner_events: mpsc::Receiver<RuntimeEvent>,
        events: mpsc::Sender<RuntimeEvent>,
        cwd: Option<&str>,
    ) -> Arc<SourceMapped> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            events: events.clone(),
        });
        tokio::spawn(translate_events(
            inner_events,
            events,
            Arc::downgrade(&inner),
            shared.clone(),
        ));
        let mapped = SourceMapped { inner, shared };
        let base = std::env::current_dir().unwrap_or_default();
        let base = match cwd.filter(|c| !c.is_empty()) {
            Some(cwd) => base.join(cwd),
            None => base,
        };
        mapped.scan_maps(base.clone(), &[base]);
        Arc::new(mapped)
    }

    /// Indexes the maps of the Lua files under `roots` and turns mapping on.
    fn scan_maps(&self, base: PathBuf, roots: &[PathBuf]) {
        let index = MapIndex::scan(base, roots);
        for problem in &index.problems {
            // Best effort: a full channel means the client is gone anyway.
            let _ = self
                .shared
                .events
                .try_send(RuntimeEvent::Output(OutputEventBody {
                    category: Some("console".into()),
                    output: format!("hotreload: {problem}\n"),
                    ..Default::default()
                }));
        }
        self.shared.state().index = Some(index);
    }

    /// A source named as the program (`main.ts`): run the Lua compiled
    /// from it, compiling a TypeScript project first when its Lua is
    /// missing or older, with that Lua's root on `package.path`.
    async fn launch_source(&self, args: &mut LaunchArguments) -> Result<(), RuntimeError> {
        let base = std::env::current_dir().unwrap_or_default();
        let cwd = match args.cwd.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => base.join(c),
            None => base,
        };
        let source = self.absolute(&cwd.join(&args.program));
        let project = tstl::is_typescript(&source)
            .then(|| tstl::project_of(&source))
            .flatten();
        // The compiler's output may be beside the project's tsconfig.json,
        // outside cwd (a program launched from its `src/`).
        let project_dir = project
            .as_ref()
            .and_then(|p| p.tsconfig.parent())
            .map(|d| self.absolute(d));
        let mut luas = self.luas_of(&source);
        if luas.is_empty() && project_dir.is_some() {
            self.start_maps(args, project_dir.as_deref());
            luas = self.luas_of(&source);
        }
        if let (true, Some(project)) = (luas.is_empty(), &project) {
            project.compile().await?;
            // New Lua files: scan again.
            self.start_maps(args, project_dir.as_deref());
            luas = self.luas_of(&source);
        }
        let lua = match luas.as_slice() {
            [lua] => lua.clone(),
            [] => {
                return Err(RuntimeError::failed(
                    ErrorKind::NotFound,
                    format!(
                        "{}: no source map of a Lua file under cwd or the program's directory names it; compile it with source maps (or launch its Lua file)",
                        source.display()
                    ),
                ))
            }
            several => {
                return Err(RuntimeError::failed(
                    ErrorKind::InvalidArguments,
                    format!(
                        "{}: compiled into {} Lua files; launch one of them",
                        source.display(),
                        several.len()
                    ),
                ))
            }
        };
        up_to_date(&source, &lua).await?;
        self.refresh(&lua);
        // `require` names modules from the compiler's root: the Lua file's
        // directory less the source's own place under the project (or cwd).
        let mut root = lua.parent().unwrap_or(Path::new("/")).to_path_buf();
        let top = project_dir.unwrap_or_else(|| self.absolute(&cwd));
        if let Some(below) = source.parent().and_then(|d| d.strip_prefix(&top).ok()) {
            if root.ends_with(below) {
                for _ in below.components() {
                    root.pop();
                }
            }
        }
        let path = format!("{}/?.lua", root.display());
        args.lua_path = Some(match args.lua_path.take() {
            Some(user) if !user.is_empty() => format!("{path};{user}"),
            _ => path,
        });
        args.program = lua.to_string_lossy().into_owned();
        Ok(())
    }

    fn luas_of(&self, source: &Path) -> Vec<PathBuf> {
        match self.shared.state().index.as_ref() {
            Some(index) => index.luas_of(source),
            None => Vec::new(),
        }
    }

    fn absolute(&self, path: &Path) -> PathBuf {
        match self.shared.state().index.as_ref() {
            Some(index) => index.absolute(path),
            None => path.to_path_buf(),
        }
    }

    /// Reads the map of `lua` again: its source was recompiled.
    fn refresh(&self, lua: &Path) {
        if let Some(index) = self.shared.state().index.as_mut() {
            index.refresh(lua);
        }
    }

    /// Sends the breakpoints kept for `lua` again, placed by its new map.
    async fn rebind_breakpoints(&self, lua: &Path) {
        let list = {
            let mut state = self.shared.state();
            if !state.breakpoints.contains_key(lua) {
                return;
            }
            self.host_list(&mut state, lua, Path::new("")).0
        };
        // A failure leaves the old placement; the next setBreakpoints redoes it.
        let _ = self.send_lua(lua, list).await;
    }

    async fn set_breakpoints(
        &self,
        args: SetBreakpointsArguments,
    ) -> Result<SetBreakpointsResponseBody, RuntimeError> {
        let Some(path) = args.source.path.clone() else {
            return self.typed::<commands::SetBreakpoints>(args).await;
        };
        let (set_in, luas) = {
            let state = self.shared.state();
            let Some(index) = state.index.as_ref() else {
                return Err(RuntimeError::Protocol("source maps are off".into()));
            };
            (
                index.absolute(Path::new(&path)),
                index.luas_of(Path::new(&path)),
            )
        };
        if luas.is_empty() {
            if path.ends_with(".lua") {
                return self.lua_breakpoints(set_in, args).await;
            }
            let message = format!(
                "{path}: no source map of the program's Lua files names this file (sourceMaps looks under cwd and the program's directory)"
            );
            return Ok(unverified(&args, &message));
        }
        let requested = requested_breakpoints(&args);
        let mut answers: Vec<Option<Breakpoint>> = vec![None; requested.len()];
        for lua in luas {
            let (host_list, origins) = {
                let mut state = self.shared.state();
                state
                    .breakpoints
                    .entry(lua.clone())
                    .or_default()
                    .insert(set_in.clone(), requested.clone());
                self.host_list(&mut state, &lua, &set_in)
            };
            let reply = self.send_lua(&lua, host_list).await?;
            let mut state = self.shared.state();
            for (wanted, answer) in answers.iter_mut().enumerate() {
                let placed: Vec<&Breakpoint> = origins
                    .iter()
                    .zip(&reply.breakpoints)
                    .filter(|(origin, _)| **origin == Some(wanted))
                    .map(|(_, placed)| placed)
                    .collect();
                let merged = merge(&mut state, &set_in, &placed);
                if answer.as_ref().is_none_or(|a| !a.verified) {
                    if let Some(merged) = merged {
                        *answer = Some(merged);
                    }
                }
            }
        }
        let breakpoints = answers
            .into_iter()
            .zip(&requested)
            .map(|(answer, bp)| {
                answer.unwrap_or_else(|| Breakpoint {
                    verified: false,
                    message: Some(format!(
                        "{path}:{}: no code at or after this line was compiled to Lua",
                        bp.line
                    )),
                    source: Some(source_of(&set_in)),
                    line: Some(bp.line),
                    ..Default::default()
                })
            })
            .collect();
        Ok(SetBreakpointsResponseBody { breakpoints })
    }

    /// Breakpoints set on a generated Lua file itself, kept beside those its
    /// sources put there.
    async fn lua_breakpoints(
        &self,
        lua: PathBuf,
        args: SetBreakpointsArguments,
    ) -> Result<SetBreakpointsResponseBody, RuntimeError> {
        let (host_list, origins) = {
            let mut state = self.shared.state();
            state
                .breakpoints
                .entry(lua.clone())
                .or_default()
                .insert(lua.clone(), requested_breakpoints(&args));
            self.host_list(&mut state, &lua, &lua)
        };
        let reply = self.send_lua(&lua, host_list).await?;
        let breakpoints = origins
            .iter()
            .zip(reply.breakpoints)
            .filter(|(origin, _)| origin.is_some())
            .map(|(_, bp)| bp)
            .collect();
        Ok(SetBreakpointsResponseBody { breakpoints })
    }

    /// The host's list for `lua`, and for each entry the index of the
    /// breakpoint of `asked` it stands for (`None`: set in another file).
    fn host_list(
        &self,
        state: &mut State,
        lua: &Path,
        asked: &Path,
    ) -> (Vec<SourceBreakpoint>, Vec<Option<usize>>) {
        let mut list = Vec::new();
        let mut origins = Vec::new();
        let by_file = state.breakpoints.get(lua).cloned().unwrap_or_default();
        // Conditions and log messages typed with the source's names.
        let to_lua = state
            .index
            .as_mut()
            .and_then(|index| index.map_of(&lua.to_string_lossy()))
            .map(|(_, map)| names::reversed(&map.renames))
            .unwrap_or_default();
        for (file, bps) in by_file {
            for (i, bp) in bps.into_iter().enumerate() {
                let origin = (file == asked).then_some(i);
                if file == lua {
                    list.push(bp);
                    origins.push(origin);
                    continue;
                }
                let place = u32::try_from(bp.line)
                    .ok()
                    .and_then(|line| state.index.as_mut()?.to_lua(&file, lua, line));
                let bp = SourceBreakpoint {
                    condition: bp.condition.map(|c| names::to_lua_expression(&c, &to_lua)),
                    hit_condition: bp.hit_condition,
                    log_message: bp
                        .log_message
                        .map(|m| names::to_lua_log_message(&m, &to_lua)),
                    ..bp
                };
                for line in place.map(|p| p.lua_lines).unwrap_or_default() {
                    list.push(SourceBreakpoint {
                        line: i64::from(line),
                        ..bp.clone()
                    });
                    origins.push(origin);
                }
            }
        }
        (list, origins)
    }

    async fn send_lua(
        &self,
        lua: &Path,
        breakpoints: Vec<SourceBreakpoint>,
    ) -> Result<SetBreakpointsResponseBody, RuntimeError> {
        let args = SetBreakpointsArguments {
            source: source_of(lua),
            breakpoints,
            ..Default::default()
        };
        self.typed::<commands::SetBreakpoints>(args).await
    }

    async fn stack_trace(&self, args: Value) -> Result<Value, RuntimeError> {
        let args: StackTraceArguments = from_value(args)?;
        let from_top = args.start_frame.unwrap_or(0) == 0;
        let mut body = self.typed::<commands::StackTrace>(args).await?;
        {
            let mut state = self.shared.state();
            for frame in &body.stack_frames {
                if let Some(lua) = frame.source.as_ref().and_then(|s| s.path.clone()) {
                    state.frames.insert(frame.id, lua);
                }
            }
            if from_top {
                state.top_lua = body
                    .stack_frames
                    .first()
                    .and_then(|f| f.source.as_ref()?.path.clone());
            }
        }
        for frame in &mut body.stack_frames {
            if self.shared.map_source(&mut frame.source, &mut frame.line) {
                frame.column = 1;
            }
        }
        to_value(&body)
    }

    async fn scopes(&self, args: Value) -> Result<Value, RuntimeError> {
        let args: ScopesArguments = from_value(args)?;
        let frame = args.frame_id;
        let body = self.typed::<commands::Scopes>(args).await?;
        let mut state = self.shared.state();
        if let Some(lua) = state.frames.get(&frame).cloned() {
            // Globals are named by the program as Lua sees them.
            for scope in body.scopes.iter().filter(|s| s.name != "Globals") {
                state.scopes.insert(scope.variables_reference, lua.clone());
            }
        }
        to_value(&body)
    }

    /// The Lua file of the scope `reference`, when it is a frame's scope.
    fn scope_lua(&self, reference: i64) -> Option<String> {
        self.shared.state().scopes.get(&reference).cloned()
    }

    async fn variables(&self, args: Value) -> Result<Value, RuntimeError> {
        let args: VariablesArguments = from_value(args)?;
        let lua = self.scope_lua(args.variables_reference);
        let mut body = self.typed::<commands::Variables>(args).await?;
        if let Some(lua) = lua {
            let renames = self.shared.renames(&lua);
            for variable in &mut body.variables {
                if let Some(source) = renames.get(&variable.name) {
                    // `evaluateName` stays the Lua name the host evaluates.
                    variable.evaluate_name.get_or_insert(variable.name.clone());
                    variable.name = source.clone();
                }
            }
        }
        to_value(&body)
    }

    async fn set_variable(&self, args: Value) -> Result<Value, RuntimeError> {
        let mut args: SetVariableArguments = from_value(args)?;
        if let Some(lua) = self.scope_lua(args.variables_reference) {
            let to_lua = names::reversed(&self.shared.renames(&lua));
            if let Some(name) = to_lua.get(&args.name) {
                args.name = name.clone();
            }
            args.value = names::to_lua_expression(&args.value, &to_lua);
        }
        let body = self.typed::<commands::SetVariable>(args).await?;
        to_value(&body)
    }

    async fn evaluate(&self, args: Value) -> Result<Value, RuntimeError> {
        let mut args: EvaluateArguments = from_value(args)?;
        let lua = {
            let state = self.shared.state();
            match args.frame_id {
                Some(frame) => state.frames.get(&frame).cloned(),
                None => state.top_lua.clone(),
            }
        };
        if let Some(lua) = lua {
            let to_lua = names::reversed(&self.shared.renames(&lua));
            args.expression = names::to_lua_expression(&args.expression, &to_lua);
        }
        let body = self.typed::<commands::Evaluate>(args).await?;
        to_value(&body)
    }

    /// REPL completions name renamed variables as the source does.
    async fn completions(&self, args: Value) -> Result<Value, RuntimeError> {
        let args: CompletionsArguments = from_value(args)?;
        let lua = {
            let state = self.shared.state();
            match args.frame_id {
                Some(frame) => state.frames.get(&frame).cloned(),
                None => state.top_lua.clone(),
            }
        };
        let mut body = self.typed::<commands::Completions>(args).await?;
        if let Some(lua) = lua {
            let renames = self.shared.renames(&lua);
            for target in &mut body.targets {
                if let Some(source) = renames.get(&target.label) {
                    if target.text.as_deref().is_none_or(|t| t == target.label) {
                        target.text = target.text.as_ref().map(|_| source.clone());
                    }
                    target.label = source.clone();
                }
            }
        }
        to_value(&body)
    }

    async fn exception_info(&self, args: Value) -> Result<Value, RuntimeError> {
        let args = from_value(args)?;
        let mut body = self.typed::<commands::ExceptionInfo>(args).await?;
        let shared = &self.shared;
        body.description = body.description.map(|t| shared.rewrite(&t));
        if let Some(details) = body.details.as_mut() {
            details.message = details.message.take().map(|t| shared.rewrite(&t));
            details.stack_trace = details.stack_trace.take().map(|t| shared.rewrite(&t));
        }
        to_value(&body)
    }

    /// Function and data breakpoints bind where the host finds them, in
    /// Lua: their places are shown at the source lines.
    async fn other_breakpoints(
        &self,
        call: CallId,
        command: &'static str,
        args: Value,
    ) -> Result<Value, RuntimeError> {
        let reply = self.inner.request(call, command, args).await?;
        let mut body: SetBreakpointsResponseBody =
            serde_json::from_value(reply).map_err(|e| RuntimeError::Protocol(e.to_string()))?;
        for breakpoint in &mut body.breakpoints {
            self.shared.map_breakpoint(breakpoint);
        }
        to_value(&body)
    }

    /// Lines of a source that a breakpoint can bind to: those the map
    /// gives code; a Lua file (or a source no map names) asks the host.
    async fn breakpoint_locations(&self, call: CallId, args: Value) -> Result<Value, RuntimeError> {
        let parsed: BreakpointLocationsArguments = from_value(args.clone())?;
        let source = parsed.source.path.as_deref().map(Path::new);
        let luas = source
            .map(|s| self.luas_of(&self.absolute(s)))
            .unwrap_or_default();
        let (Some(source), false) = (source, luas.is_empty()) else {
            return self
                .inner
                .request(call, commands::BreakpointLocations::NAME, args)
                .await;
        };
        let first = i64::max(parsed.line, 1);
        let last = parsed.end_line.unwrap_or(first).max(first);
        let mut lines = Vec::new();
        {
            let mut state = self.shared.state();
            if let Some(index) = state.index.as_mut() {
                for lua in &luas {
                    lines.extend(index.lines_with_code(source, lua));
                }
            }
        }
        lines.sort_unstable();
        lines.dedup();
        let lines: Vec<BreakpointLocation> = lines
            .into_iter()
            .map(i64::from)
            .filter(|line| (first..=last).contains(line))
            .map(|line| BreakpointLocation { line })
            .collect();
        to_value(&BreakpointLocationsResponseBody { breakpoints: lines })
    }

    async fn loaded_sources(&self) -> Result<Value, RuntimeError> {
        let body = self.typed::<commands::LoadedSources>(()).await?;
        let mut sources: Vec<Source> = Vec::new();
        for source in body.sources {
            for shown in self
                .shared
                .sources_of(&source)
                .unwrap_or_else(|| vec![source])
            {
                if !sources.contains(&shown) {
                    sources.push(shown);
                }
            }
        }
        to_value(&LoadedSourcesResponseBody { sources })
    }

    async fn step(&self, command: &'static str, call: CallId) -> Result<Value, RuntimeError> {
        let thread = self.shared.state().stopped_thread;
        let from = top_source_line(&*self.inner, thread, &self.shared).await;
        self.shared.state().step = from.map(|(source, line)| Step {
            command,
            source,
            line,
            taken: 0,
        });
        self.inner.request(call, command, Value::Null).await
    }

    async fn hot_reload(&self, call: CallId, args: Value) -> Result<Value, RuntimeError> {
        let mut args: HotReloadArguments = from_value(args)?;
        let mut asked_source = None;
        let compiler = self.shared.state().compiler.clone();
        if let (Some(path), Some(compiler)) = (args.path.clone(), compiler) {
            if path.ends_with(".luax") {
                let source = self.absolute(Path::new(&path));
                saved_only(&source, args.source.as_deref())?;
                compiler.compile(std::slice::from_ref(&source)).await?;
                let lua = compiler.output_of(&source);
                asked_source = Some(path);
                args.path = Some(lua.to_string_lossy().into_owned());
                args.source = None;
            }
        }
        if let (None, Some(path)) = (&asked_source, args.path.clone()) {
            let luas = match self.shared.state().index.as_ref() {
                Some(index) => index.luas_of(Path::new(&path)),
                None => Vec::new(),
            };
            match luas.as_slice() {
                [] => {}
                [lua] => {
                    let source = self.absolute(Path::new(&path));
                    saved_only(&source, args.source.as_deref())?;
                    up_to_date(&source, lua).await?;
                    asked_source = Some(path);
                    args.path = Some(lua.to_string_lossy().into_owned());
                    // New text of the source is not Lua; the host reads the
                    // recompiled file.
                    args.source = None;
                }
                several => {
                    return Err(RuntimeError::failed(
                        ErrorKind::InvalidArguments,
                        format!(
                            "{path}: compiled into {} Lua files; reload one of them",
                            several.len()
                        ),
                    ))
                }
            }
        }
        let lua = args.path.as_deref().map(|p| self.absolute(Path::new(p)));
        if let Some(lua) = &lua {
            self.refresh(lua);
        }
        let reply = self
            .inner
            .request(call, commands::HotReload::NAME, to_value(&args)?)
            .await
            .map_err(|e| self.shared.rewrite_error(e))?;
        if let Some(lua) = &lua {
            self.rebind_breakpoints(lua).await;
        }
        let mut body: HotReloadResponseBody =
            serde_json::from_value(reply).map_err(|e| RuntimeError::Protocol(e.to_string()))?;
        if let Some(source) = asked_source {
            body.path = source;
        }
        for warning in &mut body.warnings {
            warning.message = self.shared.rewrite(&warning.message);
            // The warning's place as data, at the source line too.
            if let (Some(path), Some(line)) = (warning.path.as_deref(), warning.line) {
                if let Some((source, line)) = self.shared.to_source(path, line) {
                    warning.path = Some(source.to_string_lossy().into_owned());
                    warning.line = Some(i64::from(line));
                }
            }
        }
        to_value(&body)
    }
}

/// Refuses new text for a compiled source that differs from the saved
/// file: the compiler reads files, and reloading the saved version instead
/// would not be what the user asked for.
fn saved_only(source: &Path, text: Option<&str>) -> Result<(), RuntimeError> {
    let Some(text) = text else { return Ok(()) };
    if std::fs::read_to_string(source).is_ok_and(|saved| saved == text) {
        return Ok(());
    }
    Err(RuntimeError::failed(
        ErrorKind::Refused,
        format!(
            "{}: save it first: its compiler reads the saved file, not unsaved text",
            source.display()
        ),
    ))
}

/// Brings `lua` up to date with `source`: a TypeScript project is
/// recompiled with its TypeScriptToLua; for other languages, reloading Lua
/// older than its source is refused (it would not hold the change).
async fn up_to_date(source: &Path, lua: &Path) -> Result<(), RuntimeError> {
    if !tstl::stale(source, lua) {
        return Ok(());
    }
    let project = tstl::is_typescript(source)
        .then(|| tstl::project_of(source))
        .flatten();
    match project {
        Some(project) => project.compile().await,
        None => Err(RuntimeError::failed(
            ErrorKind::Refused,
            format!(
                "{}: changed after {} was compiled from it; recompile it, then reload",
                source.display(),
                lua.display()
            ),
        )),
    }
}

fn requested_breakpoints(args: &SetBreakpointsArguments) -> Vec<SourceBreakpoint> {
    if args.breakpoints.is_empty() {
        if let Some(lines) = &args.lines {
            return lines
                .iter()
                .map(|&line| SourceBreakpoint {
                    line,
                    ..Default::default()
                })
                .collect();
        }
    }
    args.breakpoints.clone()
}

fn unverified(args: &SetBreakpointsArguments, message: &str) -> SetBreakpointsResponseBody {
    SetBreakpointsResponseBody {
        breakpoints: requested_breakpoints(args)
            .iter()
            .map(|bp| Breakpoint {
                verified: false,
                message: Some(message.to_owned()),
                source: Some(args.source.clone()),
                line: Some(bp.line),
                ..Default::default()
            })
            .collect(),
    }
}

/// One source breakpoint from the host breakpoints it became: verified if
/// any is, at the source line of the first verified one; further ids alias
/// the first.
fn merge(state: &mut State, source: &Path, placed: &[&Breakpoint]) -> Option<Breakpoint> {
    let chosen = placed
        .iter()
        .find(|bp| bp.verified)
        .or_else(|| placed.first())?;
    let mut answer = (*chosen).clone();
    if let Some(first) = answer.id {
        for other in placed.iter().filter_map(|bp| bp.id) {
            if other != first {
                state.aliases.insert(other, first);
            }
        }
    }
    let lua = answer.source.as_ref().and_then(|s| s.path.clone());
    let mapped = lua.zip(answer.line).and_then(|(lua, line)| {
        let line = u32::try_from(line).ok()?;
        state.index.as_mut()?.to_source(&lua, line)
    });
    if let Some((_, line)) = mapped {
        answer.line = Some(i64::from(line));
    }
    answer.source = Some(source_of(source));
    if let Some(message) = answer.message.take() {
        let text = match state.index.as_mut() {
            Some(index) => rewrite_locations(
                &message,
                |l, n| index.to_source(l, n),
                |p| p.display().to_string(),
            ),
            None => message,
        };
        answer.message = Some(text);
    }
    Some(answer)
}

/// The source line the top frame of `thread` is on, when mapped.
async fn top_source_line(
    inner: &dyn DebugRuntime,
    thread: i64,
    shared: &Shared,
) -> Option<(PathBuf, u32)> {
    let args = StackTraceArguments {
        thread_id: thread,
        start_frame: None,
        levels: Some(1),
    };
    let body: StackTraceResponseBody =
        crate::runtime::call::<commands::StackTrace>(inner, inner.next_call(), args)
            .await
            .ok()?;
    let frame = body.stack_frames.first()?;
    let path = frame.source.as_ref()?.path.as_deref()?;
    shared.to_source(path, frame.line)
}

#[async_trait]
impl DebugRuntime for SourceMapped {
    fn next_call(&self) -> CallId {
        self.inner.next_call()
    }

    async fn request(
        &self,
        call: CallId,
        command: &'static str,
        arguments: Value,
    ) -> Result<Value, RuntimeError> {
        if command == commands::Launch::NAME {
            let mut args: LaunchArguments = from_value(arguments)?;
            if luanext::is_luanext(&args) {
                let runtime = self.shared.state().runtime.clone();
                let runtime = runtime.as_deref().unwrap_or(crate::host::DEFAULT_RUNTIME);
                let compiler = Compiler::launch(&mut args, runtime).await?;
                self.start_maps(&args, Some(&compiler.out_dir));
                self.shared.state().compiler = Some(Arc::new(compiler));
            } else if args.source_maps {
                self.start_maps(&args, None);
                if !args.program.ends_with(".lua") {
                    self.launch_source(&mut args).await?;
                }
            }
            return self.inner.request(call, command, to_value(&args)?).await;
        }
        if !self.shared.enabled() {
            return self.inner.request(call, command, arguments).await;
        }
        let result = match command {
            c if c == commands::SetBreakpoints::NAME => {
                let args = from_value(arguments)?;
                self.set_breakpoints(args).await.and_then(|b| to_value(&b))
            }
            c if c == commands::StackTrace::NAME => self.stack_trace(arguments).await,
            c if c == commands::Next::NAME => self.step(commands::Next::NAME, call).await,
            c if c == commands::StepIn::NAME => self.step(commands::StepIn::NAME, call).await,
            c if c == commands::HotReload::NAME => self.hot_reload(call, arguments).await,
            c if c == commands::Scopes::NAME => self.scopes(arguments).await,
            c if c == commands::Variables::NAME => self.variables(arguments).await,
            c if c == commands::SetVariable::NAME => self.set_variable(arguments).await,
            c if c == commands::Evaluate::NAME => self.evaluate(arguments).await,
            c if c == commands::LoadedSources::NAME => self.loaded_sources().await,
            c if c == commands::ExceptionInfo::NAME => self.exception_info(arguments).await,
            c if c == commands::Completions::NAME => self.completions(arguments).await,
            c if c == commands::SetFunctionBreakpoints::NAME
                || c == commands::SetDataBreakpoints::NAME =>
            {
                self.other_breakpoints(call, command, arguments).await
            }
            c if c == commands::BreakpointLocations::NAME => {
                self.breakpoint_locations(call, arguments).await
            }
            _ => self.inner.request(call, command, arguments).await,
        };
        result.map_err(|e| self.shared.rewrite_error(e))
    }

    async fn cancel(&self, call: CallId) {
        self.inner.cancel(call).await;
    }

    async fn terminate(&self) {
        self.inner.terminate().await;
    }
}

/// Passes the inner runtime's events on in source terms, and turns a host
/// step that stayed on the same source line into another step.
async fn translate_events(
    mut from: mpsc::Receiver<RuntimeEvent>,
    to: mpsc::Sender<RuntimeEvent>,
    inner: Weak<dyn DebugRuntime>,
    shared: Arc<Shared>,
) {
    while let Some(event) = from.recv().await {
        let event = if shared.enabled() {
            match event {
                RuntimeEvent::Stopped(body) => match translate_stop(body, &inner, &shared).await {
                    Some(body) => RuntimeEvent::Stopped(body),
                    None => continue,
                },
                RuntimeEvent::Output(mut body) => {
                    body.output = shared.rewrite(&body.output);
                    if let Some(mut line) = body.line {
                        if shared.map_source(&mut body.source, &mut line) {
                            body.line = Some(line);
                        }
                    }
                    RuntimeEvent::Output(body)
                }
                RuntimeEvent::Breakpoint(mut body) => {
                    shared.map_breakpoint(&mut body.breakpoint);
                    RuntimeEvent::Breakpoint(body)
                }
                RuntimeEvent::LoadedSource(body) => {
                    let Some(sources) = shared.sources_of(&body.source) else {
                        if to.send(RuntimeEvent::LoadedSource(body)).await.is_err() {
                            return;
                        }
                        continue;
                    };
                    for source in sources {
                        let event = RuntimeEvent::LoadedSource(LoadedSourceEventBody {
                            reason: body.reason.clone(),
                            source,
                        });
                        if to.send(event).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                // A repeated step resumes the program again: the client
                // already knows it runs.
                RuntimeEvent::Continued(body) => {
                    let resumed_by_repeat =
                        shared.state().step.as_ref().is_some_and(|s| s.taken > 0);
                    if resumed_by_repeat {
                        continue;
                    }
                    RuntimeEvent::Continued(body)
                }
                other => other,
            }
        } else {
            event
        };
        if to.send(event).await.is_err() {
            return;
        }
    }
}

/// The stop in source terms, or `None` when it was a step still on its
/// starting source line (another step has been sent).
async fn translate_stop(
    mut body: StoppedEventBody,
    inner: &Weak<dyn DebugRuntime>,
    shared: &Shared,
) -> Option<StoppedEventBody> {
    let thread = body.thread_id.unwrap_or(0);
    shared.state().stopped_thread = thread;
    let step = shared.state().step.take();
    if let (Some(mut step), Some(runtime)) = (step, inner.upgrade()) {
        if body.reason == "step" {
            let here = top_source_line(&*runtime, thread, shared).await;
            let same = here
                .as_ref()
                .is_some_and(|(source, line)| *source == step.source && *line == step.line);
            if same && step.taken < MAX_STEPS_PER_LINE {
                step.taken += 1;
                let command = step.command;
                shared.state().step = Some(step);
                if runtime
                    .request(runtime.next_call(), command, Value::Null)
                    .await
                    .is_ok()
                {
                    return None;
                }
                shared.state().step = None;
            }
        }
    }
    {
        let mut state = shared.state();
        // Frame and variables ids of the last stop mean nothing now.
        state.frames.clear();
        state.scopes.clear();
        state.top_lua = None;
        for id in &mut body.hit_breakpoint_ids {
            if let Some(first) = state.aliases.get(id) {
                *id = *first;
            }
        }
    }
    body.hit_breakpoint_ids.dedup();
    body.text = body.text.map(|t| shared.rewrite(&t));
    body.description = body.description.map(|t| shared.rewrite(&t));
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stale_lua_of_a_language_without_a_known_compiler_is_refused() {
        let dir = std::env::temp_dir().join(format!("hotreload-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let (source, lua) = (dir.join("a.moon"), dir.join("a.lua"));
        std::fs::write(&lua, "return 1\n").ok();
        assert!(
            up_to_date(&source, &lua).await.is_ok(),
            "no source: nothing to do"
        );
        std::fs::write(&source, "1\n").ok();
        // Changed after the Lua was written.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        let file = std::fs::File::options().write(true).open(&source);
        assert!(file.and_then(|f| f.set_modified(later)).is_ok());
        let error = up_to_date(&source, &lua).await.err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(
            error.contains("a.moon: changed after") && error.contains("recompile it"),
            "{error}"
        );
        assert!(saved_only(&source, Some("1\n")).is_ok());
        assert!(saved_only(&source, None).is_ok());
        let unsaved = saved_only(&source, Some("2\n"))
            .err()
            .map(|e| e.to_string());
        assert!(unsaved.is_some_and(|e| e.contains("save it first")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
