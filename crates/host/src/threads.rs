//! Coroutines as DAP threads. Id 1 is the main thread, whose stack is the
//! stopped stack across the resume chain (the running coroutine's frames
//! first, then its resumers'); every coroutine gets an id at its first
//! resume, and a suspended one shows where it waits.

use std::ops::Range;

use dap::types::{Thread, ThreadsResponseBody};
use mlua::thread::ThreadStatus;

use crate::coroutines;
use crate::frames;
use crate::routing::Refusal;
use crate::session::{Session, Vm};

/// At most this many coroutines are listed.
const MAX_LISTED: usize = 1000;

/// `threads`: the main thread and the live coroutines, by id.
pub fn list(session: &Session) -> ThreadsResponseBody {
    let mut threads = vec![Thread {
        id: 1,
        name: "main".into(),
    }];
    if let Some(vm) = &session.vm {
        let mut live: Vec<(i64, &'static str)> = vm
            .helpers
            .thread_ids
            .pairs::<mlua::Thread, i64>()
            .filter_map(Result::ok)
            .filter_map(|(thread, id)| match thread.status() {
                ThreadStatus::Resumable => Some((id, "suspended")),
                ThreadStatus::Running | ThreadStatus::Normal => Some((id, "running")),
                _ => None,
            })
            .collect();
        live.sort_unstable();
        live.truncate(MAX_LISTED);
        threads.extend(live.into_iter().map(|(id, state)| Thread {
            id,
            name: format!("coroutine {id} ({state})"),
        }));
    }
    ThreadsResponseBody { threads }
}

fn find(vm: &Vm, id: i64) -> Option<mlua::Thread> {
    vm.helpers
        .thread_ids
        .pairs::<mlua::Thread, i64>()
        .filter_map(Result::ok)
        .find_map(|(thread, tid)| (tid == id).then_some(thread))
}

/// The frames (as a range of the stop's frames) of thread `id`: the stopped
/// stack for the main thread and the coroutines in the resume chain, the
/// waiting frames for a suspended coroutine (captured on first request).
pub fn stack_range(session: &mut Session, id: i64) -> Result<Range<usize>, String> {
    let stop = session
        .stop
        .as_mut()
        .ok_or_else(|| Refusal::not_stopped().to_string())?;
    if id <= 1 {
        return Ok(0..stop.stopped_len);
    }
    if let Some((_, range, _)) = stop.others.iter().find(|(tid, ..)| *tid == id) {
        return Ok(range.clone());
    }
    let vm = session
        .vm
        .as_ref()
        .ok_or_else(|| Refusal::NotLaunched.to_string())?;
    let thread = find(vm, id).ok_or_else(|| format!("no thread {id}"))?;
    if coroutines::position(thread.state()).is_some() {
        return Ok(0..stop.stopped_len);
    }
    let start = stop.frames.len();
    if thread.status() == ThreadStatus::Resumable {
        // SAFETY: the thread is alive (we hold it, and keep holding it in
        // `others` while stopped) and suspended, so its frames stay put.
        let frames = unsafe { frames::capture_thread(thread.state()) };
        stop.frames.extend(frames);
    }
    let range = start..stop.frames.len();
    stop.others.push((id, range.clone(), thread));
    Ok(range)
}
