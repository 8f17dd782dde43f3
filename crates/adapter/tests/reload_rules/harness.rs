//! Drives one scenario program of `tests/fixtures/rules/<name>/` through the
//! real adapter and host, in one of two ways:
//!
//! - [`Running`]: `main.lua` loops forever (fixtures/rules/lib/scenario.lua),
//!   printing `<i> <observation>` once per iteration. A test names the
//!   observation it expects for iteration `i` in each phase (before the first
//!   reload, after it, ...), and the whole output must be those phases in
//!   order, every line exact. Because the observation is a function of `i`,
//!   state that survives a reload shows as lines that keep following `i`.
//!   One line between two phases may be neither: a reload is served between
//!   two statements, possibly in the middle of an iteration.
//! - [`Stopped`]: `main.lua` (or a module) stops on the line marked
//!   `-- break here`; the test reloads and evaluates while stopped, then lets
//!   the program finish and compares its whole output.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::{fixtures, Client};

/// The directory of one scenario.
pub fn dir(name: &str) -> PathBuf {
    fixtures().join("rules").join(name)
}

/// Launch arguments: `main.lua` of the scenario, its directory and the
/// shared `lib` on the module path.
fn launch_args(name: &str) -> Value {
    let d = dir(name);
    let lib = fixtures().join("rules/lib");
    json!({
        "program": d.join("main.lua").display().to_string(),
        "luaPath": format!("{0}/?.lua;{0}/?/init.lua;{1}/?.lua", d.display(), lib.display()),
        "cwd": d.display().to_string(),
    })
}

/// The 1-based line numbers of `file` marked `-- break here`.
pub fn marked_lines(file: &std::path::Path) -> Vec<i64> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("-- break here"))
        .map(|(i, _)| i as i64 + 1)
        .collect()
}

/// The observation expected for iteration `i` in one phase.
pub type Phase = Box<dyn Fn(u64) -> String>;

/// A scenario whose program loops while the test reloads it.
pub struct Running {
    /// The DAP client (for evaluate, events, ...).
    pub client: Client,
    phases: Vec<Phase>,
}

/// How many lines of a new phase to wait for before judging it.
const LINES_PER_PHASE: usize = 3;

impl Running {
    /// Starts `rules/<name>/main.lua` and waits until it has printed a few
    /// lines, all matching `first`.
    pub fn start(name: &str, first: impl Fn(u64) -> String + 'static) -> Running {
        let mut client = Client::start();
        client.run(launch_args(name));
        let mut run = Running {
            client,
            phases: vec![Box::new(first)],
        };
        run.wait_phase_lines(LINES_PER_PHASE);
        run
    }

    /// Waits until the last phase has `count` lines; fails on any wrong line.
    #[track_caller]
    fn wait_phase_lines(&mut self, count: usize) {
        let phases = &self.phases;
        let what = format!("{count} lines of phase {}", phases.len() - 1);
        let text = self.client.wait_output(
            &what,
            |text| !matches!(judge(phases, &lines_of(text)), Ok(n) if n < count),
        );
        if let Err(why) = judge(&self.phases, &lines_of(&text)) {
            self.client.fail(&format!("wrong output: {why}"));
        }
    }

    /// Reloads `module` with `source`; the request must succeed.
    #[track_caller]
    pub fn reload(&mut self, module: &str, source: &str) -> Value {
        self.client
            .ok("hotReload", json!({"module": module, "source": source}))
    }

    /// Sends a reload that must fail; returns the failure.
    #[track_caller]
    pub fn reload_err(&mut self, arguments: Value) -> crate::support::Failure {
        self.client.err("hotReload", arguments)
    }

    /// From now on the program must print `next`: waits for a few lines of
    /// it and checks the whole output.
    #[track_caller]
    pub fn expect(&mut self, next: impl Fn(u64) -> String + 'static) {
        self.phases.push(Box::new(next));
        self.wait_phase_lines(LINES_PER_PHASE);
    }

    /// The program must go on printing the current phase: waits for `more`
    /// further lines and checks the whole output.
    #[track_caller]
    pub fn expect_unchanged(&mut self, more: usize) {
        let have = judge(&self.phases, &lines_of(&self.client.stdout_text())).unwrap_or(0);
        self.wait_phase_lines(have + more);
    }

    /// Evaluates a global expression while the program runs.
    #[track_caller]
    pub fn eval(&mut self, expression: &str) -> String {
        self.client.evaluate(expression, None, "repl")
    }

    /// Ends the session.
    pub fn finish(mut self) {
        self.client.ok("disconnect", json!({}));
    }

    /// The whole of a one-reload scenario: starts `rules/<name>/main.lua`
    /// printing `before`, reloads `module` with `source`, from then on
    /// expects `after`, and ends the session.
    #[track_caller]
    pub fn reloads_once(
        name: &str,
        before: impl Fn(u64) -> String + 'static,
        module: &str,
        source: &str,
        after: impl Fn(u64) -> String + 'static,
    ) {
        let mut run = Running::start(name, before);
        run.reload(module, source);
        run.expect(after);
        run.finish();
    }
}

/// The complete lines of `text`, as (i, observation).
fn lines_of(text: &str) -> Vec<(u64, String)> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .map(|l| {
            let (i, rest) = l.split_once(' ').unwrap_or((l, ""));
            (i.parse().unwrap_or(0), rest.to_owned())
        })
        .collect()
}

/// Checks every line against `phases`; returns how many lines the last
/// phase has (0 while an earlier phase still runs), or why the output is
/// wrong.
fn judge(phases: &[Phase], lines: &[(u64, String)]) -> Result<usize, String> {
    let mut phase = 0;
    let mut in_phase = 0;
    let mut stray = false;
    for (n, (i, text)) in lines.iter().enumerate() {
        if *i != n as u64 + 1 {
            return Err(format!("line {} is numbered {i}: {text:?}", n + 1));
        }
        if *text == (phases[phase])(*i) {
            if stray {
                return Err(format!(
                    "iteration {} matches no phase: {:?}",
                    i - 1,
                    lines[n - 1].1
                ));
            }
            in_phase += 1;
            continue;
        }
        let next = phase + 1;
        if next < phases.len() && *text == (phases[next])(*i) {
            phase = next;
            in_phase = 1;
            stray = false;
            continue;
        }
        if !stray && next < phases.len() {
            // The iteration during which the reload happened may be a mix.
            stray = true;
            continue;
        }
        let also = if next < phases.len() {
            format!(", phase {next} expects {:?}", (phases[next])(*i))
        } else {
            String::new()
        };
        return Err(format!(
            "iteration {i} printed {text:?}; phase {phase} expects {:?}{also}",
            (phases[phase])(*i)
        ));
    }
    if phase + 1 != phases.len() {
        return Ok(0);
    }
    Ok(in_phase)
}

/// A scenario whose program is stopped at a marked line.
pub struct Stopped {
    /// The DAP client.
    pub client: Client,
    /// The stopped thread.
    pub thread: Value,
    /// The file holding the breakpoint.
    pub file: String,
}

impl Stopped {
    /// Starts `rules/<name>/main.lua` and waits until it stops at the line of
    /// `main.lua` marked `-- break here`.
    pub fn start(name: &str) -> Stopped {
        Stopped::start_in(name, "main.lua")
    }

    /// Same, with the marked line in `file` (relative to the scenario).
    pub fn start_in(name: &str, file: &str) -> Stopped {
        let mut client = Client::start();
        client.launch(launch_args(name));
        let path = dir(name).join(file);
        let lines = marked_lines(&path);
        if lines.is_empty() {
            client.fail(&format!(
                "{} has no line marked `-- break here`",
                path.display()
            ));
        }
        let file = path.display().to_string();
        let set = client.set_breakpoints(&file, &lines);
        if set.iter().any(|b| b["verified"] == false) {
            client.fail(&format!("breakpoints not verified: {set:?}"));
        }
        client.ok("configurationDone", json!({}));
        let thread = client.wait_stopped("breakpoint")["threadId"].clone();
        Stopped {
            client,
            thread,
            file,
        }
    }

    /// The id of the top frame.
    #[track_caller]
    pub fn top_frame(&mut self) -> Value {
        let thread = self.thread.clone();
        let frames = self.client.stack(&thread);
        match frames.first() {
            Some(f) => f["id"].clone(),
            None => self.client.fail("the stopped thread has no frames"),
        }
    }

    /// Evaluates `expression` in the top frame; returns its result text.
    #[track_caller]
    pub fn eval(&mut self, expression: &str) -> String {
        let frame = self.top_frame();
        self.client.evaluate(expression, Some(&frame), "repl")
    }

    /// Evaluates `expression` in the top frame and checks the result text.
    #[track_caller]
    pub fn eval_is(&mut self, expression: &str, expected: &str) {
        let got = self.eval(expression);
        if got != expected {
            self.client.fail(&format!(
                "evaluate {expression:?} gave {got:?}, expected {expected:?}"
            ));
        }
    }

    /// Reloads `module` with `source`; the request must succeed.
    #[track_caller]
    pub fn reload(&mut self, module: &str, source: &str) -> Value {
        self.client
            .ok("hotReload", json!({"module": module, "source": source}))
    }

    /// Sends a reload that must fail; returns the failure.
    #[track_caller]
    pub fn reload_err(&mut self, arguments: Value) -> crate::support::Failure {
        self.client.err("hotReload", arguments)
    }

    /// Clears the breakpoints, lets the program end and checks its whole
    /// output.
    #[track_caller]
    pub fn finish(mut self, expected: &str) {
        let file = self.file.clone();
        self.client.set_breakpoints(&file, &[]);
        let thread = self.thread.clone();
        self.client.ok("continue", json!({"threadId": thread}));
        self.client.wait_event("exited");
        self.client.wait_event("terminated");
        let output = self.client.stdout_text();
        if output != expected {
            self.client.fail(&format!(
                "the program printed\n{output}\nexpected\n{expected}"
            ));
        }
    }
}

/// True when `body[key]` lists exactly `names` (any order).
pub fn lists(body: &Value, key: &str, names: &[&str]) -> bool {
    let mut got: Vec<&str> = body[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    got.sort_unstable();
    let mut want = names.to_vec();
    want.sort_unstable();
    got == want
}

/// The warnings of a reload response as `(kind, message)`.
pub fn warnings(body: &Value) -> Vec<(String, String)> {
    body["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| {
                    let text = |key: &str| w[key].as_str().unwrap_or_default().to_owned();
                    (text("kind"), text("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a reload response warns that the function `name` is running
/// (so it keeps its old code until it returns).
pub fn warns_running(body: &Value, name: &str) -> bool {
    warnings(body)
        .iter()
        .any(|(kind, message)| kind == "runningFunction" && message.contains(name))
}
