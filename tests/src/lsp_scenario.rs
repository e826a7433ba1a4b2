//! Steps shared by the natmod-lsp end-to-end tests (`tests/lsp_server.rs`) and the
//! `natmod-bench lsp` latency benchmark: server options, reading the `BROKEN` markers of the
//! broken examples, looking diagnostics up, and editing files the way an editor does.

use crate::lsp_client::file_uri;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Trusted initialization options building against `mpy_dir` with `debounce_ms`.
pub fn trusted_options(mpy_dir: &Path, debounce_ms: u64) -> Value {
    json!({"trusted": true, "mpyDir": mpy_dir.to_string_lossy(), "debounceMs": debounce_ms})
}

/// The error diagnostics (severity 1) of `diags`.
pub fn errors(diags: &[Value]) -> Vec<&Value> {
    diags.iter().filter(|d| d["severity"] == 1).collect()
}

/// The message of a diagnostic (empty when it has none).
pub fn message(d: &Value) -> &str {
    d["message"].as_str().unwrap_or("")
}

/// 0-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}")) as u64
}

/// The regular files directly in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every line (0-based) carrying a `BROKEN:` marker in the files of `dir`, with its file.
pub fn marked_lines(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for f in files_in(dir) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, l) in text.lines().enumerate() {
            if l.contains("BROKEN:") {
                out.push((f.clone(), i as u64));
            }
        }
    }
    out
}

/// The text of `path` with every `from` replaced by `to` (asserting there is one).
pub fn replaced(path: &Path, from: &str, to: &str) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        text.contains(from),
        "{} has no {from:?}; update the test",
        path.display()
    );
    text.replace(from, to)
}

/// The text of `path` with a code action's single-line text edits for it applied (ASCII
/// files), as an editor applies them.
pub fn edited(path: &Path, action: &Value) -> String {
    let edits = action["edit"]["changes"][file_uri(path)]
        .as_array()
        .unwrap_or_else(|| panic!("no edits for {}: {action}", path.display()))
        .clone();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    let pos = |p: &Value| {
        (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        )
    };
    for e in edits.iter().rev() {
        let ((l, a), (l2, b)) = (pos(&e["range"]["start"]), pos(&e["range"]["end"]));
        assert_eq!(l, l2, "single-line edits only: {e}");
        while lines.len() <= l {
            lines.push(String::new());
        }
        lines[l].replace_range(a..b, e["newText"].as_str().unwrap());
    }
    lines.concat()
}

/// The files of `dir` that a code action edits.
pub fn edited_files(action: &Value, dir: &Path) -> Vec<PathBuf> {
    files_in(dir)
        .into_iter()
        .filter(|f| action["edit"]["changes"].get(file_uri(f)).is_some())
        .collect()
}
