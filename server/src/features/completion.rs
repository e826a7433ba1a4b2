//! Completion: the natmod API (dynruntime.h, with signature, doc and slots), the macros and
//! inline functions of the headers it includes, `MP_QSTR_` names (static ones marked), the
//! fields of `mp_fun_table` after `mp_fun_table.`, ROM extern symbols with their address, and
//! the project's own functions, variables and macros. Filtered by the typed prefix here, ranked,
//! and capped at [`MAX_ITEMS`] (`isIncomplete` when capped).

use super::words;
use super::Ctx;
use crate::c::{Function, Macro, Variable};
use crate::mpydir::{ApiItem, ApiKind, DeclKind, FunTableField, HeaderDecl};
use std::collections::HashSet;
use std::path::Path;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, CompletionList,
    CompletionTextEdit, Documentation, MarkupContent, MarkupKind, Position, TextEdit,
};

/// Most items returned for one request.
pub const MAX_ITEMS: usize = 150;

/// One candidate before it becomes a [`CompletionItem`].
enum Source<'a> {
    Project(&'a Path, ProjectSym<'a>),
    Api(&'a ApiItem),
    Field(&'a FunTableField),
    ModuleQstr(&'a str),
    StaticQstr(usize),
    Decl(&'a HeaderDecl),
    Rom(&'a str, u32),
}

enum ProjectSym<'a> {
    Function(&'a Function),
    Variable(&'a Variable),
    Macro(&'a Macro),
}

struct Cand<'a> {
    label: std::borrow::Cow<'a, str>,
    rank: u8,
    source: Source<'a>,
}

/// Whether `label` starts with `prefix`, ignoring ASCII case.
fn matches(label: &str, prefix: &str) -> bool {
    label.len() >= prefix.len()
        && label.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

const QSTR: &str = "MP_QSTR_";

fn add<'a>(
    cands: &mut Vec<Cand<'a>>,
    prefix: &str,
    label: std::borrow::Cow<'a, str>,
    rank: u8,
    source: Source<'a>,
) {
    if matches(&label, prefix) {
        cands.push(Cand {
            label,
            rank,
            source,
        });
    }
}

/// The completion list at `pos` of the context's file.
pub fn complete(ctx: &Ctx, pos: Position) -> CompletionList {
    let line = ctx.line(pos.line);
    let col = words::byte_col(line, pos.character);
    let empty = CompletionList {
        is_incomplete: false,
        items: Vec::new(),
    };
    if words::in_comment_or_string(line, col) || line.trim_start().starts_with('#') {
        let t = line.trim_start().trim_start_matches('#').trim_start();
        if !(t.starts_with("if") || t.starts_with("elif") || t.starts_with("define")) {
            return empty;
        }
    }
    let start = words::prefix_start(line, col);
    let prefix = &line[start..col];
    let mut cands: Vec<Cand> = Vec::new();
    let mpy = ctx.mpy.as_deref();
    if words::after_fun_table(line, start) {
        for f in mpy.map(|k| &k.dir.fun_table[..]).unwrap_or(&[]) {
            add(
                &mut cands,
                prefix,
                f.name.as_str().into(),
                0,
                Source::Field(f),
            );
        }
    } else if prefix.starts_with(QSTR) || (prefix.len() >= 4 && QSTR.starts_with(prefix)) {
        let mut module: HashSet<&str> = HashSet::new();
        for (_, f) in &ctx.project_files {
            for q in &f.qstrs {
                if !natmod_linker::qstr::is_static_escaped(&q.name) && module.insert(&q.name) {
                    add(
                        &mut cands,
                        prefix,
                        format!("{QSTR}{}", q.name).into(),
                        0,
                        Source::ModuleQstr(&q.name),
                    );
                }
            }
        }
        for (i, (_, esc)) in natmod_linker::qstr::static_qstrs().iter().enumerate() {
            if !esc.is_empty() {
                add(
                    &mut cands,
                    prefix,
                    format!("{QSTR}{esc}").into(),
                    1,
                    Source::StaticQstr(i),
                );
            }
        }
    } else {
        for (path, f) in &ctx.project_files {
            for func in &f.functions {
                add(
                    &mut cands,
                    prefix,
                    func.name.as_str().into(),
                    0,
                    Source::Project(path, ProjectSym::Function(func)),
                );
            }
            for v in f.variables.iter().filter(|v| v.function.is_none()) {
                add(
                    &mut cands,
                    prefix,
                    v.name.as_str().into(),
                    0,
                    Source::Project(path, ProjectSym::Variable(v)),
                );
            }
            for m in &f.macros {
                add(
                    &mut cands,
                    prefix,
                    m.name.as_str().into(),
                    0,
                    Source::Project(path, ProjectSym::Macro(m)),
                );
            }
        }
        if let Some(k) = mpy {
            for item in k.dir.api.values() {
                add(
                    &mut cands,
                    prefix,
                    item.name.as_str().into(),
                    1,
                    Source::Api(item),
                );
            }
            for (name, d) in &k.dir.decls {
                if d.kind != DeclKind::Prototype && !k.dir.api.contains_key(name) {
                    add(&mut cands, prefix, name.as_str().into(), 3, Source::Decl(d));
                }
            }
        }
        if let Some(e) = &ctx.externs {
            for (name, addr) in &e.symbols {
                add(
                    &mut cands,
                    prefix,
                    name.as_str().into(),
                    2,
                    Source::Rom(name, *addr),
                );
            }
        }
    }
    let exact = |c: &Cand| !c.label.starts_with(prefix);
    cands.sort_by(|a, b| (exact(a), a.rank, &a.label).cmp(&(exact(b), b.rank, &b.label)));
    let mut seen: HashSet<String> = HashSet::new();
    cands.retain(|c| seen.insert(c.label.to_string()));
    let incomplete = cands.len() > MAX_ITEMS;
    cands.truncate(MAX_ITEMS);
    let edit_range = words::range(pos.line, line, start, col);
    let items = cands
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut item = item(ctx, &c);
            item.sort_text = Some(format!("{i:04}"));
            item.filter_text = Some(c.label.to_string());
            item.text_edit = Some(CompletionTextEdit::Edit(TextEdit {
                range: edit_range,
                new_text: c.label.to_string(),
            }));
            item
        })
        .collect();
    CompletionList {
        is_incomplete: incomplete,
        items,
    }
}

fn markdown(value: String) -> Option<Documentation> {
    if value.is_empty() {
        return None;
    }
    Some(Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    }))
}

fn details(
    detail: Option<String>,
    description: Option<String>,
) -> Option<CompletionItemLabelDetails> {
    Some(CompletionItemLabelDetails {
        detail,
        description,
    })
}

fn item(ctx: &Ctx, c: &Cand) -> CompletionItem {
    let mut it = CompletionItem {
        label: c.label.to_string(),
        ..CompletionItem::default()
    };
    match &c.source {
        Source::Api(a) => {
            let k = ctx.mpy.as_deref();
            let slots: Vec<String> = k
                .map(|k| k.slots(&a.name))
                .unwrap_or_default()
                .iter()
                .map(|s| format!("mp_fun_table.{}", s.field.name))
                .collect();
            it.kind = Some(match a.kind {
                ApiKind::Macro => CompletionItemKind::CONSTANT,
                _ => CompletionItemKind::FUNCTION,
            });
            it.detail = Some(match a.kind {
                ApiKind::Function => format!("{} {}", a.detail, a.signature),
                _ => a.signature.clone(),
            });
            it.label_details = details(
                a.signature.strip_prefix(a.name.as_str()).map(String::from),
                Some(
                    slots
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "natmod API".into()),
                ),
            );
            let mut doc = String::new();
            if let Some(d) = a.doc.as_ref().or(a.section.as_ref()) {
                doc.push_str(d);
                doc.push_str("\n\n");
            }
            if !slots.is_empty() {
                doc.push_str(&format!("Through `{}`.", slots.join("`, `")));
            }
            it.documentation = markdown(doc);
        }
        Source::Field(f) => {
            it.kind = Some(CompletionItemKind::FIELD);
            it.detail = Some(f.declaration.clone());
            it.label_details = details(None, Some(format!("slot {}", f.index)));
        }
        Source::ModuleQstr(q) => {
            it.kind = Some(CompletionItemKind::CONSTANT);
            it.detail = Some(format!("module qstr \"{q}\" (stored in the .mpy)"));
            it.label_details = details(None, Some("module".into()));
        }
        Source::StaticQstr(i) => {
            let text = natmod_linker::qstr::static_qstrs()
                .get(*i)
                .map(|q| q.0)
                .unwrap_or("");
            it.kind = Some(CompletionItemKind::CONSTANT);
            it.detail = Some(format!(
                "static qstr #{} {text:?} (built into the firmware)",
                i + 1
            ));
            it.label_details = details(None, Some("static".into()));
        }
        Source::Decl(d) => {
            it.kind = Some(match d.kind {
                DeclKind::FunctionMacro | DeclKind::InlineFunction => CompletionItemKind::FUNCTION,
                DeclKind::Variable => CompletionItemKind::VARIABLE,
                _ => CompletionItemKind::CONSTANT,
            });
            it.detail = Some(d.text.clone());
            let file = ctx
                .mpy
                .as_deref()
                .map(|k| k.rel(&d.file).into_owned())
                .unwrap_or_default();
            it.label_details = details(None, Some(file));
        }
        Source::Rom(name, addr) => {
            let file = ctx
                .externs
                .as_ref()
                .map(|e| {
                    Path::new(&e.path)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            it.kind = Some(CompletionItemKind::FUNCTION);
            it.detail = Some(format!("ROM {name} = {addr:#010x} ({file})"));
            it.label_details = details(None, Some(format!("ROM {addr:#010x}")));
        }
        Source::Project(path, sym) => {
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (kind, line, name) = match sym {
                ProjectSym::Function(f) => (
                    CompletionItemKind::FUNCTION,
                    f.name_range.start.line,
                    &f.name,
                ),
                ProjectSym::Variable(v) => (
                    CompletionItemKind::VARIABLE,
                    v.name_range.start.line,
                    &v.name,
                ),
                ProjectSym::Macro(m) => (
                    CompletionItemKind::CONSTANT,
                    m.name_range.start.line,
                    &m.name,
                ),
            };
            it.kind = Some(kind);
            let size = ctx
                .snap
                .as_ref()
                .and_then(|s| s.symbol(path, name))
                .map(|s| format!(", {} bytes in the .mpy", s.size))
                .unwrap_or_default();
            it.detail = Some(format!("{file}:{}{size}", line + 1));
            it.label_details = details(None, Some(file));
        }
    }
    it
}
