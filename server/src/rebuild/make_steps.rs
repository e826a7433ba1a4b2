//! The project's own rules (generated headers, libraries, `$(MAKE) -C sub`): run by make
//! itself, before the compile, for the targets make's dry run listed; make decides what is
//! out of date, so an up-to-date project costs one make that runs nothing.

use crate::config::Config;
use crate::diag::Severity;
use crate::diag::{line_span, Diag};
use crate::process::{self, Limits, RunError};
use crate::workspace::{makefile, Project};

/// Runs make for the project rules of `p`'s plan; the errors, placed on the rule's line
/// (`Err` only when cancelled).
pub fn run(
    p: &Project,
    config: &Config,
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<Diag>, RunError> {
    if p.plan.make_steps.is_empty() {
        return Ok(Vec::new());
    }
    let name = p
        .makefile
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Makefile".into());
    let mut cmd = makefile::make_command(p.makefile.parent().unwrap_or(&p.dir));
    cmd.args(["--no-print-directory", "-f", &name])
        .args(config.make_overrides())
        .args(p.plan.make_steps.iter().map(|s| s.target.as_str()));
    let limits = Limits {
        timeout: config.make_timeout.max(std::time::Duration::from_secs(120)),
        max_output: makefile::MAX_OUTPUT,
    };
    let failure = match process::run(cmd, limits, cancelled) {
        Err(RunError::Cancelled) => return Err(RunError::Cancelled),
        Err(e) => format!("make: {e}"),
        Ok(o) if o.success => return Ok(Vec::new()),
        Ok(o) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        }
    };
    // The first project rule of the plan whose target is missing afterwards is the one that
    // failed (else the first one).
    let failed = p
        .plan
        .make_steps
        .iter()
        .find(|s| !p.abs(&s.target).exists())
        .unwrap_or(&p.plan.make_steps[0]);
    let rule_file = p.dir.join(&failed.rule_file);
    let text = std::fs::read_to_string(&rule_file).unwrap_or_default();
    Ok(vec![Diag::new(
        "make",
        line_span(&rule_file, &text, failed.rule_line.saturating_sub(1)),
        Severity::Error,
        "project-rule-failed",
        format!(
            "make {} failed (the project's rule for it, run before the compile):\n{failure}",
            failed.target
        ),
    )])
}
