//! What an object depends on, for skipping compiles whose inputs did not change: gcc writes
//! the headers each source includes (`-MMD`, `$(BUILD)/x.d` beside `$(BUILD)/x.o`), and a
//! source's stamp hashes its command, its bytes and the bytes of exactly those headers. A
//! source without a dependency file yet is stamped with every local header instead.
//!
//! Local headers are hashed once per build, before anything compiles ([`Snapshot`]), so a
//! header saved while gcc runs makes the next build compile again rather than trust an object
//! built from the old header. Other headers (MPY_DIR, the toolchain's) are hashed when their
//! size or modification time changes.

use crate::workspace::Project;
use natmod_linker::session::content_hash;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The dependency file gcc writes for `src` with `-MMD`: the object's path ending in `.d`.
pub fn depfile(p: &Project, src: &str) -> PathBuf {
    p.abs(&p.object_for(src)).with_extension("d")
}

/// The prerequisites a make-syntax dependency file lists (targets and `\` line continuations
/// left out, `\ ` taken as a space), made absolute against `dir`.
pub fn parse_depfile(text: &str, dir: &Path) -> BTreeSet<PathBuf> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = BTreeSet::new();
    for rule in joined.lines() {
        let Some(colon) = find_rule_colon(rule) else {
            continue;
        };
        let mut word = String::new();
        let mut chars = rule[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    word.push(' ');
                    chars.next();
                }
                c if c.is_whitespace() => {
                    if !word.is_empty() {
                        out.insert(dir.join(std::mem::take(&mut word)));
                    }
                }
                c => word.push(c),
            }
        }
        if !word.is_empty() {
            out.insert(dir.join(word));
        }
    }
    out
}

/// The colon ending a rule's targets: the first `: ` or a colon ending the line.
fn find_rule_colon(rule: &str) -> Option<usize> {
    rule.find(": ")
        .or_else(|| rule.strip_suffix(':').map(str::len))
}

/// Content hashes of the project's local headers and config.h, taken before a build compiles.
pub struct Snapshot {
    hashes: HashMap<PathBuf, u64>,
    all: u64,
}

impl Snapshot {
    /// Hashes every local header of `p` (two directory levels) and its config.h.
    pub fn take(p: &Project) -> Snapshot {
        let mut hashes = HashMap::new();
        let mut headers: Vec<PathBuf> = p
            .local_c_files()
            .into_iter()
            .filter(|f| f.extension().is_some_and(|x| x == "h"))
            .collect();
        headers.push(p.abs(&p.config_h));
        headers.sort();
        headers.dedup();
        let mut all = 0u64;
        for h in headers {
            let bytes = std::fs::read(&h).unwrap_or_default();
            let v = content_hash(&bytes) ^ content_hash(h.as_os_str().as_encoded_bytes());
            all = all.rotate_left(7) ^ v;
            hashes.insert(h, v);
        }
        Snapshot { hashes, all }
    }
}

/// Hashes of headers outside the project, by path, with the size and time they were hashed at.
#[derive(Debug, Default)]
pub struct ForeignHashes {
    seen: HashMap<PathBuf, (u64, Option<SystemTime>, u64)>,
}

impl ForeignHashes {
    fn hash(&mut self, path: &Path) -> u64 {
        let meta = std::fs::metadata(path).ok();
        let key = (
            meta.as_ref().map_or(u64::MAX, |m| m.len()),
            meta.as_ref().and_then(|m| m.modified().ok()),
        );
        if let Some((len, time, h)) = self.seen.get(path) {
            if (*len, *time) == key && key.1.is_some() {
                return *h;
            }
        }
        let bytes = std::fs::read(path).unwrap_or_default();
        let h = content_hash(&bytes) ^ content_hash(path.as_os_str().as_encoded_bytes());
        self.seen.insert(path.to_path_buf(), (key.0, key.1, h));
        h
    }
}

/// The stamp of `src` given its source hash and its dependencies (`None`: not known yet, so
/// every local header counts).
pub fn stamp(
    p: &Project,
    src: &str,
    src_hash: u64,
    deps: Option<&BTreeSet<PathBuf>>,
    snap: &Snapshot,
    foreign: &mut ForeignHashes,
) -> u64 {
    let mut h = content_hash(p.compile_args(src).join("\0").as_bytes()) ^ src_hash.rotate_left(17);
    let source = p.abs(src);
    match deps {
        None => h ^= snap.all.rotate_left(31) ^ 1,
        Some(deps) => {
            for d in deps.iter().filter(|d| **d != source) {
                let v = match snap.hashes.get(d) {
                    Some(v) => *v,
                    None => foreign.hash(d),
                };
                h = h.rotate_left(5) ^ v;
            }
        }
    }
    h
}

/// The dependencies gcc last wrote for `src`, if it did.
pub fn read_deps(p: &Project, src: &str) -> Option<BTreeSet<PathBuf>> {
    let text = std::fs::read(depfile(p, src)).ok()?;
    Some(parse_depfile(&String::from_utf8_lossy(&text), &p.dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gcc_dependency_files() {
        let d = Path::new("/p");
        let deps = parse_depfile(
            "build/ops.o: ops.c multifile.h \\\n build/m.config.h \\\n /mpy/py/dynruntime.h my\\ dir/x.h\n",
            d,
        );
        let want: BTreeSet<PathBuf> = [
            "/p/ops.c",
            "/p/multifile.h",
            "/p/build/m.config.h",
            "/mpy/py/dynruntime.h",
            "/p/my dir/x.h",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(deps, want);
        assert!(parse_depfile("garbage without a rule\n", d).is_empty());
    }

    #[test]
    fn a_stamp_changes_only_with_the_headers_a_source_includes() {
        let dir = std::env::temp_dir().join(format!("natmod-deps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let p = Project::sample(&dir, &dir, &["a.c", "b.c"]);
        for (f, t) in [("a.h", "1"), ("b.h", "2"), ("a.c", "x"), ("b.c", "y")] {
            std::fs::write(dir.join(f), t).unwrap();
        }
        let deps_a: BTreeSet<PathBuf> = [dir.join("a.c"), dir.join("a.h")].into();
        let mut foreign = ForeignHashes::default();
        let mut stamps = || {
            let snap = Snapshot::take(&p);
            let exact = stamp(&p, "a.c", 7, Some(&deps_a), &snap, &mut foreign);
            let coarse = stamp(&p, "a.c", 7, None, &snap, &mut foreign);
            (exact, coarse)
        };
        let before = stamps();
        std::fs::write(dir.join("b.h"), "3").unwrap();
        let after_b = stamps();
        assert_eq!(before.0, after_b.0, "b.h is not a dependency of a.c");
        assert_ne!(before.1, after_b.1, "without a depfile every header counts");
        std::fs::write(dir.join("a.h"), "4").unwrap();
        assert_ne!(after_b.0, stamps().0, "a.h is");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
