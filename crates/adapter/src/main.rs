//! `hotreload-dap`: a Debug Adapter Protocol server on stdin/stdout, for
//! editors other than Neovim and for the DAP integration tests.
//!
//! Options: `--version`, `--help`. `HOTRELOAD_LOG=path` appends a transcript
//! of the DAP traffic to `path`; `HOTRELOAD_HOST_DIR` says where the
//! `hotreload-host-<runtime>` binaries are (default: next to this binary).

use anyhow::Context as _;
use session::{SessionConfig, TranscriptLog};

const USAGE: &str = "\
usage: hotreload-dap [--version | --help]

Serves the Debug Adapter Protocol on stdin/stdout (Content-Length framing).

environment:
  HOTRELOAD_LOG=path        append a transcript of the DAP traffic to path
  HOTRELOAD_HOST_DIR=dir    where hotreload-host-<runtime> binaries are
                            (default: the directory of this executable)
";

fn main() -> std::process::ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("--version" | "-V") => {
            println!("hotreload-dap {}", env!("CARGO_PKG_VERSION"));
            return std::process::ExitCode::SUCCESS;
        }
        Some("--help" | "-h") => {
            print!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Some(other) => {
            eprint!("hotreload-dap: unknown argument '{other}'\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
        None => {}
    }
    let code = match run() {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("hotreload-dap: {error:#}");
            1
        }
    };
    // Exit now: tokio's stdin reader sits in a blocking read that would
    // otherwise keep the process alive until the client closes the pipe.
    std::process::exit(code);
}

fn run() -> anyhow::Result<()> {
    let log = match std::env::var_os("HOTRELOAD_LOG").filter(|p| !p.is_empty()) {
        Some(path) => Some(
            TranscriptLog::open(path.as_ref())
                .with_context(|| format!("opening HOTRELOAD_LOG {}", path.to_string_lossy()))?,
        ),
        None => None,
    };
    let config = SessionConfig {
        host_dir: None,
        log,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime
        .block_on(session::serve(
            tokio::io::stdin(),
            tokio::io::stdout(),
            config,
        ))
        .context("session ended with an error")?;
    Ok(())
}
