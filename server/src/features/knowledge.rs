//! Process-wide caches of what does not change while typing: the natmod knowledge of each
//! MicroPython tree (headers parsed once per MPY_DIR), parsed `--externs` files (re-read when
//! their size or mtime changes), and the symbol index of a project's `-l` archives (the
//! toolchain's runtime archives are [`crate::rebuild::runtime`]'s).

use crate::mpydir::{ApiItem, FunTableField, MpyDir};
use crate::rebuild::runtime::{self, SymbolIndex};
use crate::sync::lock;
use natmod_linker::Externs;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

/// An `mp_fun_table` slot an API item goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotUse<'a> {
    /// The field.
    pub field: &'a FunTableField,
    /// The API item whose expansion uses it, when not the item itself.
    pub via: Option<&'a str>,
}

/// The natmod knowledge of one MicroPython tree.
#[derive(Debug)]
pub struct Knowledge {
    /// The parsed tree.
    pub dir: MpyDir,
    /// `mp_fun_table` field index by name.
    fields: HashMap<String, usize>,
}

impl Knowledge {
    /// Parses the tree at `root`.
    pub fn load(root: &Path) -> Knowledge {
        let dir = MpyDir::load(root);
        let fields = dir
            .fun_table
            .iter()
            .map(|f| (f.name.clone(), f.index))
            .collect();
        Knowledge { dir, fields }
    }

    /// The API item called `name`.
    pub fn api(&self, name: &str) -> Option<&ApiItem> {
        self.dir.api.get(name)
    }

    /// The `mp_fun_table` field called `name`.
    pub fn field(&self, name: &str) -> Option<&FunTableField> {
        self.fields
            .get(name)
            .and_then(|&i| self.dir.fun_table.get(i))
    }

    /// The slots `name` goes through: its own, then those of the API items it uses (breadth
    /// first, each slot once).
    pub fn slots(&self, name: &str) -> Vec<SlotUse<'_>> {
        let mut out: Vec<SlotUse> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let mut queue: std::collections::VecDeque<(&str, Option<&str>)> =
            [(name, None)].into_iter().collect();
        while let Some((n, via)) = queue.pop_front() {
            if seen.contains(&n) || seen.len() > 32 {
                continue;
            }
            seen.push(n);
            let Some(item) = self.dir.api.get(n) else {
                continue;
            };
            for s in &item.slots {
                if let Some(field) = self.field(s) {
                    if !out.iter().any(|u| u.field.name == field.name) {
                        out.push(SlotUse { field, via });
                    }
                }
            }
            for u in &item.uses {
                queue.push_back((u, Some(via.unwrap_or(u))));
            }
        }
        out
    }

    /// `file` relative to the tree's root (`py/dynruntime.h`).
    pub fn rel<'a>(&self, file: &'a Path) -> std::borrow::Cow<'a, str> {
        file.strip_prefix(&self.dir.root)
            .unwrap_or(file)
            .to_string_lossy()
    }
}

type Cache<K, V> = OnceLock<Mutex<HashMap<K, V>>>;

/// The knowledge of the tree at `root`, parsed on first use.
pub fn knowledge(root: &Path) -> Arc<Knowledge> {
    static CACHE: Cache<PathBuf, Arc<Knowledge>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(k) = lock(cache).get(root) {
        return k.clone();
    }
    let k = Arc::new(Knowledge::load(root));
    lock(cache).entry(root.to_path_buf()).or_insert(k).clone()
}

/// The parsed `--externs` file at `path`; `None` when unreadable or malformed.
pub fn externs(path: &Path) -> Option<Arc<Externs>> {
    type Entry = (u64, Option<SystemTime>, Arc<Externs>);
    static CACHE: Cache<PathBuf, Entry> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let md = std::fs::metadata(path).ok()?;
    let stamp = (md.len(), md.modified().ok());
    if let Some((len, mtime, e)) = lock(cache).get(path) {
        if (*len, *mtime) == stamp {
            return Some(e.clone());
        }
    }
    let text = std::fs::read(path).ok()?;
    let e =
        Arc::new(Externs::parse(&path.to_string_lossy(), &String::from_utf8_lossy(&text)).ok()?);
    lock(cache).insert(path.to_path_buf(), (stamp.0, stamp.1, e.clone()));
    Some(e)
}

/// The symbols of a project's `-l` archives (by path, re-read when one changes).
pub fn lib_symbols(paths: &[PathBuf]) -> Arc<SymbolIndex> {
    type Key = Vec<(PathBuf, u64, Option<SystemTime>)>;
    static CACHE: Cache<Key, Arc<SymbolIndex>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key: Key = paths
        .iter()
        .map(|p| {
            let md = std::fs::metadata(p).ok();
            (
                p.clone(),
                md.as_ref().map(|m| m.len()).unwrap_or(0),
                md.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    if let Some(s) = lock(cache).get(&key) {
        return s.clone();
    }
    let mut archives = Vec::new();
    for p in paths {
        archives.extend(natmod_linker::input::archive::load_lib(p).unwrap_or_default());
    }
    let s = Arc::new(runtime::index(&archives));
    lock(cache).insert(key, s.clone());
    s
}
