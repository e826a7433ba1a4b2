//! Link errors placed at C source locations. (Interface; the implementation is in progress.)

use std::path::PathBuf;

/// A 0-based position: line and UTF-8 byte column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pos {
    /// 0-based line.
    pub line: u32,
    /// 0-based byte column within the line.
    pub col: u32,
}

/// A source range in one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    /// The file.
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
