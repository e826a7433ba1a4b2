//! The placer: what every error kind's placement shares (sources of objects, symbols at
//! offsets, definitions, Makefile lines) and the diagnostics placed so far.

use super::bss::StaticBssHit;
use super::PlaceContext;
use crate::c::FileIndex;
use crate::diag::{Diag, Pos, Range, Severity, Span};
use natmod_linker::{LinkError, Site};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The placement of one batch of link errors.
pub(super) struct Placer<'c, 'a> {
    /// What the placement reads.
    pub(super) cx: &'c PlaceContext<'a>,
    /// The diagnostics so far.
    pub(super) out: Vec<Diag>,
    /// Static-BSS variables found so far, placed once each at the end.
    pub(super) static_bss: BTreeMap<(PathBuf, Range), StaticBssHit>,
}

impl Placer<'_, '_> {
    pub(super) fn push(&mut self, span: Span, code: &str, message: String) -> &mut Diag {
        self.out
            .push(Diag::new("natmod-ld", span, Severity::Error, code, message));
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    /// The C source of the object named `object` in messages.
    pub(super) fn source_of(&self, object: &str) -> Option<&Path> {
        let objects = self.cx.objects;
        if let Some((_, s)) = objects.iter().find(|(o, _)| o == object) {
            return Some(s);
        }
        let norm = |s: &str| Path::new(s.trim_start_matches("./")).to_path_buf();
        if let Some((_, s)) = objects.iter().find(|(o, _)| norm(o) == norm(object)) {
            return Some(s);
        }
        let base = Path::new(object).file_name()?;
        let mut same = objects
            .iter()
            .filter(|(o, _)| Path::new(o).file_name() == Some(base));
        match (same.next(), same.next()) {
            (Some((_, s)), None) => Some(s),
            _ => None,
        }
    }

    pub(super) fn file(&self, path: &Path) -> Option<&FileIndex> {
        self.cx.index.file(path)
    }

    pub(super) fn linked_sources(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = Vec::new();
        for (_, s) in self.cx.objects {
            if !v.contains(&s.as_path()) {
                v.push(s);
            }
        }
        v
    }

    /// The error's sites, plus its own (object, section, offset) when it has them.
    pub(super) fn sites_of(e: &LinkError) -> Vec<Site> {
        let mut sites = e.sites.clone();
        if let (Some(object), Some(section), Some(offset)) = (&e.object, &e.section, e.offset) {
            let own = Site {
                object: object.clone(),
                section: section.clone(),
                offset,
            };
            if !sites.contains(&own) {
                sites.push(own);
            }
        }
        sites
    }

    /// The symbol (function or data) whose bytes hold `offset` in `object`'s `section`, with
    /// compiler clone suffixes (`.constprop.0`, `.part.0`) dropped.
    pub(super) fn containing_symbol(&self, site: &Site) -> Option<String> {
        let f = self.cx.facts?;
        f.symbols
            .iter()
            .filter(|s| {
                f.objects
                    .get(s.object)
                    .is_some_and(|o| o.name == site.object)
            })
            .filter(|s| {
                f.sections
                    .get(s.section)
                    .is_some_and(|x| x.name == site.section)
            })
            .filter(|s| s.value <= site.offset && site.offset < s.value.saturating_add(s.size))
            .min_by_key(|s| s.size)
            .map(|s| base_name(&s.name).to_string())
    }

    /// The range of the definition of `name` (a function, else a variable, `static` locals
    /// included) in `path`.
    pub(super) fn definition_range(&self, path: &Path, name: &str) -> Option<Range> {
        let f = self.file(path)?;
        if let Some(d) = f.definition(name) {
            return Some(d.name_range());
        }
        f.variables
            .iter()
            .find(|v| v.name == name && !v.is_extern)
            .map(|v| v.name_range)
    }

    pub(super) fn makefile_line(&self, line: u32) -> Span {
        let len = self
            .cx
            .makefile_text
            .and_then(|t| t.lines().nth(line as usize))
            .map(|l| u32::try_from(l.len()).unwrap_or(0))
            .unwrap_or(0);
        Span {
            path: self.cx.makefile.to_path_buf(),
            start: Pos { line, col: 0 },
            end: Pos { line, col: len },
        }
    }
}

/// `name` without compiler suffixes: `cnt.0` (a static local), `f.constprop.0`, `f.part.0`.
pub(super) fn base_name(name: &str) -> &str {
    match name.find('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}
