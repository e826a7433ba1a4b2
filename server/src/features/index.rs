//! The project's C index as the editor sees it: open documents' current text, other files
//! from disk. Each file is parsed once per content (open documents, by a hash of the text) or
//! per modification (disk files, by size and mtime); the project's file list is re-read at
//! most once a second.

use crate::c::FileIndex;
use crate::sync::lock;
use crate::text::Documents;
use crate::workspace::Project;
use natmod_linker::session::content_hash;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// How long a project's file list is reused.
const LIST_TTL: Duration = Duration::from_secs(1);

/// What a cached index was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// Text with this hash.
    Text(u64),
    /// The disk file with this size and mtime.
    Disk(u64, Option<SystemTime>),
}

/// A project's file list and when it was read.
type FileList = (Instant, Arc<Vec<PathBuf>>);

/// Cached indexes by file, and file lists by project directory.
#[derive(Default)]
pub struct LiveIndex {
    files: Mutex<HashMap<PathBuf, (Stamp, Arc<FileIndex>)>>,
    lists: Mutex<HashMap<PathBuf, FileList>>,
}

impl LiveIndex {
    /// The index of `path` with the current `text`.
    pub fn file(&self, path: &Path, text: &str) -> Arc<FileIndex> {
        let stamp = Stamp::Text(content_hash(text.as_bytes()));
        self.cached(path, stamp, || text.to_string())
    }

    fn cached(&self, path: &Path, stamp: Stamp, text: impl FnOnce() -> String) -> Arc<FileIndex> {
        if let Some((s, ix)) = lock(&self.files).get(path) {
            if *s == stamp {
                return ix.clone();
            }
        }
        let ix = Arc::new(FileIndex::parse(&text()));
        lock(&self.files).insert(path.to_path_buf(), (stamp, ix.clone()));
        ix
    }

    /// The index of a file as it is on disk (or as open in `docs`).
    fn current(&self, path: &Path, docs: &Mutex<Documents>) -> Option<Arc<FileIndex>> {
        if let Some(text) = lock(docs).text(path) {
            return Some(self.file(path, &text));
        }
        let md = std::fs::metadata(path).ok()?;
        let stamp = Stamp::Disk(md.len(), md.modified().ok());
        Some(self.cached(path, stamp, || {
            std::fs::read(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        }))
    }

    /// Every project file's index; `path` (whose index is `own`) comes first.
    pub fn project(
        &self,
        p: &Project,
        docs: &Mutex<Documents>,
        path: &Path,
        own: &Arc<FileIndex>,
    ) -> Vec<(PathBuf, Arc<FileIndex>)> {
        let list = {
            let mut lists = lock(&self.lists);
            match lists.get(&p.dir) {
                Some((t, l)) if t.elapsed() < LIST_TTL => l.clone(),
                _ => {
                    let l = Arc::new(p.local_c_files());
                    lists.insert(p.dir.clone(), (Instant::now(), l.clone()));
                    l
                }
            }
        };
        let mut out = vec![(path.to_path_buf(), own.clone())];
        for f in list.iter().filter(|f| f.as_path() != path) {
            if let Some(ix) = self.current(f, docs) {
                out.push((f.clone(), ix));
            }
        }
        out
    }
}
