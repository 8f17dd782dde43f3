//! Request handlers: each DAP request becomes a `DebugRuntime` call, and the
//! runtime's events become DAP events.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dap::events;
use dap::requests::{self, Request as _};
use dap::types::{
    Capabilities, CompletionsArguments, CompletionsResponseBody, ContinueResponseBody,
    ExceptionBreakpointsFilter, HotReloadResponseBody, InvalidatedEventBody, OutputEventBody,
};
use dap::Request;
use host_protocol::commands::{self as c, Command};
use host_protocol::ErrorKind;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::failure::{Failure, Kind};
use super::forward::forward_events;
use super::inflight::{Cancel, InFlight};
use super::outbox::{event, Outbox, Outgoing};
use super::{CHANNEL_CAPACITY, FLUSH_GRACE};
use crate::log::TranscriptLog;
use crate::runtime::{self, DebugRuntime, RuntimeError, RuntimeFactory};

/// A handler's answer: the response, then events to send after it.
pub(super) struct Reply {
    pub(super) result: Result<Option<Value>, Failure>,
    pub(super) then: Vec<Outgoing>,
}

impl From<Result<Option<Value>, Failure>> for Reply {
    fn from(result: Result<Option<Value>, Failure>) -> Reply {
        Reply {
            result,
            then: Vec::new(),
        }
    }
}

/// One DAP client's debug session: its runtime, its requests in flight,
/// its outbox. (The host process has its own `Debuggee`.)
pub(super) struct DapSession {
    pub(super) factory: Arc<dyn RuntimeFactory>,
    pub(super) log: Option<TranscriptLog>,
    pub(super) outbox: Outbox,
    pub(super) runtime: Mutex<Option<Arc<dyn DebugRuntime>>>,
    /// Forwards the runtime's events to the client.
    pub(super) forwarder: Mutex<Option<JoinHandle<()>>>,
    /// Set once the client is gone: no new program may start.
    pub(super) closing: AtomicBool,
    /// The client's line and column bases from `initialize` (default 1).
    pub(super) bases: Mutex<Bases>,
    /// Accepted requests not yet answered, for `cancel`.
    pub(super) inflight: InFlight,
    /// True while `exited`/`terminated` must wait (see `forward`).
    pub(super) hold: watch::Sender<bool>,
}

/// Where the client's lines and columns start (DAP: 1 unless it says 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Bases {
    pub(super) line: i64,
    pub(super) column: i64,
}

impl Default for Bases {
    fn default() -> Bases {
        Bases { line: 1, column: 1 }
    }
}

impl Bases {
    /// `completions` arguments with 1-based line and column, as the runtime takes them.
    /// (Client numbers are untrusted: saturating, never overflowing.)
    fn to_runtime(self, mut args: CompletionsArguments) -> CompletionsArguments {
        args.column = args.column.saturating_add(1 - self.column);
        args.line = args.line.map(|l| l.saturating_add(1 - self.line));
        args
    }

    /// The runtime's 1-based item columns in the client's base.
    fn to_client(self, mut body: CompletionsResponseBody) -> CompletionsResponseBody {
        for item in &mut body.targets {
            item.start = item.start.map(|s| s.saturating_add(self.column - 1));
        }
        body
    }
}

/// What the client is told this adapter does; only what works.
fn capabilities() -> Capabilities {
    Capabilities {
        supports_configuration_done_request: true,
        supports_evaluate_for_hovers: true,
        supports_terminate_request: true,
        supports_cancel_request: true,
        supports_conditional_breakpoints: true,
        supports_hit_conditional_breakpoints: true,
        supports_log_points: true,
        supports_delayed_stack_trace_loading: true,
        // disconnect always ends the program: the client has no choice.
        support_terminate_debuggee: false,
        supports_set_variable: true,
        supports_set_expression: true,
        // Lua 5.4 hosts; the others refuse each request with the reason.
        supports_restart_frame: true,
        supports_completions_request: true,
        completion_trigger_characters: Some(vec![".".into(), ":".into()]),
        supports_exception_info_request: true,
        supports_function_breakpoints: true,
        supports_loaded_sources_request: true,
        supports_data_breakpoints: true,
        supports_breakpoint_locations_request: true,
        exception_breakpoint_filters: vec![
            ExceptionBreakpointsFilter {
                filter: "uncaught".into(),
                label: "Uncaught errors".into(),
                description: Some("Stop when an error ends the program.".into()),
                default: true,
            },
            ExceptionBreakpointsFilter {
                filter: "all".into(),
                label: "All errors, also caught by pcall".into(),
                description: Some(
                    "Stop where any error is raised, before pcall catches it.".into(),
                ),
                default: false,
            },
        ],
    }
}

fn parse<R: requests::Request>(request: &Request) -> Result<R::Arguments, Failure> {
    requests::arguments::<R>(request).map_err(|e| {
        Failure::new(
            Kind::InvalidArguments,
            format!("invalid arguments for '{}': {e}", R::COMMAND),
        )
    })
}

/// Serves a request the host answers as it is ([`DapSession::forward`]).
struct Forward<'a> {
    session: &'a DapSession,
    request: &'a Request,
}

type Answer<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Value>, Failure>> + Send + 'a>,
>;

impl<'a> c::ForwardedVisitor for Forward<'a> {
    type Output = Answer<'a>;

    fn visit<C>(self) -> Answer<'a>
    where
        C: Command
            + requests::Request<
                Arguments = <C as Command>::Arguments,
                Response = <C as Command>::Reply,
            > + 'static,
    {
        Box::pin(self.session.forward::<C>(self.request))
    }
}

impl DapSession {
    pub(super) fn new(
        factory: Arc<dyn RuntimeFactory>,
        log: Option<TranscriptLog>,
        outbox: Outbox,
    ) -> DapSession {
        DapSession {
            factory,
            log,
            outbox,
            runtime: Mutex::new(None),
            forwarder: Mutex::new(None),
            closing: AtomicBool::new(false),
            bases: Mutex::new(Bases::default()),
            inflight: InFlight::default(),
            hold: watch::channel(false).0,
        }
    }

    /// Answers one request (any but `disconnect`, `terminate`, `cancel`).
    pub(super) async fn dispatch(&self, request: &Request) -> Reply {
        match request.command.as_str() {
            requests::Launch::COMMAND => self.launch(request).await,
            requests::Attach::COMMAND => self.attach(request).await,
            requests::HotReload::COMMAND => self.hot_reload(request).await,
            requests::SetVariable::COMMAND | requests::SetExpression::COMMAND => {
                let result = self.answer(request).await;
                // Other views of the value (watches, other scopes) are stale.
                let then = if result.is_ok() {
                    vec![event::<events::Invalidated>(&InvalidatedEventBody {
                        areas: vec!["variables".into()],
                        thread_id: None,
                    })]
                } else {
                    Vec::new()
                };
                Reply { result, then }
            }
            _ => self.answer(request).await.into(),
        }
    }

    /// Requests answered with a response and nothing after it.
    async fn answer(&self, request: &Request) -> Result<Option<Value>, Failure> {
        use requests as r;
        let seq = request.seq;
        match request.command.as_str() {
            r::Initialize::COMMAND => parse::<r::Initialize>(request).map(|args| {
                if let Ok(mut bases) = self.bases.lock() {
                    *bases = Bases {
                        line: if args.lines_start_at1 == Some(false) {
                            0
                        } else {
                            1
                        },
                        column: if args.columns_start_at1 == Some(false) {
                            0
                        } else {
                            1
                        },
                    };
                }
                requests::body::<r::Initialize>(&capabilities())
            }),
            r::ConfigurationDone::COMMAND => {
                self.forward_unit::<r::ConfigurationDone, c::ConfigurationDone>(request)
                    .await
            }
            r::Threads::COMMAND => {
                parse::<r::Threads>(request)?;
                let body = self.call::<c::Threads>(seq, ()).await?;
                Ok(requests::body::<r::Threads>(&body))
            }
            r::Continue::COMMAND => {
                parse::<r::Continue>(request)?;
                self.call::<c::Continue>(seq, ()).await?;
                Ok(requests::body::<r::Continue>(&ContinueResponseBody {
                    all_threads_continued: true,
                }))
            }
            r::Next::COMMAND => self.forward_unit::<r::Next, c::Next>(request).await,
            r::StepIn::COMMAND => self.forward_unit::<r::StepIn, c::StepIn>(request).await,
            r::StepOut::COMMAND => self.forward_unit::<r::StepOut, c::StepOut>(request).await,
            r::Pause::COMMAND => self.forward_unit::<r::Pause, c::Pause>(request).await,
            r::Completions::COMMAND => {
                let bases = self.bases.lock().map(|b| *b).unwrap_or_default();
                match parse::<r::Completions>(request) {
                    Ok(args) => self
                        .call::<c::Completions>(seq, bases.to_runtime(args))
                        .await
                        .map(|body| requests::body::<r::Completions>(&bases.to_client(body))),
                    Err(failure) => Err(failure),
                }
            }
            r::LoadedSources::COMMAND => {
                parse::<r::LoadedSources>(request)?;
                let body = self.call::<c::LoadedSources>(seq, ()).await?;
                Ok(requests::body::<r::LoadedSources>(&body))
            }
            // The requests the host serves as they are (`commands` lists them).
            other => match c::with_forwarded(
                other,
                Forward {
                    session: self,
                    request,
                },
            ) {
                Some(answer) => answer.await,
                None => Err(Failure::new(
                    Kind::Unsupported,
                    format!("unsupported request '{other}'"),
                )),
            },
        }
    }

    fn runtime(&self) -> Result<Arc<dyn DebugRuntime>, Failure> {
        self.runtime
            .lock()
            .ok()
            .and_then(|rt| rt.clone())
            .ok_or_else(|| {
                Failure::new(
                    Kind::NotRunning,
                    "no program is running (send 'launch' first)",
                )
            })
    }

    /// One typed runtime call on behalf of request `seq`, cancellable by it.
    async fn call<C: Command>(&self, seq: i64, args: C::Arguments) -> Result<C::Reply, Failure> {
        let runtime = self.runtime()?;
        let id = runtime.next_call();
        if !self.inflight.calling(seq, runtime.clone(), id) {
            return Err(Failure::new(Kind::Cancelled, "cancelled"));
        }
        runtime::call::<C>(&*runtime, id, args)
            .await
            .map_err(Failure::from)
    }

    /// A request whose arguments and reply are the host command's own.
    async fn forward<C>(&self, request: &Request) -> Result<Option<Value>, Failure>
    where
        C: Command
            + requests::Request<
                Arguments = <C as Command>::Arguments,
                Response = <C as Command>::Reply,
            >,
    {
        let args = parse::<C>(request)?;
        let body = self.call::<C>(request.seq, args).await?;
        Ok(requests::body::<C>(&body))
    }

    /// A request answered with no body by a host command without arguments.
    async fn forward_unit<D, C>(&self, request: &Request) -> Result<Option<Value>, Failure>
    where
        D: requests::Request,
        C: Command<Arguments = (), Reply = ()>,
    {
        parse::<D>(request)?;
        self.call::<C>(request.seq, ()).await?;
        Ok(None)
    }

    /// Handles `cancel`: a queued request will be answered `cancelled`, a
    /// running one has its runtime call cancelled. Always succeeds (DAP:
    /// cancelling is a hint).
    pub(super) async fn cancel(&self, request: &Request) -> Result<Option<Value>, Failure> {
        let args = parse::<requests::Cancel>(request)?;
        if let Some(seq) = args.request_id {
            match self.inflight.cancel(seq) {
                Cancel::Queued(command) => {
                    self.outbox
                        .send(Outgoing::Response {
                            request_seq: seq,
                            command,
                            result: Err(Failure::new(Kind::Cancelled, "cancelled")),
                        })
                        .await;
                }
                Cancel::Call(runtime, call) => runtime.cancel(call).await,
                Cancel::Nothing => {}
            }
        }
        Ok(None)
    }

    async fn launch(&self, request: &Request) -> Reply {
        match self.try_launch(request).await {
            Ok(()) => Reply {
                result: Ok(None),
                then: vec![event::<events::Initialized>(&())],
            },
            Err(message) => Err(message).into(),
        }
    }

    async fn try_launch(&self, request: &Request) -> Result<(), Failure> {
        let args = parse::<requests::Launch>(request)?;
        if self.closing.load(Ordering::SeqCst) {
            return Err(Failure::new(Kind::Launch, "the session is closing"));
        }
        if self.runtime().is_ok() {
            return Err(Failure::new(
                Kind::Launch,
                "a program is already running in this session",
            ));
        }
        let (events_tx, events_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let runtime = self
            .factory
            .start(crate::sourcemaps::host_runtime(&args), events_tx)
            .await
            .map_err(Failure::from)?;
        // Stored before the first await so a concurrent disconnect finds it.
        if let Ok(mut slot) = self.runtime.lock() {
            *slot = Some(runtime.clone());
        }
        let forwarder = tokio::spawn(forward_events(
            events_rx,
            self.outbox.clone(),
            self.hold.subscribe(),
        ));
        let id = runtime.next_call();
        let launched = if self.inflight.calling(request.seq, runtime.clone(), id) {
            runtime::call::<c::Launch>(&*runtime, id, args).await
        } else {
            Err(RuntimeError::failed(ErrorKind::Cancelled, "cancelled"))
        };
        match launched {
            Ok(()) => {
                if let Ok(mut slot) = self.forwarder.lock() {
                    *slot = Some(forwarder);
                }
                Ok(())
            }
            Err(error) => {
                if let Ok(mut slot) = self.runtime.lock() {
                    *slot = None;
                }
                runtime.terminate().await;
                // The runtime may hold the events' sender: let the events end.
                self.inflight.finish(request.seq);
                drop(runtime);
                // Let the host's last words (stderr) through before answering.
                let mut forwarder = forwarder;
                if tokio::time::timeout(FLUSH_GRACE, &mut forwarder)
                    .await
                    .is_err()
                {
                    forwarder.abort();
                }
                Err(match error {
                    RuntimeError::Gone => Failure::new(
                        Kind::Launch,
                        "the host exited during launch (see its stderr output)",
                    ),
                    // The runtime's kind, location and words: clients say
                    // which request failed (nvim-dap: "Error on launch").
                    other => Failure::from(other),
                })
            }
        }
    }

    async fn attach(&self, request: &Request) -> Reply {
        match self.try_attach(request).await {
            Ok(()) => Reply {
                result: Ok(None),
                then: vec![event::<events::Initialized>(&())],
            },
            Err(message) => Err(message).into(),
        }
    }

    /// `attach`: waits for (or reaches) the program's agent; the runtime is
    /// the connection (see `crate::attach`).
    async fn try_attach(&self, request: &Request) -> Result<(), Failure> {
        let args = parse::<requests::Attach>(request)?;
        if self.closing.load(Ordering::SeqCst) {
            return Err(Failure::new(Kind::Launch, "the session is closing"));
        }
        if self.runtime().is_ok() {
            return Err(Failure::new(
                Kind::Launch,
                "a program is already running in this session",
            ));
        }
        let (events_tx, events_rx) = mpsc::channel(CHANNEL_CAPACITY);
        // Forwarding starts now: notes about refused programs reach the
        // client while it waits.
        let mut forwarder = tokio::spawn(forward_events(
            events_rx,
            self.outbox.clone(),
            self.hold.subscribe(),
        ));
        // With `sourceMaps`, the connection's events pass through the
        // source-map layer (as a launched host's do).
        let (agent_tx, agent_rx) = if args.source_maps {
            let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
            (tx, Some(rx))
        } else {
            (events_tx.clone(), None)
        };
        let connection = match crate::attach::attach(&args, agent_tx, events_tx.clone()).await {
            Ok(connection) => connection,
            Err(e) => {
                drop(events_tx);
                if tokio::time::timeout(FLUSH_GRACE, &mut forwarder)
                    .await
                    .is_err()
                {
                    forwarder.abort();
                }
                return Err(Failure::from(RuntimeError::Host(e.into())));
            }
        };
        let greeting = connection.greeting();
        let who = format!(
            "hotreload: attached to {} (pid {}, {})\n",
            greeting.program.as_deref().unwrap_or("a program"),
            greeting
                .pid
                .map_or_else(|| "?".to_string(), |p| p.to_string()),
            greeting.lua.as_deref().unwrap_or("Lua"),
        );
        let runtime: Arc<dyn DebugRuntime> = match agent_rx {
            Some(agent_rx) => crate::sourcemaps::SourceMapped::attached(
                connection,
                agent_rx,
                events_tx.clone(),
                args.cwd.as_deref(),
            ),
            None => connection,
        };
        if let Ok(mut slot) = self.runtime.lock() {
            *slot = Some(runtime);
        }
        let _ = events_tx
            .send(crate::runtime::RuntimeEvent::Output(OutputEventBody {
                category: Some("console".into()),
                output: who,
                ..Default::default()
            }))
            .await;
        drop(events_tx);
        if let Ok(mut slot) = self.forwarder.lock() {
            *slot = Some(forwarder);
        }
        Ok(())
    }

    async fn hot_reload(&self, request: &Request) -> Reply {
        let args = match parse::<requests::HotReload>(request) {
            Ok(args) => args,
            Err(message) => return Err(message).into(),
        };
        if let Err(message) = self.runtime() {
            return Err(message).into();
        }
        match self.call::<c::HotReload>(request.seq, args).await {
            Ok(body) => Reply {
                result: Ok(requests::body::<requests::HotReload>(&body)),
                then: reload_events(&body),
            },
            Err(failure) => Reply {
                then: vec![console(format!("hot reload failed: {}\n", failure.message))],
                result: Err(failure),
            },
        }
    }

    /// Handles `terminate`: ends the program and answers before the
    /// `exited` and `terminated` that follow from the runtime's events.
    pub(super) async fn terminate(&self, request: &Request) {
        let _held = self.hold_end();
        self.end_program().await;
        self.outbox.respond(request, Ok(None)).await;
    }

    /// Ends the program, if one runs; the runtime stays to answer later
    /// requests with "no longer running".
    pub(super) async fn end_program(&self) {
        if let Ok(runtime) = self.runtime() {
            runtime.terminate().await;
        }
    }

    /// Holds `exited` and `terminated` back until the guard is dropped.
    pub(super) fn hold_end(&self) -> HoldEnd<'_> {
        self.hold.send_replace(true);
        HoldEnd(&self.hold)
    }

    /// Ends the program, sends `last_words` (the `disconnect` response)
    /// before its `exited`/`terminated`, and lets its last events through.
    pub(super) async fn shutdown(&self, last_words: Option<Outgoing>) {
        {
            let _held = self.hold_end();
            let runtime = self.runtime.lock().ok().and_then(|mut rt| rt.take());
            if let Some(runtime) = runtime {
                runtime.terminate().await;
            }
            if let Some(out) = last_words {
                self.outbox.send(out).await;
            }
        }
        let forwarder = self.forwarder.lock().ok().and_then(|mut f| f.take());
        if let Some(mut forwarder) = forwarder {
            if tokio::time::timeout(FLUSH_GRACE, &mut forwarder)
                .await
                .is_err()
            {
                forwarder.abort();
            }
        }
    }
}

/// Releases the hold on the end events when dropped.
pub(super) struct HoldEnd<'a>(&'a watch::Sender<bool>);

impl Drop for HoldEnd<'_> {
    fn drop(&mut self) {
        self.0.send_replace(false);
    }
}

/// After a reload: `hotReloaded` with the response body, `invalidated` so
/// clients refetch stacks and variables, and a one-line console summary.
fn reload_events(body: &HotReloadResponseBody) -> Vec<Outgoing> {
    let name = if body.module.is_empty() {
        &body.path
    } else {
        &body.module
    };
    let mut out = vec![
        event::<events::HotReloaded>(body),
        event::<events::Invalidated>(&InvalidatedEventBody {
            areas: vec!["all".into()],
            thread_id: None,
        }),
        console(format!("hot reload {}\n", crate::reload_summary(body))),
    ];
    out.extend(
        body.warnings
            .iter()
            .map(|w| console(format!("hot reload {name}: warning: {}\n", w.message))),
    );
    out
}

fn console(output: String) -> Outgoing {
    event::<events::Output>(&OutputEventBody {
        category: Some("console".into()),
        output,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_columns_follow_the_client_base() {
        let args = CompletionsArguments {
            frame_id: None,
            text: "a\nt.x".into(),
            column: 2,
            line: Some(1),
        };
        let zero = Bases { line: 0, column: 0 };
        let sent = zero.to_runtime(args.clone());
        assert_eq!((sent.column, sent.line), (3, Some(2)));
        let one = Bases::default().to_runtime(args);
        assert_eq!((one.column, one.line), (2, Some(1)));
        let body = CompletionsResponseBody {
            targets: vec![dap::types::CompletionItem {
                label: "x".into(),
                start: Some(3),
                ..Default::default()
            }],
        };
        assert_eq!(zero.to_client(body.clone()).targets[0].start, Some(2));
        assert_eq!(Bases::default().to_client(body).targets[0].start, Some(3));
    }

    #[test]
    fn reload_summary_is_one_console_line_after_the_events() {
        let body = HotReloadResponseBody {
            module: "game.player".into(),
            path: "/x/game/player.lua".into(),
            changed: vec!["a".into(), "b".into(), "c".into()],
            added: vec!["d".into()],
            removed: vec![],
            warnings: vec![],
            duration_ms: 2.06,
        };
        let out = reload_events(&body);
        let names: Vec<_> = out
            .iter()
            .map(|o| match o {
                Outgoing::Event { event, body } => (*event, body.clone()),
                _ => ("?", None),
            })
            .collect();
        assert_eq!(names[0].0, "hotReloaded");
        assert_eq!(
            names[0]
                .1
                .as_ref()
                .and_then(|b| b.get("durationMs"))
                .cloned(),
            Some(serde_json::json!(2.06))
        );
        assert_eq!(names[1].0, "invalidated");
        assert_eq!(names[2].0, "output");
        let output = names[2]
            .1
            .as_ref()
            .and_then(|b| b.get("output"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            output,
            "hot reload game.player: 3 changed, 1 added, 0 removed \
             (changed: a, b, c; added: d; 2.1 ms)\n"
        );
    }
}
