//! The tree-sitter index of a project's C sources, kept per project between builds (files
//! re-indexed only when their content changes), and the placement of a build's link errors.

use super::{place, PlaceContext};
use crate::c::ProjectIndex;
use crate::diag::Diag;
use crate::workspace::Project;
use natmod_linker::session::content_hash;
use natmod_linker::{Externs, LinkError, LinkFacts};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The C index of one project.
#[derive(Default)]
pub struct SourceIndex {
    index: ProjectIndex,
    hashes: HashMap<PathBuf, u64>,
}

impl SourceIndex {
    /// Re-indexes the files of `p` whose content changed, and forgets deleted ones.
    fn refresh(&mut self, p: &Project) {
        let files = p.local_c_files();
        let gone: Vec<PathBuf> = self
            .hashes
            .keys()
            .filter(|f| !files.contains(f))
            .cloned()
            .collect();
        for f in gone {
            self.hashes.remove(&f);
            self.index.remove(&f);
        }
        for f in files {
            let Ok(bytes) = std::fs::read(&f) else {
                continue;
            };
            let h = content_hash(&bytes);
            if self.hashes.get(&f) != Some(&h) {
                self.index
                    .update(f.clone(), &String::from_utf8_lossy(&bytes));
                self.hashes.insert(f, h);
            }
        }
    }

    /// Diagnostics for `errors` of a link of `p`.
    pub fn place(&mut self, p: &Project, errors: &[LinkError], facts: &LinkFacts) -> Vec<Diag> {
        self.refresh(p);
        let objects: Vec<(String, PathBuf)> = p
            .compiled_sources()
            .map(|s| (p.object_for(s), p.abs(s)))
            .collect();
        let makefile_text = std::fs::read_to_string(&p.makefile).ok();
        let rom = p.externs.as_ref().and_then(|e| read_externs(&p.abs(e)));
        let cx = PlaceContext {
            facts: Some(facts),
            objects: &objects,
            index: &self.index,
            makefile: &p.makefile,
            makefile_text: makefile_text.as_deref(),
            rom_symbols: rom.as_ref(),
        };
        place(errors, &cx)
    }
}

fn read_externs(path: &Path) -> Option<Externs> {
    let text = std::fs::read_to_string(path).ok()?;
    Externs::parse(&path.to_string_lossy(), &text).ok()
}
