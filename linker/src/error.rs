//! One error type for every way a link can fail.
//!
//! `Display` starts with the exact words of MicroPython's `mpy_ld.py` where it has a message
//! (scripts grep for them) and adds our detail after them, in parentheses.

use serde::Serialize;
use std::fmt;

/// Where in an input object a problem is: object, section and offset within that section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// The object, as named on the command line (archive members as `lib.a:member.o`).
    pub object: String,
    /// The section holding the relocation or definition.
    pub section: String,
    /// Offset within that section.
    pub offset: u64,
}

/// The kind of a link failure, for tools that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Reading an input failed.
    Io,
    /// An input is not a valid ELF object.
    BadObject,
    /// An `-l` input is neither an archive nor a GNU ld GROUP script.
    BadArchive,
    /// The `--externs` linkerscript is malformed.
    BadExterns,
    /// Command-line arguments are wrong.
    BadArguments,
    /// An object is for another machine.
    IncompatibleArch,
    /// Initialised writable data.
    DataNonEmpty,
    /// A symbol is defined twice.
    DuplicateSymbol,
    /// A symbol is defined nowhere.
    UndefinedSymbol,
    /// Static BSS reached with a link-time fixed relocation.
    StaticBss,
    /// A fixed (PC-relative) relocation to something outside the image.
    FixedExternal,
    /// A fixed relocation to rodata on an arch that keeps rodata apart.
    FixedRodata,
    /// The entry jump does not fit the arch's encodings.
    JumpTooFar,
    /// Thread-local, thread-pointer-relative or ULEB128 relocations.
    UnsupportedTls,
    /// A relocation type the linker does not handle.
    UnsupportedRelocation,
    /// `mpy_init` is missing.
    MissingEntry,
    /// Archive members define a symbol twice.
    ArchiveConflict,
    /// Anything else that the inputs make impossible.
    Unsupported,
}

/// A link failure with the data a tool needs to place it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The first line of the message, worded like mpy_ld.py's where it has one.
    pub message: String,
    /// Extra detail printed after the reference text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The symbol concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The object concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The section concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Offset within `section`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Every place that references the symbol (undefined symbols) or defines it (duplicates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Site>,
    /// For an undefined symbol the toolchain runtime defines: the `archive:member` that
    /// provides it (e.g. `libgcc.a:_divsi3.o`), what `LINK_RUNTIME = 1` would link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_provider: Option<String>,
}

impl LinkError {
    /// A bare error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        LinkError {
            kind,
            message: message.into(),
            detail: None,
            symbol: None,
            object: None,
            section: None,
            offset: None,
            sites: Vec::new(),
            runtime_provider: None,
        }
    }

    /// Sets the detail shown after the message.
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// Sets the symbol.
    pub fn symbol(mut self, s: impl Into<String>) -> Self {
        self.symbol = Some(s.into());
        self
    }

    /// Sets the object.
    pub fn object(mut self, o: impl Into<String>) -> Self {
        self.object = Some(o.into());
        self
    }

    /// Sets section and offset.
    pub fn at(mut self, section: impl Into<String>, offset: u64) -> Self {
        self.section = Some(section.into());
        self.offset = Some(offset);
        self
    }

    /// Adds a referencing or defining site.
    pub fn site(mut self, site: Site) -> Self {
        self.sites.push(site);
        self
    }

    /// An I/O failure on `path`.
    pub fn io(path: &str, err: &std::io::Error) -> Self {
        LinkError::new(ErrorKind::Io, format!("{path}: {err}")).object(path)
    }

    /// A malformed object file.
    pub fn bad_object(path: &str, why: impl fmt::Display) -> Self {
        LinkError::new(
            ErrorKind::BadObject,
            format!("{path}: not a valid ELF object: {why}"),
        )
        .object(path)
    }

    /// A relocation type that this arch does not handle.
    pub fn unsupported_reloc(
        object: &str,
        section: &str,
        offset: u64,
        rtype: u32,
        arch: &str,
    ) -> Self {
        LinkError::new(
            ErrorKind::UnsupportedRelocation,
            format!("{object}: unsupported relocation type {rtype} for {arch}"),
        )
        .object(object)
        .at(section, offset)
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for LinkError {}

/// Several link errors, reported together; `Display` prints them as mpy_ld.py does,
/// one per line after `LinkError: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkErrors(pub Vec<LinkError>);

impl fmt::Display for LinkErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkError: ")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<LinkError> for LinkErrors {
    fn from(e: LinkError) -> Self {
        LinkErrors(vec![e])
    }
}

impl std::error::Error for LinkErrors {}

/// Shorthand for results whose error is one [`LinkError`].
pub type Result<T, E = LinkError> = std::result::Result<T, E>;
