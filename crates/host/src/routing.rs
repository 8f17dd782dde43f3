//! The one place that decides what happens to a host request: from the run
//! state and the command to serve, queue or refuse (with one message per
//! reason).
//!
//! The reader thread routes every request as it arrives. It acts at once on
//! what needs no VM (`terminate`, `cancel`, `threads` while the VM is busy,
//! a `pause` that stops an evaluation) and, while the program runs, on
//! every route (the running VM reaches its queue only through an
//! interrupt). Otherwise it queues the request, and the VM thread routes it
//! again when it takes it, in the state it is really in: a `pause` sent
//! right after a `continue` still stops the program.

use std::fmt;

use host_protocol::{ErrorKind, HostCommand, HostError};

use crate::hooks::StepKind;
use crate::queue::RunState;
use crate::stop::Resume;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Answer `null`; there is nothing to do (`continue` while running,
    /// `pause` while stopped).
    Acknowledge,
    /// Answer with this error.
    Refuse(Refusal),
    /// Answer, then end the host.
    Terminate,
    /// Cancel request `id` (reader thread).
    Cancel(u64),
    /// The VM is busy serving another request: the last `threads` answer.
    LastThreads,
    /// Stop the running evaluation, then route the `pause` as if the VM
    /// were idle.
    PauseEvaluation,
    /// `launch` or `configurationDone`, before the program starts.
    Configure,
    /// The VM thread serves it in its current state.
    Serve,
    /// Resume the stopped program.
    Resume(Resume),
    /// Restart a frame of the stopped program, then resume it (stopping at
    /// the frame's first line), unless the frame cannot be restarted.
    Restart,
    /// Stop the running program.
    Pause,
}

/// Why a request is refused; `Display` is the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Stack, scopes, variables, setVariable and steps need a stop; the
    /// state the program is in instead.
    NotStopped(RunState),
    /// `pause` before `configurationDone`.
    NotRunning,
    /// A second `launch`.
    AlreadyLaunched,
    /// A second `configurationDone`.
    AlreadyStarted,
    /// `pause` under `noDebug` (no hooks to stop with).
    PauseWithoutDebug,
    /// `configurationDone` (or anything needing the VM) before `launch`.
    NotLaunched,
}

impl Refusal {
    /// `NotStopped` in the state the VM is in now.
    pub fn not_stopped() -> Refusal {
        Refusal::NotStopped(crate::queue::state())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotStopped(RunState::Running) => {
                "the program is not stopped: it is running; pause it first"
            }
            Refusal::NotStopped(RunState::Idle) => "the program is not stopped: it has not started",
            Refusal::NotStopped(RunState::Stopped) => "the program is not stopped",
            Refusal::NotRunning => "the program is not running",
            Refusal::AlreadyLaunched => "a program is already launched",
            Refusal::AlreadyStarted => "the program already started",
            Refusal::PauseWithoutDebug => "pause is not available: the program runs with noDebug",
            Refusal::NotLaunched => "no program is launched",
        })
    }
}

impl From<Refusal> for HostError {
    fn from(refusal: Refusal) -> HostError {
        HostError::new(ErrorKind::Refused, refusal.to_string())
    }
}

/// What the router looks at besides the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    /// The VM thread's run state.
    pub state: RunState,
    /// The program runs with `noDebug`.
    pub no_debug: bool,
    /// The VM thread is serving a request right now.
    pub busy: bool,
}

/// Routes `command` in `situation`.
pub fn route(situation: Situation, command: &HostCommand) -> Route {
    use HostCommand as C;
    match command {
        C::Terminate => Route::Terminate,
        C::Cancel(args) => Route::Cancel(args.request_id),
        C::Pause if situation.no_debug => Route::Refuse(Refusal::PauseWithoutDebug),
        C::Pause if situation.busy => Route::PauseEvaluation,
        C::Threads if situation.busy => Route::LastThreads,
        _ => by_state(situation.state, command),
    }
}

fn by_state(state: RunState, command: &HostCommand) -> Route {
    use HostCommand as C;
    use RunState::{Idle, Running, Stopped};
    match (state, command) {
        (Idle, C::Launch(_) | C::ConfigurationDone) => Route::Configure,
        (_, C::Launch(_)) => Route::Refuse(Refusal::AlreadyLaunched),
        (_, C::ConfigurationDone) => Route::Refuse(Refusal::AlreadyStarted),
        (Idle, C::Pause) => Route::Refuse(Refusal::NotRunning),
        (Running, C::Pause) => Route::Pause,
        (Stopped, C::Pause) | (Running, C::Continue) => Route::Acknowledge,
        (Stopped, C::Continue) => Route::Resume(Resume::Continue),
        (Stopped, C::Next) => Route::Resume(Resume::Step(StepKind::Over)),
        (Stopped, C::StepIn) => Route::Resume(Resume::Step(StepKind::In)),
        (Stopped, C::StepOut) => Route::Resume(Resume::Step(StepKind::Out)),
        (Stopped, C::RestartFrame(_)) => Route::Restart,
        (
            Stopped,
            C::StackTrace(_)
            | C::Scopes(_)
            | C::Variables(_)
            | C::SetVariable(_)
            | C::ExceptionInfo(_)
            | C::DataBreakpointInfo(_),
        ) => Route::Serve,
        (
            _,
            C::Continue
            | C::Next
            | C::StepIn
            | C::StepOut
            | C::RestartFrame(_)
            | C::StackTrace(_)
            | C::Scopes(_)
            | C::Variables(_)
            | C::SetVariable(_)
            | C::ExceptionInfo(_)
            | C::DataBreakpointInfo(_),
        ) => Route::Refuse(Refusal::NotStopped(state)),
        (
            _,
            C::SetBreakpoints(_)
            | C::SetExceptionBreakpoints(_)
            | C::Threads
            | C::Evaluate(_)
            | C::Completions(_)
            | C::HotReload(_)
            | C::LoadedSources
            | C::Source(_)
            | C::SetFunctionBreakpoints(_)
            | C::SetDataBreakpoints(_)
            | C::BreakpointLocations(_),
        ) => Route::Serve,
        // Routed above, before the state matters.
        (_, C::Terminate) => Route::Terminate,
        (_, C::Cancel(args)) => Route::Cancel(args.request_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dap::types::{ScopesArguments, VariablesArguments};
    use host_protocol::CancelArguments;

    fn at(state: RunState) -> Situation {
        Situation {
            state,
            no_debug: false,
            busy: false,
        }
    }

    #[test]
    fn one_refusal_one_message_in_every_state_that_refuses() {
        let variables = HostCommand::Variables(VariablesArguments::default());
        for state in [RunState::Idle, RunState::Running] {
            let refused = route(at(state), &variables);
            assert_eq!(refused, Route::Refuse(Refusal::NotStopped(state)));
            assert_eq!(route(at(state), &HostCommand::Next), refused);
        }
        let running = Refusal::NotStopped(RunState::Running).to_string();
        assert!(running.contains("not stopped") && running.contains("pause it first"));
        assert_eq!(route(at(RunState::Stopped), &variables), Route::Serve);
        let scopes = HostCommand::Scopes(ScopesArguments::default());
        assert_eq!(route(at(RunState::Stopped), &scopes), Route::Serve);
    }

    #[test]
    fn pause_and_continue_follow_the_state() {
        use HostCommand::{Continue, Pause};
        assert_eq!(route(at(RunState::Running), &Pause), Route::Pause);
        assert_eq!(route(at(RunState::Stopped), &Pause), Route::Acknowledge);
        assert_eq!(
            route(at(RunState::Idle), &Pause),
            Route::Refuse(Refusal::NotRunning)
        );
        assert_eq!(route(at(RunState::Running), &Continue), Route::Acknowledge);
        assert_eq!(
            route(at(RunState::Stopped), &Continue),
            Route::Resume(Resume::Continue)
        );
        let busy = Situation {
            busy: true,
            ..at(RunState::Stopped)
        };
        assert_eq!(route(busy, &Pause), Route::PauseEvaluation);
        assert_eq!(route(busy, &HostCommand::Threads), Route::LastThreads);
        let no_debug = Situation {
            no_debug: true,
            ..busy
        };
        assert_eq!(
            route(no_debug, &Pause),
            Route::Refuse(Refusal::PauseWithoutDebug)
        );
    }

    #[test]
    fn terminate_and_cancel_in_any_state() {
        let cancel = HostCommand::Cancel(CancelArguments { request_id: 4 });
        for state in [RunState::Idle, RunState::Running, RunState::Stopped] {
            for busy in [false, true] {
                let situation = Situation { busy, ..at(state) };
                assert_eq!(route(situation, &HostCommand::Terminate), Route::Terminate);
                assert_eq!(route(situation, &cancel), Route::Cancel(4));
            }
        }
    }
}
