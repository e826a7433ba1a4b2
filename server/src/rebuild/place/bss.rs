//! Static BSS: each `static` zero-initialised variable placed once, with the functions that
//! use it.

use super::placer::{base_name, Placer};
use crate::c::FileIndex;
use crate::diag::{Fix, Range, Span};
use natmod_linker::LinkError;
use std::collections::BTreeSet;
use std::path::Path;

/// A `static` BSS variable found for one or more static-BSS errors.
pub(super) struct StaticBssHit {
    name: String,
    static_range: Option<Range>,
    local_to: Option<String>,
    functions: BTreeSet<String>,
}

impl Placer<'_, '_> {
    pub(super) fn static_bss(&mut self, e: &LinkError) -> bool {
        let Some(object) = e.object.clone() else {
            return false;
        };
        let Some(src) = self.source_of(&object).map(Path::to_path_buf) else {
            return false;
        };
        let Some(file) = self.file(&src) else {
            return false;
        };
        let func = Self::sites_of(e)
            .iter()
            .find(|s| s.object == object)
            .and_then(|s| self.containing_symbol(s));
        let names = self.bss_suspects(e, &object, file);
        let mut vars: Vec<_> = file
            .variables
            .iter()
            .filter(|v| v.is_static && names.contains(&v.name))
            .collect();
        if let Some(f) = &func {
            let used: Vec<_> = vars
                .iter()
                .copied()
                .filter(|v| {
                    file.references_to(&v.name)
                        .any(|r| r.function.as_deref() == Some(f.as_str()))
                        || v.function.as_deref() == Some(f.as_str())
                })
                .collect();
            if !used.is_empty() {
                vars = used;
            }
        }
        let hits: Vec<_> = vars
            .into_iter()
            .map(|v| {
                (
                    (src.clone(), v.name_range),
                    StaticBssHit {
                        name: v.name.clone(),
                        static_range: v.static_range,
                        local_to: v.function.clone(),
                        functions: BTreeSet::new(),
                    },
                )
            })
            .collect();
        let placed = !hits.is_empty();
        for (key, hit) in hits {
            let entry = self.static_bss.entry(key).or_insert(hit);
            if let Some(f) = &func {
                entry.functions.insert(f.clone());
            }
        }
        placed
    }

    /// The names of the variables a static-BSS error of `object` may be about: its symbol,
    /// else (a section symbol) the object's local BSS symbols, else the file's `static`
    /// zero-initialised variables.
    fn bss_suspects(&self, e: &LinkError, object: &str, file: &FileIndex) -> Vec<String> {
        if let Some(s) = e.symbol.as_deref() {
            if !s.is_empty() && !s.starts_with('.') {
                return vec![base_name(s).into()];
            }
        }
        let mut names: Vec<String> = Vec::new();
        if let Some(f) = self.cx.facts {
            for s in &f.symbols {
                let in_object = f.objects.get(s.object).is_some_and(|o| o.name == object);
                if in_object && !s.global && s.region == natmod_linker::model::Region::Bss {
                    names.push(base_name(&s.name).into());
                }
            }
        }
        if names.is_empty() {
            names.extend(
                file.variables
                    .iter()
                    .filter(|v| v.is_static && !v.is_const)
                    .filter(|v| !v.has_initializer || v.zero_initializer)
                    .map(|v| v.name.clone()),
            );
        }
        names
    }

    pub(super) fn finish_static_bss(&mut self) {
        let hits = std::mem::take(&mut self.static_bss);
        for ((path, range), hit) in hits {
            let from = if hit.functions.is_empty() {
                String::new()
            } else {
                let f: Vec<String> = hit.functions.iter().map(|f| format!("`{f}`")).collect();
                format!(" (used in {})", f.join(", "))
            };
            let head = format!(
                "`{}` is a `static` BSS variable{from}: the loader places BSS apart from the code, which cannot reach a static one (fixed relocation to bss)",
                hit.name
            );
            let span = Span::new(&path, range);
            if let Some(func) = &hit.local_to {
                self.push(
                    span,
                    "static-bss",
                    format!("{head}; move it out of `{func}` to file scope, without `static`"),
                );
            } else {
                let d = self.push(span, "static-bss", format!("{head}; drop `static`"));
                if let Some(r) = hit.static_range {
                    d.fixes.push(Fix::DropStatic {
                        span: Span::new(&path, r),
                    });
                }
            }
        }
    }
}
