//! Link errors placed at C source locations, one file per error kind.
//!
//! [`place`] turns the [`LinkError`]s of a failed link into diagnostics at the C lines that
//! cause them, using the link facts (which object, section and offset) and the tree-sitter index
//! of the sources. It is a pure function of its inputs. Every error gives at least one
//! diagnostic: what cannot be placed goes on the Makefile's first line with the full message.
//! [`SourceIndex`] keeps the index of a project's sources between builds.

mod bss;
mod data;
mod duplicate;
mod entry;
mod fallback;
mod located;
mod placer;
mod sources;
mod undefined;

pub use sources::SourceIndex;

use crate::c::ProjectIndex;
use crate::diag::Diag;
use natmod_linker::facts::LinkFacts;
use natmod_linker::{ErrorKind, Externs, LinkError};
use placer::Placer;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// What [`place`] needs besides the errors.
#[derive(Debug, Clone, Copy)]
pub struct PlaceContext<'a> {
    /// The failed link's facts (symbol offsets and sizes per object section), if any.
    pub facts: Option<&'a LinkFacts>,
    /// The linked objects in link order: (object path as given to the linker, its C source).
    pub objects: &'a [(String, PathBuf)],
    /// The index of the C sources (the linked ones, and any others in the project).
    pub index: &'a ProjectIndex,
    /// The project's Makefile: where errors that cannot be placed in C go.
    pub makefile: &'a Path,
    /// The Makefile's text, to find its `SRC` line (for a missing `mpy_init`; without it, that
    /// goes to the first source's first line).
    pub makefile_text: Option<&'a str>,
    /// A ROM symbol list (an `--externs` linkerscript such as the one `MPY_EXTERN_SYM_FILE`
    /// names) to suggest for undefined symbols; `None` when the project sets none.
    pub rom_symbols: Option<&'a Externs>,
}

/// Places link errors at C locations, reading the Makefile (for its `SRC` line); see [`place`].
pub fn place_link_errors(
    errors: &[LinkError],
    facts: Option<&LinkFacts>,
    objects: &[(String, PathBuf)],
    index: &ProjectIndex,
    makefile: &Path,
) -> Vec<Diag> {
    let text = std::fs::read_to_string(makefile).ok();
    place(
        errors,
        &PlaceContext {
            facts,
            objects,
            index,
            makefile,
            makefile_text: text.as_deref(),
            rom_symbols: None,
        },
    )
}

/// Turns link errors into diagnostics at the C locations that cause them: at least one per
/// error, in error order (static-BSS ones last, one per variable), without duplicates.
pub fn place(errors: &[LinkError], cx: &PlaceContext<'_>) -> Vec<Diag> {
    let mut p = Placer {
        cx,
        out: Vec::new(),
        static_bss: BTreeMap::new(),
    };
    for e in errors {
        let before = p.out.len();
        let placed = match e.kind {
            ErrorKind::UndefinedSymbol => p.undefined(e),
            ErrorKind::DataNonEmpty => p.data(e),
            ErrorKind::StaticBss => p.static_bss(e),
            ErrorKind::DuplicateSymbol => p.duplicate(e),
            ErrorKind::MissingEntry => p.missing_entry(e),
            _ => p.located(e),
        };
        if !placed && p.out.len() == before {
            p.fallback(e);
        }
    }
    p.finish_static_bss();
    let mut seen = HashSet::new();
    p.out.retain(|d| {
        seen.insert((
            d.span.path.clone(),
            d.span.start,
            d.span.end,
            d.code.clone(),
            d.message.clone(),
        ))
    });
    p.out
}

/// The diagnostic code for an error kind.
pub fn code_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::UndefinedSymbol => "undefined-symbol",
        ErrorKind::DataNonEmpty => "data-non-empty",
        ErrorKind::StaticBss => "static-bss",
        ErrorKind::DuplicateSymbol => "duplicate-symbol",
        ErrorKind::MissingEntry => "missing-mpy-init",
        ErrorKind::JumpTooFar => "jump-too-far",
        ErrorKind::UnsupportedRelocation | ErrorKind::UnsupportedTls => "unsupported-relocation",
        ErrorKind::FixedExternal => "fixed-external",
        ErrorKind::FixedRodata => "fixed-rodata",
        ErrorKind::ArchiveConflict => "archive-conflict",
        ErrorKind::IncompatibleArch => "incompatible-arch",
        ErrorKind::Io
        | ErrorKind::BadObject
        | ErrorKind::BadArchive
        | ErrorKind::BadExterns
        | ErrorKind::BadArguments
        | ErrorKind::Unsupported => "link-error",
    }
}
