//! The board for LSP clients: `natmod/boardPorts` (no board contact), and, in trusted
//! workspaces only, `natmod/boardInfo`, `natmod/boardCheck` and the `natmod.boardRun` and
//! `natmod.boardDeploy` commands on the project's last built `.mpy`. Thin adapters over
//! [`crate::board`].

use super::Snapshot;
use crate::board::{self, deploy, port, Board, Module, RunOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The command that runs the project's module on a board.
pub const RUN_COMMAND: &str = "natmod.boardRun";
/// The command that deploys the project's module to a board's filesystem.
pub const DEPLOY_COMMAND: &str = "natmod.boardDeploy";

/// `natmod/boardPorts`: the serial ports, marked when MicroPython boards use them.
pub fn ports() -> Value {
    match port::list() {
        Ok(p) => json!(p),
        Err(e) => json!({"error": e}),
    }
}

/// Opens the board named by `params` (`{"port": path, "baud": n}`), soft-resetting it with
/// `reset`.
fn connect(params: &Value, reset: bool) -> Result<Board, String> {
    let port = params
        .get("port")
        .and_then(Value::as_str)
        .ok_or("a board request needs {\"port\": \"/dev/...\"}")?;
    let baud = params
        .get("baud")
        .and_then(Value::as_u64)
        .and_then(|b| u32::try_from(b).ok())
        .unwrap_or(board::DEFAULT_BAUD);
    Board::connect_with(port, baud, reset).map_err(|e| e.to_string())
}

/// The project's last written `.mpy`.
fn module(snap: &Snapshot) -> Result<Module, String> {
    let path = snap.project.output_mpy();
    if !path.is_file() {
        return Err(format!(
            "{} has not been built yet (save a source to build it)",
            path.display()
        ));
    }
    Module::read(&path).map_err(|e| e.to_string())
}

/// `natmod/boardInfo`: what the board is.
pub fn info(params: &Value) -> Result<Value, String> {
    let mut b = connect(params, true)?;
    let _ = b.leave();
    let summary = b.info.summary();
    let mut v = json!(b.info);
    v["summary"] = json!(summary);
    Ok(v)
}

/// `natmod/boardCheck`: whether the project's module loads on the board; a mismatch carries
/// the Makefile and the variable to change.
pub fn check(snap: &Snapshot, params: &Value) -> Result<Value, String> {
    let m = module(snap)?;
    let mut b = connect(params, true)?;
    let _ = b.leave();
    let r = board::check_module(&m, &b.info);
    let makefile = snap.project.dir.join("Makefile");
    let text = std::fs::read_to_string(&makefile).unwrap_or_default();
    Ok(json!({
        "ok": r.ok(),
        "board": b.info,
        "summary": b.info.summary(),
        "check": r,
        "makefile": crate::lsp_convert::uri(&makefile).map(|u| u.as_str().to_string()),
        "archLine": arch_line(&text),
    }))
}

/// The 0-based line of the Makefile's `ARCH` assignment (where an editor shows a mismatch).
pub fn arch_line(makefile: &str) -> Option<usize> {
    makefile.lines().position(|l| {
        let l = l.trim_start();
        l.strip_prefix("ARCH").is_some_and(|rest| {
            let rest = rest.trim_start();
            ["=", ":=", "?=", "+=", "::="]
                .iter()
                .any(|op| rest.starts_with(op))
        })
    })
}

/// `natmod.boardRun` `{port, baud?, code? | script?, timeoutMs?}`: loads the module into the
/// board's RAM, imports it and runs the code (a script file's text, or `code`).
pub fn run(snap: &Snapshot, params: &Value) -> Result<Value, String> {
    let started = Instant::now();
    let code = match (
        params.get("code").and_then(Value::as_str),
        params.get("script").and_then(Value::as_str),
    ) {
        (Some(c), _) => c.to_string(),
        (None, Some(p)) => {
            let p = p.strip_prefix("file://").unwrap_or(p);
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?
        }
        (None, None) => String::new(),
    };
    let timeout = params
        .get("timeoutMs")
        .and_then(Value::as_u64)
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(10));
    let m = module(snap)?;
    let mut b = connect(params, true)?;
    let opts = RunOptions {
        code: &code,
        timeout,
        unchecked: false,
        started,
    };
    let r = board::run(&mut b, &m, &opts, &mut |_| {}, &mut |_, _| {});
    let _ = b.leave();
    let r = r.map_err(|e| e.to_string())?;
    Ok(json!({"ok": r.error.is_none(), "summary": b.info.summary(), "run": r}))
}

/// `natmod.boardDeploy` `{port, baud?, dir?, noReset?}`: copies the module to the board's
/// filesystem.
pub fn deploy(snap: &Snapshot, params: &Value) -> Result<Value, String> {
    let m = module(snap)?;
    let dir = params
        .get("dir")
        .and_then(Value::as_str)
        .unwrap_or(deploy::DEFAULT_DIR);
    let reset = !params
        .get("noReset")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut b = connect(params, reset)?;
    let r = deploy::deploy(&mut b, &m, dir, &mut |_, _| {});
    let _ = b.leave();
    let path = r.map_err(|e| e.to_string())?;
    Ok(json!({"ok": true, "path": path, "bytes": m.bytes.len()}))
}

#[cfg(test)]
mod tests {
    #[test]
    fn arch_line() {
        let mk = "# ARCH = x\nARCH_FLAGS = zba\nMOD = m\nARCH ?= x64\n";
        assert_eq!(super::arch_line(mk), Some(3));
        assert_eq!(super::arch_line("MOD = m\n"), None);
    }
}
