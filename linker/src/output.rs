//! Crash-safe output: write to a temporary file in the target directory, then rename, so the
//! output path always holds either the old complete file or the new complete file.
//!
//! The temporary is `.NAME.PID.N.tmp` beside `NAME`. A process killed between creating it and
//! the rename (SIGKILL, Ctrl-C, an editor cancelling a build) leaves it behind, so every write
//! first removes the stale temporaries of the same `NAME` whose `PID` is not a live process
//! (`/proc/PID` is absent). Where `/proc` is not available nothing is removed. Files of any other
//! name, and temporaries of live processes (a concurrent writer), are never touched. (A writer in
//! another PID namespace sharing the directory would look dead; losing its temporary makes its
//! rename fail, so the output still holds a complete file.)
//!
//! Outputs are not fsync'd, as make, gcc, ld and mpy_ld.py do not fsync theirs: the guarantee
//! is against a writer that dies or is cancelled, and a concurrent reader (the rename is
//! atomic), not against power loss, after which a rebuild makes them again. An fsync cost the
//! editor 12 ms per file at p50 (20 ms at p95) on a busy disk, on every save.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn dir_and_name(path: &Path) -> (&Path, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// A fresh temporary path beside `path` (`.NAME.PID.N.tmp`), for a writer that fills it by
/// other means (a tool's `-o`) and renames it over `path`; see [`remove_stale_temps`].
pub fn temp_path_for(path: &Path) -> PathBuf {
    let (dir, name) = dir_and_name(path);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// The PID in `file_name` if it is exactly a temporary of `name`: `.NAME.PID.N.tmp` with
/// decimal `PID` and `N`.
pub fn temp_owner(file_name: &str, name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('.')?;
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !decimal(pid) || !decimal(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` is alive; `None` when that cannot be told (no `/proc`).
fn process_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes the temporaries that killed writers of `path` left behind (see the module docs).
/// Returns how many were removed. Best effort: errors are ignored.
pub fn remove_stale_temps(path: &Path) -> usize {
    let (dir, name) = dir_and_name(path);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file_name = e.file_name();
        let Some(pid) = file_name.to_str().and_then(|f| temp_owner(f, &name)) else {
            continue;
        };
        if pid != std::process::id()
            && process_alive(pid) == Some(false)
            && e.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Writes `bytes` to `path` atomically. If `path` is a symlink, the link itself is replaced
/// by the new file (its target is left alone).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    remove_stale_temps(path);
    let tmp = temp_path_for(path);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("natmod-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.mpy");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temp_names_are_matched_exactly() {
        assert_eq!(temp_owner(".m.mpy.123.0.tmp", "m.mpy"), Some(123));
        assert_eq!(temp_owner(".a.b.mpy.7.12.tmp", "a.b.mpy"), Some(7));
        for other in [
            ".m.mpy.123.tmp",
            ".m.mpy.123.0.tmp.bak",
            ".m.mpy.x1.0.tmp",
            ".m.mpy.1.0x.tmp",
            ".m.mpy..0.tmp",
            "m.mpy.123.0.tmp",
            ".n.mpy.123.0.tmp",
            ".m.mpy.1.2.3.tmp",
        ] {
            assert_eq!(temp_owner(other, "m.mpy"), None, "{other}");
        }
    }

    #[test]
    fn removes_only_stale_temps_of_the_same_output() {
        let dir = std::env::temp_dir().join(format!("natmod-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // A PID above the kernel's maximum (4194304) is never alive.
        let dead = ".m.mpy.4294967295.0.tmp";
        let live = format!(".m.mpy.{}.99.tmp", std::process::id());
        let keep = [
            live.as_str(),
            ".n.mpy.4294967295.0.tmp",
            ".m.mpy.4294967295.tmp",
            "other",
        ];
        for f in keep.iter().chain([&dead]) {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        write_atomic(&dir.join("m.mpy"), b"new").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        want.push("m.mpy".into());
        want.sort();
        if Path::new("/proc/self").exists() {
            assert_eq!(left, want);
        } else {
            assert!(left.contains(&dead.to_string()));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
