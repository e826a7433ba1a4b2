//! Running `natmod-ld` from tests: scratch directories, golden cases copied in, the command
//! run with a clean environment, and the check that a failure was clean.

use crate::golden::golden_dir;
use crate::natmod_ld;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty scratch directory for a natmod-ld command-line test called `name`.
pub fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir("ld_cli", name)
}

/// Copies the files of golden case directory `case` (`minimal/x64`) into `dst`.
pub fn copy_case(case: &str, dst: &Path) {
    let src = golden_dir().join(case);
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
}

/// Runs `natmod-ld` in `dir` with `args`, without MPY_DIR or MAKEFLAGS from the caller.
pub fn run<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Output {
    Command::new(natmod_ld())
        .args(args)
        .current_dir(dir)
        .env_remove("MPY_DIR")
        .env_remove("MAKEFLAGS")
        .output()
        .unwrap()
}

/// stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `natmod-ld` in `dir`; asserts a clean failure: exit status 1, a `LinkError:` line
/// containing `expect`, no panic, no output file and no temporary left behind.
pub fn assert_fails_cleanly(dir: &Path, args: &[&str], expect: &str) {
    let o = run(dir, args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}\n{stdout}{stderr}");
    assert!(stdout.starts_with("LinkError: "), "{args:?}: {stdout}");
    assert!(stdout.contains(expect), "{args:?}: {stdout}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mpy") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
}
