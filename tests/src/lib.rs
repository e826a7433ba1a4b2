//! Shared helpers for the end-to-end tests: where the tools, the golden corpus and the
//! provisioned MicroPython tree are, and how to run them.

pub mod argv;
pub mod golden;
pub mod lsp_client;
pub mod mpyfile;
pub mod session_bench;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared` beside the repo root; panics with a clear message when it is missing.
pub fn shared_dir() -> PathBuf {
    let dir = repo_root().join("../shared");
    assert!(
        dir.join("data/golden/manifest.json").is_file(),
        "missing {}: the shared golden corpus must sit beside the repo (../shared/data/golden/manifest.json)",
        dir.display()
    );
    dir
}

/// The directory cargo writes binaries to for this test build (target/debug or target/release).
pub fn target_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    let deps = exe.parent().expect("deps dir");
    if deps.file_name().map(|n| n == "deps").unwrap_or(false) {
        deps.parent().unwrap().to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

fn build_bin(package: &str, bin: &str) -> PathBuf {
    let dir = target_bin_dir();
    let path = dir.join(bin);
    let profile = dir.file_name().unwrap().to_string_lossy().to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root())
        .args(["build", "--quiet", "-p", package, "--bin", bin]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Path of the `natmod-ld` binary, built on first use.
pub fn natmod_ld() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| build_bin("natmod-linker", "natmod-ld"))
        .clone()
}

/// Path of the `natmod-lsp` binary, built on first use.
pub fn natmod_lsp() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| build_bin("natmod-lsp", "natmod-lsp"))
        .clone()
}

/// The provisioned MicroPython v1.23 tree (`target/mpy-dir/micropython`, made by
/// `scripts/provision-mpy-dir.sh`), or `$MPY_DIR` when set. Panics with a clear message if absent.
pub fn mpy_dir() -> PathBuf {
    let dir = std::env::var_os("NATMOD_TEST_MPY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/mpy-dir/micropython"));
    assert!(
        dir.join("py/dynruntime.mk").is_file(),
        "missing MicroPython tree at {} (run scripts/provision-mpy-dir.sh, or set NATMOD_TEST_MPY_DIR)",
        dir.display()
    );
    dir
}

/// Looks up a program on PATH; panics naming the package that provides it when absent.
pub fn require_tool(name: &str, provided_by: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("required tool `{name}` is not on PATH (install {provided_by}; .ci/run does this)");
}
