//! `natmod-ld`: a drop-in for MicroPython's `tools/mpy_ld.py`, with the same command line.

use clap::{ArgAction, Parser, ValueEnum};
use natmod_linker::gc as report;
use natmod_linker::{
    arch, load_objects, output, qstr, Archive, Dialect, ErrorKind, Externs, LinkConfig, LinkError,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ErrorFormat {
    Text,
    Json,
}

/// `--size-report` formats.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    Text,
    Json,
}

/// Link native object files into a MPY bundle.
#[derive(Parser, Debug)]
#[command(name = "natmod-ld", version, infer_long_args = true)]
struct Args {
    /// Increase verbosity.
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Architecture.
    #[arg(long, default_value = "x64")]
    arch: String,
    /// Optional architecture flags (rv32imc: zba, zcmp, or a number).
    #[arg(long = "arch-flags")]
    arch_flags: Option<String>,
    /// Override the file name written to the .mpy file.
    #[arg(long = "source-name")]
    source_name: Option<String>,
    /// Preprocess source files (write the config.h of qstrs).
    #[arg(long)]
    preprocess: bool,
    /// File defining additional qstrs.
    #[arg(long)]
    qstrs: Option<PathBuf>,
    /// Static .a libraries to link.
    #[arg(short = 'l', long = "libs")]
    libs: Vec<PathBuf>,
    /// Output .mpy file (default to input with .o->.mpy).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Linkerscript providing fixed-address symbols to augment symbol resolution.
    #[arg(short, long)]
    externs: Option<PathBuf>,
    /// MicroPython tree whose mpy_ld.py to reproduce (default: $MPY_DIR, else the newest).
    #[arg(long = "mpy-dir")]
    mpy_dir: Option<PathBuf>,
    /// How to report errors on stderr besides the `LinkError:` line on stdout.
    #[arg(long = "error-format", value_enum, default_value = "text")]
    error_format: ErrorFormat,
    /// On undefined symbols, say which toolchain runtime archive (libgcc, libm) provides them.
    #[arg(long = "hint-libs")]
    hint_libs: bool,
    /// Keep only the sections mpy_init reaches through relocations (build with
    /// -ffunction-sections -fdata-sections to make that fine-grained).
    #[arg(long = "gc-sections", overrides_with = "gc_sections")]
    gc_sections: bool,
    /// With --gc-sections, list the dropped sections on stderr.
    #[arg(long = "print-gc-sections", overrides_with = "print_gc_sections")]
    print_gc_sections: bool,
    /// Print the relocation chain from mpy_init that keeps SYMBOL (repeatable).
    #[arg(long = "why", value_name = "SYMBOL")]
    why: Vec<String>,
    /// Print the module's size per object, section, symbol and archive member.
    #[arg(long = "size-report", value_enum, value_name = "FORMAT")]
    size_report: Option<ReportFormat>,
    /// Write the --size-report to FILE instead of stdout.
    #[arg(
        long = "size-report-file",
        value_name = "FILE",
        requires = "size_report"
    )]
    size_report_file: Option<PathBuf>,
    /// Input files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `path` in messages (lossily when it is not UTF-8).
fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The default output beside the first input: `first` with suffix `from` replaced by `to`
/// (paths need not be UTF-8); an error naming `why` when `first` does not end in `from`.
fn beside_first(first: &Path, from: &str, to: &str, why: &str) -> Result<PathBuf, LinkError> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    match first.as_os_str().as_bytes().strip_suffix(from.as_bytes()) {
        Some(stem) => {
            let mut out = stem.to_vec();
            out.extend_from_slice(to.as_bytes());
            Ok(PathBuf::from(std::ffi::OsString::from_vec(out)))
        }
        None => Err(LinkError::new(
            ErrorKind::BadArguments,
            format!("{}: {why}", shown(first)),
        )),
    }
}

/// MPY_DIR from the command line, the environment, or make's command-line variables.
fn find_mpy_dir(args: &Args) -> Option<PathBuf> {
    if let Some(d) = &args.mpy_dir {
        return Some(d.clone());
    }
    if let Some(d) = std::env::var_os("MPY_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    // `make MPY_DIR=...` puts the assignment into MAKEFLAGS for sub-commands.
    let flags = std::env::var("MAKEFLAGS").ok()?;
    let mut words = flags.split(' ');
    words.find_map(|w| w.strip_prefix("MPY_DIR=").map(PathBuf::from))
}

/// Parses `--arch-flags` as mpy_ld.py does.
fn parse_arch_flags(arch: &str, flags: &Option<String>) -> Result<u64, LinkError> {
    let Some(f) = flags else { return Ok(0) };
    let bad = |m: String| LinkError::new(ErrorKind::BadArguments, m);
    let info = arch::by_name(arch)?.info();
    if !info.accepts_arch_flags {
        return Err(bad(format!(
            "Architecture \"{arch}\" does not support extra flags"
        )));
    }
    let numeric = (f.starts_with('0') && f.len() > 2)
        || (!f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()));
    if numeric {
        let (digits, radix) = match f.as_bytes().get(1) {
            Some(b'b' | b'B') => (&f[2..], 2),
            Some(b'x' | b'X') => (&f[2..], 16),
            Some(_) => (f.as_str(), 10),
            None => {
                return Err(bad(format!(
                    "invalid --arch-flags value {f:?}: a number needs at least two characters (mpy_ld.py crashes here)"
                )))
            }
        };
        return u64::from_str_radix(digits, radix)
            .map_err(|_| bad(format!("invalid --arch-flags number {f:?}")));
    }
    let mut value = 0;
    for name in f.to_lowercase().split(',') {
        value |= match name {
            "zba" => 1,
            "zcmp" => 2,
            _ => return Err(bad(format!("Invalid architecture flags value \"{name}\""))),
        };
    }
    Ok(value)
}

fn report(errors: &[LinkError], format: ErrorFormat) {
    println!("{}", natmod_linker::LinkErrors(errors.to_vec()));
    if format == ErrorFormat::Json {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(errors).unwrap_or_default()
        );
    }
}

fn preprocess(args: &Args, dialect: Dialect) -> Result<(), LinkError> {
    let out = match &args.output {
        Some(o) => o.clone(),
        None => beside_first(
            &args.files[0],
            ".c",
            ".config.h",
            "--preprocess without -o needs a .c file first",
        )?,
    };
    let mut texts = Vec::new();
    for f in &args.files {
        texts.push(std::fs::read(f).map_err(|e| LinkError::io(&shown(f), &e))?);
    }
    let names = qstr::module_qstrs(texts.iter().map(|t| t.as_slice()));
    let text = qstr::config_h(&names, dialect);
    output::write_atomic(&out, text.as_bytes()).map_err(|e| LinkError::io(&shown(&out), &e))
}

fn run(args: &Args) -> Result<(), (Vec<LinkError>, Vec<String>)> {
    let one = |e: LinkError| (vec![e], Vec::new());
    let dialect = find_mpy_dir(args)
        .map(|d| Dialect::for_mpy_dir(&d))
        .unwrap_or_default();
    arch::by_name(&args.arch).map_err(one)?;
    let arch_flags = parse_arch_flags(&args.arch, &args.arch_flags).map_err(one)?;
    if args.preprocess {
        return preprocess(args, dialect).map_err(one);
    }
    let out = match &args.output {
        Some(o) => o.clone(),
        None => beside_first(
            &args.files[0],
            ".o",
            ".mpy",
            "without -o the first input must be a .o file",
        )
        .map_err(one)?,
    };
    let qstrs = match &args.qstrs {
        Some(q) => {
            qstr::read_config_h(&std::fs::read(q).map_err(|e| one(LinkError::io(&shown(q), &e)))?)
        }
        None => Vec::new(),
    };
    let externs = match &args.externs {
        Some(p) => Some(Externs::load(p).map_err(one)?),
        None => None,
    };
    if let Some(ex) = &externs {
        for w in &ex.warnings {
            eprintln!("natmod-ld: {w}");
        }
    }
    let objects = load_objects(&args.files).map_err(one)?;
    let mut archives: Vec<Archive> = Vec::new();
    for l in &args.libs {
        archives.extend(natmod_linker::input::archive::load_lib(l).map_err(one)?);
    }
    let source_name = match (&args.source_name, dialect) {
        (Some(s), _) => s.clone(),
        (None, Dialect::V1_23) => shown(&out),
        (None, Dialect::Newest) => out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let config = LinkConfig {
        arch: args.arch.clone(),
        dialect,
        qstrs,
        source_name,
        arch_flags,
        gc_sections: args.gc_sections,
    };
    let linked =
        natmod_linker::link_verbose(&config, objects, &archives, externs.as_ref(), args.verbose)
            .map_err(|f| {
                let mut errors = f.errors;
                if args.hint_libs {
                    // Best effort: without the toolchain there is simply no hint.
                    if let Ok(runtime) = natmod_linker::hints::runtime_archives(&args.arch) {
                        natmod_linker::hints::annotate_undefined(&mut errors, &runtime);
                    }
                }
                (errors, f.log)
            })?;
    for line in &linked.log {
        println!("{line}");
    }
    // (The externs warnings were printed when the file was read.)
    let shown_already = externs.as_ref().map_or(0, |e| e.warnings.len());
    for w in linked.warnings.iter().skip(shown_already) {
        eprintln!("natmod-ld: warning: {w}");
    }
    if args.print_gc_sections {
        for line in report::removed_lines(&linked.facts) {
            eprintln!("natmod-ld: {line}");
        }
    }
    for symbol in &args.why {
        println!("{}", report::why_line(&linked.facts, symbol));
    }
    if let Some(format) = args.size_report {
        let r = natmod_linker::size_report::size_report(&linked);
        let text = match format {
            ReportFormat::Text => natmod_linker::size_report::render_text(&r, 20),
            ReportFormat::Json => serde_json::to_string(&r).unwrap_or_default() + "\n",
        };
        match &args.size_report_file {
            Some(p) => output::write_atomic(p, text.as_bytes())
                .map_err(|e| one(LinkError::io(&shown(p), &e)))?,
            None => print!("{text}"),
        }
    }
    output::write_atomic(&out, &linked.mpy).map_err(|e| one(LinkError::io(&shown(&out), &e)))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((errors, log)) => {
            for line in &log {
                println!("{line}");
            }
            report(&errors, args.error_format);
            ExitCode::from(1)
        }
    }
}
