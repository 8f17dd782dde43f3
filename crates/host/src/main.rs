//! `hotreload-host-<vm>`: runs one debuggee in its own Lua VM (the one the
//! build's feature picks, see `vm/`) and speaks
//! the JSON-lines host protocol (`host_protocol`) on its stdin and stdout.
//!
//! Threads: the VM thread (this one) owns the Lua VM; a reader thread parses
//! requests and interrupts the VM when it runs; a watchdog answers for an
//! evaluation stuck in a C call (`inflight`); two forwarders turn what lands
//! on fds 1 and 2 into `output` events.

mod breakpoints;
mod completions;
mod coroutines;
mod data_breakpoints;
mod debuggee;
mod dispatch;
mod display;
mod evaluate;
mod exceptions;
mod follow;
mod frames;
mod function_breakpoints;
mod hooks;
mod inflight;
mod inspect;
mod interrupt;
mod io;
mod launch;
mod lua_api;
mod lua_c;
mod memory;
mod messages;
mod native;
mod panics;
mod queue;
mod reader;
mod references;
mod restart;
mod routing;
mod set_variable;
mod slots;
mod sources;
mod stop;
mod threads;

use host_protocol::{HostCommand, HostRequest, Outcome, PROTOCOL_VERSION};
use hotreload_host::reload;
use serde_json::Value;

use crate::debuggee::DEBUGGEE;
use crate::queue::RunState;
use crate::routing::Refusal;
use crate::stop::Taken;

/// The Lua release this host embeds (from build.rs).
const LUA_RELEASE: &str = env!("HOTRELOAD_LUA_RELEASE");

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!(
            "{} {} (Lua {LUA_RELEASE}, protocol {PROTOCOL_VERSION})",
            env!("CARGO_BIN_NAME"),
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    // SAFETY: process-wide settings at startup, before any other thread:
    // die with the session, and let children see a default SIGPIPE (a broken
    // protocol pipe ends us too, which is what we want).
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let input = io::setup()?;
    panics::install_hook();
    interrupt::install()?;
    inflight::spawn_watchdog()?;
    reader::spawn(input)?;
    serve_until_configured();
    stop::run_program()
}

/// Serves requests until `configurationDone` (after a successful launch).
fn serve_until_configured() {
    loop {
        let request = queue::pop_blocking();
        let taken =
            DEBUGGEE.with_borrow_mut(|debuggee| stop::take(debuggee, request, RunState::Idle));
        if let Taken::Configure(request) = taken {
            if configure(*request) {
                return;
            }
        }
    }
}

/// Answers `launch` or `configurationDone`; true once the program may start.
fn configure(request: HostRequest) -> bool {
    let id = request.id;
    let is_done = matches!(request.command, HostCommand::ConfigurationDone);
    inflight::begin(id, inflight::Serving::ToTheEnd);
    let outcome = DEBUGGEE.with_borrow_mut(|debuggee| match request.command {
        HostCommand::Launch(args) => {
            match panics::catch("launch", || launch::launch(debuggee, args)) {
                Ok(Ok(())) => Outcome::Ok(Value::Null),
                Ok(Err(e)) => Outcome::Failure(e.into()),
                Err(e) => Outcome::Failure(e),
            }
        }
        _ if debuggee.vm.is_none() => Outcome::Failure(Refusal::NotLaunched.into()),
        _ => Outcome::Ok(Value::Null),
    });
    let configured = is_done && matches!(outcome, Outcome::Ok(_));
    if inflight::end() {
        io::respond(id, outcome);
    }
    configured
}
