//! Hover: an API macro or function (signature, expansion, where MPY_DIR defines it, the
//! `mp_fun_table` slots behind it), a `mp_fun_table` field, a qstr (static or module-local),
//! a ROM extern (address and file), a project function or variable (section and size in the
//! last built `.mpy`, and for data whether it lands in text, rodata or bss), a header
//! declaration, and a call that cannot link (why).

use super::reachability::{self, Verdict};
use super::{words, Ctx};
use crate::c::{Definition, FileIndex};
use crate::mpydir::{ApiKind, DeclKind};
use natmod_linker::facts::{LinkFacts, SymbolFacts, Why};
use std::fmt::Write;
use std::path::Path;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

fn code(s: &str) -> String {
    format!("```c\n{s}\n```\n")
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The hover at `pos` of the context's file.
pub fn hover(ctx: &Ctx, pos: Position) -> Option<Hover> {
    let line = ctx.line(pos.line);
    let col = words::byte_col(line, pos.character);
    let (start, end) = words::word_at(line, col)?;
    let name = &line[start..end];
    let text = markdown(ctx, line, start, name)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(words::range(pos.line, line, start, end)),
    })
}

/// The hover text for `name` (at byte `start` of `line`).
pub fn markdown(ctx: &Ctx, line: &str, start: usize, name: &str) -> Option<String> {
    let k = ctx.mpy.as_deref();
    if words::after_fun_table(line, start) {
        let f = k?.field(name)?;
        let mut s = code(&f.declaration);
        let _ = write!(
            s,
            "`mp_fun_table` slot {} (byte offset {} on 32-bit, {} on 64-bit)",
            f.index,
            f.index * 4,
            f.index * 8
        );
        return Some(s);
    }
    if let Some(q) = name.strip_prefix("MP_QSTR_") {
        let statics = natmod_linker::qstr::static_qstrs();
        return Some(match statics.iter().position(|(_, e)| *e == q) {
            Some(i) => format!(
                "static qstr #{} `{:?}`: built into every firmware, so the .mpy only refers to it",
                i + 1,
                statics[i].0
            ),
            None => format!(
                "module-local qstr `\"{q}\"`: not a static qstr, so the .mpy carries it in its \
                 qstr table and the loader interns it on import"
            ),
        });
    }
    if let Some(k) = k {
        if let Some(a) = k.api(name) {
            let mut s = match a.kind {
                ApiKind::Function => code(&format!("static inline {} {}", a.detail, a.signature)),
                _ => code(&format!("#define {} {}", a.signature, a.detail)),
            };
            if let Some(d) = &a.doc {
                let _ = write!(s, "\n{d}\n");
            }
            let slots = k.slots(name);
            if slots.is_empty() {
                s.push_str(
                    "\nNo `mp_fun_table` slot: it expands to code compiled into the module.\n",
                );
            } else {
                s.push_str("\n`mp_fun_table` slots:\n");
                for u in slots {
                    let via = u
                        .via
                        .map(|v| format!(" (through `{v}`)"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "- `{}` (slot {}){via}: `{}`",
                        u.field.name, u.field.index, u.field.declaration
                    );
                }
            }
            let section = a
                .section
                .as_ref()
                .map(|x| format!(", section \"{x}\""))
                .unwrap_or_default();
            let version = k
                .dir
                .version
                .as_ref()
                .map(|v| format!(" (MicroPython {v})"))
                .unwrap_or_default();
            let _ = write!(
                s,
                "\nDefined in `{}:{}`{section}{version}",
                k.rel(&a.file),
                a.line + 1
            );
            return Some(s);
        }
    }
    if let Some((path, ix)) = ctx.definition(name) {
        return Some(project_symbol(ctx, path, ix, name));
    }
    if let Some((path, m)) = ctx.macro_def(name) {
        return Some(format!(
            "macro `{}` defined in `{}:{}`",
            m.name,
            file_name(path),
            m.name_range.start.line + 1
        ));
    }
    if let Some(e) = &ctx.externs {
        if let Some(addr) = e.get(name) {
            let line = e.line_of(name).map(|l| format!(":{l}")).unwrap_or_default();
            return Some(format!(
                "ROM symbol `{name}` at `{addr:#010x}`: a fixed address from `{}{line}` \
                 (MPY_EXTERN_SYM_FILE); natmod-ld links calls to it directly",
                e.path
            ));
        }
    }
    if let Some(k) = k {
        if let Some(d) = k.dir.decls.get(name) {
            let what = match d.kind {
                DeclKind::Prototype => {
                    "a firmware function: not exported to natmods unless dynruntime.h maps it to mp_fun_table"
                }
                DeclKind::Variable => "a firmware variable",
                DeclKind::InlineFunction => "a static inline function (compiled into the module)",
                DeclKind::Macro | DeclKind::FunctionMacro => "a macro",
            };
            return Some(format!(
                "{}\n{what}; declared in `{}:{}`",
                code(&d.text),
                k.rel(&d.file),
                d.line + 1
            ));
        }
    }
    let is_call = ctx
        .file
        .references
        .iter()
        .any(|r| r.name == name && r.kind == crate::c::RefKind::Call);
    if is_call {
        let rt = reachability::runtime_for(ctx);
        return match reachability::classify(ctx, name, rt.as_ref()) {
            Verdict::Available(why) => Some(format!("`{name}`: {why}")),
            Verdict::LinkRuntime(m) => Some(reachability::link_runtime_message(name, &m)),
            Verdict::Unavailable(d) => Some(format!(
                "{}\n\nA natmod links only against mp_fun_table, the project's objects, \
                 `--externs` ROM symbols and (with LINK_RUNTIME = 1) the toolchain's runtime \
                 libraries.",
                reachability::unavailable_message(ctx, name, d.as_ref())
            )),
        };
    }
    None
}

fn region_words(region: natmod_linker::model::Region, section: &str) -> &'static str {
    use natmod_linker::model::Region;
    match region {
        Region::Bss => "bss (zero-initialised, allocated by the loader on import)",
        Region::Rodata => "rodata (read-only data, kept apart from the code)",
        Region::Text if section.starts_with(".text") => "text (machine code)",
        Region::Text => "text (read-only data is stored with the code on this arch)",
    }
}

/// Why a linked symbol is in the module: `kept: mpy_init → … → name`, or that nothing
/// reaches it (linked anyway without `--gc-sections`).
fn reach_text(f: &LinkFacts, sym: &SymbolFacts) -> String {
    match f.why_of(sym) {
        Some(Why::Kept(chain)) if chain.len() > 1 => {
            format!("\n\nkept: {}", chain.join(" → "))
        }
        Some(Why::Unreachable { removed: false }) => "\n\nunreachable from `mpy_init`: \
             linked anyway; `MPY_LD_FLAGS += --gc-sections` (with `-ffunction-sections`) drops it"
            .to_string(),
        _ => String::new(),
    }
}

/// The module's size and its largest symbols, for the hover on `mpy_init`.
fn module_summary(f: &LinkFacts) -> String {
    let mut s = String::new();
    if let Some(m) = f.module {
        let _ = write!(
            s,
            "\n\nmodule: {} bytes (text {}, rodata {}; bss {} bytes of RAM)",
            m.mpy, m.text, m.rodata, m.bss
        );
    }
    let mut syms: Vec<&SymbolFacts> = f
        .symbols
        .iter()
        .filter(|x| !x.removed && x.size > 0)
        .collect();
    syms.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    if !syms.is_empty() {
        s.push_str("\n\nlargest symbols:\n");
        for x in syms.iter().take(TOP_SYMBOLS) {
            let _ = writeln!(
                s,
                "- `{}`: {} bytes ({})",
                x.name,
                x.size,
                f.section_place(x.section)
            );
        }
    }
    let removed: Vec<_> = f.sections.iter().filter(|x| x.removed).collect();
    if !removed.is_empty() {
        let bytes: u64 = removed.iter().map(|x| x.size).sum();
        let _ = write!(
            s,
            "\n--gc-sections removed {} sections ({bytes} bytes)",
            removed.len()
        );
    }
    s
}

/// How many symbols the `mpy_init` hover lists.
const TOP_SYMBOLS: usize = 5;

fn project_symbol(ctx: &Ctx, path: &Path, ix: &FileIndex, name: &str) -> String {
    let Some(def) = ix.definition(name) else {
        return String::new();
    };
    let (kind, line) = match def {
        Definition::Function(f) => ("function", f.name_range.start.line),
        Definition::Variable(v) => (
            if v.is_const { "constant" } else { "variable" },
            v.name_range.start.line,
        ),
    };
    let storage = if def.is_static() { "static " } else { "" };
    let mut s = format!(
        "{storage}{kind} `{name}`, `{}:{}`\n\n",
        file_name(path),
        line + 1
    );
    let snap = ctx.snap.as_deref();
    let sym: Option<&SymbolFacts> = snap.and_then(|sn| sn.symbol(path, name));
    match (snap, sym) {
        (Some(sn), Some(sym)) if sym.removed => {
            let _ = write!(
                s,
                "removed: unreachable from `mpy_init`, so `--gc-sections` left its {} bytes \
                 out of {}.mpy",
                sym.size, sn.project.module
            );
        }
        (Some(sn), Some(sym)) => {
            let facts = sn.facts.as_deref();
            let section = facts
                .and_then(|f| f.sections.get(sym.section))
                .map(|x| x.name.clone())
                .unwrap_or_default();
            let mpy = format!("{}.mpy", sn.project.module);
            let _ = write!(
                s,
                "{} bytes in `{section}` of {mpy}; lands in {}",
                sym.size,
                region_words(sym.region, &section)
            );
            if let Some(off) = sym.offset {
                let _ = write!(s, " at offset {off:#x}");
            }
            if !sn.linked {
                s.push_str(" (from the last link, which failed)");
            }
            if let Some(f) = facts {
                s.push_str(&reach_text(f, sym));
                if name == "mpy_init" {
                    s.push_str(&module_summary(f));
                }
            }
        }
        (Some(sn), None) if sn.facts.is_some() => {
            s.push_str("not in the last link (not compiled into it, or removed as unused)");
        }
        _ => s.push_str("no link yet: save to build"),
    }
    s
}
