//! Undefined symbols: placed at their uses (or at what the compiler rewrote into them), with
//! why the module cannot reach them and what to do instead.

use super::placer::{file_name, Placer};
use crate::c::{Definition, Reference};
use crate::diag::{Fix, Pos, Range, Span};
use natmod_linker::LinkError;
use std::collections::HashSet;
use std::path::Path;

impl Placer<'_, '_> {
    pub(super) fn undefined(&mut self, e: &LinkError) -> bool {
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
            let (reason, fixes, related) = self.undefined_reason(&sym, e, &src);
            let mut at: Vec<(Range, String)> = self
                .file(&src)
                .map(|f| f.references_to(&sym).map(|r| r.range).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r, format!("undefined symbol `{sym}`: {reason}")))
                .collect();
            if at.is_empty() {
                // Not named in the source: a macro expansion or a compiler-generated call.
                // Place it at what the relocation site says.
                for site in sites.iter().filter(|s| s.object == object) {
                    if let Some(func) = self.containing_symbol(site) {
                        at.extend(self.unnamed_uses(&sym, &src, &func, &reason));
                    }
                }
            }
            for (r, message) in at {
                let d = self.push(Span::new(&src, r), "undefined-symbol", message);
                d.fixes = fixes.clone();
                d.related = related.clone();
                placed = true;
            }
        }
        placed
    }

    /// Where function `func` of `src` uses `sym` without naming it: the calls the compiler
    /// rewrote into `sym`, else its divisions (for a division helper), else its name.
    fn unnamed_uses(
        &self,
        sym: &str,
        src: &Path,
        func: &str,
        reason: &str,
    ) -> Vec<(Range, String)> {
        let aliased = self.rewritten_calls(sym, src, func);
        if !aliased.is_empty() {
            return aliased
                .into_iter()
                .map(|(r, name)| {
                    let how = format!("the compiler turned this `{name}` into `{sym}`");
                    (r, format!("undefined symbol `{sym}` ({how}): {reason}"))
                })
                .collect();
        }
        let divisions: Vec<Range> = match self.file(src) {
            Some(f) if is_division_helper(sym) => f
                .divisions
                .iter()
                .filter(|d| d.function.as_deref() == Some(func))
                .map(|d| d.range)
                .collect(),
            _ => Vec::new(),
        };
        if !divisions.is_empty() {
            let how = "the compiler calls it for this division";
            return divisions
                .into_iter()
                .map(|r| (r, format!("undefined symbol `{sym}` ({how}): {reason}")))
                .collect();
        }
        self.definition_range(src, func)
            .map(|r| {
                let how = "through a macro or compiler-generated code";
                (
                    r,
                    format!("undefined symbol `{sym}`, used by `{func}` ({how}): {reason}"),
                )
            })
            .into_iter()
            .collect()
    }

    /// The calls in `func` of `src` the compiler may have rewritten into `sym` (those whose
    /// literal format says it did, else all of them), with the name called.
    fn rewritten_calls(&self, sym: &str, src: &Path, func: &str) -> Vec<(Range, String)> {
        let aliases: Vec<&Reference> = self
            .file(src)
            .map(|f| {
                f.references
                    .iter()
                    .filter(|r| r.function.as_deref() == Some(func))
                    .filter(|r| compiler_aliases(sym).contains(&r.name.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let exact: Vec<&Reference> = aliases
            .iter()
            .copied()
            .filter(|r| rewritten_into(r, sym))
            .collect();
        if exact.is_empty() { aliases } else { exact }
            .into_iter()
            .map(|r| (r.range, r.name.clone()))
            .collect()
    }

    /// Why `sym` is undefined for code in `src`, the fixes to offer and related places.
    pub(super) fn undefined_reason(&self, sym: &str, e: &LinkError, src: &Path) -> Reason {
        if let Some(provider) = &e.runtime_provider {
            return (
                format!(
                    "provided by {provider} (the toolchain runtime), not by mp_fun_table; set LINK_RUNTIME = 1 in the Makefile"
                ),
                vec![Fix::AddLinkRuntime],
                Vec::new(),
            );
        }
        if let Some(r) = self
            .rom_reason(sym)
            .or_else(|| self.elsewhere_reason(sym, src))
        {
            return r;
        }
        let mut reason = format!(
            "not defined in the module and not in mp_fun_table, so a native module cannot use it{}",
            crate::substitutes::substitute(sym)
                .map(|s| format!("; use {s} instead"))
                .unwrap_or_default()
        );
        if let Some(d) = &e.detail {
            reason.push_str(&format!(" ({d})"));
        }
        (reason, Vec::new(), Vec::new())
    }

    /// The reason when the project's ROM symbol list has `sym`.
    fn rom_reason(&self, sym: &str) -> Option<Reason> {
        let rom = self.cx.rom_symbols.filter(|r| r.contains(sym))?;
        let line = rom
            .line_of(sym)
            .and_then(|l| u32::try_from(l.saturating_sub(1)).ok())
            .unwrap_or(0);
        let at = Pos { line, col: 0 };
        let related = vec![(
            Span::new(&rom.path, Range { start: at, end: at }),
            format!("`{sym}` in the ROM symbol list"),
        )];
        Some((
            format!(
                "not in mp_fun_table, but the chip's ROM has it ({}); set MPY_EXTERN_SYM_FILE = {} in the Makefile",
                file_name(Path::new(&rom.path)),
                rom.path
            ),
            vec![Fix::SetExternFile],
            related,
        ))
    }

    /// The reason when another project file defines `sym`, but outside SRC or `static`.
    fn elsewhere_reason(&self, sym: &str, src: &Path) -> Option<Reason> {
        let linked = self.linked_sources();
        for (path, def) in self.cx.index.definitions(sym) {
            if path == src {
                continue;
            }
            let related = vec![(
                Span::new(path, def.name_range()),
                format!("`{sym}` is defined here"),
            )];
            if !linked.contains(&path) {
                let why = format!(
                    "defined in {}, which is not in the Makefile's SRC; add it there",
                    file_name(path)
                );
                return Some((why, Vec::new(), related));
            }
            if def.is_static() {
                let fixes = match def {
                    Definition::Function(f) => f.static_range,
                    Definition::Variable(v) => v.static_range,
                }
                .map(|r| Fix::DropStatic {
                    span: Span::new(path, r),
                })
                .into_iter()
                .collect();
                let why = format!(
                    "defined `static` in {}, so other files cannot use it; drop `static` there",
                    file_name(path)
                );
                return Some((why, fixes, related));
            }
        }
        None
    }
}

/// Why a symbol is undefined, the fixes to offer and related places.
pub(super) type Reason = (String, Vec<Fix>, Vec<(Span, String)>);

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
