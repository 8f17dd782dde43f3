//! Request handlers: each DAP request becomes a `DebugRuntime` call, and the
//! runtime's events become DAP events.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dap::events;
use dap::requests::{self, Request as _};
use dap::types::{
    Capabilities, CompletionsArguments, CompletionsResponseBody, ContinueResponseBody,
    ExceptionBreakpointsFilter, HotReloadResponseBody, InvalidatedEventBody, OutputEventBody,
    TerminatedEventBody,
};
use dap::Request;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::outbox::{event, Outbox, Outgoing};
use super::{CHANNEL_CAPACITY, FLUSH_GRACE};
use crate::host::{find_host, HostProcess, DEFAULT_RUNTIME};
use crate::runtime::{forward, DebugRuntime, RuntimeError, RuntimeEvent};
use crate::SessionConfig;
use host_protocol::HostCommand;

/// A handler's answer: the response, then events to send after it.
pub(super) struct Reply {
    pub(super) result: Result<Option<Value>, String>,
    pub(super) then: Vec<Outgoing>,
}

impl From<Result<Option<Value>, String>> for Reply {
    fn from(result: Result<Option<Value>, String>) -> Reply {
        Reply {
            result,
            then: Vec::new(),
        }
    }
}

pub(super) struct Session {
    pub(super) config: SessionConfig,
    pub(super) outbox: Outbox,
    pub(super) runtime: Mutex<Option<Arc<dyn DebugRuntime>>>,
    /// Forwards the runtime's events to the client.
    pub(super) forwarder: Mutex<Option<JoinHandle<()>>>,
    /// Set once the client is gone: no new program may start.
    pub(super) closing: AtomicBool,
    /// The client's line and column bases from `initialize` (default 1).
    pub(super) bases: Mutex<Bases>,
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
    fn to_runtime(self, mut args: CompletionsArguments) -> CompletionsArguments {
        args.column += 1 - self.column;
        args.line = args.line.map(|l| l + 1 - self.line);
        args
    }

    /// The runtime's 1-based item columns in the client's base.
    fn to_client(self, mut body: CompletionsResponseBody) -> CompletionsResponseBody {
        for item in &mut body.targets {
            item.start = item.start.map(|s| s - 1 + self.column);
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
        supports_conditional_breakpoints: true,
        supports_hit_conditional_breakpoints: true,
        supports_log_points: true,
        supports_delayed_stack_trace_loading: true,
        // disconnect always ends the program: the client has no choice.
        support_terminate_debuggee: false,
        supports_set_variable: true,
        supports_completions_request: true,
        completion_trigger_characters: Some(vec![".".into(), ":".into()]),
        supports_exception_info_request: true,
        supports_loaded_sources_request: true,
        supports_function_breakpoints: true,
        supports_data_breakpoints: true,
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
        ..Capabilities::default()
    }
}

fn parse<R: requests::Request>(request: &Request) -> Result<R::Arguments, String> {
    requests::arguments::<R>(request)
        .map_err(|e| format!("invalid arguments for '{}': {e}", R::COMMAND))
}

impl Session {
    pub(super) async fn dispatch(&self, request: &Request) -> Reply {
        use requests as r;
        let result = match request.command.as_str() {
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
            r::Launch::COMMAND => return self.launch(request).await,
            r::HotReload::COMMAND => return self.hot_reload(request).await,
            r::SetBreakpoints::COMMAND => {
                self.call::<r::SetBreakpoints, _, _>(request, |rt, args| async move {
                    rt.set_breakpoints(args).await
                })
                .await
            }
            r::SetExceptionBreakpoints::COMMAND => {
                self.call::<r::SetExceptionBreakpoints, _, _>(request, |rt, args| async move {
                    rt.set_exception_breakpoints(args).await
                })
                .await
            }
            r::ConfigurationDone::COMMAND => {
                self.call::<r::ConfigurationDone, _, _>(request, |rt, _| async move {
                    rt.configuration_done().await
                })
                .await
            }
            r::Threads::COMMAND => {
                self.call::<r::Threads, _, _>(request, |rt, _| async move { rt.threads().await })
                    .await
            }
            r::Continue::COMMAND => {
                self.call::<r::Continue, _, _>(request, |rt, _| async move {
                    rt.continue_().await?;
                    Ok(ContinueResponseBody {
                        all_threads_continued: true,
                    })
                })
                .await
            }
            r::Next::COMMAND => {
                self.call::<r::Next, _, _>(request, |rt, _| async move { rt.next().await })
                    .await
            }
            r::StepIn::COMMAND => {
                self.call::<r::StepIn, _, _>(request, |rt, _| async move { rt.step_in().await })
                    .await
            }
            r::StepOut::COMMAND => {
                self.call::<r::StepOut, _, _>(request, |rt, _| async move { rt.step_out().await })
                    .await
            }
            r::Pause::COMMAND => {
                self.call::<r::Pause, _, _>(request, |rt, _| async move { rt.pause().await })
                    .await
            }
            r::StackTrace::COMMAND => {
                self.call::<r::StackTrace, _, _>(request, |rt, args| async move {
                    rt.stack_trace(args).await
                })
                .await
            }
            r::Scopes::COMMAND => {
                self.call::<r::Scopes, _, _>(
                    request,
                    |rt, args| async move { rt.scopes(args).await },
                )
                .await
            }
            r::Variables::COMMAND => {
                self.call::<r::Variables, _, _>(request, |rt, args| async move {
                    rt.variables(args).await
                })
                .await
            }
            r::Evaluate::COMMAND => {
                self.call::<r::Evaluate, _, _>(request, |rt, args| async move {
                    rt.evaluate(args).await
                })
                .await
            }
            r::SetVariable::COMMAND => {
                self.call::<r::SetVariable, _, _>(request, |rt, args| async move {
                    rt.set_variable(args).await
                })
                .await
            }
            r::Completions::COMMAND => {
                let bases = self.bases.lock().map(|b| *b).unwrap_or_default();
                self.call::<r::Completions, _, _>(request, |rt, args| async move {
                    let body = rt.completions(bases.to_runtime(args)).await?;
                    Ok(bases.to_client(body))
                })
                .await
            }
            r::ExceptionInfo::COMMAND => {
                self.call::<r::ExceptionInfo, _, _>(request, |rt, args| async move {
                    forward(&*rt, HostCommand::ExceptionInfo(args)).await
                })
                .await
            }
            r::LoadedSources::COMMAND => {
                self.call::<r::LoadedSources, _, _>(request, |rt, _| async move {
                    forward(&*rt, HostCommand::LoadedSources).await
                })
                .await
            }
            r::SourceText::COMMAND => {
                self.call::<r::SourceText, _, _>(request, |rt, args| async move {
                    forward(&*rt, HostCommand::Source(args)).await
                })
                .await
            }
            r::SetFunctionBreakpoints::COMMAND => {
                self.call::<r::SetFunctionBreakpoints, _, _>(request, |rt, args| async move {
                    forward(&*rt, HostCommand::SetFunctionBreakpoints(args)).await
                })
                .await
            }
            r::DataBreakpointInfo::COMMAND => {
                self.call::<r::DataBreakpointInfo, _, _>(request, |rt, args| async move {
                    forward(&*rt, HostCommand::DataBreakpointInfo(args)).await
                })
                .await
            }
            r::SetDataBreakpoints::COMMAND => {
                self.call::<r::SetDataBreakpoints, _, _>(request, |rt, args| async move {
                    forward(&*rt, HostCommand::SetDataBreakpoints(args)).await
                })
                .await
            }
            other => Err(format!("unsupported request '{other}'")),
        };
        result.into()
    }

    fn runtime(&self) -> Result<Arc<dyn DebugRuntime>, String> {
        self.runtime
            .lock()
            .ok()
            .and_then(|rt| rt.clone())
            .ok_or_else(|| "no program is running (send 'launch' first)".to_owned())
    }

    /// Parses `R`'s arguments, runs `call` on the runtime, and turns its
    /// result into a response body.
    async fn call<R, F, Fut>(&self, request: &Request, call: F) -> Result<Option<Value>, String>
    where
        R: requests::Request,
        F: FnOnce(Arc<dyn DebugRuntime>, R::Arguments) -> Fut,
        Fut: Future<Output = Result<R::Response, RuntimeError>>,
    {
        let args = parse::<R>(request)?;
        let runtime = self.runtime()?;
        let body = call(runtime, args).await.map_err(|e| e.to_string())?;
        Ok(requests::body::<R>(&body))
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

    async fn try_launch(&self, request: &Request) -> Result<(), String> {
        let args = parse::<requests::Launch>(request)?;
        if self.closing.load(Ordering::SeqCst) {
            return Err("the session is closing".into());
        }
        if self.runtime().is_ok() {
            return Err("a program is already running in this session".into());
        }
        let runtime = args.runtime.as_deref().unwrap_or(DEFAULT_RUNTIME);
        let path =
            find_host(runtime, self.config.host_dir.as_deref()).map_err(|e| e.to_string())?;
        let (events_tx, events_rx) = mpsc::channel(CHANNEL_CAPACITY);
        let host: Arc<dyn DebugRuntime> =
            Arc::new(HostProcess::spawn(&path, events_tx).map_err(|e| e.to_string())?);
        // Stored before the first await so a concurrent disconnect finds it.
        if let Ok(mut slot) = self.runtime.lock() {
            *slot = Some(host.clone());
        }
        let forwarder = tokio::spawn(forward_events(events_rx, self.outbox.clone()));
        match host.launch(args).await {
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
                host.terminate().await;
                // Let the host's last words (stderr) through before answering.
                let mut forwarder = forwarder;
                if tokio::time::timeout(FLUSH_GRACE, &mut forwarder)
                    .await
                    .is_err()
                {
                    forwarder.abort();
                }
                Err(match error {
                    RuntimeError::Gone => {
                        "launch failed: the host exited during launch (see its stderr output)"
                            .to_owned()
                    }
                    other => format!("launch failed: {other}"),
                })
            }
        }
    }

    async fn hot_reload(&self, request: &Request) -> Reply {
        let args = match parse::<requests::HotReload>(request) {
            Ok(args) => args,
            Err(message) => return Err(message).into(),
        };
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(message) => return Err(message).into(),
        };
        match runtime.hot_reload(args).await {
            Ok(body) => Reply {
                result: Ok(requests::body::<requests::HotReload>(&body)),
                then: reload_events(&body),
            },
            Err(error) => {
                let message = error.to_string();
                Reply {
                    then: vec![console(format!("hot reload failed: {message}\n"))],
                    result: Err(message),
                }
            }
        }
    }

    /// Handles `terminate`: ends the program; `exited` and `terminated`
    /// follow from the runtime's events.
    pub(super) async fn terminate(&self, request: &Request) {
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

    /// Ends the program and lets its last events through.
    pub(super) async fn shutdown(&self) {
        let runtime = self.runtime.lock().ok().and_then(|mut rt| rt.take());
        if let Some(runtime) = runtime {
            runtime.terminate().await;
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
        console(format!(
            "hot reload {name}: {} changed, {} added, {} removed ({:.1} ms)\n",
            body.changed.len(),
            body.added.len(),
            body.removed.len(),
            body.duration_ms
        )),
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

/// Runtime events become DAP events; `Terminated` becomes `terminated`.
async fn forward_events(mut events: mpsc::Receiver<RuntimeEvent>, outbox: Outbox) {
    while let Some(runtime_event) = events.recv().await {
        let out = match runtime_event {
            RuntimeEvent::Stopped(body) => event::<events::Stopped>(&body),
            RuntimeEvent::Continued(body) => event::<events::Continued>(&body),
            RuntimeEvent::Output(body) => event::<events::Output>(&body),
            RuntimeEvent::Thread(body) => event::<events::Thread>(&body),
            RuntimeEvent::Exited(body) => event::<events::Exited>(&body),
            RuntimeEvent::LoadedSource(body) => event::<events::LoadedSource>(&body),
            RuntimeEvent::Breakpoint(body) => event::<events::Breakpoint>(&body),
            RuntimeEvent::Terminated => event::<events::Terminated>(&TerminatedEventBody {}),
        };
        outbox.send(out).await;
    }
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
            "hot reload game.player: 3 changed, 1 added, 0 removed (2.1 ms)\n"
        );
    }
}
