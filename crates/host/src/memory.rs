//! The Lua VM's allocator. Lua's contract is that an allocator returns NULL
//! when it cannot allocate and Lua raises its catchable "not enough memory"
//! error; mlua's own allocator aborts the process instead when the system
//! refuses (`handle_alloc_error`). This one keeps the contract, counts the
//! heap's bytes and enforces the `memoryLimit` launch argument.
//!
//! Allocations of the host's Rust code still abort on a failed allocation
//! (Rust's rule); they are small and bounded (values shown are cut), so in
//! practice only the program's own heap grows without end, and that is here.

use std::alloc::{self, Layout};
use std::os::raw::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mlua::{ffi, Lua};

/// Blocks are aligned as mlua's allocator aligns them, so each of the two
/// allocators can free the other's blocks.
const ALIGN: usize = ffi::SYS_MIN_ALIGN;

/// An allocation was refused because of the limit (since the last `take_limit_hit`).
static LIMIT_HIT: AtomicBool = AtomicBool::new(false);

/// Bytes allowed over the limit for the moment (while the host collects a
/// program's garbage at its limit: the protected call needs a little).
static HEADROOM: AtomicUsize = AtomicUsize::new(0);

/// What a protected call and a full collection may need beyond the limit.
const COLLECT_HEADROOM: usize = 64 * 1024;

/// The allocator's state; it lives as long as the process (the VM is never
/// closed before the host exits).
struct Heap {
    used: usize,
    limit: usize,
}

/// Puts the allocator in place in `lua`, with at most `limit` bytes of heap
/// (`None`: as much as the system gives).
pub fn install(lua: &Lua, limit: Option<u64>) -> mlua::Result<()> {
    // mlua leaves some of its own allocations unprotected while its
    // allocator has no limit; giving it one makes it protect them, which a
    // failing allocator needs. Its allocator is replaced right after.
    lua.set_memory_limit(isize::MAX as usize)?;
    let limit = limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(usize::MAX);
    // SAFETY: lua_gc(COUNT) and lua_setallocf are plain state calls on the
    // VM thread; the heap state is leaked, so the pointer stays valid.
    unsafe {
        lua.exec_raw::<()>((), |s| {
            let kbytes = ffi::lua_gc(s, ffi::LUA_GCCOUNT, 0).max(0) as usize;
            let bytes = ffi::lua_gc(s, ffi::LUA_GCCOUNTB, 0).max(0) as usize;
            let heap = Box::into_raw(Box::new(Heap {
                used: kbytes.saturating_mul(1024).saturating_add(bytes),
                limit,
            }));
            ffi::lua_setallocf(s, allocate, heap as *mut c_void);
        })
    }
}

/// Whether an allocation was refused because of the limit since the last
/// call (clears the mark).
pub fn take_limit_hit() -> bool {
    LIMIT_HIT.swap(false, Ordering::SeqCst)
}

/// Runs a full collection even when the heap is at its limit. Lua 5.2+
/// collect by themselves when an allocation fails; 5.1 and LuaJIT do not,
/// so after an uncaught memory error the dead program's heap stays full and
/// every evaluation at the stop would fail without this.
pub fn collect_at_limit(lua: &Lua) -> mlua::Result<()> {
    HEADROOM.store(COLLECT_HEADROOM, Ordering::SeqCst);
    let collected = lua.gc_collect();
    HEADROOM.store(0, Ordering::SeqCst);
    collected
}

/// Lua's `lua_Alloc`: frees when `nsize` is 0, otherwise (re)allocates or
/// returns NULL, leaving the old block untouched.
unsafe extern "C" fn allocate(
    ud: *mut c_void,
    block: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the leaked `Heap` given to lua_setallocf; Lua calls
    // its allocator from the VM thread only.
    let heap = unsafe { &mut *(ud as *mut Heap) };
    // For a new block `osize` is a type tag, not a size.
    let old = if block.is_null() { 0 } else { osize };
    if nsize == 0 {
        if !block.is_null() {
            // SAFETY: Lua frees a block it got from us (or from mlua's
            // allocator, same alignment) with its size.
            unsafe {
                alloc::dealloc(
                    block as *mut u8,
                    Layout::from_size_align_unchecked(old, ALIGN),
                )
            };
            heap.used = heap.used.saturating_sub(old);
        }
        return ptr::null_mut();
    }
    let Ok(layout) = Layout::from_size_align(nsize, ALIGN) else {
        return ptr::null_mut();
    };
    let limit = heap.limit.saturating_add(HEADROOM.load(Ordering::SeqCst));
    if nsize > old && heap.used.saturating_add(nsize - old) > limit {
        LIMIT_HIT.store(true, Ordering::SeqCst);
        return ptr::null_mut();
    }
    // SAFETY: `layout` has a non-zero size; an old block was allocated with
    // `old` bytes and the same alignment.
    let new = unsafe {
        if block.is_null() {
            alloc::alloc(layout)
        } else {
            let old_layout = Layout::from_size_align_unchecked(old, ALIGN);
            alloc::realloc(block as *mut u8, old_layout, nsize)
        }
    };
    if !new.is_null() {
        heap.used = heap.used.saturating_sub(old).saturating_add(nsize);
    }
    new as *mut c_void
}
