//! Every rule of a hot reload (README.md "Reload semantics"), each
//! proved end to end the way a user meets it: a fixture program of
//! `tests/fixtures/rules/` runs under the real `hotreload-dap` and host, the
//! test sends `hotReload` with new source text while the program runs (or is
//! stopped at a breakpoint), and the program's later output, or `evaluate`,
//! shows that state was kept and behaviour changed as the rule says.

mod support;

#[path = "reload_rules/harness.rs"]
mod harness;

#[path = "reload_rules/references.rs"]
mod references;

#[path = "reload_rules/state.rs"]
mod state;

#[path = "reload_rules/flow.rs"]
mod flow;

#[path = "reload_rules/failures.rs"]
mod failures;

#[path = "reload_rules/classes.rs"]
mod classes;
