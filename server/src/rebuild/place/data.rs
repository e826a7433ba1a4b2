//! `.data` non-empty: placed at each initialised writable variable, with how to fix it
//! (`const`, or set at run time when the code writes it).

use super::placer::{base_name, Placer};
use crate::c::{FileIndex, RefKind, Variable};
use crate::diag::{Fix, Span};
use natmod_linker::LinkError;
use std::path::Path;

/// A variable found for a `.data` error: its size there (when the linker said) and whether it
/// is an emulated thread-local.
struct Hit {
    var: Variable,
    size: Option<u64>,
    tls: bool,
}

impl Placer<'_, '_> {
    pub(super) fn data(&mut self, e: &LinkError) -> bool {
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
        let hits = data_hits(file, e);
        let writes: Vec<(String, Option<String>)> = file
            .references
            .iter()
            .filter(|r| matches!(r.kind, RefKind::Write | RefKind::AddressOf))
            .map(|r| (r.name.clone(), r.function.clone()))
            .collect();
        let placed = !hits.is_empty();
        for hit in hits {
            let span = Span::new(&src, hit.var.name_range);
            let message = data_message(&hit, &section, &writes);
            let d = self.push(span, "data-non-empty", message);
            if !hit.tls && !is_written(&hit.var, &writes) {
                d.fixes.push(Fix::MakeConst {
                    span: Span::new(&src, hit.var.range),
                });
            }
        }
        placed
    }
}

/// The variables of `file` a `.data` error is about: those its detail (or symbol) names, else
/// every initialised writable one.
fn data_hits(file: &FileIndex, e: &LinkError) -> Vec<Hit> {
    let mut named = data_symbols(e.detail.as_deref());
    if named.is_empty() {
        if let Some(s) = &e.symbol {
            named.push((s.clone(), None));
        }
    }
    if named.is_empty() {
        // No symbol names: every initialised writable variable is a suspect.
        return file
            .variables
            .iter()
            .filter(|v| v.has_initializer && !v.is_const && !v.zero_initializer && !v.is_extern)
            .map(|v| Hit {
                var: v.clone(),
                size: None,
                tls: false,
            })
            .collect();
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
            hits.push(Hit {
                var: v.clone(),
                size: *size,
                tls,
            });
        }
    }
    hits
}

/// Whether any of `writes` (name, function) writes `v`.
fn is_written(v: &Variable, writes: &[(String, Option<String>)]) -> bool {
    writes.iter().any(|(n, _)| *n == v.name)
}

/// What is wrong with `hit` and how to fix it: `const` when nothing writes it, else set it at
/// run time.
fn data_message(hit: &Hit, section: &str, writes: &[(String, Option<String>)]) -> String {
    let v = &hit.var;
    if hit.tls {
        return format!(
            "`{}` is thread-local: native modules have no thread-local storage (its emulated-TLS block lands in {section}); drop `__thread`",
            v.name
        );
    }
    let size = hit
        .size
        .map(|n| format!("{n} bytes in {section}"))
        .unwrap_or(section.to_string());
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
        return format!("{head}; {how}");
    }
    let places = written.join(", ");
    let how = if v.function.is_some() {
        "move it to file scope, without `static` or an initializer, and set it at run time, e.g. in mpy_init"
    } else if v.is_static {
        "drop the initializer and `static` (static BSS is refused too), and set it at run time, e.g. in mpy_init"
    } else {
        "drop the initializer and set it at run time, e.g. in mpy_init"
    };
    format!("{head}; it is written (in {places}), so {how}")
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
