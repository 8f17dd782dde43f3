//! Coroutines as DAP threads. Id 1 is the main thread. A stop inside a
//! coroutine is reported on that coroutine's id; the stack of a thread in
//! the resume chain is its own frames followed by those of the threads that
//! resumed it (so the main thread shows only its own), and a suspended one
//! shows where it waits. The coroutines come from the VM's own list
//! (nothing wraps `coroutine.create`); each gets an id the first time the
//! debugger sees it started (running, or suspended in a yield).

use host_protocol::HostError;
use std::collections::HashMap;
use std::ops::Range;

use dap::types::{Thread, ThreadsResponseBody};
use mlua::thread::ThreadStatus;

use mlua::ffi;

use crate::coroutines;
use crate::debuggee::{Debuggee, Vm};
use crate::frames;
use crate::native;
use crate::routing::Refusal;

/// At most this many coroutines are listed.
const MAX_LISTED: usize = 1000;

thread_local! {
    static LAST_ID: std::cell::Cell<i64> = const { std::cell::Cell::new(1) };
    /// Ids of the coroutines that became threads (yielded once), by state,
    /// until they end: their `thread` events and the ids the list uses.
    static LIVE: std::cell::RefCell<HashMap<usize, i64>> = std::cell::RefCell::new(HashMap::new());
}

fn next_id() -> i64 {
    let id = LAST_ID.get() + 1;
    LAST_ID.set(id);
    id
}

/// A coroutine's resume returned (`status` is `lua_status` now): the first
/// yield makes it a thread (`started`), its end (return or error) ends one
/// (`exited`). A coroutine that ends without ever yielding was a call,
/// never a thread the client could see: no event.
pub fn after_resume(co: *mut ffi::lua_State, status: std::os::raw::c_int) {
    if crate::queue::no_debug() {
        return;
    }
    let key = co as usize;
    if status == ffi::LUA_YIELD {
        let known = LIVE.with_borrow(|live| live.contains_key(&key));
        if !known {
            let id = next_id();
            LIVE.with_borrow_mut(|live| live.insert(key, id));
            thread_event("started", id);
        }
    } else if let Some(id) = LIVE.with_borrow_mut(|live| live.remove(&key)) {
        thread_event("exited", id);
    }
}

/// A coroutine starts (its first resume): a state still known here was a
/// collected coroutine whose memory the new one reuses.
pub fn starting(co: *mut ffi::lua_State) {
    if let Some(id) = LIVE.with_borrow_mut(|live| live.remove(&(co as usize))) {
        thread_event("exited", id);
    }
}

fn thread_event(reason: &str, thread_id: i64) {
    crate::io::event(host_protocol::HostEvent::Thread(
        dap::types::ThreadEventBody {
            reason: reason.into(),
            thread_id,
        },
    ));
}

/// Gives an id to every started coroutine that has none yet.
fn assign_ids(vm: &Vm) {
    let ids = &vm.helpers.thread_ids;
    // SAFETY: a C function that only reads the collector's list.
    let all = unsafe { vm.lua.create_c_function(native::ALL_THREADS) }
        .and_then(|f| f.call::<mlua::Table>(()));
    let Ok(all) = all else {
        return;
    };
    // The collector's list holds the newest first: older coroutines get
    // the smaller ids.
    let threads: Vec<mlua::Thread> = all.sequence_values().filter_map(Result::ok).collect();
    for thread in threads.into_iter().rev() {
        if ids.raw_get::<Option<i64>>(&thread).ok().flatten().is_some() {
            continue;
        }
        let state = thread.state();
        // SAFETY: the thread is alive (we hold it); lua_status and
        // lua_getstack only read.
        let started = unsafe { ffi::lua_status(state) } == ffi::LUA_YIELD
            || coroutines::position(state).is_some()
            // Running with no resume seen: a stock VM (the attach agent)
            // reports none, e.g. OpenResty's request coroutines, which C
            // resumes.
            || unsafe { running(state) };
        if started {
            let known = LIVE.with_borrow(|live| live.get(&(state as usize)).copied());
            let id = known.unwrap_or_else(|| {
                // Seen running before its first yield (a stop inside it).
                let id = next_id();
                LIVE.with_borrow_mut(|live| live.insert(state as usize, id));
                thread_event("started", id);
                id
            });
            let _ = ids.raw_set(thread, id);
        }
    }
}

/// `threads`: the main thread and the live coroutines, by id.
pub fn list(debuggee: &Debuggee) -> ThreadsResponseBody {
    if let Some(vm) = &debuggee.vm {
        assign_ids(vm);
    }
    let mut threads = vec![Thread {
        id: 1,
        name: "main".into(),
    }];
    if let Some(vm) = &debuggee.vm {
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

/// The id of thread `l` (1 for the main thread), giving it one if it has
/// none yet.
pub fn id_of(debuggee: &Debuggee, l: *mut ffi::lua_State) -> i64 {
    let Some(vm) = &debuggee.vm else {
        return 1;
    };
    if l as usize == vm.main_state {
        return 1;
    }
    let known = |vm: &Vm| {
        vm.helpers
            .thread_ids
            .pairs::<mlua::Thread, i64>()
            .filter_map(Result::ok)
            .find_map(|(thread, id)| (thread.state() == l).then_some(id))
    };
    known(vm)
        .or_else(|| {
            assign_ids(vm);
            known(vm)
        })
        .unwrap_or(1)
}

/// Whether thread `state` has a frame (started, not finished).
///
/// # Safety
/// `state` is a live thread of the VM.
unsafe fn running(state: *mut ffi::lua_State) -> bool {
    // SAFETY: the caller's contract; lua_getstack only reads.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        ffi::lua_status(state) == ffi::LUA_OK && ffi::lua_getstack(state, 0, &mut ar) != 0
    }
}

fn find(vm: &Vm, id: i64) -> Option<mlua::Thread> {
    assign_ids(vm);
    vm.helpers
        .thread_ids
        .pairs::<mlua::Thread, i64>()
        .filter_map(Result::ok)
        .find_map(|(thread, tid)| (tid == id).then_some(thread))
}

/// The frames (as a range of the stop's frames) of thread `id`: the stopped
/// stack for the main thread and the coroutines in the resume chain, the
/// waiting frames for a suspended coroutine (captured on first request).
pub fn stack_range(debuggee: &mut Debuggee, id: i64) -> Result<Range<usize>, HostError> {
    let stop = debuggee.stop.as_mut().ok_or_else(Refusal::not_stopped)?;
    if let Some((_, range, _)) = stop.others.iter().find(|(tid, ..)| *tid == id) {
        return Ok(range.clone());
    }
    let vm = debuggee.vm.as_ref().ok_or(Refusal::NotLaunched)?;
    let (state, thread) = if id == 1 {
        (vm.main_state as *mut ffi::lua_State, None)
    } else {
        let thread = find(vm, id).ok_or_else(|| HostError::invalid(format!("no thread {id}")))?;
        (thread.state(), Some(thread))
    };
    // A thread of the stopped stack: from its innermost frame on, through
    // the threads that resumed it.
    if let Some(first) = stop.frames[..stop.stopped_len]
        .iter()
        .position(|f| f.state == state)
    {
        return Ok(first..stop.stopped_len);
    }
    let Some(thread) = thread else {
        // The main thread has no frame in a stop taken without one.
        return Ok(stop.stopped_len..stop.stopped_len);
    };
    let start = stop.frames.len();
    // Suspended, or waiting in a resume below the stopped stack's frames
    // (a stop that showed only the innermost ones): stable while stopped.
    let waiting = coroutines::position(state).is_some();
    if waiting || thread.status() == ThreadStatus::Resumable {
        // SAFETY: the thread is alive (we hold it, and keep holding it in
        // `others` while stopped) and suspended, so its frames stay put.
        let frames = unsafe { frames::capture_thread(thread.state()) };
        stop.frames.extend(frames);
    }
    let range = start..stop.frames.len();
    stop.others.push((id, range.clone(), thread));
    Ok(range)
}
