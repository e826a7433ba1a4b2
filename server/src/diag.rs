//! The one diagnostic type of the server and its vocabulary: positions, ranges, spans,
//! severities and the fixes to offer, used by every build step, the link-error placement, the
//! live checks and the C index. Positions are 0-based lines and UTF-8 byte columns;
//! [`crate::lsp_convert`] turns them into LSP's UTF-16 positions.

use std::path::{Path, PathBuf};

/// A 0-based position: line and UTF-8 byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    /// 0-based line.
    pub line: u32,
    /// 0-based byte column within the line.
    pub col: u32,
}

/// A range in one file (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Range {
    /// Start.
    pub start: Pos,
    /// End (exclusive).
    pub end: Pos,
}

impl Range {
    /// Whether `line` is one of the lines the range touches.
    pub fn contains_line(&self, line: u32) -> bool {
        self.start.line <= line && line <= self.end.line
    }
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

impl Span {
    /// The span of `range` in `path`.
    pub fn new(path: impl Into<PathBuf>, range: Range) -> Span {
        Span {
            path: path.into(),
            start: range.start,
            end: range.end,
        }
    }
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

/// A diagnostic from any build step, the link-error placement or the live checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diag {
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
            span,
            severity,
            message: message.into(),
            code: code.into(),
            related: Vec::new(),
            fixes: Vec::new(),
            source,
            fixits: Vec::new(),
        }
    }

    /// The file it is in.
    pub fn path(&self) -> &Path {
        &self.span.path
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: error: message` (1-based line and column), as gcc prints.
    pub fn to_gcc_line(&self, base: &Path) -> String {
        let s = &self.span;
        let p = s.path.strip_prefix(base).unwrap_or(&s.path);
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information | Severity::Hint => "note",
        };
        format!(
            "{}:{}:{}: {sev}: {}",
            p.display(),
            s.start.line + 1,
            s.start.col + 1,
            self.message
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
