//! `hotreload_agent`: the host's debugger and reload engine as a Lua C module,
//! for programs that bring their own, stock Lua VM (a C application, LÖVE).
//! The program loads it (`require("hotreload_agent").start{ connect = ADDR }`
//! or through `LUA_INIT`); it speaks the host protocol of
//! `crates/host-protocol` over a socket instead of stdio.
//!
//! The code is the host's (`crates/host/src/`, shared module by module
//! below), with three parts of its own: `stock/stock_vm.c` serves the host's
//! VM contract (`vm/hotreload_vm.h`) with only the public Lua API; `io`
//! writes to the socket instead of stdout; `attach`, `transport` and
//! `reader` replace the host's `main`, `launch` and `reader` (the program
//! runs on its own thread; the agent serves requests from its hooks).

// The host's modules are shared whole; the agent uses most, not all, of
// what each offers.
#![allow(dead_code)]

// `stop.rs` names the reload engine through the host's library crate.
extern crate self as hotreload_host;

mod attach;
mod io;
mod reader;
mod transport;

#[path = "../../host/src/breakpoints.rs"]
mod breakpoints;
#[path = "../../host/src/completions.rs"]
mod completions;
#[path = "../../host/src/coroutines.rs"]
mod coroutines;
#[path = "../../host/src/data_breakpoints.rs"]
mod data_breakpoints;
#[path = "../../host/src/debuggee.rs"]
mod debuggee;
#[path = "../../host/src/dispatch.rs"]
mod dispatch;
#[path = "../../host/src/display/mod.rs"]
mod display;
#[path = "../../host/src/evaluate.rs"]
mod evaluate;
#[path = "../../host/src/exceptions.rs"]
mod exceptions;
#[path = "../../host/src/follow.rs"]
mod follow;
#[path = "../../host/src/frames.rs"]
mod frames;
#[path = "../../host/src/function_breakpoints.rs"]
mod function_breakpoints;
#[path = "../../host/src/hooks.rs"]
mod hooks;
#[path = "../../host/src/inflight.rs"]
mod inflight;
#[path = "../../host/src/inspect.rs"]
mod inspect;
#[path = "../../host/src/interrupt.rs"]
mod interrupt;
#[path = "../../host/src/lua_api.rs"]
mod lua_api;
#[path = "../../host/src/lua_c.rs"]
mod lua_c;
#[path = "../../host/src/memory.rs"]
mod memory;
#[path = "../../host/src/messages.rs"]
mod messages;
#[path = "../../host/src/native.rs"]
mod native;
#[path = "../../host/src/panics.rs"]
mod panics;
#[path = "../../host/src/queue.rs"]
mod queue;
#[path = "../../host/src/references.rs"]
mod references;
#[path = "../../host/src/reload/mod.rs"]
pub mod reload;
#[path = "../../host/src/restart.rs"]
mod restart;
#[path = "../../host/src/routing.rs"]
mod routing;
#[path = "../../host/src/set_variable.rs"]
mod set_variable;
#[path = "../../host/src/slots.rs"]
mod slots;
#[path = "../../host/src/sources.rs"]
mod sources;
#[path = "../../host/src/stop.rs"]
mod stop;
#[path = "../../host/src/threads.rs"]
mod threads;

pub use attach::luaopen_hotreload_agent;
