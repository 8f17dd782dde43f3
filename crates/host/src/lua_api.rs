//! The few C API calls whose spelling differs between the Lua versions a host
//! is built for (5.1 and LuaJIT against 5.2+), so the rest of the host reads
//! the same on every VM. `hr_lua51_api` (set by build.rs) marks a VM with
//! Lua 5.1's C API.

use std::ffi::c_int;

use mlua::ffi;

/// The VM's main thread, seen from `state`. Lua 5.2+ keep it in the
/// registry; Lua 5.1 and LuaJIT do not, so there `state` must be the main
/// thread itself (the host asks right after creating the VM), else `None`.
///
/// # Safety
/// `state` is a live Lua thread with one free stack slot.
pub unsafe fn main_thread(state: *mut ffi::lua_State) -> Option<*mut ffi::lua_State> {
    // SAFETY: the caller's contract; each branch pushes one value and pops it.
    unsafe {
        #[cfg(hr_lua51_api)]
        {
            let is_main = ffi::lua_pushthread(state) == 1;
            ffi::lua_pop(state, 1);
            is_main.then_some(state)
        }
        #[cfg(not(hr_lua51_api))]
        {
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
            let main = ffi::lua_tothread(state, -1);
            ffi::lua_pop(state, 1);
            (!main.is_null()).then_some(main)
        }
    }
}

/// The tail-call hook event. Lua 5.2+ announce the callee of a tail call
/// (`LUA_HOOKTAILCALL`); 5.1 and LuaJIT announce it as a plain call and
/// instead send, under the same number, `LUA_HOOKTAILRET` when the frame
/// returns, once per tail call it made: a return for the debugger.
#[cfg(not(hr_lua51_api))]
pub const HOOK_TAILCALL: c_int = ffi::LUA_HOOKTAILCALL;
/// No tail-call event on this VM (a value no event has).
#[cfg(hr_lua51_api)]
pub const HOOK_TAILCALL: c_int = c_int::MIN;

/// Lua 5.1's `LUA_HOOKTAILRET` (see [`HOOK_TAILCALL`]).
#[cfg(hr_lua51_api)]
pub const HOOK_TAILRET: c_int = 4;
/// No tail-return event on this VM (a value no event has).
#[cfg(not(hr_lua51_api))]
pub const HOOK_TAILRET: c_int = c_int::MIN;
