//! Duplicate symbols: placed at every definition, each pointing at the others.

use super::placer::{file_name, Placer};
use crate::diag::{Range, Span};
use natmod_linker::LinkError;
use std::path::{Path, PathBuf};

impl Placer<'_, '_> {
    pub(super) fn duplicate(&mut self, e: &LinkError) -> bool {
        let Some(sym) = e.symbol.clone() else {
            return false;
        };
        let mut objects: Vec<String> = e.sites.iter().map(|s| s.object.clone()).collect();
        if let Some(o) = &e.object {
            objects.push(o.clone());
        }
        let mut defs: Vec<(PathBuf, Range)> = Vec::new();
        for o in &objects {
            let Some(src) = self.source_of(o).map(Path::to_path_buf) else {
                continue;
            };
            let Some(r) = self
                .file(&src)
                .and_then(|f| f.definition(&sym))
                .map(|d| d.name_range())
            else {
                continue;
            };
            if !defs.contains(&(src.clone(), r)) {
                defs.push((src, r));
            }
        }
        let files: Vec<String> = defs.iter().map(|(p, _)| file_name(p)).collect();
        let in_files = match files.len() {
            0 | 1 => e
                .detail
                .clone()
                .unwrap_or_else(|| "defined more than once".into()),
            _ => format!("defined in both {}", files.join(" and ")),
        };
        for (i, (path, r)) in defs.iter().enumerate() {
            let related = defs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (p, r2))| {
                    (
                        Span::new(p, *r2),
                        format!("the other definition of `{sym}`"),
                    )
                })
                .collect();
            let d = self.push(
                Span::new(path, *r),
                "duplicate-symbol",
                format!("duplicate symbol `{sym}`: {in_files}; make one `static` or rename it"),
            );
            d.related = related;
        }
        !defs.is_empty()
    }
}
