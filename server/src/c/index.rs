//! The project index: every C source's [`FileIndex`], keyed by path.

use super::model::{Definition, FileIndex, Function, Reference};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The indexes of a project's C sources, keyed by path.
#[derive(Debug, Clone, Default)]
pub struct ProjectIndex {
    files: BTreeMap<PathBuf, FileIndex>,
}

impl ProjectIndex {
    /// An empty index.
    pub fn new() -> ProjectIndex {
        ProjectIndex::default()
    }

    /// (Re)indexes the file at `path` from `text`.
    pub fn update(&mut self, path: impl Into<PathBuf>, text: &str) {
        self.files.insert(path.into(), FileIndex::parse(text));
    }

    /// Stores an already built file index.
    pub fn insert(&mut self, path: impl Into<PathBuf>, index: FileIndex) {
        self.files.insert(path.into(), index);
    }

    /// Forgets `path`; returns whether it was indexed.
    pub fn remove(&mut self, path: &Path) -> bool {
        self.files.remove(path).is_some()
    }

    /// The index of `path`.
    pub fn file(&self, path: &Path) -> Option<&FileIndex> {
        self.files.get(path)
    }

    /// Every indexed file, by path.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &FileIndex)> {
        self.files.iter().map(|(p, f)| (p.as_path(), f))
    }

    /// Every definition of `name`, by file (one per file at most).
    pub fn definitions(&self, name: &str) -> Vec<(&Path, Definition<'_>)> {
        self.files()
            .filter_map(|(p, f)| f.definition(name).map(|d| (p, d)))
            .collect()
    }

    /// Where `name` is defined: the non-`static` definition if there is one, else the first.
    pub fn definition(&self, name: &str) -> Option<(&Path, Definition<'_>)> {
        let defs = self.definitions(name);
        let global = defs.iter().find(|(_, d)| !d.is_static()).copied();
        global.or_else(|| defs.first().copied())
    }

    /// Every reference to `name` in every file.
    pub fn references<'a>(&'a self, name: &'a str) -> Vec<(&'a Path, &'a Reference)> {
        self.files()
            .flat_map(|(p, f)| f.references_to(name).map(move |r| (p, r)))
            .collect()
    }

    /// The function definition in `path` that contains `line`.
    pub fn function_at(&self, path: &Path, line: u32) -> Option<&Function> {
        self.file(path)?.function_at_line(line)
    }
}
