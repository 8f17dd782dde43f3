//! `reload-bench`: how long a hot reload takes as the program's heap grows,
//! native engine against the pure-Lua reference walker, in one run.
//!
//! For each heap size the parent runs one child process per case (so that
//! peak memory is measured per case): the child builds a program holding
//! `size` objects that reference a ~50-function module (tables holding two
//! module functions, class instances, closures made by the module's
//! factories, plain tables), reloads the module several times, checks that
//! the heap sees the new code, and prints one line of numbers.
//!
//! ```text
//! cargo run --release -p hotreload-bench -- [-- 10000,100000,1000000]
//! ```

use hotreload_host::reload;

use std::process::Command;
use std::time::Instant;

use dap::types::HotReloadArguments;
use mlua::Lua;
use reload::{Backend, Engine};

/// Which reload a case measures.
#[derive(Clone, Copy)]
enum Case {
    /// Native engine, an edit of the module's 45 top-level functions.
    NativeTop,
    /// Native engine, an edit of the code inside the 5 factories (their
    /// closures live all over the heap: this needs the native pass).
    NativeFactory,
    /// Pure-Lua reference walker, the same edit as `NativeTop`.
    WalkerTop,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::NativeTop => "native-top",
            Case::NativeFactory => "native-factory",
            Case::WalkerTop => "walker-top",
        }
    }
    fn parse(s: &str) -> Option<Case> {
        [Case::NativeTop, Case::NativeFactory, Case::WalkerTop]
            .into_iter()
            .find(|c| c.name() == s)
    }
}

/// The benchmarked module: 20 methods + a constructor + 24 functions + 5
/// factories = 50 functions. `top` is baked into the top-level functions,
/// `inner` into the closures the factories make.
fn module_source(top: u32, inner: u32) -> String {
    let mut s = String::from(
        "local M = {}\nlocal calls = 0\nlocal Class = {}\nClass.__index = Class\nM.Class = Class\n",
    );
    for i in 1..=20 {
        s += &format!("function Class:m{i}(x) calls = calls + 1 return self.v + x + {top} end\n");
    }
    s += "function M.new(v) return setmetatable({ v = v }, Class) end\n";
    for i in 1..=24 {
        s += &format!("function M.f{i}(x) calls = calls + 1 return x * {i} + {top} end\n");
    }
    for i in 1..=5 {
        s += &format!(
            "function M.make{i}(step)\n  local n = 0\n  return function() n = n + step return n * {inner} + {i} end\nend\n"
        );
    }
    s += "return M\n";
    s
}

/// Lua that builds the heap: `size` objects referencing the module.
const BUILD_HEAP: &str = r#"
local M, size = ...
local heap = {}
local fs = {}
for i = 1, 24 do fs[i] = M["f" .. i] end
local floor = math.floor
local n_tables, n_instances, n_closures = floor(size * 4 / 10), floor(size * 3 / 10), floor(size * 2 / 10)
for i = 1, n_tables do heap[#heap + 1] = { a = fs[i % 24 + 1], b = fs[(i + 7) % 24 + 1] } end
for i = 1, n_instances do heap[#heap + 1] = M.new(i) end
for i = 1, n_closures do heap[#heap + 1] = M["make" .. (i % 5 + 1)](1) end
while #heap < size do heap[#heap + 1] = { #heap, "x" } end
HEAP = heap
"#;

/// Lua that checks the heap runs version (`top`, `inner`); returns a message or nil.
const CHECK_HEAP: &str = r#"
local top, inner = ...
local heap = HEAP
local size = #heap
local n_tables, n_instances = math.floor(size * 4 / 10), math.floor(size * 3 / 10)
local tab = heap[1]
local expect = (1 % 24 + 1) * 2 + top
if tab.a(2) ~= expect then return "table field: " .. tostring(tab.a(2)) .. " ~= " .. expect end
local inst = heap[n_tables + 1]
if inst:m1(0) ~= inst.v + top then return "instance method: " .. inst:m1(0) end
local clo = heap[n_tables + n_instances + 1]
local a = clo()
local b = clo()
if (b - a) ~= inner then return "factory closure: step " .. (b - a) .. " ~= " .. inner end
return nil
"#;

fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time this thread has used, in ms: a reload's cost apart from the
/// time other processes of a loaded machine take the core from it.
fn thread_cpu_ms() -> f64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3; // Linux
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec of the C layout (64-bit Linux).
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return f64::NAN;
    }
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

/// Resets the kernel's peak-RSS mark for this process (Linux >= 4.0).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct ChildResult {
    median_ms: f64,
    min_ms: f64,
    /// Median CPU time of this thread per reload.
    cpu_ms: f64,
    rss_kb: u64,
    peak_extra_kb: u64,
    error: Option<String>,
}

fn child(case: Case, size: usize) -> Result<ChildResult, String> {
    let dir = std::env::temp_dir().join(format!("reload-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("benchmod.lua"), module_source(1, 1)).map_err(|e| e.to_string())?;
    let lua = Lua::new();
    let backend = match case {
        Case::WalkerTop => Backend::PureLua,
        // The native backend, or where the VM has only the in-place swap, that.
        _ => Backend::best(),
    };
    let mut engine = Engine::install_with(&lua, backend).map_err(|e| e.to_string())?;
    let setup = format!(
        "package.path = {:?}\nreturn require('benchmod')",
        format!("{}/?.lua", dir.display())
    );
    let module: mlua::Table = lua.load(setup).eval().map_err(|e| e.to_string())?;
    lua.load(BUILD_HEAP)
        .call::<()>((module, size))
        .map_err(|e| e.to_string())?;
    lua.gc_collect().map_err(|e| e.to_string())?;
    lua.gc_collect().map_err(|e| e.to_string())?;
    let rss = rss_kb("VmRSS:").unwrap_or(0);
    let peak_reset = reset_peak();
    let rounds = match (case, size) {
        (Case::WalkerTop, s) if s >= 1_000_000 => 3,
        _ => 7,
    };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut current = (1, 1);
    for round in 0..rounds {
        // Odd rounds go to version 2, even rounds back to version 1.
        let v = if round % 2 == 0 { 2 } else { 1 };
        current = match case {
            Case::NativeFactory => (1, v),
            _ => (v, 1),
        };
        let args = HotReloadArguments {
            module: Some("benchmod".into()),
            path: None,
            source: Some(module_source(current.0, current.1)),
        };
        let started = Instant::now();
        let cpu_started = thread_cpu_ms();
        let body = engine.reload(&lua, &args).map_err(|e| e.to_string())?;
        cpu.push(thread_cpu_ms() - cpu_started);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if body.changed.is_empty() {
            return Err(format!("round {round}: nothing changed"));
        }
    }
    let peak = rss_kb("VmHWM:").unwrap_or(0);
    let error: Option<String> = lua
        .load(CHECK_HEAP)
        .call((current.0, current.1))
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&dir);
    times.sort_by(|a, b| a.total_cmp(b));
    cpu.sort_by(|a, b| a.total_cmp(b));
    Ok(ChildResult {
        median_ms: times[times.len() / 2],
        min_ms: times[0],
        cpu_ms: cpu[cpu.len() / 2],
        rss_kb: rss,
        peak_extra_kb: if peak_reset {
            peak.saturating_sub(rss)
        } else {
            0
        },
        error,
    })
}

fn run_child(case: Case, size: usize) -> Result<ChildResult, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--child", case.name(), &size.to_string()])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("result "))
        .ok_or_else(|| {
            format!(
                "child printed no result: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| {
        f.get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Ok(ChildResult {
        median_ms: num(1),
        min_ms: num(2),
        cpu_ms: num(3),
        rss_kb: num(4) as u64,
        peak_extra_kb: num(5) as u64,
        error: f.get(6).filter(|s| **s != "ok").map(|_| f[6..].join(" ")),
    })
}

fn human(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let case = args.get(2).and_then(|s| Case::parse(s));
        let size = args.get(3).and_then(|s| s.parse().ok());
        let (Some(case), Some(size)) = (case, size) else {
            eprintln!("usage: reload-bench --child <case> <size>");
            std::process::exit(2);
        };
        match child(case, size) {
            Ok(r) => println!(
                "result {:.3} {:.3} {:.3} {} {} {}",
                r.median_ms,
                r.min_ms,
                r.cpu_ms,
                r.rss_kb,
                r.peak_extra_kb,
                r.error.unwrap_or_else(|| "ok".into())
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let sizes: Vec<usize> = args
        .get(1)
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000]);
    // LuaJIT's _VERSION says Lua 5.1: it names itself in jit.version.
    let version: String = Lua::new()
        .load("return rawget(_G, 'jit') and jit.version or _VERSION")
        .eval()
        .unwrap_or_else(|_| "Lua ?".into());
    let native = Backend::best() != Backend::PureLua;
    let swap_only = Backend::best() == Backend::Swap;
    println!("hot reload of a 50-function module ({version}), median of several reloads per case");
    if !native {
        println!("this VM has no native reload backend: only the pure-Lua walker runs");
    }
    if swap_only {
        println!(
            "this VM has the in-place swap only (\"native\" columns): closures a factory \
             already made keep their code, so the factory case does not apply"
        );
    }
    println!(
        "top = edit of the 45 top-level functions; factory = edit of the code inside 5 factories"
    );
    println!(
        "times: wall-clock median (in parentheses: the CPU time the reloading thread used, \
         which a loaded machine inflates less)"
    );
    println!();
    println!(
        "| heap objects | native top (ms) | native factory (ms) | Lua walker top (ms) | walker / native top | heap RSS (MB) | extra peak native top | extra peak native factory | extra peak walker |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for size in sizes {
        let results: Vec<Result<ChildResult, String>> =
            [Case::NativeTop, Case::NativeFactory, Case::WalkerTop]
                .into_iter()
                .map(|c| match c {
                    Case::NativeTop | Case::NativeFactory if !native => Err("n/a".to_owned()),
                    Case::NativeFactory if swap_only => Err("n/a".to_owned()),
                    _ => run_child(c, size),
                })
                .collect();
        let cell = |r: &Result<ChildResult, String>| match r {
            Ok(r) if r.error.is_none() => format!("{:.2} ({:.2})", r.median_ms, r.cpu_ms),
            Ok(r) => format!(
                "{:.2} (WRONG: {})",
                r.median_ms,
                r.error.clone().unwrap_or_default()
            ),
            Err(e) if e == "n/a" => "n/a".into(),
            Err(e) => format!("failed: {e}"),
        };
        let peak = |r: &Result<ChildResult, String>| match r {
            Ok(r) if r.rss_kb > 0 => format!(
                "{:.1} MB ({:.1}%)",
                r.peak_extra_kb as f64 / 1024.0,
                100.0 * r.peak_extra_kb as f64 / r.rss_kb as f64
            ),
            _ => "-".into(),
        };
        let ratio = match (&results[0], &results[2]) {
            (Ok(n), Ok(w)) if n.median_ms > 0.0 => format!("{:.0}x", w.median_ms / n.median_ms),
            _ => "-".into(),
        };
        let rss = match &results[if native { 0 } else { 2 }] {
            Ok(r) => format!("{:.0}", r.rss_kb as f64 / 1024.0),
            Err(_) => "-".into(),
        };
        let measured = match (native, swap_only) {
            (true, false) => &results[..2],
            (true, true) => &results[..1],
            _ => &results[2..],
        };
        failed |= measured
            .iter()
            .any(|r| !matches!(r, Ok(r) if r.error.is_none()));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            human(size),
            cell(&results[0]),
            cell(&results[1]),
            cell(&results[2]),
            ratio,
            rss,
            peak(&results[0]),
            peak(&results[1]),
            peak(&results[2]),
        );
    }
    if failed {
        std::process::exit(1);
    }
}
