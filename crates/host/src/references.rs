//! What the ids of one stop stand for: frames by DAP frame id, and
//! variables references (scopes, tables, userdata) by reference id. Both
//! come back from the client, so every lookup is checked.

use host_protocol::HostError;
use mlua::Value;

use crate::coroutines;
use crate::frames::Frame;

/// The answer for a frame dropped since the client saw it.
pub fn frame_gone() -> HostError {
    HostError::invalid("that frame is gone: ask for the stack again")
}

/// What a variables reference stands for.
#[derive(Clone)]
pub enum VarRef {
    /// A frame's locals (and varargs).
    Locals(usize),
    /// A frame's upvalues.
    Upvalues(usize),
    /// The children of a table or userdata, how to name them in code, and
    /// the frame it was reached from (where `setVariable` evaluates).
    Value(Value, Option<String>, Option<usize>),
    /// Locals or upvalues of a frame that was dropped (see
    /// `StopContext::forget_other_threads`).
    Gone,
}

impl VarRef {
    /// The frame whose scope the reference belongs to, if any.
    pub fn frame(&self) -> Option<usize> {
        match self {
            VarRef::Locals(i) | VarRef::Upvalues(i) => Some(*i),
            VarRef::Value(_, _, frame) => *frame,
            VarRef::Gone => None,
        }
    }
}

/// Frames and variable references of the current stop.
pub struct StopContext {
    /// Frames: first the stopped stack (innermost first, across the resume
    /// chain), then those of other coroutines as they are asked for.
    pub frames: Vec<Frame>,
    refs: Vec<VarRef>,
    /// How many frames the stopped stack has.
    pub stopped_len: usize,
    /// Stacks of suspended coroutines: thread id -> frame range; the thread
    /// is held so its frames stay valid while stopped.
    pub others: Vec<(i64, std::ops::Range<usize>, mlua::Thread)>,
    /// `coroutines::resumes()` when the frames were taken.
    resumes: u64,
    /// The error of an exception stop (for `exceptionInfo`).
    pub exception: Option<crate::exceptions::ExceptionStop>,
}

impl StopContext {
    /// A stop with these frames and no references yet.
    pub fn new(frames: Vec<Frame>) -> StopContext {
        StopContext {
            stopped_len: frames.len(),
            frames,
            refs: Vec::new(),
            others: Vec::new(),
            resumes: coroutines::resumes(),
            exception: None,
        }
    }

    /// The same stop, for an error.
    pub fn with_exception(mut self, exception: crate::exceptions::ExceptionStop) -> StopContext {
        self.exception = Some(exception);
        self
    }

    /// Forgets the frames of other coroutines if Lua code run while stopped
    /// (an evaluation, a reload) resumed any coroutine, which may have moved
    /// their frames. The next stack request captures them again.
    pub fn forget_other_threads(&mut self) {
        if coroutines::resumes() != self.resumes {
            self.frames.truncate(self.stopped_len);
            self.others.clear();
            let kept = self.stopped_len;
            for r in &mut self.refs {
                match r {
                    VarRef::Locals(i) | VarRef::Upvalues(i) if *i >= kept => *r = VarRef::Gone,
                    VarRef::Value(_, _, frame) if frame.is_some_and(|i| i >= kept) => *frame = None,
                    _ => {}
                }
            }
            self.resumes = coroutines::resumes();
        }
    }

    /// The frame a request names by DAP id (1-based; default: the top one).
    /// `None` when no id was given and the stack is empty.
    pub fn requested_frame(&self, frame_id: Option<i64>) -> Result<Option<&Frame>, HostError> {
        let Some(id) = frame_id else {
            return Ok(self.frames.first());
        };
        frame_index(self, id).map(|i| self.frames.get(i))
    }

    /// What a reference id stands for.
    pub fn get(&self, reference: i64) -> Result<VarRef, HostError> {
        reference
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.refs.get(i).cloned())
            .ok_or_else(|| HostError::invalid(format!("no variables reference {reference}")))
    }

    /// Registers a reference; returns its id (> 0).
    pub fn add(&mut self, r: VarRef) -> i64 {
        self.refs.push(r);
        self.refs.len() as i64
    }
}

/// The index of a frame named by its DAP id (1-based; any i64 from the client).
pub fn frame_index(stop: &StopContext, frame_id: i64) -> Result<usize, HostError> {
    frame_id
        .checked_sub(1)
        .and_then(|i| usize::try_from(i).ok())
        .filter(|&i| i < stop.frames.len())
        .ok_or_else(|| HostError::invalid(format!("no frame {frame_id}")))
}
