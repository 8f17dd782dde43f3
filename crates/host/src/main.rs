//! `hotreload-host-<vm>`: runs one debuggee in its own Lua VM (the one the
//! build's feature picks, see `vm/`) and speaks
//! the JSON-lines host protocol (`host_protocol`) on its stdin and stdout.
//!
//! Threads: the VM thread (this one) owns the Lua VM; a reader thread parses
//! requests and interrupts the VM when it runs; two forwarders turn what lands
//! on fds 1 and 2 into `output` events.

mod breakpoints;
mod completions;
mod coroutines;
mod evaluate;
mod exceptions;
mod format;
mod hooks;
mod inspect;
mod interrupt;
mod io;
mod launch;
mod native;
mod queue;
mod reader;
mod session;
mod set_variable;
mod stop;
mod threads;

use host_protocol::{HostCommand, Outcome, PROTOCOL_VERSION};
use hotreload_host::reload;
use serde_json::Value;

use crate::session::SESSION;

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
    interrupt::install()?;
    reader::spawn(input)?;
    serve_until_configured();
    stop::run_program()
}

/// Serves requests until `configurationDone` (after a successful launch).
fn serve_until_configured() {
    loop {
        let request = queue::pop_blocking();
        let id = request.id;
        let is_done = matches!(request.command, HostCommand::ConfigurationDone);
        let outcome = SESSION.with_borrow_mut(|session| match request.command {
            HostCommand::Launch(args) => match launch::launch(session, args) {
                Ok(()) => Outcome::Ok(Value::Null),
                Err(e) => Outcome::Error(e.to_string()),
            },
            HostCommand::ConfigurationDone if session.vm.is_none() => {
                Outcome::Error("launch a program first".into())
            }
            HostCommand::ConfigurationDone => Outcome::Ok(Value::Null),
            HostCommand::Pause => Outcome::Error("the program is not running".into()),
            command => stop::handle(session, command),
        });
        let configured = is_done && matches!(outcome, Outcome::Ok(_));
        io::respond(id, outcome);
        if configured {
            return;
        }
    }
}
