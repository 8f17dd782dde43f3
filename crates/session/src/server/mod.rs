//! The session loop: reads DAP requests, answers them through the runtime
//! and forwards the runtime's events.
//!
//! Tasks: a reader (this function's own loop); a worker that answers
//! requests one at a time in arrival order; short tasks for the requests
//! that must not wait behind a busy program (`pause`, `threads`), bounded in
//! number; a forwarder of runtime events (`forward`); and a writer that
//! numbers and frames everything sent (`outbox`). `cancel`, `terminate` and
//! `disconnect` are handled by the reader itself. Each request runs in a
//! task of its own, so even a panic in a handler ends in an error response.

mod coalesce;
mod failure;
mod forward;
mod handlers;
mod inflight;
mod outbox;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use dap::requests::{self, Request as _};
use dap::types::OutputEventBody;
use dap::{events, CodecError, Message, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::host::HostFactory;
use crate::log::{note, TranscriptLog};
use crate::runtime::RuntimeFactory;
use crate::sourcemaps::SourceMapFactory;
use crate::{SessionConfig, SessionError};
use failure::{Failure, Kind};
use handlers::{DapSession, Reply};
use outbox::{event, write_loop, Outbox, Outgoing};

/// Messages buffered towards the client (and events from the runtime): a
/// client that reads slowly slows the program's output down instead of
/// growing memory.
pub(super) const CHANNEL_CAPACITY: usize = 1024;

/// Requests accepted but not yet started; more are answered `busy` at
/// once. (The reader never waits for room: a `cancel` behind a full queue
/// must still be read.)
const QUEUE_LIMIT: usize = 1024;

/// Requests running beside the queue (`pause`, `threads`) at once; more
/// are answered `busy`.
const CONCURRENT_LIMIT: usize = 16;

/// How long shutdown waits for the last events and the last write.
pub(super) const FLUSH_GRACE: Duration = Duration::from_secs(2);

/// Serves one DAP client until it disconnects or its stream ends, running
/// programs in host processes (see [`HostFactory`]); the host process is
/// gone when this returns.
pub async fn serve<R, W>(reader: R, writer: W, config: SessionConfig) -> Result<(), SessionError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // Source maps wrap every host: the layer passes all through unless
    // `launch` asks for `sourceMaps`.
    let factory = Arc::new(SourceMapFactory {
        inner: Arc::new(HostFactory {
            host_dir: config.host_dir.clone(),
        }),
        host_dir: config.host_dir,
    });
    serve_with(reader, writer, factory, config.log).await
}

/// Serves one DAP client with runtimes from `factory`.
pub async fn serve_with<R, W>(
    reader: R,
    writer: W,
    factory: Arc<dyn RuntimeFactory>,
    log: Option<TranscriptLog>,
) -> Result<(), SessionError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let writer_task = tokio::spawn(write_loop(writer, out_rx, log.clone()));
    let session = Arc::new(DapSession::new(factory, log, Outbox(out_tx)));
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(work(session.clone(), queue_rx));

    let end = read_loop(reader, &session, &queue_tx).await;

    drop(queue_tx);
    drain(&session, worker).await;
    session.closing.store(true, Ordering::SeqCst);
    let (last_words, result) = match end {
        Ok(End::Disconnect(request)) => (
            Some(Outgoing::Response {
                request_seq: request.seq,
                command: request.command,
                result: Ok(None),
            }),
            Ok(()),
        ),
        Ok(End::Eof) => (None, Ok(())),
        Ok(End::Fatal(error)) => (
            Some(note_event(format!(
                "hotreload: closing the session: {error}\n"
            ))),
            Err(SessionError::Protocol(error)),
        ),
        Err(error) => (None, Err(SessionError::Io(error))),
    };
    session.shutdown(last_words).await;
    finish(&session, result, writer_task).await
}

/// Lets the worker answer what the client sent before it left; if the
/// program keeps a request waiting, ends the program so the request fails.
async fn drain(session: &DapSession, mut worker: JoinHandle<()>) {
    if tokio::time::timeout(FLUSH_GRACE, &mut worker)
        .await
        .is_err()
    {
        session.closing.store(true, Ordering::SeqCst);
        session.end_program().await;
        if tokio::time::timeout(FLUSH_GRACE, &mut worker)
            .await
            .is_err()
        {
            worker.abort();
        }
    }
}

/// Flushes and says how the session ended. Once the client said goodbye
/// (or closed its side), a write that fails because it is gone is the
/// normal end, not an error.
async fn finish(
    session: &DapSession,
    result: Result<(), SessionError>,
    mut writer_task: JoinHandle<std::io::Result<()>>,
) -> Result<(), SessionError> {
    // A client that stopped reading must not keep the session alive.
    let flushed = tokio::time::timeout(FLUSH_GRACE, async {
        session.outbox.close().await;
        (&mut writer_task).await
    })
    .await;
    if flushed.is_err() {
        writer_task.abort();
    }
    result
}

/// Why the read loop stopped.
enum End {
    Disconnect(Request),
    Eof,
    Fatal(CodecError),
}

/// Requests that must not wait behind a request stuck in the program.
fn runs_beside_the_queue(command: &str) -> bool {
    command == requests::Pause::COMMAND || command == requests::Threads::COMMAND
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    session: &Arc<DapSession>,
    queue: &mpsc::UnboundedSender<Request>,
) -> std::io::Result<End> {
    let beside = Arc::new(Semaphore::new(CONCURRENT_LIMIT));
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        loop {
            match dap::decode(&mut buf) {
                Ok(Some(Message::Request(request))) => {
                    if session.log.is_some() {
                        let text = serde_json::to_string(&request).unwrap_or_default();
                        note(&session.log, "<-", &text);
                    }
                    match request.command.as_str() {
                        requests::Disconnect::COMMAND => return Ok(End::Disconnect(request)),
                        requests::Terminate::COMMAND => session.terminate(&request).await,
                        requests::Cancel::COMMAND => {
                            let result = session.cancel(&request).await;
                            session.outbox.respond(&request, result).await;
                        }
                        command if runs_beside_the_queue(command) => {
                            let Ok(permit) = beside.clone().try_acquire_owned() else {
                                session.outbox.respond(&request, Err(busy())).await;
                                continue;
                            };
                            session.inflight.queued(request.seq, &request.command);
                            let session = session.clone();
                            tokio::spawn(async move {
                                if session.inflight.start(request.seq) {
                                    run(&session, request).await;
                                }
                                drop(permit);
                            });
                        }
                        _ if session.inflight.queued_count() >= QUEUE_LIMIT => {
                            session.outbox.respond(&request, Err(busy())).await;
                        }
                        _ => {
                            session.inflight.queued(request.seq, &request.command);
                            // The worker lives as long as this loop runs.
                            let _ = queue.send(request);
                        }
                    }
                }
                // Clients send requests only; responses to reverse requests
                // we never make and stray events are ignored.
                Ok(Some(other)) => note(&session.log, "<- ignored", &format!("{other:?}")),
                Ok(None) => break,
                Err(CodecError::BadMessage {
                    seq: Some(seq),
                    command,
                    reason,
                }) => {
                    note(&session.log, "<- bad", &reason);
                    session
                        .outbox
                        .send(Outgoing::Response {
                            request_seq: seq,
                            command: command.unwrap_or_default(),
                            result: Err(Failure::new(
                                Kind::BadRequest,
                                format!("bad request: {reason}"),
                            )),
                        })
                        .await;
                }
                Err(error @ CodecError::BadMessage { .. }) => {
                    // Framing is intact: skip the message, keep serving.
                    note(&session.log, "<- bad", &error.to_string());
                    session
                        .outbox
                        .send(note_event(format!(
                            "hotreload: ignored a message without a usable seq: {error}\n"
                        )))
                        .await;
                }
                Err(error) => {
                    note(&session.log, "<- fatal", &error.to_string());
                    return Ok(End::Fatal(error));
                }
            }
        }
        let n = match reader.read(&mut chunk).await {
            Ok(n) => n,
            // The client vanished: the same as closing its side.
            Err(e) if is_gone(&e) => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(End::Eof);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn busy() -> Failure {
    Failure::new(
        Kind::Busy,
        "too many requests are waiting for the program; try again",
    )
}

fn is_gone(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
    )
}

/// A console note from the adapter itself.
fn note_event(output: String) -> Outgoing {
    event::<events::Output>(&OutputEventBody {
        category: Some("console".into()),
        output,
        ..Default::default()
    })
}

/// Answers queued requests one at a time, in arrival order, skipping those
/// cancelled (and so already answered) before they started.
async fn work(session: Arc<DapSession>, mut queue: mpsc::UnboundedReceiver<Request>) {
    while let Some(request) = queue.recv().await {
        if session.inflight.start(request.seq) {
            run(&session, request).await;
        }
    }
}

/// Answers one request from a task of its own: a panic in its handler
/// becomes an error response instead of silence.
async fn run(session: &Arc<DapSession>, request: Request) {
    let task = {
        let session = session.clone();
        let request = request.clone();
        tokio::spawn(async move { session.dispatch(&request).await })
    };
    let reply = task.await.unwrap_or_else(|e| Reply {
        result: Err(Failure::new(
            Kind::Internal,
            format!("internal error in '{}': {e}", request.command),
        )),
        then: Vec::new(),
    });
    session.inflight.finish(request.seq);
    session.outbox.respond(&request, reply.result).await;
    for out in reply.then {
        session.outbox.send(out).await;
    }
}
