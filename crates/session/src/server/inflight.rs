//! Requests the session has accepted and not yet answered, by the client's
//! `seq`, so that `cancel` can find them: a queued request is answered
//! `cancelled` at once and skipped by the worker; a running one has its
//! runtime call cancelled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::runtime::{CallId, DebugRuntime};

enum State {
    Queued {
        command: String,
        cancelled: bool,
    },
    /// Started; `call` once it waits for the runtime. `cancelled` when a
    /// cancel came before the call: the call is then not made.
    Running {
        call: Option<(Arc<dyn DebugRuntime>, CallId)>,
        cancelled: bool,
    },
}

/// What `cancel` found.
pub(super) enum Cancel {
    /// The request (this command) had not started: answer it `cancelled`;
    /// the worker will skip it.
    Queued(String),
    /// The request is running this runtime call: cancel it there.
    Call(Arc<dyn DebugRuntime>, CallId),
    /// Unknown, finished, or running without a runtime call.
    Nothing,
}

#[derive(Default)]
pub(super) struct InFlight {
    // `seq`s come from the client: a duplicate simply replaces the entry.
    requests: Mutex<HashMap<i64, State>>,
}

impl InFlight {
    /// How many requests wait to start.
    pub(super) fn queued_count(&self) -> usize {
        self.with(|r| {
            r.values()
                .filter(|s| {
                    matches!(
                        s,
                        State::Queued {
                            cancelled: false,
                            ..
                        }
                    )
                })
                .count()
        })
        .unwrap_or(0)
    }

    pub(super) fn queued(&self, seq: i64, command: &str) {
        self.with(|r| {
            r.insert(
                seq,
                State::Queued {
                    command: command.to_owned(),
                    cancelled: false,
                },
            );
        });
    }

    /// Marks `seq` as running; false when it was cancelled (and answered)
    /// while queued.
    pub(super) fn start(&self, seq: i64) -> bool {
        let running = State::Running {
            call: None,
            cancelled: false,
        };
        self.with(|r| match r.insert(seq, running) {
            Some(State::Queued {
                cancelled: true, ..
            }) => {
                r.remove(&seq);
                false
            }
            _ => true,
        })
        .unwrap_or(true)
    }

    /// Records the runtime call a running request is about to wait for;
    /// false when the request was cancelled already (make no call then).
    pub(super) fn calling(&self, seq: i64, runtime: Arc<dyn DebugRuntime>, call: CallId) -> bool {
        self.with(|r| {
            if let Some(State::Running {
                cancelled: true, ..
            }) = r.get(&seq)
            {
                return false;
            }
            r.insert(
                seq,
                State::Running {
                    call: Some((runtime, call)),
                    cancelled: false,
                },
            );
            true
        })
        .unwrap_or(true)
    }

    pub(super) fn finish(&self, seq: i64) {
        self.with(|r| {
            r.remove(&seq);
        });
    }

    pub(super) fn cancel(&self, seq: i64) -> Cancel {
        self.with(|r| match r.get_mut(&seq) {
            Some(State::Queued {
                cancelled: false,
                command,
            }) => {
                let command = command.clone();
                r.insert(
                    seq,
                    State::Queued {
                        command: command.clone(),
                        cancelled: true,
                    },
                );
                Cancel::Queued(command)
            }
            Some(State::Queued {
                cancelled: true, ..
            }) => Cancel::Nothing,
            Some(State::Running {
                call: Some((runtime, call)),
                ..
            }) => Cancel::Call(runtime.clone(), *call),
            Some(State::Running {
                call: None,
                cancelled,
            }) => {
                *cancelled = true;
                Cancel::Nothing
            }
            None => Cancel::Nothing,
        })
        .unwrap_or(Cancel::Nothing)
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, State>) -> T) -> Option<T> {
        self.requests.lock().ok().map(|mut r| f(&mut r))
    }
}
