//! The `luaopen_hotreload_native` entry point, and why it is not nvim-oxi's.
//!
//! nvim-oxi's `#[plugin]` entry stores the `lua_State` it is called with for
//! good (a `OnceCell` in `nvim-oxi-luajit`'s `state.rs`) and uses it for every
//! later call: `vim.schedule` from the libuv callback, calling Lua handlers,
//! registry refs. `require` runs `luaopen_*` on the thread that requires,
//! and nvim-dap calls adapter factories inside a coroutine. A coroutine's
//! `lua_State` is freed once the coroutine is collected, so the stored
//! pointer dangled and Neovim died in `lua_getglobal` after the session.
//!
//! So the entry point hands nvim-oxi Neovim's main thread instead, whatever
//! thread calls it. Lua 5.1 has no `LUA_RIDX_MAINTHREAD`; luv, which Neovim
//! opens on its main thread (`luv_set_loop(global_lstate, ...)`), keeps it
//! and documents `luv_state(L)` as "the main thread of the given
//! lua_State". `lua_pushthread` confirms it is a main thread. Using the
//! main thread while a coroutine runs is what Neovim itself does for every
//! Lua callback (it always calls them on its global state): values are
//! pushed onto it and popped again, leaving its stack as it was.

use core::ffi::{c_char, c_int};

use nvim_oxi::lua::ffi::{self, State};
use nvim_oxi::lua::Pushable;

extern "C" {
    // Exported by Neovim's binary: luv's C API and LuaJIT's.
    fn luv_state(lstate: *mut State) -> *mut State;
    fn lua_pushthread(lstate: *mut State) -> c_int;
    fn lua_setfield(lstate: *mut State, index: c_int, key: *const c_char);
}

/// Neovim's main thread, found from any thread of its Lua state.
///
/// # Safety
/// `lstate` must be a live thread of Neovim's Lua state, running now.
unsafe fn main_thread(lstate: *mut State) -> Result<*mut State, &'static str> {
    let main = unsafe { luv_state(lstate) };
    if main.is_null() {
        return Err("luv has no main thread recorded (not loaded by Neovim?)");
    }
    // `lua_pushthread` pushes the thread and tells whether it is the main one.
    let is_main = unsafe {
        let is_main = lua_pushthread(main);
        ffi::lua_settop(main, -2);
        is_main
    };
    if is_main != 1 {
        return Err("luv's recorded thread is not the main thread");
    }
    Ok(main)
}

/// Called by `require('hotreload_native')` on whatever thread requires it.
///
/// # Safety
/// Called by Lua's `require` with a live, running `lua_State`.
#[no_mangle]
pub unsafe extern "C" fn luaopen_hotreload_native(lstate: *mut State) -> c_int {
    let main = match unsafe { main_thread(lstate) } {
        Ok(main) => main,
        Err(reason) => {
            let text = format!("hotreload_native: cannot find Neovim's main Lua thread: {reason}");
            unsafe { push_error_table(lstate, &text) };
            return 1;
        }
    };
    // What nvim-oxi's own entry point does, with `main` stored in place of
    // the caller's thread. The module is pushed onto the caller's stack
    // (the values it holds are registry refs, shared by all threads); a
    // failure becomes `{ error = ... }`, as nvim-oxi would raise on `main`.
    unsafe {
        nvim_oxi::arena_init();
        nvim_oxi::lua::init(main);
        nvim_oxi::libuv::init(main);
    }
    let pushed = crate::guard::guarded(|| Ok(crate::module()))
        .map_err(|err| err.to_string())
        .and_then(|module| unsafe { module.push(lstate) }.map_err(|err| err.to_string()));
    pushed.unwrap_or_else(|err| {
        let text = format!("hotreload_native: cannot build the module: {err}");
        unsafe { push_error_table(lstate, &text) };
        1
    })
}

/// Pushes `{ error = text }` with the plain C API, usable before nvim-oxi
/// is initialised.
unsafe fn push_error_table(lstate: *mut State, text: &str) {
    unsafe {
        ffi::lua_createtable(lstate, 0, 1);
        ffi::lua_pushlstring(lstate, text.as_ptr() as *const c_char, text.len());
        lua_setfield(lstate, -2, c"error".as_ptr());
    }
}
