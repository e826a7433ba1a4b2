//! Files a session watches: read once, then re-read only when their size, mtime or inode
//! changes, and counted as changed only when their content hash differs.

use std::hash::Hasher;
use std::io;
use std::time::SystemTime;

/// The hash that decides whether an input's content changed.
pub fn content_hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write_usize(bytes.len());
    h.write(bytes);
    h.finish()
}

/// What `stat` says about a file; a different stamp means it may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: Option<SystemTime>,
    ino: u64,
}

fn stamp_of(path: &str) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some(Stamp {
        len: m.len(),
        mtime: m.modified().ok(),
        ino,
    })
}

/// One watched file: its stamp and content hash when last read (`None` if unreadable).
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The path as given.
    pub path: String,
    stamp: Option<Stamp>,
    hash: Option<u64>,
}

impl Tracked {
    /// Reads `path`, remembering its stamp (taken first, so a write racing the read is seen
    /// next time) and content hash.
    pub fn read(path: &str) -> (Tracked, io::Result<Vec<u8>>) {
        let stamp = stamp_of(path);
        let data = std::fs::read(path);
        let t = Tracked {
            path: path.to_string(),
            stamp: stamp.filter(|_| data.is_ok()),
            hash: data.as_ref().ok().map(|d| content_hash(d)),
        };
        (t, data)
    }

    /// `None` when the content is as last read; otherwise the file read afresh. Reads only
    /// when the stamp changed (or the file was unreadable).
    pub fn poll(&mut self) -> Option<io::Result<Vec<u8>>> {
        let now = stamp_of(&self.path);
        if now.is_some() && now == self.stamp {
            return None;
        }
        let (t, data) = Tracked::read(&self.path);
        let changed = t.hash != self.hash;
        *self = t;
        changed.then_some(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_content_changes_but_not_touches() {
        let dir = std::env::temp_dir().join(format!("natmod-tracked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        let ps = p.to_str().unwrap();
        std::fs::write(&p, b"one").unwrap();
        let (mut t, d) = Tracked::read(ps);
        assert_eq!(d.unwrap(), b"one");
        assert!(t.poll().is_none());
        // Same bytes, new inode and mtime: read again, but not a change.
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, b"one").unwrap();
        assert!(t.poll().is_none());
        std::fs::write(&p, b"two!").unwrap();
        assert_eq!(t.poll().unwrap().unwrap(), b"two!");
        std::fs::remove_file(&p).unwrap();
        assert!(t.poll().unwrap().is_err());
        assert!(t.poll().is_none(), "still missing is no change");
        std::fs::write(&p, b"back").unwrap();
        assert_eq!(t.poll().unwrap().unwrap(), b"back");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
