//! Runtime events become DAP events. Output is coalesced (see
//! [`super::coalesce`]); any other event first sends the output before it,
//! so the order the runtime reported is kept. While the session holds the
//! end (a `disconnect` or `terminate` being answered), `exited` and
//! `terminated` wait, so the response goes out before them.

use dap::events;
use dap::types::{OutputEventBody, TerminatedEventBody};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::coalesce::{OutputCoalescer, COALESCE_DELAY};
use super::outbox::{event, Outbox, Outgoing};
use crate::runtime::RuntimeEvent;

pub(super) async fn forward_events(
    mut events: mpsc::Receiver<RuntimeEvent>,
    outbox: Outbox,
    mut hold: watch::Receiver<bool>,
) {
    let mut output = OutputCoalescer::default();
    let mut deadline: Option<Instant> = None;
    // The end events (and anything after them) while the end is held.
    let mut held: Vec<Outgoing> = Vec::new();
    loop {
        let runtime_event = tokio::select! {
            biased;
            next = events.recv() => match next {
                Some(runtime_event) => runtime_event,
                None => break,
            },
            () = sleep_until(deadline), if deadline.is_some() => {
                send_output(&outbox, output.flush()).await;
                deadline = None;
                continue;
            }
            changed = hold.changed(), if !held.is_empty() => {
                if changed.is_err() || !*hold.borrow() {
                    for out in held.drain(..) {
                        outbox.send(out).await;
                    }
                }
                continue;
            }
        };
        let (out, ends) = match runtime_event {
            RuntimeEvent::Output(body) if held.is_empty() => {
                let (ready, started) = output.push(body);
                send_output(&outbox, ready).await;
                if output.is_empty() {
                    deadline = None;
                } else if started {
                    deadline = Some(Instant::now() + COALESCE_DELAY);
                }
                continue;
            }
            RuntimeEvent::Output(body) => (event::<events::Output>(&body), false),
            RuntimeEvent::Stopped(body) => (event::<events::Stopped>(&body), false),
            RuntimeEvent::Continued(body) => (event::<events::Continued>(&body), false),
            RuntimeEvent::Thread(body) => (event::<events::Thread>(&body), false),
            RuntimeEvent::LoadedSource(body) => (event::<events::LoadedSource>(&body), false),
            RuntimeEvent::Breakpoint(body) => (event::<events::Breakpoint>(&body), false),
            RuntimeEvent::Exited(body) => (event::<events::Exited>(&body), true),
            RuntimeEvent::Terminated => {
                (event::<events::Terminated>(&TerminatedEventBody {}), true)
            }
        };
        send_output(&outbox, output.flush()).await;
        deadline = None;
        if (ends && *hold.borrow()) || !held.is_empty() {
            held.push(out);
        } else {
            outbox.send(out).await;
        }
    }
    send_output(&outbox, output.flush()).await;
    if !held.is_empty() {
        // Released by the session, or dropped with it.
        let _ = hold.wait_for(|h| !*h).await;
        for out in held {
            outbox.send(out).await;
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn send_output(outbox: &Outbox, bodies: Vec<OutputEventBody>) {
    for body in bodies {
        outbox.send(event::<events::Output>(&body)).await;
    }
}
