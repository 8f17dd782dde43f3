//! The session loop: reads DAP requests, answers them through the runtime
//! and forwards the runtime's events.
//!
//! Three tasks share the work so that events and requests interleave:
//! a reader (this function's own loop), a worker that handles requests one at
//! a time in arrival order, and a writer that numbers and frames everything
//! sent. `disconnect` and `terminate` bypass the worker's queue, so they work
//! even while another request waits for a busy program.

mod handlers;
mod outbox;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dap::events;
use dap::requests::{self, Request as _};
use dap::types::OutputEventBody;
use dap::{CodecError, Message, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::log::note;
use crate::{SessionConfig, SessionError};
use handlers::Session;
use outbox::{event, write_loop, Outbox, Outgoing};

/// Messages buffered towards the client (and events from the runtime): a
/// client that reads slowly slows the program's output down instead of
/// growing memory.
pub(super) const CHANNEL_CAPACITY: usize = 1024;

/// How long shutdown waits for the last events and the last write.
pub(super) const FLUSH_GRACE: Duration = Duration::from_secs(2);

/// Serves one DAP client until it disconnects or its stream ends; the host
/// process is gone when this returns.
pub async fn serve<R, W>(reader: R, writer: W, config: SessionConfig) -> Result<(), SessionError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let writer_task = tokio::spawn(write_loop(writer, out_rx, config.log.clone()));
    let session = Arc::new(Session {
        outbox: Outbox(out_tx),
        config,
        runtime: Mutex::new(None),
        forwarder: Mutex::new(None),
        closing: AtomicBool::new(false),
        bases: Mutex::new(Default::default()),
    });
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let worker = tokio::spawn(work(session.clone(), queue_rx));

    let end = read_loop(reader, &session, &queue_tx).await;

    drop(queue_tx);
    drain(&session, worker).await;
    session.closing.store(true, Ordering::SeqCst);
    session.shutdown().await;
    finish(&session, end, writer_task).await
}

/// Lets the worker answer what the client sent before it left; if the
/// program keeps a request waiting, ends the program so the request fails.
async fn drain(session: &Session, mut worker: JoinHandle<()>) {
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

/// Sends the session's last message (the `disconnect` response, or why it
/// closed), flushes, and says how the session ended.
async fn finish(
    session: &Session,
    end: std::io::Result<End>,
    mut writer_task: JoinHandle<std::io::Result<()>>,
) -> Result<(), SessionError> {
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
            Some(event::<events::Output>(&OutputEventBody {
                category: Some("important".into()),
                output: format!("hotreload: closing the session: {error}\n"),
                ..Default::default()
            })),
            Err(SessionError::Protocol(error)),
        ),
        Err(error) => (None, Err(SessionError::Io(error))),
    };
    // A client that stopped reading must not keep the session alive.
    let flushed = tokio::time::timeout(FLUSH_GRACE, async {
        if let Some(out) = last_words {
            session.outbox.send(out).await;
        }
        session.outbox.close().await;
        (&mut writer_task).await
    })
    .await;
    if flushed.is_err() {
        writer_task.abort();
    }
    match (result, flushed) {
        (Err(e), _) => Err(e),
        (Ok(()), Ok(Ok(Err(e)))) => Err(SessionError::Io(e)),
        (Ok(()), _) => Ok(()),
    }
}

/// Why the read loop stopped.
enum End {
    Disconnect(Request),
    Eof,
    Fatal(CodecError),
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    session: &Session,
    queue: &mpsc::UnboundedSender<Request>,
) -> std::io::Result<End> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        loop {
            match dap::decode(&mut buf) {
                Ok(Some(Message::Request(request))) => {
                    if session.config.log.is_some() {
                        let text = serde_json::to_string(&request).unwrap_or_default();
                        note(&session.config.log, "<-", &text);
                    }
                    match request.command.as_str() {
                        requests::Disconnect::COMMAND => return Ok(End::Disconnect(request)),
                        requests::Terminate::COMMAND => session.terminate(&request).await,
                        _ => {
                            // The worker lives as long as this loop runs.
                            let _ = queue.send(request);
                        }
                    }
                }
                // Clients send requests only; responses to reverse requests
                // we never make and stray events are ignored.
                Ok(Some(other)) => note(&session.config.log, "<- ignored", &format!("{other:?}")),
                Ok(None) => break,
                Err(CodecError::BadMessage {
                    seq: Some(seq),
                    command,
                    reason,
                }) => {
                    note(&session.config.log, "<- bad", &reason);
                    session
                        .outbox
                        .send(Outgoing::Response {
                            request_seq: seq,
                            command: command.unwrap_or_default(),
                            result: Err(format!("bad request: {reason}")),
                        })
                        .await;
                }
                Err(error) => {
                    note(&session.config.log, "<- fatal", &error.to_string());
                    return Ok(End::Fatal(error));
                }
            }
        }
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Ok(End::Eof);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Handles queued requests one at a time, in arrival order.
async fn work(session: Arc<Session>, mut queue: mpsc::UnboundedReceiver<Request>) {
    while let Some(request) = queue.recv().await {
        let reply = session.dispatch(&request).await;
        session.outbox.respond(&request, reply.result).await;
        for out in reply.then {
            session.outbox.send(out).await;
        }
    }
}
