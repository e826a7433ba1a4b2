//! A MicroPython board on a serial port: what it is, whether a built `.mpy` loads on it, and
//! running the module from RAM or deploying it to the board's filesystem. No LSP here: the
//! CLI (`cli.rs`) and the server's `natmod/board…` requests call these functions.

pub mod cli;
pub mod compat;
pub mod deploy;
pub mod info;
pub mod port;
pub mod ramfs;
pub mod repl;
pub mod transfer;

use compat::{check, ram_cost, Mismatch, RAM_WARN_FRACTION};
use info::BoardInfo;
use natmod_linker::mpy_read::{read_native_header, NativeHeader};
use repl::{RawRepl, ReplError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default serial speed (USB CDC ignores it; UART bridges of MicroPython boards use it).
pub const DEFAULT_BAUD: u32 = 115_200;

/// Anything that stops a board operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardError {
    /// Talking to the board failed.
    Repl(ReplError),
    /// The `.mpy` cannot be read.
    Module(String),
    /// The board will not load the module; each mismatch names the fix.
    Incompatible(Vec<Mismatch>),
}

impl std::fmt::Display for BoardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoardError::Repl(e) => write!(f, "{e}"),
            BoardError::Module(m) => f.write_str(m),
            BoardError::Incompatible(ms) => {
                for (i, m) in ms.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}: fix: {}", m.message, m.fix)?;
                }
                Ok(())
            }
        }
    }
}

impl From<ReplError> for BoardError {
    fn from(e: ReplError) -> Self {
        BoardError::Repl(e)
    }
}

/// A built module read from disk.
#[derive(Debug, Clone)]
pub struct Module {
    /// The file.
    pub path: PathBuf,
    /// The import name (the file stem).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its header and sizes.
    pub header: NativeHeader,
}

impl Module {
    /// Reads and checks a `.mpy` file.
    pub fn read(path: &Path) -> Result<Module, BoardError> {
        let bytes = std::fs::read(path)
            .map_err(|e| BoardError::Module(format!("cannot read {}: {e}", path.display())))?;
        let header = read_native_header(&bytes)
            .map_err(|e| BoardError::Module(format!("{}: {e}", path.display())))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if !ramfs::valid_module_name(&name) {
            return Err(BoardError::Module(format!(
                "{}: {name:?} is not a Python module name",
                path.display()
            )));
        }
        Ok(Module {
            path: path.to_path_buf(),
            name,
            bytes,
            header,
        })
    }
}

/// A board in the raw REPL, with its facts.
pub struct Board {
    /// The protocol.
    pub repl: RawRepl,
    /// What it is (read when connecting).
    pub info: BoardInfo,
}

impl Board {
    /// Opens `port`, interrupts what runs, enters the raw REPL (soft-resetting for a clean
    /// heap) and reads the board's facts.
    pub fn connect(port: &str, baud: u32) -> Result<Board, BoardError> {
        Board::connect_with(port, baud, true)
    }

    /// [`Board::connect`], soft-resetting only with `soft_reset` (without it, what the board's
    /// REPL set up, such as a filesystem mounted by hand, stays).
    pub fn connect_with(port: &str, baud: u32, soft_reset: bool) -> Result<Board, BoardError> {
        let mut repl = RawRepl::open(port, baud)?;
        repl.enter(soft_reset)?;
        let info = info::query(&mut repl)?;
        Ok(Board { repl, info })
    }

    /// Leaves the raw REPL for the friendly one (the board keeps running).
    pub fn leave(&mut self) -> Result<(), BoardError> {
        Ok(self.repl.exit()?)
    }
}

/// The outcome of checking a module against a board.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// The module file.
    pub module: String,
    /// `.mpy` version of the module.
    pub mpy_version: String,
    /// Its arch.
    pub arch: String,
    /// Its arch flags.
    pub arch_flags: String,
    /// RAM the loader allocates for it (text, rodata, BSS).
    pub ram: u64,
    /// The board's free heap.
    pub mem_free: u64,
    /// Why it will not load (empty when it loads).
    pub mismatches: Vec<Mismatch>,
    /// Warnings (RAM above [`RAM_WARN_FRACTION`] of the free heap).
    pub warnings: Vec<String>,
}

impl CheckReport {
    /// Whether the board loads the module.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Compares a module with a board: header against `_mpy`, RAM cost against the free heap.
pub fn check_module(m: &Module, board: &BoardInfo) -> CheckReport {
    let h = &m.header;
    let mismatches = match board.abi() {
        Some(abi) => check(h, &abi, &board.version),
        None => vec![Mismatch {
            kind: "native",
            message: "the board's firmware loads no .mpy files (no sys.implementation._mpy)".into(),
            fix: "use a firmware built with MICROPY_PERSISTENT_CODE_LOAD".into(),
        }],
    };
    let ram = ram_cost(h);
    let mut warnings = Vec::new();
    if ram as f64 > board.mem_free as f64 * RAM_WARN_FRACTION {
        warnings.push(format!(
            "the module needs {ram} bytes of RAM (text {} + rodata {} + bss {}), {:.0}% of the board's {} bytes free heap",
            h.text,
            h.rodata,
            h.bss,
            100.0 * ram as f64 / board.mem_free.max(1) as f64,
            board.mem_free
        ));
    }
    CheckReport {
        module: m.path.display().to_string(),
        mpy_version: format!("{}.{}", h.version, h.sub_version),
        arch: compat::arch_name(h.arch),
        arch_flags: compat::flag_names(h.arch_flags),
        ram,
        mem_free: board.mem_free,
        mismatches,
        warnings,
    }
}

/// What `run` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Everything the code printed (`\n` line ends).
    pub output: String,
    /// The traceback the import or the code raised, if any.
    pub error: Option<String>,
    /// Milliseconds from the start of `run` to the first output byte (`None` without output).
    pub first_output_ms: Option<u64>,
    /// Milliseconds in all.
    pub total_ms: u64,
}

/// How `run` runs.
pub struct RunOptions<'a> {
    /// Python code run after `import NAME`.
    pub code: &'a str,
    /// The code is interrupted (Ctrl-C) after this long.
    pub timeout: Duration,
    /// Send the module even when the check says the board refuses it (to see the board's own
    /// error).
    pub unchecked: bool,
    /// When the command started, for [`RunReport::first_output_ms`].
    pub started: Instant,
}

/// Loads `m` into the board's RAM, imports it, runs the code (which may use the module by its
/// name), streaming its output to `on_output` and the transfer to `progress`. The module is
/// checked first and not sent when the board would refuse it (unless `unchecked`). The board is
/// soft-reset afterwards, freeing the RAM.
pub fn run(
    board: &mut Board,
    m: &Module,
    opts: &RunOptions,
    on_output: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RunReport, BoardError> {
    let (code, timeout, started) = (opts.code, opts.timeout, opts.started);
    let report = check_module(m, &board.info);
    if !report.ok() && !opts.unchecked {
        return Err(BoardError::Incompatible(report.mismatches));
    }
    ramfs::load(&mut board.repl, &m.name, &m.bytes, progress)?;
    let mut first: Option<u64> = None;
    let mut output = String::new();
    let mut sink = |b: &[u8]| {
        if b.is_empty() {
            return;
        }
        first.get_or_insert_with(|| started.elapsed().as_millis() as u64);
        let s = String::from_utf8_lossy(b).replace('\r', "");
        output.push_str(&s);
        on_output(&s);
    };
    let import = board.repl.exec(
        format!("import {}", m.name).as_bytes(),
        Duration::from_secs(10),
        &mut sink,
    )?;
    let mut error = (!import.stderr.is_empty())
        .then(|| String::from_utf8_lossy(&import.stderr).replace('\r', ""));
    if error.is_none() {
        let out = board.repl.exec(code.as_bytes(), timeout, &mut sink)?;
        if !out.stderr.is_empty() {
            error = Some(String::from_utf8_lossy(&out.stderr).replace('\r', ""));
        }
    }
    board.repl.soft_reset()?;
    Ok(RunReport {
        output,
        error,
        first_output_ms: first,
        total_ms: started.elapsed().as_millis() as u64,
    })
}
