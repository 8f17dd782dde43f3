//! The writing side of a session: one task numbers every outgoing message
//! (`seq`), frames it and writes it, in the order it was queued.

use dap::events;
use dap::{Message, Request};
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use super::failure::Failure;
use crate::log::{note, TranscriptLog};

/// Bytes gathered before a write to the client.
const WRITE_BUFFER: usize = 256 * 1024;

/// Something to send to the client; the writer assigns `seq`.
pub(super) enum Outgoing {
    Response {
        request_seq: i64,
        command: String,
        result: Result<Option<Value>, Failure>,
    },
    Event {
        event: &'static str,
        body: Option<Value>,
    },
    /// Flush and stop writing.
    Close,
}

/// The sending side of the writer task.
#[derive(Clone)]
pub(super) struct Outbox(pub(super) mpsc::Sender<Outgoing>);

impl Outbox {
    pub(super) async fn send(&self, out: Outgoing) {
        // Fails only once the writer stopped (client gone): nothing to do.
        let _ = self.0.send(out).await;
    }

    pub(super) async fn respond(&self, request: &Request, result: Result<Option<Value>, Failure>) {
        self.send(Outgoing::Response {
            request_seq: request.seq,
            command: request.command.clone(),
            result,
        })
        .await;
    }

    pub(super) async fn close(&self) {
        self.send(Outgoing::Close).await;
    }
}

/// An event with a typed body.
pub(super) fn event<E: events::Event>(body: &E::Body) -> Outgoing {
    Outgoing::Event {
        event: E::EVENT,
        body: events::body::<E>(body),
    }
}

/// Writes queued messages until `Close` or the end of the queue. Messages
/// queued together go out in one write; the stream is flushed whenever the
/// queue runs empty, so nothing waits in the buffer.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    writer: W,
    mut outgoing: mpsc::Receiver<Outgoing>,
    log: Option<TranscriptLog>,
) -> std::io::Result<()> {
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, writer);
    let mut seq: i64 = 0;
    loop {
        let out = match outgoing.try_recv() {
            Ok(out) => out,
            Err(mpsc::error::TryRecvError::Empty) => {
                writer.flush().await?;
                match outgoing.recv().await {
                    Some(out) => out,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        seq = seq.saturating_add(1);
        let message = match out {
            Outgoing::Response {
                request_seq,
                command,
                result,
            } => {
                let (success, message, body) = match result {
                    Ok(body) => (true, None, body),
                    Err(failure) => (false, Some(failure.message.clone()), failure.body()),
                };
                Message::Response(dap::Response {
                    seq,
                    request_seq,
                    success,
                    command,
                    message,
                    body,
                })
            }
            Outgoing::Event { event, body } => Message::Event(dap::Event {
                seq,
                event: event.to_owned(),
                body,
            }),
            Outgoing::Close => break,
        };
        if log.is_some() {
            note(
                &log,
                "->",
                &serde_json::to_string(&message).unwrap_or_default(),
            );
        }
        writer.write_all(&dap::encode(&message)).await?;
    }
    writer.flush().await?;
    writer.shutdown().await
}
