//! Build diagnostics and their fixes in LSP terms: [`Diag`] → `Diagnostic`, fixes → code
//! actions with workspace edits.

use crate::diag::{Diag, Edit};
use crate::diag::{Fix, Severity, Span};
use crate::text;
use crate::workspace;
use ls_types::{
    CodeAction, CodeActionKind, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity,
    Location, NumberOrString, Range, TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types;

/// File texts read on demand, to convert byte columns to UTF-16.
#[derive(Default)]
pub struct Texts {
    cache: HashMap<PathBuf, String>,
}

impl Texts {
    /// The text of `path` (empty if unreadable).
    pub fn get(&mut self, path: &Path) -> &str {
        self.cache
            .entry(path.to_path_buf())
            .or_insert_with(|| text::read_lossy(path).unwrap_or_default())
    }

    /// Uses `text` as the text of `path` (an open document's, not the disk's).
    pub fn insert(&mut self, path: &Path, text: String) {
        self.cache.insert(path.to_path_buf(), text);
    }

    /// The LSP range of `span`.
    pub fn range(&mut self, span: &Span) -> Range {
        let t = self.get(&span.path);
        Range {
            start: text::position(t, span.start.line, span.start.col),
            end: text::position(t, span.end.line, span.end.col),
        }
    }
}

/// The `file://` URI of a path, byte for byte (see [`crate::file_uri`]).
pub fn uri(path: &Path) -> Option<Uri> {
    crate::file_uri::from_path(path)
}

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

/// The LSP diagnostic for `d`.
pub fn diagnostic(d: &Diag, texts: &mut Texts) -> Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|(s, m)| {
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: uri(&s.path)?,
                    range: texts.range(s),
                },
                message: m.clone(),
            })
        })
        .collect();
    Diagnostic {
        range: texts.range(&d.span),
        severity: Some(severity(d.severity)),
        code: (!d.code.is_empty()).then(|| NumberOrString::String(d.code.clone())),
        code_description: None,
        source: Some(d.source.to_string()),
        message: d.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn workspace_edit(edits: &[Edit], texts: &mut Texts) -> Option<WorkspaceEdit> {
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for e in edits {
        changes
            .entry(uri(&e.span.path)?)
            .or_default()
            .push(TextEdit {
                range: texts.range(&e.span),
                new_text: e.text.clone(),
            });
    }
    Some(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

fn insert_at(path: &Path, line: u32, col: u32, text: &str) -> Edit {
    Edit {
        span: crate::diag::span(path, line, col, col),
        text: text.to_string(),
    }
}

/// The title and edits of a link fix for a diagnostic in project `makefile`.
pub fn fix_edits(fix: &Fix, makefile: &Path, texts: &mut Texts) -> (String, Vec<Edit>) {
    let mk = texts.get(makefile).to_string();
    let mk_line = workspace::include_line(&mk).unwrap_or(0);
    match fix {
        Fix::AddLinkRuntime => (
            "Add `LINK_RUNTIME = 1` to the Makefile".into(),
            vec![insert_at(makefile, mk_line, 0, "LINK_RUNTIME = 1\n")],
        ),
        Fix::SetExternFile => (
            "Set MPY_EXTERN_SYM_FILE in the Makefile".into(),
            vec![insert_at(
                makefile,
                mk_line,
                0,
                "MPY_EXTERN_SYM_FILE = $(MPY_DIR)/ports/esp8266/boards/eagle.rom.addr.v6.ld\n",
            )],
        ),
        Fix::MakeConst { span } => (
            "Make it `const` (read-only data is allowed)".into(),
            vec![insert_at(
                &span.path,
                span.start.line,
                span.start.col,
                "const ",
            )],
        ),
        Fix::DropStatic { span } => {
            let line = texts
                .get(&span.path)
                .lines()
                .nth(span.end.line as usize)
                .unwrap_or("")
                .to_string();
            let mut end = span.end;
            if line.as_bytes().get(end.col as usize) == Some(&b' ') {
                end.col += 1;
            }
            (
                "Remove `static`".into(),
                vec![Edit {
                    span: Span {
                        path: span.path.clone(),
                        start: span.start,
                        end,
                    },
                    text: String::new(),
                }],
            )
        }
    }
}

/// Quick-fix code actions for `d` (a diagnostic of the project whose Makefile is `makefile`).
pub fn code_actions(d: &Diag, makefile: &Path, texts: &mut Texts) -> Vec<CodeAction> {
    let lsp_diag = diagnostic(d, texts);
    let mut out = Vec::new();
    let mut push = |title: String, edits: &[Edit], texts: &mut Texts| {
        if let Some(edit) = workspace_edit(edits, texts) {
            out.push(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diag.clone()]),
                edit: Some(edit),
                is_preferred: Some(true),
                ..CodeAction::default()
            });
        }
    };
    for f in &d.fixes {
        let (title, edits) = fix_edits(f, makefile, texts);
        push(title, &edits, texts);
    }
    for f in &d.fixits {
        push(f.title.clone(), &f.edits, texts);
    }
    out
}

/// Whether two LSP ranges overlap (touching counts).
pub fn overlaps(a: &Range, b: &Range) -> bool {
    let le = |x: &ls_types::Position, y: &ls_types::Position| {
        (x.line, x.character) <= (y.line, y.character)
    };
    le(&a.start, &b.end) && le(&b.start, &a.end)
}
