//! The debug hook: which events each Lua thread gets, breakpoints, steps.
//!
//! Cost rules:
//! - no step, no data breakpoint: no hook at all. Breakpoints are traps in
//!   the code of the functions that hold their lines (vm/shared/traps.c):
//!   a trap reached calls [`hook`] with a line event, code without one runs
//!   at full speed ([`sync_traps`], [`on_load`] for chunks loaded later);
//!   a VM without traps (`hr_traps_supported` 0: a stock VM under the
//!   agent; every host VM has traps) runs the line hook instead, narrowed
//!   to files with breakpoints ([`skip_policy`]) and to their lines
//!   ([`sync_line_filter`]);
//! - a step: call and return hooks follow the depth and switch the line hook
//!   on where the step can end ([`mask_for`]); traps report breakpoints
//!   elsewhere;
//! - an interrupt: a count hook of 1 arms the line hook, and the requests are
//!   served at the next line (between statements).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlua::ffi::{self, lua_Debug, lua_State};

use crate::breakpoints::{self, Breakpoints, LineSet};
use crate::debuggee::{Debuggee, DEBUGGEE};
use crate::{coroutines, interrupt, io, lua_api, native, stop};

/// How a step ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Next line anywhere.
    In,
    /// Next line at the same depth or shallower (or in a resumer).
    Over,
    /// Next line shallower (or in a resumer).
    Out,
    /// First line of the program (`stopOnEntry`).
    Entry,
    /// First line of a restarted frame (`restartFrame`): like `In`, but
    /// stops only on the restarted frame's thread at its depth or below.
    Restart,
}

/// A step in progress.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// What ends it.
    pub kind: StepKind,
    /// The thread it started on.
    pub thread: *mut lua_State,
    /// That thread's stack depth when it started.
    pub depth: i32,
    /// That thread's place in the resume chain: threads before it resumed it.
    pub chain_pos: usize,
}

/// What the hooks must watch; copied on every event, so kept small.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookConfig {
    /// `noDebug`: never hook (except for interrupts).
    pub no_debug: bool,
    /// Some breakpoint exists.
    pub any_bps: bool,
    /// A step in progress.
    pub step: Option<Step>,
    /// Some data breakpoint exists: every line of every function is seen.
    pub data: bool,
}

/// Each file's breakpoint lines, with the condition a trap may check.
type TrapLineMap = HashMap<PathBuf, Vec<(i32, Option<CString>)>>;

thread_local! {
    static CONFIG: Cell<HookConfig> = Cell::new(HookConfig::default());
    /// Mirror of the breakpoint lines, for the line hook's first test.
    static LINES: RefCell<LineSet> = RefCell::new(LineSet::default());
    /// The breakpoint lines of each file and the condition the trap checks,
    /// for the VM placing traps.
    static TRAP_LINES: RefCell<TrapLineMap> = RefCell::new(HashMap::new());
    /// Chunk sources seen by the trap placement, and their file.
    static TRAP_PATHS: RefCell<HashMap<Box<[u8]>, Option<PathBuf>>> = RefCell::new(HashMap::new());
    /// VMs without traps: the breakpoint lines as the bitmap the VM's line
    /// filter reads (`None`: too large for one).
    static LINE_BYTES: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// The VM's main thread (null before `launch`) and whether it debugs.
    static TRAP_VM: Cell<(usize, bool)> = const { Cell::new((0, false)) };
    /// An interrupt arrived: serve it at the next line event, i.e. between
    /// statements, so an evaluation or reload never lands inside one (a
    /// count hook can fire between reading and writing a variable).
    static DEFERRED: Cell<bool> = const { Cell::new(false) };
}

/// The current hook configuration.
pub fn config() -> HookConfig {
    CONFIG.get()
}

/// Replaces the hook configuration (threads pick it up on their next event).
pub fn set_config(config: HookConfig) {
    CONFIG.set(config);
    sync_line_filter();
}

fn set_deferred(on: bool) {
    DEFERRED.set(on);
    sync_line_filter();
}

/// VMs without traps: lets the VM skip line events on lines without
/// breakpoints while only breakpoints need lines (no step, no interrupt
/// waiting for a line), and makes it ask the skip policy afresh.
fn sync_line_filter() {
    if native::traps_supported() {
        return;
    }
    native::forget_skips();
    let config = CONFIG.get();
    let wanted = config.any_bps && config.step.is_none() && !config.data && !DEFERRED.get();
    LINE_BYTES.with_borrow(|bytes| {
        let (on, bits) = match bytes {
            Some(bits) => (wanted, bits.as_slice()),
            None => (false, &[][..]),
        };
        // SAFETY: the bitmap lives in LINE_BYTES until replaced, and it is
        // replaced only through `breakpoints_changed`, which calls us again.
        unsafe { native::set_line_filter(on, bits) };
    });
}

/// Takes a new set of breakpoints into account: the line hook's mirror and
/// the traps in the VM's code.
pub fn breakpoints_changed(bps: &Breakpoints) {
    LINES.set(bps.line_set().clone());
    if !native::traps_supported() {
        // Turn the VM's filter off before the old bitmap goes away.
        // SAFETY: an empty filter that is off reads nothing.
        unsafe { native::set_line_filter(false, &[]) };
        LINE_BYTES.set(bps.line_set().to_bytes());
    }
    TRAP_LINES.set(
        bps.lines_by_file()
            .into_iter()
            .map(|(path, lines)| {
                let lines = lines
                    .into_iter()
                    .map(|(line, cond)| (line, cond.and_then(|c| CString::new(c).ok())))
                    .collect();
                (path, lines)
            })
            .collect(),
    );
    let mut config = config();
    config.any_bps = bps.any();
    set_config(config);
    sync_traps();
}

/// The VM whose code holds the traps (`launch`): its main thread, and
/// whether it is debugged at all (`noDebug` sets none).
pub fn set_vm(main_state: *mut lua_State, debug: bool) {
    TRAP_VM.set((main_state as usize, debug));
    if native::traps_supported() {
        native::set_trap_lines(trap_lines);
        sync_traps();
    } else {
        native::set_skip_policy(skip_policy);
    }
}

/// Puts the traps where the breakpoints are now, in every function of the
/// VM (one pass over its objects).
fn sync_traps() {
    let (main, debug) = TRAP_VM.get();
    if main == 0 {
        return;
    }
    if !debug || TRAP_LINES.with_borrow(HashMap::is_empty) {
        native::clear_traps();
        return;
    }
    // SAFETY: the main thread of the live VM, on the VM thread; the
    // callback reads only this module's thread-locals, whose texts stay
    // until the next change.
    unsafe {
        TRAP_LINES.with_borrow(|files| {
            let conds: Vec<&std::ffi::CStr> = files
                .values()
                .flatten()
                .filter_map(|(_, c)| c.as_deref())
                .collect();
            native::prepare_traps(main as *mut lua_State, &conds);
        });
        native::sync_traps(main as *mut lua_State);
    }
}

/// A chunk was loaded (`l` has it on top): traps its breakpoint lines.
///
/// # Safety
/// Called from the VM's load notification only.
pub unsafe fn on_load(l: *mut lua_State) {
    let (main, debug) = TRAP_VM.get();
    if main != 0 && debug && !TRAP_LINES.with_borrow(HashMap::is_empty) {
        // SAFETY: per the contract above.
        unsafe { native::traps_loaded(l) };
    }
}

/// Asked by the VM, for each chunk, which of its lines hold breakpoints
/// and with which condition (the texts live in `TRAP_LINES` until the
/// breakpoints change, which never happens while the VM places traps).
unsafe extern "C" fn trap_lines(
    source: *const c_char,
    len: usize,
    out: *mut c_int,
    conds: *mut *const c_char,
    cap: c_int,
) -> c_int {
    // SAFETY: the VM passes a live prototype's source and two buffers of
    // `cap` entries.
    let source = unsafe { std::slice::from_raw_parts(source as *const u8, len) };
    let cap = usize::try_from(cap).unwrap_or(0);
    let written = catch_unwind(AssertUnwindSafe(|| {
        let path = chunk_file(source)?;
        TRAP_LINES.with_borrow(|files| {
            let lines = files.get(&path)?;
            for (k, (line, cond)) in lines.iter().take(cap).enumerate() {
                // SAFETY: `k < cap`, the buffers' size; the condition's
                // text stays in TRAP_LINES.
                unsafe {
                    *out.add(k) = *line;
                    *conds.add(k) = cond.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
                }
            }
            Some(lines.len())
        })
    }));
    match written {
        Ok(Some(n)) => c_int::try_from(n).unwrap_or(c_int::MAX),
        _ => 0,
    }
}

/// The canonical file of chunk `source` (cached: asked on every trap
/// placement and, without traps, every skip-policy question).
fn chunk_file(source: &[u8]) -> Option<PathBuf> {
    TRAP_PATHS.with_borrow_mut(|paths| {
        if paths.len() > 4096 {
            paths.clear();
        }
        paths
            .entry(source.into())
            .or_insert_with(|| source_path(source))
            .clone()
    })
}

/// VMs without traps: asked by the VM on entering (or returning to) a Lua
/// function while the line hook is a thread's only hook; 1 lets the
/// function run untraced (its file holds no breakpoint).
///
/// # Safety
/// Called by the VM only, with the function's source bytes.
unsafe extern "C" fn skip_policy(_l: *mut lua_State, source: *const c_char, len: usize) -> c_int {
    let config = config();
    if DEFERRED.get() || interrupt::pending() || config.step.is_some() || config.data {
        return 0;
    }
    // SAFETY: the VM passes the source string of a live prototype.
    let source = unsafe { std::slice::from_raw_parts(source as *const u8, len) };
    let skip = catch_unwind(AssertUnwindSafe(|| {
        chunk_file(source)
            .is_none_or(|path| TRAP_LINES.with_borrow(|files| !files.contains_key(&path)))
    }));
    c_int::from(skip.unwrap_or(false))
}

/// The canonical file of an `@file` chunk source.
fn source_path(source: &[u8]) -> Option<PathBuf> {
    let path = source.strip_prefix(b"@")?;
    Some(breakpoints::canonical(Path::new(
        std::ffi::OsStr::from_bytes(path),
    )))
}

/// What the debugger knows about chunk sources, keyed by the address of the
/// source string (verified by content, so a reused address cannot fool it).
#[derive(Default)]
pub struct SourceCache {
    entries: HashMap<usize, SourceEntry, AddressHash>,
}

/// Hashing for addresses: one multiply (SipHash would dominate the call hook).
#[derive(Default, Clone, Copy)]
pub struct AddressHash;

/// The hasher of [`AddressHash`].
#[derive(Default)]
pub struct AddressHasher(u64);

impl std::hash::BuildHasher for AddressHash {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 ^ (n as u64 >> 17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// What the debugger knows about one chunk source.
pub struct SourceEntry {
    bytes: Box<[u8]>,
    /// Canonical file path for `@file` sources.
    pub path: Option<Rc<PathBuf>>,
    /// A chunk of the host itself (never shown, never stepped into).
    pub internal: bool,
}

impl SourceCache {
    /// The entry for a source string.
    pub fn lookup(&mut self, source: &[u8]) -> &SourceEntry {
        if self.entries.len() > 4096 {
            self.entries.clear();
        }
        let entry = self
            .entries
            .entry(source.as_ptr() as usize)
            .or_insert_with(|| SourceEntry::new(source));
        if *entry.bytes != *source {
            *entry = SourceEntry::new(source);
        }
        entry
    }
}

impl SourceEntry {
    fn new(source: &[u8]) -> SourceEntry {
        SourceEntry {
            bytes: source.into(),
            path: source_path(source).map(Rc::new),
            internal: source.starts_with(b"=[hotreload]"),
        }
    }
}

/// Sets the debugger's mask on thread `l` (keeping a pending interrupt
/// armed). The program's own hook on `l` is never touched: the VM calls
/// both (vm/shared/vm_hooks.c).
///
/// # Safety
/// `l` must be a live thread of the VM, on the VM thread.
pub unsafe fn set_mask(l: *mut lua_State, mut mask: c_int) {
    if interrupt::pending() {
        mask |= ffi::LUA_MASKCOUNT;
    }
    // SAFETY: per the contract above.
    unsafe {
        if native::debug_gethookmask(l) != mask {
            native::debug_sethook(l, mask);
        }
        // SIGURG may have armed the count hook while we overwrote the mask.
        if mask & ffi::LUA_MASKCOUNT == 0 && interrupt::pending() {
            native::debug_sethook(l, mask | ffi::LUA_MASKCOUNT);
        }
    }
}

/// Whether every line must reach the hook: data breakpoints, or breakpoints
/// in a VM without traps (the skip policy and line filter narrow them).
fn lines_needed(config: &HookConfig) -> bool {
    config.data || (config.any_bps && !native::traps_supported())
}

/// The mask every thread starts from. Breakpoints need none where the VM
/// runs their traps (they call the hook); steps need call and return events
/// to follow depth, data breakpoints every line.
fn base_mask(config: &HookConfig) -> c_int {
    if config.no_debug {
        0
    } else if config.step.is_some() {
        ffi::LUA_MASKCALL | ffi::LUA_MASKRET
    } else if lines_needed(config) {
        ffi::LUA_MASKLINE
    } else {
        0
    }
}

/// Whether a step wants line events on thread `l` at stack depth `depth`.
fn step_wants_line(step: &Step, l: *mut lua_State, depth: impl FnOnce() -> i32) -> bool {
    match step.kind {
        StepKind::In | StepKind::Entry | StepKind::Restart => true,
        StepKind::Over if l == step.thread => depth() <= step.depth,
        StepKind::Out if l == step.thread => depth() < step.depth,
        _ => coroutines::among_first(l, step.chain_pos),
    }
}

/// Whether a `restart` step reached its frame: a line of the restarted
/// frame's thread at its depth (a message handler's lines, run before an
/// error unwinds to the frame, are above it).
fn restarted(step: &Step, l: *mut lua_State, depth: impl FnOnce() -> i32) -> bool {
    l == step.thread && depth() <= step.depth
}

/// The mask for thread `l` when a thread switch happens (resume, yield):
/// the next call or return event refines it.
///
/// # Safety
/// `l` must be a live thread of the VM, on the VM thread.
pub unsafe fn apply_base_mask(l: *mut lua_State) {
    let config = config();
    let mut mask = base_mask(&config);
    if DEFERRED.get() {
        mask |= ffi::LUA_MASKLINE;
    }
    if mask != 0 {
        if let Some(step) = &config.step {
            if matches!(
                step.kind,
                StepKind::In | StepKind::Entry | StepKind::Restart
            ) || (l != step.thread && coroutines::among_first(l, step.chain_pos))
            {
                mask |= ffi::LUA_MASKLINE;
            }
        }
        if lines_needed(&config) {
            mask |= ffi::LUA_MASKLINE;
        }
    }
    // SAFETY: per the contract above.
    unsafe { set_mask(l, mask) };
}

/// The mask for thread `l` while its running function is at `depth`.
pub fn mask_for(l: *mut lua_State, depth: impl FnOnce() -> i32) -> c_int {
    let config = config();
    let base = base_mask(&config);
    if DEFERRED.get() {
        return base | ffi::LUA_MASKLINE;
    }
    if base & (ffi::LUA_MASKCALL | ffi::LUA_MASKRET) == 0 {
        return base;
    }
    let line = lines_needed(&config)
        || config
            .step
            .as_ref()
            .is_some_and(|s| step_wants_line(s, l, depth));
    base | if line { ffi::LUA_MASKLINE } else { 0 }
}

/// The debugger's hook function, for every thread (its second hook slot).
///
/// # Safety
/// Called by Lua only.
pub unsafe extern "C-unwind" fn hook(l: *mut lua_State, ar: *mut lua_Debug) {
    // Hot path: a line with no breakpoint while no step runs.
    // SAFETY: Lua passes a valid record.
    let (event, line) = unsafe { ((*ar).event, (*ar).currentline) };
    if event == ffi::LUA_HOOKLINE
        && config().step.is_none()
        && !config().data
        && !DEFERRED.get()
        && !interrupt::pending()
        && !LINES.with_borrow(|lines| lines.contains(line))
    {
        return;
    }
    // SAFETY: Lua passes a live thread and its event record.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { dispatch(l, ar) }));
    if result.is_err() {
        io::output(
            "console",
            "hotreload-host: internal error in the debug hook\n",
        );
    }
}

unsafe fn dispatch(l: *mut lua_State, ar: *mut lua_Debug) {
    DEBUGGEE.with(|cell| {
        // Borrowed means the debugger itself is running Lua code: stay out.
        if let Ok(mut debuggee) = cell.try_borrow_mut() {
            // SAFETY: forwarded from Lua.
            unsafe { dispatch_in(&mut debuggee, l, ar) };
        }
    });
}

/// Whether C functions return without a return event (LuaJIT), so a mask
/// decided at their call would stay until the next Lua call or return.
const C_RETURNS_UNHOOKED: bool = cfg!(feature = "luajit");

unsafe fn dispatch_in(debuggee: &mut Debuggee, l: *mut lua_State, ar: *mut lua_Debug) {
    // SAFETY: `ar` is the record Lua passed for this event.
    let event = unsafe { (*ar).event };
    if event == ffi::LUA_HOOKCOUNT || interrupt::pending() {
        interrupt::take();
        set_deferred(true);
        if event == ffi::LUA_HOOKCOUNT {
            // SAFETY: `ar` describes the running frame; we are in its hook.
            unsafe {
                native::sync_oldpc(l);
                set_mask(l, mask_for(l, || native::stack_depth(l)));
            }
            return;
        }
    }
    if event == ffi::LUA_HOOKLINE && DEFERRED.get() {
        set_deferred(false);
        // SAFETY: `ar` describes the running frame.
        if unsafe { stop::serve_interrupt(debuggee, l) } {
            return;
        }
    }
    // SAFETY: all frames below come from Lua for the running thread `l`.
    unsafe {
        match event {
            ffi::LUA_HOOKCALL | lua_api::HOOK_TAILCALL => {
                // LuaJIT has no return event for C functions: the caller's
                // mask must outlive them (they have no lines anyway).
                if C_RETURNS_UNHOOKED && native::frame_source(l, ar).is_none() {
                    return;
                }
                let mask = mask_for(l, || native::stack_depth(l));
                set_mask(l, mask);
            }
            ffi::LUA_HOOKRET | lua_api::HOOK_TAILRET => {
                let mut caller: lua_Debug = std::mem::zeroed();
                let mut level = 1;
                // LuaJIT: a C caller (pcall, the sort of a comparator)
                // returns without an event, so decide for the Lua function
                // it returns to.
                while C_RETURNS_UNHOOKED
                    && ffi::lua_getstack(l, level, &mut caller) != 0
                    && native::frame_source(l, &caller).is_none()
                {
                    level += 1;
                }
                let mask = if ffi::lua_getstack(l, level, &mut caller) != 0 {
                    mask_for(l, || native::stack_depth(l) - level)
                } else {
                    base_mask(&config())
                };
                set_mask(l, mask);
            }
            ffi::LUA_HOOKLINE => on_line(debuggee, l, ar),
            _ => {}
        }
    }
}

unsafe fn on_line(debuggee: &mut Debuggee, l: *mut lua_State, ar: *mut lua_Debug) {
    let config = config();
    // SAFETY: `ar` is the running frame's record.
    let Some(source) = (unsafe { native::frame_source(l, ar) }) else {
        return;
    };
    let entry = debuggee.sources.lookup(source);
    if entry.internal {
        return;
    }
    let path = entry.path.clone();
    if let Some(step) = &config.step {
        // SAFETY: `l` is the running thread.
        if step_wants_line(step, l, || unsafe { native::stack_depth(l) })
            // SAFETY: as above.
            && (step.kind != StepKind::Restart || restarted(step, l, || unsafe { native::stack_depth(l) }))
        {
            let reason = match step.kind {
                StepKind::Entry => "entry",
                StepKind::Restart => "restart",
                _ => "step",
            };
            // SAFETY: as above.
            unsafe { stop::stop_in_hook(debuggee, l, reason, Vec::new()) };
            return;
        }
    }
    // SAFETY: as above.
    if config.data && unsafe { crate::data_breakpoints::check(debuggee, l, ar) } {
        return;
    }
    // SAFETY: as above.
    let line = unsafe { (*ar).currentline };
    if config.any_bps && debuggee.bps.maybe_line(line) {
        if let Some(path) = path {
            // SAFETY: as above.
            unsafe { stop::on_breakpoint(debuggee, l, ar, &path, line) };
        }
    }
}
