//! Where `natmod-lsp` may run and write, end to end: nothing runs for a project outside the
//! workspace folders; a build never writes outside the workspace and MPY_DIR (make variables
//! or symlinks pointing out are refused on their Makefile line, and nothing is written
//! there); writes that leave the project but stay in the workspace are built and warned
//! about; a symlinked `.mpy` is replaced by the new file, never written through.
//!
//! Needs `make`, `gcc` and the MicroPython v1.23 tree (scripts/provision.sh).

use natmod_tests::lsp_client::LspClient;
use natmod_tests::lsp_scenario::{errors, message, trusted_options};
use natmod_tests::{copy_module, mpy_dir, natmod_lsp, require_tool, scratch_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A fresh scratch directory for `test`.
fn scratch(test: &str) -> PathBuf {
    scratch_dir("lsp_security", test)
}

/// A copy of examples/factorial at `dir` with `extra` Makefile lines put before the include
/// of dynruntime.mk (MPY_DIR made absolute, since the copy is not where the example is).
fn factorial_at(dir: &Path, extra: &str) -> PathBuf {
    copy_module("examples/factorial", dir);
    let mf = dir.join("Makefile");
    let text = std::fs::read_to_string(&mf).unwrap();
    let text = text.replace(
        "MPY_DIR ?= ../../target/mpy-dir/micropython",
        &format!("MPY_DIR ?= {}", mpy_dir().display()),
    );
    let text = text.replacen(
        "include $(MPY_DIR)",
        &format!("{extra}\ninclude $(MPY_DIR)"),
        1,
    );
    std::fs::write(&mf, text).unwrap();
    dir.join("factorial.c")
}

fn start(root: &Path) -> LspClient {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    LspClient::start(&natmod_lsp(), root, trusted_options(&mpy_dir(), 0))
}

/// The 0-based line of the Makefile in `dir` that starts with `prefix`.
fn makefile_line(dir: &Path, prefix: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join("Makefile")).unwrap();
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in {}", dir.display())) as u64
}

/// Every file under `dir`, recursively.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn with_code<'a>(diags: &'a [Value], code: &str) -> Vec<&'a Value> {
    diags.iter().filter(|d| d["code"] == code).collect()
}

#[test]
fn a_build_dir_outside_the_workspace_is_refused_and_nothing_is_written_there() {
    let base = scratch("refuse");
    let ws = base.join("ws");
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dir = ws.join("proj");
    let c_file = factorial_at(&dir, &format!("BUILD = {}/b", outside.display()));
    let mut lsp = start(&ws);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert!(done["errors"].as_u64().unwrap_or(0) > 0, "{done}");
    let diags = lsp.diagnostics_for(&dir.join("Makefile"));
    let refused = with_code(&diags, "write-outside-workspace");
    assert!(!refused.is_empty(), "{diags:#?}");
    let build_line = makefile_line(&dir, "BUILD = ");
    assert!(
        refused
            .iter()
            .any(|d| d["range"]["start"]["line"] == build_line
                && message(d).contains(&outside.display().to_string())),
        "the BUILD line names where it points: {refused:#?}"
    );
    assert_eq!(
        tree(&outside),
        Vec::<PathBuf>::new(),
        "nothing written outside"
    );
    assert!(!dir.join("factorial_nm.mpy").exists());
    assert!(!dir.join("compile_commands.json").exists());
    // Pointing BUILD back inside clears the error and builds.
    let mf = dir.join("Makefile");
    let text = std::fs::read_to_string(&mf).unwrap();
    let fixed: String = text
        .lines()
        .filter(|l| !l.starts_with("BUILD = "))
        .map(|l| format!("{l}\n"))
        .collect();
    lsp.write(&mf, &fixed);
    lsp.save(&mf);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    assert!(dir.join("factorial_nm.mpy").is_file());
    assert!(lsp.diagnostics_for(&mf).is_empty());
}

#[test]
fn a_build_dir_symlinked_out_of_the_workspace_is_refused() {
    let base = scratch("symlinked_build");
    let ws = base.join("ws");
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dir = ws.join("proj");
    let c_file = factorial_at(&dir, "");
    std::os::unix::fs::symlink(&outside, dir.join("build")).unwrap();
    let mut lsp = start(&ws);
    lsp.open(&c_file, "c");
    lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&dir.join("Makefile"));
    let refused = with_code(&diags, "write-outside-workspace");
    assert!(
        refused
            .iter()
            .any(|d| message(d).contains(&format!("(that is, {}", outside.display()))),
        "the message shows where the symlink leads: {diags:#?}"
    );
    assert_eq!(
        tree(&outside),
        Vec::<PathBuf>::new(),
        "nothing written outside"
    );
}

#[test]
fn writes_that_leave_the_project_but_stay_in_the_workspace_are_built_and_warned_about() {
    let ws = scratch("warn");
    let dir = ws.join("proj");
    let c_file = factorial_at(&dir, "BUILD = ../shared-build");
    let mut lsp = start(&ws);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    let diags = lsp.diagnostics_for(&dir.join("Makefile"));
    let warned = with_code(&diags, "write-outside-project");
    assert_eq!(warned.len(), 1, "{diags:#?}");
    assert_eq!(warned[0]["severity"], 2, "a warning: {warned:#?}");
    assert_eq!(
        warned[0]["range"]["start"]["line"],
        makefile_line(&dir, "BUILD = ")
    );
    assert!(message(warned[0]).contains(&ws.join("shared-build").display().to_string()));
    assert!(ws.join("shared-build/factorial.o").is_file());
    assert!(dir.join("factorial_nm.mpy").is_file());
    assert!(errors(&diags).is_empty());
}

#[test]
fn a_symlinked_mpy_is_replaced_not_written_through() {
    let base = scratch("symlinked_mpy");
    let ws = base.join("ws");
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("victim.mpy");
    std::fs::write(&target, b"not to be touched").unwrap();
    let dir = ws.join("proj");
    let c_file = factorial_at(&dir, "");
    let mpy = dir.join("factorial_nm.mpy");
    std::os::unix::fs::symlink(&target, &mpy).unwrap();
    let mut lsp = start(&ws);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    assert_eq!(std::fs::read(&target).unwrap(), b"not to be touched");
    let meta = std::fs::symlink_metadata(&mpy).unwrap();
    assert!(meta.file_type().is_file(), "the link became the module");
    assert_eq!(&std::fs::read(&mpy).unwrap()[..2], b"M\x06");
}

#[test]
fn nothing_runs_for_a_project_outside_the_workspace_folders() {
    let base = scratch("outside_project");
    let ws = base.join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let dir = base.join("elsewhere");
    // If make evaluated this Makefile, the marker would appear.
    let marker = base.join("make-ran");
    let c_file = factorial_at(&dir, &format!("X := $(shell touch {})", marker.display()));
    let mut lsp = start(&ws);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 1, "{done}");
    assert!(
        lsp.messages
            .iter()
            .any(|m| m.contains("outside the workspace folders")),
        "{:?}",
        lsp.messages
    );
    assert!(
        !marker.exists(),
        "make ran for a project outside the workspace"
    );
    assert!(!dir.join("build").exists());
    // Saving again does not repeat the message.
    lsp.save(&c_file);
    lsp.wait_build(&dir);
    let told = lsp.messages_containing("outside the workspace folders");
    assert_eq!(told, 1, "{:?}", lsp.messages);
    assert!(!marker.exists());
}
