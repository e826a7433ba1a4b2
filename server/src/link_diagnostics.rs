//! Link errors placed at C source locations.
//!
//! [`place`] turns the [`LinkError`]s of a failed link into diagnostics at the C lines that
//! cause them, using the link facts (which object, section and offset) and the tree-sitter index
//! of the sources. It is a pure function of its inputs. Every error gives at least one
//! diagnostic: what cannot be placed goes on the Makefile's first line with the full message.

use crate::cindex::{FileIndex, ProjectIndex, Range, RefKind, Reference};
use natmod_linker::facts::LinkFacts;
use natmod_linker::{ErrorKind, Externs, LinkError, Site};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// A 0-based position: line and UTF-8 byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    /// 0-based line.
    pub line: u32,
    /// 0-based byte column within the line.
    pub col: u32,
}

/// Serialises a path as a string, replacing bytes that are not UTF-8.
pub fn serialize_path_lossy<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A source range in one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    /// The file (serialised lossily when it is not UTF-8).
    #[serde(serialize_with = "serialize_path_lossy")]
    pub path: PathBuf,
    /// Start.
    pub start: Pos,
    /// End (exclusive).
    pub end: Pos,
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks the build.
    Error,
    /// Worth fixing.
    Warning,
    /// Informational.
    Information,
    /// A hint.
    Hint,
}

/// An edit that would fix the cause (offered as a code action).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fix {
    /// Add `LINK_RUNTIME = 1` to the project's Makefile.
    AddLinkRuntime,
    /// Make the global at `span` `const`.
    MakeConst {
        /// The declaration.
        span: Span,
    },
    /// Remove the `static` keyword at `span`.
    DropStatic {
        /// The `static` keyword.
        span: Span,
    },
    /// Set `MPY_EXTERN_SYM_FILE` in the Makefile.
    SetExternFile,
}

/// A diagnostic at a C (or Makefile) location.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileDiagnostic {
    /// Where.
    pub span: Span,
    /// How serious.
    pub severity: Severity,
    /// What went wrong, and why.
    pub message: String,
    /// A stable code, e.g. `undefined-symbol`, `data-non-empty`, `static-bss`.
    pub code: String,
    /// Other places worth showing (the other definition of a duplicate, ...).
    pub related: Vec<(Span, String)>,
    /// Fixes to offer.
    pub fixes: Vec<Fix>,
}

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
) -> Vec<FileDiagnostic> {
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
pub fn place(errors: &[LinkError], cx: &PlaceContext<'_>) -> Vec<FileDiagnostic> {
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

/// A `static` BSS variable found for one or more static-BSS errors.
struct StaticBssHit {
    name: String,
    static_range: Option<Range>,
    local_to: Option<String>,
    functions: BTreeSet<String>,
}

struct Placer<'c, 'a> {
    cx: &'c PlaceContext<'a>,
    out: Vec<FileDiagnostic>,
    static_bss: BTreeMap<(PathBuf, Range), StaticBssHit>,
}

impl Placer<'_, '_> {
    fn span(path: &Path, r: Range) -> Span {
        Span {
            path: path.to_path_buf(),
            start: r.start,
            end: r.end,
        }
    }

    fn push(&mut self, span: Span, code: &str, message: String) -> &mut FileDiagnostic {
        self.out.push(FileDiagnostic {
            span,
            severity: Severity::Error,
            message,
            code: code.to_string(),
            related: Vec::new(),
            fixes: Vec::new(),
        });
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    /// The C source of the object named `object` in messages.
    fn source_of(&self, object: &str) -> Option<&Path> {
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

    fn file(&self, path: &Path) -> Option<&FileIndex> {
        self.cx.index.file(path)
    }

    fn linked_sources(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = Vec::new();
        for (_, s) in self.cx.objects {
            if !v.contains(&s.as_path()) {
                v.push(s);
            }
        }
        v
    }

    /// The error's sites, plus its own (object, section, offset) when it has them.
    fn sites_of(e: &LinkError) -> Vec<Site> {
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
    fn containing_symbol(&self, site: &Site) -> Option<String> {
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
    fn definition_range(&self, path: &Path, name: &str) -> Option<Range> {
        let f = self.file(path)?;
        if let Some(d) = f.definition(name) {
            return Some(d.name_range());
        }
        f.variables
            .iter()
            .find(|v| v.name == name && !v.is_extern)
            .map(|v| v.name_range)
    }

    fn makefile_line(&self, line: u32) -> Span {
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

    /// The Makefile line that sets `SRC`.
    fn src_line(&self) -> Option<Span> {
        let text = self.cx.makefile_text?;
        let i = text.lines().position(|l| {
            let rest = l.trim_start();
            let Some(rest) = rest.strip_prefix("SRC") else {
                return false;
            };
            let rest = rest.trim_start();
            ["=", ":=", "::=", "+=", "?="]
                .iter()
                .any(|op| rest.starts_with(op))
        })?;
        Some(self.makefile_line(u32::try_from(i).ok()?))
    }

    /// The archive member chain that brought `object` in, when it is a pulled member: the
    /// symbol an input object needed and the chain's text
    /// (`sqrt -> libm.a:lib_a-w_sqrt.o -> ...`).
    fn pulled_by(&self, object: &str) -> Option<(String, String)> {
        let facts = self.cx.facts?;
        let pulled: Vec<natmod_linker::resolve::PulledMember> = facts
            .objects
            .iter()
            .filter_map(|o| o.member.clone())
            .collect();
        let mut i = pulled
            .iter()
            .position(|m| format!("{}:{}", m.archive, m.member) == object)?;
        let chain = natmod_linker::resolve::pull_chain(&pulled, i);
        let mut steps = 0;
        while let Some(up) = pulled[i].needed_by.filter(|&u| u < pulled.len()) {
            steps += 1;
            if steps > pulled.len() {
                return None;
            }
            i = up;
        }
        Some((pulled[i].by_symbol.clone(), chain))
    }

    /// Where an error with no place in the project's C goes: the call site that pulled in
    /// the archive member it comes from (the pull chain is known), else the Makefile line
    /// that brings in the runtime archives (`LINK_RUNTIME`, `MPY_LD_FLAGS`), else `SRC`'s,
    /// else the first.
    fn fallback_span(&self, e: &LinkError) -> (Span, Option<String>) {
        let object = e
            .object
            .clone()
            .or_else(|| e.sites.first().map(|s| s.object.clone()));
        if let Some((sym, chain)) = object.and_then(|o| self.pulled_by(&o)) {
            for (_, src) in self.cx.objects {
                let range = self
                    .file(src)
                    .and_then(|f| f.references_to(&sym).map(|r| r.range).next());
                if let Some(r) = range {
                    return (Self::span(src, r), Some(chain));
                }
            }
        }
        let text = self.cx.makefile_text.unwrap_or("");
        let line = ["LINK_RUNTIME", "MPY_LD_FLAGS", "SRC"]
            .iter()
            .find_map(|v| crate::workspace::assignment_line(text, v));
        (self.makefile_line(line.unwrap_or(0)), None)
    }

    /// The error, in full, where the user acts on it (see [`Placer::fallback_span`]).
    fn fallback(&mut self, e: &LinkError) {
        let (span, chain) = self.fallback_span(e);
        let mut message = e.to_string();
        // The linker names the chain itself for some errors (`.data` of a pulled member).
        if let Some(c) = chain.filter(|c| !message.contains(c.as_str())) {
            message.push_str(&format!(" (pulled in by {c})"));
        }
        if let Some(s) = &e.symbol {
            if !message.contains(s.as_str()) {
                message.push_str(&format!(" (symbol `{s}`)"));
            }
        }
        self.push(span, code_of(e.kind), message);
    }

    fn undefined(&mut self, e: &LinkError) -> bool {
        let Some(sym) = e.symbol.clone() else {
            return false;
        };
        let sites = Self::sites_of(e);
        let mut objects: Vec<String> = sites.iter().map(|s| s.object.clone()).collect();
        if let Some(o) = &e.object {
            objects.insert(0, o.clone());
        }
        let mut seen = HashSet::new();
        objects.retain(|o| seen.insert(o.clone()));
        let mut placed = false;
        for object in objects {
            let Some(src) = self.source_of(&object).map(Path::to_path_buf) else {
                continue;
            };
            let (reason, fixes, related) = self.undefined_reason(&sym, e.detail.as_deref(), &src);
            let refs: Vec<Range> = self
                .file(&src)
                .map(|f| f.references_to(&sym).map(|r| r.range).collect())
                .unwrap_or_default();
            let mut at: Vec<(Range, String)> = refs
                .into_iter()
                .map(|r| (r, format!("undefined symbol `{sym}`: {reason}")))
                .collect();
            if at.is_empty() {
                // Not named in the source: a macro expansion or a compiler-generated call.
                // Place it at what the relocation site says.
                for site in sites.iter().filter(|s| s.object == object) {
                    let Some(func) = self.containing_symbol(site) else {
                        continue;
                    };
                    let in_func = |r_fn: Option<&str>| r_fn == Some(func.as_str());
                    let file = self.file(&src);
                    let aliases: Vec<&Reference> = file
                        .map(|f| {
                            f.references
                                .iter()
                                .filter(|r| in_func(r.function.as_deref()))
                                .filter(|r| compiler_aliases(&sym).contains(&r.name.as_str()))
                                .collect()
                        })
                        .unwrap_or_default();
                    let exact: Vec<&Reference> = aliases
                        .iter()
                        .copied()
                        .filter(|r| rewritten_into(r, &sym))
                        .collect();
                    let aliased: Vec<(Range, String)> =
                        if exact.is_empty() { aliases } else { exact }
                            .into_iter()
                            .map(|r| (r.range, r.name.clone()))
                            .collect();
                    let divisions: Vec<Range> = match file {
                        Some(f) if is_division_helper(&sym) => f
                            .divisions
                            .iter()
                            .filter(|d| in_func(d.function.as_deref()))
                            .map(|d| d.range)
                            .collect(),
                        _ => Vec::new(),
                    };
                    if !aliased.is_empty() {
                        at.extend(aliased.into_iter().map(|(r, name)| {
                            (
                                r,
                                format!(
                                    "undefined symbol `{sym}` (the compiler turned this `{name}` into `{sym}`): {reason}"
                                ),
                            )
                        }));
                    } else if !divisions.is_empty() {
                        at.extend(divisions.into_iter().map(|r| {
                            (
                                r,
                                format!(
                                    "undefined symbol `{sym}` (the compiler calls it for this division): {reason}"
                                ),
                            )
                        }));
                    } else if let Some(r) = self.definition_range(&src, &func) {
                        at.push((
                            r,
                            format!(
                                "undefined symbol `{sym}`, used by `{func}` (through a macro or compiler-generated code): {reason}"
                            ),
                        ));
                    }
                }
            }
            for (r, message) in at {
                let d = self.push(Self::span(&src, r), "undefined-symbol", message);
                d.fixes = fixes.clone();
                d.related = related.clone();
                placed = true;
            }
        }
        placed
    }

    /// Why `sym` is undefined for code in `src`, the fixes to offer and related places.
    fn undefined_reason(
        &self,
        sym: &str,
        detail: Option<&str>,
        src: &Path,
    ) -> (String, Vec<Fix>, Vec<(Span, String)>) {
        if let Some(d) = detail.filter(|d| d.contains("LINK_RUNTIME = 1")) {
            let provider = d
                .split("; ")
                .find_map(|c| c.strip_prefix("provided by "))
                .unwrap_or("the toolchain runtime");
            return (
                format!(
                    "provided by {provider} (the toolchain runtime), not by mp_fun_table; set LINK_RUNTIME = 1 in the Makefile"
                ),
                vec![Fix::AddLinkRuntime],
                Vec::new(),
            );
        }
        if let Some(rom) = self.cx.rom_symbols.filter(|r| r.contains(sym)) {
            let line = rom
                .line_of(sym)
                .and_then(|l| u32::try_from(l.saturating_sub(1)).ok())
                .unwrap_or(0);
            let related = vec![(
                Span {
                    path: PathBuf::from(&rom.path),
                    start: Pos { line, col: 0 },
                    end: Pos { line, col: 0 },
                },
                format!("`{sym}` in the ROM symbol list"),
            )];
            return (
                format!(
                    "not in mp_fun_table, but the chip's ROM has it ({}); set MPY_EXTERN_SYM_FILE = {} in the Makefile",
                    file_name(Path::new(&rom.path)),
                    rom.path
                ),
                vec![Fix::SetExternFile],
                related,
            );
        }
        let linked = self.linked_sources();
        for (path, def) in self.cx.index.definitions(sym) {
            if path == src {
                continue;
            }
            let related = vec![(
                Self::span(path, def.name_range()),
                format!("`{sym}` is defined here"),
            )];
            if !linked.contains(&path) {
                return (
                    format!(
                        "defined in {}, which is not in the Makefile's SRC; add it there",
                        file_name(path)
                    ),
                    Vec::new(),
                    related,
                );
            }
            if def.is_static() {
                let fixes = match def {
                    crate::cindex::Definition::Function(f) => f.static_range,
                    crate::cindex::Definition::Variable(v) => v.static_range,
                }
                .map(|r| Fix::DropStatic {
                    span: Self::span(path, r),
                })
                .into_iter()
                .collect();
                return (
                    format!(
                        "defined `static` in {}, so other files cannot use it; drop `static` there",
                        file_name(path)
                    ),
                    fixes,
                    related,
                );
            }
        }
        let mut reason = format!(
            "not defined in the module and not in mp_fun_table, so a native module cannot use it{}",
            substitute(sym)
                .map(|s| format!("; use {s} instead"))
                .unwrap_or_default()
        );
        if let Some(d) = detail {
            reason.push_str(&format!(" ({d})"));
        }
        (reason, Vec::new(), Vec::new())
    }

    fn data(&mut self, e: &LinkError) -> bool {
        let Some(src) = e
            .object
            .as_deref()
            .and_then(|o| self.source_of(o))
            .map(Path::to_path_buf)
        else {
            return false;
        };
        let Some(file) = self.file(&src) else {
            return false;
        };
        let section = e.section.clone().unwrap_or_else(|| ".data".into());
        let mut named = data_symbols(e.detail.as_deref());
        if named.is_empty() {
            if let Some(s) = &e.symbol {
                named.push((s.clone(), None));
            }
        }
        let mut hits = Vec::new();
        for (sym, size) in &named {
            let (name, tls) = match sym.strip_prefix("__emutls_v") {
                Some(rest) => (rest.trim_start_matches(['.', '$']), true),
                None => (base_name(sym), false),
            };
            let var = file
                .variables
                .iter()
                .find(|v| v.name == name && v.function.is_none() && !v.is_extern)
                .or_else(|| {
                    file.variables
                        .iter()
                        .find(|v| v.name == name && v.is_static)
                });
            if let Some(v) = var {
                hits.push((v.clone(), *size, tls));
            }
        }
        if named.is_empty() {
            // No symbol names: every initialised writable variable is a suspect.
            for v in &file.variables {
                if v.has_initializer && !v.is_const && !v.zero_initializer && !v.is_extern {
                    hits.push((v.clone(), None, false));
                }
            }
        }
        let writes: Vec<(String, Option<String>)> = file
            .references
            .iter()
            .filter(|r| matches!(r.kind, RefKind::Write | RefKind::AddressOf))
            .map(|r| (r.name.clone(), r.function.clone()))
            .collect();
        let mut placed = false;
        for (v, size, tls) in hits {
            let span = Self::span(&src, v.name_range);
            let size = size
                .map(|n| format!("{n} bytes in {section}"))
                .unwrap_or(section.clone());
            if tls {
                let msg = format!(
                    "`{}` is thread-local: native modules have no thread-local storage (its emulated-TLS block lands in {section}); drop `__thread`",
                    v.name
                );
                self.push(span, "data-non-empty", msg);
                placed = true;
                continue;
            }
            let what = if v.function.is_some() {
                "static local"
            } else {
                "global"
            };
            let mut written: Vec<String> = writes
                .iter()
                .filter(|(n, _)| *n == v.name)
                .map(|(_, f)| {
                    f.clone()
                        .map(|f| format!("`{f}`"))
                        .unwrap_or("file scope".into())
                })
                .collect();
            written.dedup();
            let head = format!(
                "`{}` is an initialised writable {what} ({size}): native modules cannot have {section}",
                v.name
            );
            if written.is_empty() {
                let how = if v.is_pointer {
                    "make it `const` (for a pointer, `* const`: the pointer itself must be const)"
                } else {
                    "make it `const`"
                };
                let d = self.push(span, "data-non-empty", format!("{head}; {how}"));
                d.fixes.push(Fix::MakeConst {
                    span: Self::span(&src, v.range),
                });
            } else {
                let places = written.join(", ");
                let how = if v.function.is_some() {
                    "move it to file scope, without `static` or an initializer, and set it at run time, e.g. in mpy_init"
                } else if v.is_static {
                    "drop the initializer and `static` (static BSS is refused too), and set it at run time, e.g. in mpy_init"
                } else {
                    "drop the initializer and set it at run time, e.g. in mpy_init"
                };
                self.push(
                    span,
                    "data-non-empty",
                    format!("{head}; it is written (in {places}), so {how}"),
                );
            }
            placed = true;
        }
        placed
    }

    fn static_bss(&mut self, e: &LinkError) -> bool {
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
        let mut names: Vec<String> = Vec::new();
        match e.symbol.as_deref() {
            Some(s) if !s.is_empty() && !s.starts_with('.') => names.push(base_name(s).into()),
            _ => {
                // A section symbol (`.bss`): the BSS symbols of that object are the suspects.
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
            }
        }
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

    fn finish_static_bss(&mut self) {
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
            let span = Self::span(&path, range);
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
                        span: Self::span(&path, r),
                    });
                }
            }
        }
    }

    fn duplicate(&mut self, e: &LinkError) -> bool {
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
                        Self::span(p, *r2),
                        format!("the other definition of `{sym}`"),
                    )
                })
                .collect();
            let d = self.push(
                Self::span(path, *r),
                "duplicate-symbol",
                format!("duplicate symbol `{sym}`: {in_files}; make one `static` or rename it"),
            );
            d.related = related;
        }
        !defs.is_empty()
    }

    fn missing_entry(&mut self, e: &LinkError) -> bool {
        for src in self.linked_sources() {
            let Some(f) = self.file(src).and_then(|f| f.function("mpy_init")) else {
                continue;
            };
            if !f.is_static {
                continue;
            }
            let (name_range, static_range) = (f.name_range, f.static_range);
            let src = src.to_path_buf();
            let d = self.push(
                Self::span(&src, name_range),
                "missing-mpy-init",
                "`mpy_init` is `static`: the module's entry point must be global; drop `static`"
                    .into(),
            );
            if let Some(r) = static_range {
                d.fixes.push(Fix::DropStatic {
                    span: Self::span(&src, r),
                });
            }
            return true;
        }
        let message = format!(
            "no `mpy_init` in the module's sources: every native module needs a global `mpy_init` entry point ({})",
            e.message
        );
        if let Some(span) = self.src_line() {
            self.push(span, "missing-mpy-init", message);
            return true;
        }
        if let Some((_, first)) = self.cx.objects.first() {
            let span = Span {
                path: first.clone(),
                start: Pos::default(),
                end: Pos::default(),
            };
            self.push(span, "missing-mpy-init", message);
            return true;
        }
        false
    }

    /// Errors at an (object, section, offset): placed at the symbol's uses in the function (or
    /// data) holding that offset, else at that function's name. The entry jump (no site) goes
    /// to `mpy_init`.
    fn located(&mut self, e: &LinkError) -> bool {
        let code = code_of(e.kind);
        let sym = e.symbol.clone().filter(|s| !s.starts_with('.'));
        let Some(site) = Self::sites_of(e).into_iter().next() else {
            if e.kind == ErrorKind::JumpTooFar {
                for src in self.linked_sources() {
                    let Some(r) = self.file(src).and_then(|f| f.function("mpy_init")) else {
                        continue;
                    };
                    let span = Self::span(src, r.name_range);
                    self.push(
                        span,
                        code,
                        format!(
                            "{}: `mpy_init` starts too far into the text for the entry jump; define it earlier (its file first in SRC, near the top of that file)",
                            e.message
                        ),
                    );
                    return true;
                }
            }
            return false;
        };
        let Some(src) = self.source_of(&site.object).map(Path::to_path_buf) else {
            return false;
        };
        let Some(holder) = self.containing_symbol(&site) else {
            return false;
        };
        let detail: Vec<&str> = e
            .detail
            .as_deref()
            .unwrap_or("")
            .split("; ")
            .filter(|c| !c.is_empty() && !c.contains("+0x"))
            .collect();
        let mut message = format!("{} (in `{holder}`)", e.message);
        if !detail.is_empty() {
            message.push_str(&format!(": {}", detail.join("; ")));
        }
        if let Some(s) = &sym {
            if !message.contains(s.as_str()) {
                message.push_str(&format!(" (symbol `{s}`)"));
            }
        }
        let uses: Vec<Range> = match (&sym, self.file(&src)) {
            (Some(s), Some(f)) => f
                .references_to(s)
                .filter(|r| r.function.as_deref() == Some(holder.as_str()))
                .map(|r| r.range)
                .collect(),
            _ => Vec::new(),
        };
        if !uses.is_empty() {
            for r in uses {
                self.push(Self::span(&src, r), code, message.clone());
            }
            return true;
        }
        let Some(r) = self.definition_range(&src, &holder) else {
            return false;
        };
        self.push(Self::span(&src, r), code, message);
        true
    }
}

/// `name` without compiler suffixes: `cnt.0` (a static local), `f.constprop.0`, `f.part.0`.
fn base_name(name: &str) -> &str {
    match name.find('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

/// The `(symbol: NAME, N bytes; ...)` list of a `.data non-empty` error's detail.
fn data_symbols(detail: Option<&str>) -> Vec<(String, Option<u64>)> {
    let Some(d) = detail else {
        return Vec::new();
    };
    d.split("; ")
        .filter_map(|c| c.strip_prefix("symbol: "))
        .map(|c| match c.split_once(", ") {
            Some((name, size)) => (
                name.to_string(),
                size.strip_suffix(" bytes").and_then(|n| n.parse().ok()),
            ),
            None => (c.to_string(), None),
        })
        .collect()
}

/// Whether `sym` is a runtime helper the compiler calls for `/` or `%`.
fn is_division_helper(sym: &str) -> bool {
    sym.starts_with("__") && (sym.contains("div") || sym.contains("mod"))
}

/// Functions the compiler may have rewritten into a call of `sym` (`printf("x\n")` → `puts`).
fn compiler_aliases(sym: &str) -> &'static [&'static str] {
    match sym {
        "puts" | "putchar" => &["printf"],
        "fputs" | "fputc" | "fwrite" => &["fprintf", "fputs"],
        _ => &[],
    }
}

/// Whether gcc rewrites call `r` (of `printf`) into a call of `sym`, judging by its literal
/// format: `printf("text\n")` and `printf("%s\n", s)` become `puts`, `printf("x")` `putchar`.
fn rewritten_into(r: &Reference, sym: &str) -> bool {
    let Some(lit) = r.literal_arg.as_deref() else {
        return false;
    };
    let body = lit.trim_start_matches('"').trim_end_matches('"');
    match sym {
        "puts" => {
            body == "%s\\n" || (body.ends_with("\\n") && body != "\\n" && !body.contains('%'))
        }
        "putchar" => body == "%c" || (body.chars().count() == 1 && body != "%") || body == "\\n",
        _ => false,
    }
}

/// What to call instead of a C library function a native module cannot reach.
fn substitute(sym: &str) -> Option<&'static str> {
    Some(match sym {
        "printf" | "puts" | "putchar" | "vprintf" => "mp_printf(&mp_plat_print, ...)",
        "malloc" | "calloc" => "m_malloc(...)",
        "realloc" => "m_realloc(...)",
        "free" => "m_free(...)",
        "abort" | "exit" => "mp_raise_msg(...) (raise an exception)",
        _ => return None,
    })
}
