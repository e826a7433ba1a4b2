//! Deploying a module to the board's filesystem (`/lib` by default): written to a temporary
//! name, renamed into place and its size read back, so an interrupted copy never leaves a
//! truncated module where `import` finds it.

use super::repl::ReplError;
use super::{check_module, transfer, Board, BoardError, Module};
use std::time::Duration;

/// Where `deploy` puts modules unless told otherwise (on `sys.path` of every port).
pub const DEFAULT_DIR: &str = "/lib";

/// Whether `dir` is a plain absolute board path that can go into a Python string literal.
fn valid_dir(dir: &str) -> bool {
    dir.starts_with('/')
        && dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.".contains(c))
        && !dir.split('/').any(|p| p == "..")
}

/// Copies `m` to `dir/NAME.mpy` on the board; returns the path written.
pub fn deploy(
    board: &mut Board,
    m: &Module,
    dir: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<String, BoardError> {
    if !valid_dir(dir) {
        return Err(BoardError::Module(format!(
            "{dir:?} is not an absolute board path of letters, digits, '/', '_', '-' and '.'"
        )));
    }
    let report = check_module(m, &board.info);
    if !report.ok() {
        return Err(BoardError::Incompatible(report.mismatches));
    }
    let dir = dir.trim_end_matches('/');
    let target = format!("{dir}/{}.mpy", m.name);
    let tmp = format!("{dir}/.{}.mpy.tmp", m.name);
    let mkdir = if dir.is_empty() {
        String::new()
    } else {
        format!("try:\n    os.mkdir('{dir}')\nexcept OSError:\n    pass\n")
    };
    let begin = format!("import os\n{mkdir}_f = open('{tmp}', 'wb')");
    let end = format!("_f.close()\nos.rename('{tmp}', '{target}')");
    transfer::stream(
        &mut board.repl,
        &m.bytes,
        &begin,
        &|_, lit| format!("_f.write({lit})"),
        &end,
        progress,
    )
    .map_err(|e| match e {
        ReplError::Protocol(msg) if msg.contains("OSError") => BoardError::Module(format!(
            "cannot write {target} on the board (does it have a writable filesystem?): {msg}"
        )),
        e => e.into(),
    })?;
    let size = board.repl.eval(
        &format!("print(os.stat('{target}')[6])"),
        Duration::from_secs(5),
    )?;
    if size.trim() != m.bytes.len().to_string() {
        return Err(BoardError::Module(format!(
            "{target} on the board has {} bytes, not {}",
            size.trim(),
            m.bytes.len()
        )));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_dirs() {
        assert!(valid_dir("/lib") && valid_dir("/flash/lib") && valid_dir("/"));
        assert!(!valid_dir("lib") && !valid_dir("/a'b") && !valid_dir("/../x"));
    }
}
