//! Evaluating a natmod Makefile with GNU make itself.
//!
//! make dry-runs the project's default goal (`-n -B -w --trace`: every recipe line printed with
//! automatic variables expanded, each under the target and rule it belongs to; `$(MAKE)` lines
//! still run, so goal-gated sub-makes are followed). A rule given with `--eval` (passed on to
//! sub-makes) is made a prerequisite of every target through `.EXTRA_PREREQS`; its recipe
//! prints the variables with `$(info)` in every make process. The process that read
//! `py/dynruntime.mk` is the module's: its variables and its [`plan::Plan`] are the project's.
//! A missing `dynruntime.mk` is "remade" by an empty pattern rule so a wrong MPY_DIR still
//! yields the variables.
//!
//! A Makefile can do anything while it is read: make is killed after a timeout, and only the
//! first and last half MiB of what it prints is kept (the variables are printed last).

use super::plan::{self, Plan};
use super::trace;
use crate::process::{self, Limits, RunError};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The variables read from make.
pub const VARS: &[&str] = &[
    "MOD",
    "SRC",
    "ARCH",
    "MPY_DIR",
    "CROSS",
    "CC",
    "CFLAGS",
    "BUILD",
    "CONFIG_H",
    "LINK_RUNTIME",
    "MPY_LD",
    "MPY_LD_FLAGS",
    "MPY_EXTERN_SYM_FILE",
    "EXTERN_SYMS",
    "ARCH_FLAGS",
    "MPY_CROSS",
    "MPY_CROSS_FLAGS",
    "MPY_TOOL",
    "MAKEFILE_LIST",
    "MAKECMDGOALS",
    "CURDIR",
];

/// The most of each of make's stdout and stderr kept (see [`process::Limits`]).
pub const MAX_OUTPUT: usize = 1 << 20;

/// The most messages taken from make's stderr, and the longest kept.
const MAX_MESSAGES: usize = 100;
const MAX_MESSAGE_CHARS: usize = 1000;

const GOAL: &str = "natmod-lsp-print-vars";
const MARK: &str = "@natmod-lsp@ ";

/// A message make printed with its location (`Makefile:12: *** ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeMessage {
    /// The makefile, as make names it.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// The text after the location (without `*** ` and `.  Stop.`).
    pub message: String,
    /// Whether it stopped make.
    pub fatal: bool,
}

/// What evaluating gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Every variable in [`VARS`], as the module's make process has them.
    pub vars: BTreeMap<String, String>,
    /// What that process would run for the module.
    pub plan: Plan,
    /// Whether a make process read `py/dynruntime.mk`.
    pub reads_dynruntime: bool,
    /// Whether make printed more than [`MAX_OUTPUT`] on stdout or stderr (the middle was cut).
    pub cut: bool,
}

/// Why evaluating failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// make reported errors.
    Make(Vec<MakeMessage>),
    /// make could not run.
    Run(RunError),
}

/// The `--eval` text defining the print rule (not the default goal), a prerequisite of every
/// other target.
fn eval_text() -> String {
    let mut s = format!("{GOAL}: .EXTRA_PREREQS :=\n{GOAL}:\n");
    for v in VARS {
        s.push_str(&format!("\t$(info {MARK}{v}=$({v}))\n"));
    }
    s.push_str(&format!(
        "\t@:\n.EXTRA_PREREQS := {GOAL}\n%dynruntime.mk:\n\t@:\n.DEFAULT_GOAL :=\n"
    ));
    s
}

/// `make` to run in `dir`, in the C locale and free of an enclosing make's flags.
pub fn make_command(dir: &Path) -> Command {
    let mut cmd = Command::new("make");
    cmd.current_dir(dir)
        .env("LC_ALL", "C")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MAKEOVERRIDES");
    cmd
}

/// Runs make in `dir` on `makefile` (a file name in `dir`) with `overrides` (`NAME=value`),
/// killing it after `timeout`, and returns every variable in [`VARS`] and the plan.
pub fn evaluate(
    dir: &Path,
    makefile: &str,
    overrides: &[String],
    timeout: Duration,
    cancelled: &dyn Fn() -> bool,
) -> Result<Evaluation, EvalError> {
    let limits = Limits {
        timeout,
        max_output: MAX_OUTPUT,
    };
    let run = |goal: Option<&str>| {
        let mut cmd = make_command(dir);
        cmd.args(["-n", "-B", "-k", "-w", "--trace", "-f", makefile, "--eval"])
            .arg(eval_text())
            .args(overrides)
            .args(goal);
        process::run(cmd, limits, cancelled).map_err(EvalError::Run)
    };
    let mut out = run(None)?;
    let mut instances = trace::parse(&String::from_utf8_lossy(&out.stdout), MARK);
    if !out.success && !instances.iter().any(trace::Instance::reads_dynruntime) {
        // No make read dynruntime.mk and the goal failed (a Makefile without targets, as
        // with a missing dynruntime.mk): ask for the variables alone.
        out = run(Some(GOAL))?;
        instances = trace::parse(&String::from_utf8_lossy(&out.stdout), MARK);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let module = instances
        .iter()
        .find(|i| i.reads_dynruntime() && i.vars.len() == VARS.len())
        .or_else(|| instances.iter().find(|i| i.vars.len() == VARS.len()));
    // (-k: make goes on after a missing source or a failing sub-make; the variables and the
    // rest of the plan still count, and the compile reports the missing file.)
    if !out.success && module.is_none_or(|m| !m.reads_dynruntime()) {
        let mut msgs = parse_messages(&stderr);
        if msgs.is_empty() {
            msgs.push(MakeMessage {
                file: None,
                line: None,
                message: format!("make failed: {}", stderr.trim()),
                fatal: true,
            });
        }
        return Err(EvalError::Make(msgs));
    }
    let Some(module) = module else {
        return Err(EvalError::Make(vec![MakeMessage {
            file: None,
            line: None,
            message: format!(
                "make printed {} of {} variables{}",
                instances.iter().map(|i| i.vars.len()).max().unwrap_or(0),
                VARS.len(),
                if out.truncated {
                    " (it printed more than 1 MiB, and the middle was cut)"
                } else {
                    ""
                }
            ),
            fatal: true,
        }]));
    };
    Ok(Evaluation {
        vars: module.vars.clone(),
        plan: plan::from_instance(module, GOAL),
        reads_dynruntime: module.reads_dynruntime(),
        cut: out.truncated,
    })
}

/// Parses make's `file:line: *** message.  Stop.` and `make: *** message.  Stop.` lines: every
/// fatal one and the first [`MAX_MESSAGES`] others, each cut at [`MAX_MESSAGE_CHARS`].
pub fn parse_messages(stderr: &str) -> Vec<MakeMessage> {
    let mut out = Vec::new();
    let mut others = 0;
    for l in stderr.lines() {
        let (loc, rest) = match l.find(": ") {
            Some(i) => (&l[..i], &l[i + 2..]),
            None => continue,
        };
        let (file, line) = match loc.rsplit_once(':') {
            Some((f, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                (Some(f.to_string()), n.parse().ok())
            }
            _ if loc == "make" || loc.starts_with("make[") => (None, None),
            _ => continue,
        };
        let fatal = rest.starts_with("*** ");
        let msg = rest.strip_prefix("*** ").unwrap_or(rest);
        let msg = msg.strip_suffix("  Stop.").unwrap_or(msg);
        let msg = msg.strip_suffix('.').unwrap_or(msg).trim();
        if !fatal && (line.is_none() || others == MAX_MESSAGES) {
            continue;
        }
        others += usize::from(!fatal);
        let mut message: String = msg.chars().take(MAX_MESSAGE_CHARS).collect();
        if message.len() < msg.len() {
            message.push_str("...");
        }
        out.push(MakeMessage {
            file,
            line,
            message,
            fatal,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_make_errors() {
        let m = parse_messages(
            "Makefile:12: *** missing separator.  Stop.\n\
             /mpy/py/dynruntime.mk:97: *** architecture 'foo' not supported.  Stop.\n\
             make: *** No rule to make target 'x'.  Stop.\n\
             random noise\n",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[0].file.as_deref(), m[0].line, m[0].message.as_str()),
            (Some("Makefile"), Some(12), "missing separator")
        );
        assert_eq!(m[1].message, "architecture 'foo' not supported");
        assert_eq!((m[2].file.as_deref(), m[2].line), (None, None));
    }

    #[test]
    fn a_flood_of_messages_is_capped_and_keeps_the_fatal_one() {
        let mut err = format!("Makefile:1: {}\n", "x".repeat(5000));
        err.push_str(&"Makefile:2: warning\n".repeat(10_000));
        err.push_str("Makefile:3: *** the real error.  Stop.\n");
        let m = parse_messages(&err);
        assert_eq!(m.len(), MAX_MESSAGES + 1);
        assert_eq!(m[0].message.chars().count(), MAX_MESSAGE_CHARS + 3);
        let last = m.last().unwrap();
        assert_eq!(
            (last.line, last.message.as_str()),
            (Some(3), "the real error")
        );
        assert!(last.fatal);
    }
}
