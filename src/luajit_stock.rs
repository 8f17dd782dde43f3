//! The in-place swap for Neovim's own LuaJIT, as a Lua C function the glue
//! loads with `package.loadlib(<this library>, "hotreload_luajit_stock")`
//! (`lua/hotreload/swap.lua`). The work is C (`crates/host/vm/luajit_stock`,
//! built by `build.rs`): it checks at first use that the running LuaJIT has
//! the layout it was compiled for, and returns `{ problem = text }` when not.
//!
//! The table's functions are plain C functions that Lua calls directly, so
//! their Lua errors never cross a Rust frame; this entry only forwards.

use std::ffi::{c_int, c_void};

extern "C-unwind" {
    fn hr_stock_open(state: *mut c_void) -> c_int;
}

/// `luaopen`-style entry: pushes `{ version, problem? , swap, restore,
/// nested, flush }`. Called by Neovim's Lua on its own thread with its own
/// `lua_State`, which is not kept.
///
/// # Safety
/// `state` must be the `lua_State` Lua calls this function with.
#[no_mangle]
pub unsafe extern "C-unwind" fn hotreload_luajit_stock(state: *mut c_void) -> c_int {
    // SAFETY: forwarded as received; the C reads and pushes on this state only.
    unsafe { hr_stock_open(state) }
}
