//! Sizes from the last link: a code lens on every function with its bytes in the `.mpy`, and
//! document symbols (functions, file-scope variables) with their size and section.

use super::Ctx;
use crate::diag::Range as CRange;
use natmod_linker::facts::SymbolFacts;
use tower_lsp_server::ls_types::{CodeLens, Command, DocumentSymbol, Range, SymbolKind};

fn lsp_range(ctx: &Ctx, r: &CRange) -> Range {
    let line = |l: u32| ctx.line(l);
    Range {
        start: tower_lsp_server::ls_types::Position::new(
            r.start.line,
            crate::text::utf16_col(line(r.start.line), r.start.col),
        ),
        end: tower_lsp_server::ls_types::Position::new(
            r.end.line,
            crate::text::utf16_col(line(r.end.line), r.end.col),
        ),
    }
}

/// `N bytes (.text)` for a linked symbol.
pub fn size_text(ctx: &Ctx, sym: &SymbolFacts) -> String {
    let section = ctx
        .snap
        .as_ref()
        .and_then(|s| s.facts.as_deref())
        .and_then(|f| f.sections.get(sym.section))
        .map(|s| s.name.as_str())
        .unwrap_or("?");
    if sym.removed {
        return format!("removed by --gc-sections ({} bytes, {section})", sym.size);
    }
    format!("{} bytes ({section})", sym.size)
}

/// A lens per function defined in the context's file, titled with its size in the `.mpy`
/// (`N bytes (.text) in the .mpy`, or `removed: unreachable` when `--gc-sections` dropped
/// it); none before the first link.
pub fn code_lenses(ctx: &Ctx) -> Vec<CodeLens> {
    let Some(snap) = &ctx.snap else {
        return Vec::new();
    };
    if snap.facts.is_none() {
        return Vec::new();
    }
    ctx.file
        .functions
        .iter()
        .map(|f| {
            let title = match snap.symbol(&ctx.path, &f.name) {
                Some(sym) if sym.removed => {
                    format!("removed: unreachable ({} bytes saved)", sym.size)
                }
                Some(sym) => format!("{} in the .mpy", size_text(ctx, sym)),
                None => "not in the last link".to_string(),
            };
            CodeLens {
                range: lsp_range(ctx, &f.name_range),
                command: Some(Command {
                    title,
                    command: String::new(),
                    arguments: None,
                }),
                data: None,
            }
        })
        .collect()
}

/// Functions and file-scope variables of the context's file, with sizes in the detail.
pub fn document_symbols(ctx: &Ctx) -> Vec<DocumentSymbol> {
    let size = |name: &str| {
        ctx.snap
            .as_ref()
            .and_then(|s| s.symbol(&ctx.path, name))
            .map(|sym| size_text(ctx, sym))
    };
    let mut out: Vec<(CRange, DocumentSymbol)> = Vec::new();
    for f in &ctx.file.functions {
        #[allow(deprecated)]
        out.push((
            f.range,
            DocumentSymbol {
                name: f.name.clone(),
                detail: size(&f.name),
                kind: SymbolKind::FUNCTION,
                tags: None,
                deprecated: None,
                range: lsp_range(ctx, &f.range),
                selection_range: lsp_range(ctx, &f.name_range),
                children: None,
            },
        ));
    }
    for v in ctx
        .file
        .variables
        .iter()
        .filter(|v| v.function.is_none() && !v.is_extern)
    {
        let range = if v.range.start <= v.name_range.start && v.name_range.end <= v.range.end {
            v.range
        } else {
            v.name_range
        };
        #[allow(deprecated)]
        out.push((
            v.range,
            DocumentSymbol {
                name: v.name.clone(),
                detail: size(&v.name),
                kind: if v.is_const {
                    SymbolKind::CONSTANT
                } else {
                    SymbolKind::VARIABLE
                },
                tags: None,
                deprecated: None,
                range: lsp_range(ctx, &range),
                selection_range: lsp_range(ctx, &v.name_range),
                children: None,
            },
        ));
    }
    out.sort_by_key(|(r, _)| r.start);
    out.into_iter().map(|(_, s)| s).collect()
}
