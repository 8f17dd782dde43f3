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
mod rewrite;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use dap::types::{
    Breakpoint, HotReloadArguments, HotReloadResponseBody, LaunchArguments, OutputEventBody,
    SetBreakpointsArguments, SetBreakpointsResponseBody, Source, SourceBreakpoint,
    StackTraceArguments, StackTraceResponseBody, StoppedEventBody,
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
}

#[async_trait]
impl RuntimeFactory for SourceMapFactory {
    async fn start(
        &self,
        runtime: Option<&str>,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Arc<dyn DebugRuntime>, RuntimeError> {
        let (inner_tx, inner_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let inner = self.inner.start(runtime, inner_tx).await?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
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
        let index = MapIndex::scan(base, &roots);
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
        let mut body = self.typed::<commands::StackTrace>(args).await?;
        for frame in &mut body.stack_frames {
            if self.shared.map_source(&mut frame.source, &mut frame.line) {
                frame.column = 1;
            }
        }
        to_value(&body)
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
        }
        to_value(&body)
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
                let compiler = Compiler::launch(&mut args).await?;
                self.start_maps(&args, Some(&compiler.out_dir));
                self.shared.state().compiler = Some(Arc::new(compiler));
            } else if args.source_maps {
                self.start_maps(&args, None);
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
        let state = shared.state();
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
