//! What the stock standalone interpreter of this host's Lua (`lua.c`, or
//! LuaJIT's `luajit.c`) does around a program, which the host repeats so a
//! program sees no difference: where its init code comes from, and what its
//! message handler returns and its `report` prints when the program ends
//! with an error. These differ between versions (5.1 and 5.2 print nothing
//! for a `nil` error and keep other non-string errors without a traceback;
//! 5.1 formats its traceback with its own `debug.traceback`).

use std::os::raw::c_int;

use mlua::ffi::{self, lua_State};

/// The environment variables `lua` reads its init code from; the first set
/// one wins, and its name (with `=`) names the chunk.
#[cfg(feature = "lua54")]
pub const INIT_VARS: &[&str] = &["LUA_INIT_5_4", "LUA_INIT"];
#[cfg(feature = "lua53")]
pub const INIT_VARS: &[&str] = &["LUA_INIT_5_3", "LUA_INIT"];
#[cfg(feature = "lua52")]
pub const INIT_VARS: &[&str] = &["LUA_INIT_5_2", "LUA_INIT"];
#[cfg(any(feature = "lua51", feature = "luajit"))]
pub const INIT_VARS: &[&str] = &["LUA_INIT"];

/// Pushes what this version's `lua.c` message handler returns for the error
/// object at index 1 (the only value on the stack): always one value.
///
/// # Safety
/// Called from a message handler, with room for 4 slots.
pub unsafe fn message_handler(l: *mut lua_State) -> c_int {
    // SAFETY: per the contract above.
    unsafe { handler(l) }
}

/// Lua 5.3 and 5.4: a non-string's `__tostring` result if that is a string,
/// else the message (or "(error object is a T value)") with a traceback.
#[cfg(any(feature = "lua54", feature = "lua53"))]
unsafe fn handler(l: *mut lua_State) -> c_int {
    // SAFETY: per message_handler's contract.
    unsafe {
        let mut msg = ffi::lua_tostring(l, 1);
        if msg.is_null() {
            if ffi::luaL_callmeta(l, 1, c"__tostring".as_ptr()) != 0
                && ffi::lua_type(l, -1) == ffi::LUA_TSTRING
            {
                return 1;
            }
            let name = ffi::lua_typename(l, ffi::lua_type(l, 1));
            msg = ffi::lua_pushfstring(l, c"(error object is a %s value)".as_ptr(), name);
        }
        ffi::luaL_traceback(l, l, msg, 1);
        1
    }
}

/// Lua 5.2: a message gets a traceback; another non-nil object its
/// `__tostring` result (whatever its type) or "(no error message)"; `nil`
/// stays `nil`.
#[cfg(feature = "lua52")]
unsafe fn handler(l: *mut lua_State) -> c_int {
    // SAFETY: per message_handler's contract.
    unsafe {
        let msg = ffi::lua_tostring(l, 1);
        if !msg.is_null() {
            ffi::luaL_traceback(l, l, msg, 1);
        } else if ffi::lua_type(l, 1) <= ffi::LUA_TNIL {
            ffi::lua_pushvalue(l, 1);
        } else if ffi::luaL_callmeta(l, 1, c"__tostring".as_ptr()) == 0 {
            ffi::lua_pushstring(l, c"(no error message)".as_ptr());
        }
        1
    }
}

/// Lua 5.1: a message (string or number) gets the traceback of the global
/// `debug.traceback` (5.1's format), called as `lua.c` calls it; anything
/// else, or a missing `debug.traceback`, stays as it is.
#[cfg(feature = "lua51")]
unsafe fn handler(l: *mut lua_State) -> c_int {
    // SAFETY: per message_handler's contract.
    unsafe {
        ffi::lua_pushvalue(l, 1);
        if ffi::lua_isstring(l, 1) == 0 {
            return 1;
        }
        ffi::lua_getglobal(l, c"debug".as_ptr());
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            ffi::lua_pop(l, 1);
            return 1;
        }
        ffi::lua_getfield(l, -1, c"traceback".as_ptr());
        if ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
            ffi::lua_pop(l, 2);
            return 1;
        }
        ffi::lua_pushvalue(l, 1);
        // Level 2 skips debug.traceback and this handler.
        ffi::lua_pushinteger(l, 2);
        ffi::lua_call(l, 2, 1);
        1
    }
}

#[cfg(feature = "luajit")]
extern "C-unwind" {
    /// LuaJIT's own (mlua's `ffi::luaL_traceback` is its 5.2-style
    /// replacement for 5.1, which formats frames differently).
    #[link_name = "luaL_traceback"]
    fn luajit_traceback(
        l: *mut lua_State,
        l1: *mut lua_State,
        msg: *const std::os::raw::c_char,
        level: c_int,
    );
}

/// LuaJIT: a non-string (not nil) with a `__tostring` giving a string is
/// replaced by that string; a string then gets LuaJIT's traceback; anything
/// else stays as it is.
#[cfg(feature = "luajit")]
unsafe fn handler(l: *mut lua_State) -> c_int {
    // SAFETY: per message_handler's contract.
    unsafe {
        let mut msg = ffi::lua_tostring(l, 1);
        if msg.is_null() {
            if ffi::lua_type(l, 1) <= ffi::LUA_TNIL
                || ffi::luaL_callmeta(l, 1, c"__tostring".as_ptr()) == 0
            {
                ffi::lua_pushvalue(l, 1);
                return 1;
            }
            msg = ffi::lua_tostring(l, -1);
            if msg.is_null() {
                ffi::lua_pop(l, 1);
                ffi::lua_pushvalue(l, 1);
                return 1;
            }
        }
        luajit_traceback(l, l, msg, 1);
        1
    }
}

/// What this version's `lua.c` prints (after its program name) for the
/// handler's result on top of the stack when the program failed; `None`
/// when it prints nothing (5.1, 5.2 and LuaJIT say nothing of a `nil`).
///
/// # Safety
/// The handler's result is on top of `l`'s stack.
pub unsafe fn report(l: *mut lua_State) -> Option<String> {
    // SAFETY: per the contract above.
    unsafe {
        let silent_on_nil = cfg!(not(any(feature = "lua54", feature = "lua53")));
        if silent_on_nil && ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            return None;
        }
        let mut len = 0;
        let p = ffi::lua_tolstring(l, -1, &mut len);
        Some(if p.is_null() {
            "(error object is not a string)".to_string()
        } else {
            String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
        })
    }
}
