//! The one diagnostic type of a build: gcc's, make's and the linker's problems at a file
//! location, with the fixes to offer. Positions are 0-based lines and UTF-8 byte columns;
//! [`crate::lsp_convert`] turns them into LSP's UTF-16 positions.

use crate::link_diagnostics::{FileDiagnostic, Pos, Severity, Span};
use std::path::{Path, PathBuf};

/// A text edit: replace `span` with `text`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edit {
    /// What to replace.
    pub span: Span,
    /// The replacement.
    pub text: String,
}

/// A compiler fix-it: one or more edits under a title.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FixIt {
    /// Shown in the code action menu.
    pub title: String,
    /// The edits.
    pub edits: Vec<Edit>,
}

/// A diagnostic from any build step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diag {
    /// Where, what, how serious, related places and link fixes.
    #[serde(flatten)]
    pub inner: FileDiagnostic,
    /// Which tool found it: `gcc`, `make`, `natmod-ld` or `natmod-lsp`.
    pub source: &'static str,
    /// Compiler fix-its.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixits: Vec<FixIt>,
}

impl Diag {
    /// A diagnostic with no related places or fixes.
    pub fn new(
        source: &'static str,
        span: Span,
        severity: Severity,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Diag {
        Diag {
            inner: FileDiagnostic {
                span,
                severity,
                message: message.into(),
                code: code.into(),
                related: Vec::new(),
                fixes: Vec::new(),
            },
            source,
            fixits: Vec::new(),
        }
    }

    /// Wraps a placed link diagnostic.
    pub fn from_link(d: FileDiagnostic) -> Diag {
        Diag {
            inner: d,
            source: "natmod-ld",
            fixits: Vec::new(),
        }
    }

    /// The file it is in.
    pub fn path(&self) -> &Path {
        &self.inner.span.path
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.inner.severity == Severity::Error
    }

    /// `file:line:col: error: message` (1-based line and column), as gcc prints.
    pub fn to_gcc_line(&self, base: &Path) -> String {
        let s = &self.inner.span;
        let p = s.path.strip_prefix(base).unwrap_or(&s.path);
        let sev = match self.inner.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information | Severity::Hint => "note",
        };
        format!(
            "{}:{}:{}: {sev}: {}",
            p.display(),
            s.start.line + 1,
            s.start.col + 1,
            self.inner.message
        )
    }
}

/// A span covering `line` (0-based) from `col` to `end_col` (byte columns).
pub fn span(path: impl Into<PathBuf>, line: u32, col: u32, end_col: u32) -> Span {
    Span {
        path: path.into(),
        start: Pos { line, col },
        end: Pos {
            line,
            col: end_col.max(col),
        },
    }
}

/// A span covering the whole of `line` (0-based) of `text`.
pub fn line_span(path: impl Into<PathBuf>, text: &str, line: u32) -> Span {
    let len = text.lines().nth(line as usize).map(str::len).unwrap_or(0) as u32;
    span(path, line, 0, len)
}
