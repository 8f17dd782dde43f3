//! `dap-fuzz [codec|session|live|all] [--inputs N] [--seed S] [--adapter PATH]`
//!
//! Feeds generated inputs to the DAP codec (frames), the session over a
//! scripted runtime (messages) and a live stopped session (requests), and
//! prints inputs per second and any failure with the seed to reproduce it.

use std::path::PathBuf;
use std::time::Instant;

use hotreload_fuzz::{codec, live, rng::Rng, session_fuzz};

struct Options {
    target: String,
    inputs: usize,
    seed: u64,
    adapter: PathBuf,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        target: "all".into(),
        inputs: 1_000_000,
        seed: 1,
        adapter: PathBuf::from("bin/hotreload-dap"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--inputs" => {
                o.inputs = value("--inputs")?
                    .parse()
                    .map_err(|e| format!("--inputs: {e}"))?
            }
            "--seed" => {
                o.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--adapter" => o.adapter = PathBuf::from(value("--adapter")?),
            "codec" | "session" | "live" | "all" => o.target = arg,
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(o)
}

fn main() -> std::process::ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("dap-fuzz: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut failed = false;
    if o.target == "codec" || o.target == "all" {
        failed |= !run_codec(o.inputs, o.seed);
    }
    if o.target == "session" || o.target == "all" {
        failed |= !run_session(o.inputs, o.seed);
    }
    if o.target == "live" || o.target == "all" {
        // Live requests go through a real host: a tenth of the inputs.
        let n = if o.target == "all" {
            o.inputs / 10
        } else {
            o.inputs
        };
        failed |= !run_live(&o.adapter, n, o.seed);
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn run_codec(inputs: usize, seed: u64) -> bool {
    let started = Instant::now();
    let mut done = 0;
    let mut case = 0u64;
    while done < inputs {
        let case_seed = seed.wrapping_mul(1_000_003).wrapping_add(case);
        let mut rng = Rng::new(case_seed);
        match codec::case(&mut rng, 1 + (case as usize % 16)) {
            Ok(n) => done += n,
            Err(e) => {
                println!("codec: FAILED at case seed {case_seed}: {e}");
                return false;
            }
        }
        case += 1;
    }
    report("codec", "frames", done, started);
    true
}

fn run_session(inputs: usize, seed: u64) -> bool {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            println!("session: cannot start tokio: {e}");
            return false;
        }
    };
    let started = Instant::now();
    let mut done = 0;
    let mut case = 0u64;
    while done < inputs {
        let case_seed = seed.wrapping_mul(7_777_777).wrapping_add(case);
        let messages = 50 + (case as usize % 200);
        // A panic (a failed expectation of the peer) is a failure too.
        let result = runtime
            .block_on(async move { tokio::spawn(session_fuzz::case(case_seed, messages)).await });
        match result {
            Ok(Ok(n)) => done += n,
            Ok(Err(e)) => {
                println!("session: FAILED at case seed {case_seed}: {e}");
                return false;
            }
            Err(e) => {
                println!("session: FAILED (panic) at case seed {case_seed}: {e}");
                return false;
            }
        }
        case += 1;
    }
    report("session", "messages", done, started);
    true
}

fn run_live(adapter: &std::path::Path, inputs: usize, seed: u64) -> bool {
    let started = Instant::now();
    let result = live::run(adapter, inputs, seed);
    report("live", "requests", result.requests, started);
    println!(
        "live: host deaths (findings for the host): {}",
        result.host_deaths
    );
    for failure in &result.failures {
        println!("live: FAILED: {failure}");
    }
    result.failures.is_empty()
}

fn report(target: &str, unit: &str, n: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{target}: {n} {unit} in {secs:.1} s ({:.0}/s), no failure",
        n as f64 / secs.max(1e-9)
    );
}
