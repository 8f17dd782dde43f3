//! The request the VM thread is serving right now, seen from the reader
//! thread: so `cancel` and `pause` can stop a running evaluation, `threads`
//! is answered meanwhile, and an evaluation stuck in a C call that no hook
//! can interrupt (`os.execute('sleep 60')`) still gets its answer in time.
//!
//! Lua code is interrupted by the evaluation's own count hook, which reads
//! [`interruption`]. A C call cannot be interrupted safely (the VM is inside
//! it; a signal would at best make one syscall fail with EINTR, which the
//! C library often retries, and a program could see a changed result). So
//! when the evaluation has not ended [`GRACE`] after its cancel, pause or
//! time limit, the watchdog thread answers it with an error itself and the
//! VM counts as *stuck*: the requests that need it are answered `busy`
//! until the call returns (whose late result is dropped). `threads`,
//! `cancel` and `terminate` are always answered.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use host_protocol::{ErrorKind, HostError, Outcome};
use serde_json::Value;

use crate::{io, queue};

/// How long an interrupted evaluation may take to end by itself before the
/// watchdog answers for it (a count hook fires within a millisecond).
pub const GRACE: Duration = Duration::from_millis(500);

/// The refusal while the VM is stuck.
pub fn busy_failure() -> Outcome {
    Outcome::Failure(HostError::new(
        ErrorKind::Busy,
        "busy: an evaluation is still inside a call that cannot be \
         interrupted (a blocking C function); the program answers again when it returns",
    ))
}

/// Why a running evaluation must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Interruption {
    /// `cancel` named it.
    Cancelled = 1,
    /// `pause` arrived.
    Paused = 2,
    /// Its time limit passed.
    TimedOut = 3,
}

impl Interruption {
    /// The kind of error the evaluation ends with.
    pub fn kind(self) -> host_protocol::ErrorKind {
        match self {
            Interruption::Cancelled | Interruption::Paused => host_protocol::ErrorKind::Cancelled,
            Interruption::TimedOut => host_protocol::ErrorKind::TimedOut,
        }
    }

    /// The error the evaluation ends with (`cancelled` is DAP's word).
    pub fn message(self, limit: Option<Duration>) -> String {
        match self {
            Interruption::Cancelled => "cancelled".into(),
            Interruption::Paused => "evaluation paused".into(),
            Interruption::TimedOut => format!(
                "evaluation stopped after {} s",
                limit.map_or(0.0, |l| l.as_secs_f64())
            ),
        }
    }
}

static INTERRUPT: AtomicU8 = AtomicU8::new(0);

struct Current {
    id: u64,
    /// It runs Lua code under an evaluation's count hook, which `cancel`
    /// and `pause` can stop; anything else finishes normally.
    interruptible: bool,
    limit: Option<Duration>,
    /// When the watchdog answers for it if it has not ended by then.
    give_up: Option<(Instant, Interruption)>,
    /// Someone else answered it; its own result is dropped.
    answered: bool,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    /// The last `threads` answer, given while the VM is busy.
    threads: Option<Value>,
}

static STATE: Mutex<State> = Mutex::new(State {
    current: None,
    threads: None,
});
static CHANGED: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the watchdog thread.
pub fn spawn_watchdog() -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(watch)?;
    Ok(())
}

/// How the VM thread serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serving {
    /// Runs to its end (cancel and pause do not stop it).
    ToTheEnd,
    /// An evaluation: cancel and pause stop it, and so does its time limit.
    Evaluation(Option<Duration>),
}

/// The VM thread starts serving request `id`.
pub fn begin(id: u64, serving: Serving) {
    let (interruptible, limit) = match serving {
        Serving::ToTheEnd => (false, None),
        Serving::Evaluation(limit) => (true, limit),
    };
    let mut state = lock();
    INTERRUPT.store(0, Ordering::SeqCst);
    state.current = Some(Current {
        id,
        interruptible,
        limit,
        give_up: limit.map(|l| (Instant::now() + l + GRACE, Interruption::TimedOut)),
        answered: false,
    });
    drop(state);
    CHANGED.notify_all();
}

/// The VM thread is done with its request; false when the answer was
/// already given (then the caller drops its own).
pub fn end() -> bool {
    let mut state = lock();
    INTERRUPT.store(0, Ordering::SeqCst);
    let current = state.current.take();
    drop(state);
    CHANGED.notify_all();
    !current.is_some_and(|c| c.answered)
}

/// Read by an evaluation's count hook: why it must stop, if it must.
pub fn interruption() -> Option<Interruption> {
    match INTERRUPT.load(Ordering::SeqCst) {
        1 => Some(Interruption::Cancelled),
        2 => Some(Interruption::Paused),
        3 => Some(Interruption::TimedOut),
        _ => None,
    }
}

/// Whether the VM is serving a request right now.
pub fn busy() -> bool {
    lock().current.is_some()
}

/// Asks the running request `id` (if it is the one running) to stop; true
/// if it was running.
pub fn interrupt(id: Option<u64>, why: Interruption) -> bool {
    let mut state = lock();
    let Some(current) = state.current.as_mut() else {
        return false;
    };
    if id.is_some_and(|id| id != current.id) || current.answered || !current.interruptible {
        return false;
    }
    INTERRUPT.store(why as u8, Ordering::SeqCst);
    let due = Instant::now() + GRACE;
    if current.give_up.is_none_or(|(at, _)| due < at) {
        current.give_up = Some((due, why));
    }
    drop(state);
    CHANGED.notify_all();
    true
}

/// Queues a request unless the VM is stuck (then answers it `busy`); the
/// check and the push are one step, so the watchdog cannot strand it.
pub fn push_unless_stuck(request: host_protocol::HostRequest) -> Option<queue::RunState> {
    let state = lock();
    if state.current.as_ref().is_some_and(|c| c.answered) {
        drop(state);
        io::respond(request.id, busy_failure());
        return None;
    }
    Some(queue::push(request))
}

/// Remembers the last `threads` answer.
pub fn remember_threads(body: &Value) {
    lock().threads = Some(body.clone());
}

/// The last `threads` answer (the main thread before any).
pub fn last_threads() -> Value {
    lock()
        .threads
        .clone()
        .unwrap_or_else(|| serde_json::json!({"threads": [{"id": 1, "name": "main"}]}))
}

fn watch() {
    let mut state = lock();
    loop {
        let due = state
            .current
            .as_ref()
            .filter(|c| !c.answered)
            .and_then(|c| c.give_up);
        match due {
            None => {
                state = CHANGED.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            Some((at, why)) => {
                let now = Instant::now();
                if now < at {
                    state = CHANGED
                        .wait_timeout(state, at - now)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                    continue;
                }
                let Some(current) = state.current.as_mut() else {
                    continue;
                };
                // Still running after its grace: inside a C call.
                current.answered = true;
                let message = format!(
                    "{}; it is inside a call that cannot be interrupted, and the \
                     program stays busy until that call returns",
                    why.message(current.limit)
                );
                io::respond(
                    current.id,
                    Outcome::Failure(HostError::new(why.kind(), message)),
                );
                // What waits for the VM would wait for the call too.
                while let Some(waiting) = queue::try_pop() {
                    io::respond(waiting.id, busy_failure());
                }
            }
        }
    }
}
