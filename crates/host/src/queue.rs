//! Requests waiting for the VM thread, and the VM's run state as the reader
//! thread sees it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use host_protocol::HostRequest;

static QUEUE: Mutex<VecDeque<HostRequest>> = Mutex::new(VecDeque::new());
static READY: Condvar = Condvar::new();
static STATE: AtomicU8 = AtomicU8::new(RunState::Idle as u8);
static NO_DEBUG: AtomicBool = AtomicBool::new(false);

/// What the VM thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RunState {
    /// Before `configurationDone`: it waits for requests.
    Idle = 0,
    /// Running the program: requests reach it through an interrupt hook.
    Running = 1,
    /// Stopped in the debugger: it waits for requests.
    Stopped = 2,
}

fn lock() -> MutexGuard<'static, VecDeque<HostRequest>> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Queues a request for the VM thread; returns the state the VM was in at
/// that moment (the queue lock orders this against [`set_state`]), so the
/// caller knows whether the running VM must be interrupted.
pub fn push(request: HostRequest) -> RunState {
    let mut queue = lock();
    queue.push_back(request);
    let state = state();
    drop(queue);
    READY.notify_one();
    state
}

/// Waits for the next request.
pub fn pop_blocking() -> HostRequest {
    let mut queue = lock();
    loop {
        if let Some(request) = queue.pop_front() {
            return request;
        }
        queue = READY.wait(queue).unwrap_or_else(|e| e.into_inner());
    }
}

/// The next request, if one is waiting.
pub fn try_pop() -> Option<HostRequest> {
    lock().pop_front()
}

/// Takes request `id` out of the queue, if it still waits there.
pub fn remove(id: u64) -> Option<HostRequest> {
    let mut queue = lock();
    let index = queue.iter().position(|r| r.id == id)?;
    queue.remove(index)
}

/// The VM thread's current state.
pub fn state() -> RunState {
    match STATE.load(Ordering::SeqCst) {
        1 => RunState::Running,
        2 => RunState::Stopped,
        _ => RunState::Idle,
    }
}

/// Set by the VM thread only. Returns whether requests are waiting: pushed
/// while the VM was not running, nobody interrupted it for them.
pub fn set_state(state: RunState) -> bool {
    let queue = lock();
    STATE.store(state as u8, Ordering::SeqCst);
    !queue.is_empty()
}

/// Whether the program was launched with `noDebug`.
pub fn no_debug() -> bool {
    NO_DEBUG.load(Ordering::SeqCst)
}

/// Set at launch.
pub fn set_no_debug(on: bool) {
    NO_DEBUG.store(on, Ordering::SeqCst);
}
