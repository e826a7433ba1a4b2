//! `natmod-lsp board ports|info|check|run|deploy`: the board operations from the command line,
//! as text or JSON; exit status 0 when all went well, 1 when the board refused or the code
//! raised, 2 for a usage or connection problem.

use super::repl::ReplError;
use super::{check_module, deploy, port, run, Board, BoardError, Module, RunOptions, DEFAULT_BAUD};
use crate::check::Format;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to do with the board.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BoardCmd {
    /// List serial ports (USB VID:PID; the ones MicroPython boards use are marked).
    Ports {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show the board's MicroPython, platform, .mpy version, native arch and free heap.
    Info {
        #[command(flatten)]
        conn: Conn,
    },
    /// Check that a built .mpy loads on the board (version, arch, arch flags, RAM).
    Check {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        module: ModuleArg,
    },
    /// Load the .mpy into the board's RAM (no flash write), import it and run code.
    Run {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        module: ModuleArg,
        /// Python code to run after the import.
        #[arg(short = 'c', long = "code", conflicts_with = "script")]
        code: Option<String>,
        /// A Python script to run after the import.
        script: Option<PathBuf>,
        /// Seconds before the code is interrupted with Ctrl-C.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Send the module even if the check says the board refuses it (to see the board's own
        /// error).
        #[arg(long)]
        no_check: bool,
    },
    /// Copy the .mpy to the board's filesystem.
    Deploy {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        module: ModuleArg,
        /// Directory on the board.
        #[arg(long, default_value = deploy::DEFAULT_DIR)]
        dir: String,
        /// Do not soft-reset the board first (keeps a filesystem mounted from its REPL).
        #[arg(long)]
        no_reset: bool,
    },
}

/// How to reach the board.
#[derive(Debug, Clone, clap::Args)]
pub struct Conn {
    /// The serial port (`/dev/ttyACM0`, a pty).
    #[arg(long)]
    port: String,
    /// Baud rate.
    #[arg(long, default_value_t = DEFAULT_BAUD)]
    baud: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Say on stderr what happens (board found, bytes sent).
    #[arg(short, long)]
    verbose: bool,
}

/// Which module.
#[derive(Debug, Clone, clap::Args)]
pub struct ModuleArg {
    /// The built .mpy (default: the only .mpy in the current directory).
    #[arg(long)]
    mpy: Option<PathBuf>,
}

/// The `.mpy` given, or the only one in the current directory.
fn module_path(arg: &ModuleArg) -> Result<PathBuf, String> {
    if let Some(p) = &arg.mpy {
        return Ok(p.clone());
    }
    let found: Vec<PathBuf> = std::fs::read_dir(".")
        .map_err(|e| format!("cannot list the current directory: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mpy"))
        .collect();
    match &found[..] {
        [one] => Ok(one.clone()),
        [] => Err("no .mpy in the current directory: build the module or pass --mpy FILE".into()),
        _ => Err("several .mpy files here: pass --mpy FILE".into()),
    }
}

/// Prints an error (text or JSON) and returns `code`.
fn fail(format: Format, out: &mut dyn Write, err: &mut dyn Write, e: &BoardError) -> i32 {
    let code = match e {
        BoardError::Incompatible(_) | BoardError::Repl(ReplError::Timeout(_)) => 1,
        _ => 2,
    };
    match format {
        Format::Text => {
            let _ = writeln!(err, "natmod-lsp board: {e}");
        }
        Format::Json => {
            let v = match e {
                BoardError::Incompatible(m) => json!({"ok": false, "mismatches": m}),
                e => json!({"ok": false, "error": e.to_string()}),
            };
            let _ = writeln!(out, "{v}");
        }
    }
    code
}

/// Reads the module, then connects to the board (soft-resetting it with `reset`).
fn open(conn: &Conn, arg: &ModuleArg, reset: bool) -> Result<(Module, Board), BoardError> {
    let path = module_path(arg).map_err(BoardError::Module)?;
    let m = Module::read(&path)?;
    Ok((m, Board::connect_with(&conn.port, conn.baud, reset)?))
}

/// Runs a `board` subcommand; returns the exit status.
pub fn main(cmd: &BoardCmd, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let started = Instant::now();
    match cmd {
        BoardCmd::Ports { format } => match port::list() {
            Ok(ports) => {
                match format {
                    Format::Json => {
                        let _ = writeln!(out, "{}", json!(ports));
                    }
                    Format::Text => {
                        for p in &ports {
                            let _ = writeln!(
                                out,
                                "{}\t{}\t{}{}",
                                p.port,
                                p.usb.as_deref().unwrap_or("-"),
                                p.product.as_deref().unwrap_or(""),
                                p.hint
                                    .as_deref()
                                    .map(|h| format!("\t* {h}"))
                                    .unwrap_or_default()
                            );
                        }
                    }
                }
                0
            }
            Err(e) => {
                let _ = writeln!(err, "natmod-lsp board: cannot list serial ports: {e}");
                2
            }
        },
        BoardCmd::Info { conn } => match Board::connect(&conn.port, conn.baud) {
            Ok(mut board) => {
                match conn.format {
                    Format::Json => {
                        let _ = writeln!(out, "{}", json!(board.info));
                    }
                    Format::Text => {
                        let i = &board.info;
                        let _ = writeln!(out, "{}", i.summary());
                        let _ = writeln!(out, "micropython {} on {}", i.version, i.machine);
                        let _ = writeln!(
                            out,
                            "loads: {} (arch flags {}); free heap {} bytes",
                            if i.native {
                                i.accepts.join(", ")
                            } else {
                                "no native code".into()
                            },
                            i.arch_flags.as_deref().unwrap_or("none"),
                            i.mem_free
                        );
                    }
                }
                let _ = board.leave();
                0
            }
            Err(e) => fail(conn.format, out, err, &e),
        },
        BoardCmd::Check { conn, module } => {
            let (m, mut board) = match open(conn, module, true) {
                Ok(x) => x,
                Err(e) => return fail(conn.format, out, err, &e),
            };
            let report = check_module(&m, &board.info);
            let _ = board.leave();
            match conn.format {
                Format::Json => {
                    let _ = writeln!(
                        out,
                        "{}",
                        json!({"ok": report.ok(), "board": board.info, "check": report})
                    );
                }
                Format::Text => {
                    for mm in &report.mismatches {
                        let _ = writeln!(
                            err,
                            "{}: error: {}\n  fix: {}",
                            report.module, mm.message, mm.fix
                        );
                    }
                    for w in &report.warnings {
                        let _ = writeln!(err, "{}: warning: {w}", report.module);
                    }
                    if report.ok() {
                        let _ = writeln!(
                            out,
                            "{}: loads on {} ({} bytes of RAM of {} free)",
                            report.module,
                            board.info.summary(),
                            report.ram,
                            report.mem_free
                        );
                    }
                }
            }
            i32::from(!report.ok())
        }
        BoardCmd::Run {
            conn,
            module,
            code,
            script,
            timeout,
            no_check,
        } => {
            let code = match (code, script) {
                (Some(c), _) => c.clone(),
                (None, Some(p)) => match std::fs::read_to_string(p) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = writeln!(err, "natmod-lsp board: cannot read {}: {e}", p.display());
                        return 2;
                    }
                },
                (None, None) => String::new(),
            };
            if !(timeout.is_finite() && *timeout > 0.0) {
                let _ = writeln!(
                    err,
                    "natmod-lsp board: --timeout wants a positive number of seconds"
                );
                return 2;
            }
            let (m, mut board) = match open(conn, module, true) {
                Ok(x) => x,
                Err(e) => return fail(conn.format, out, err, &e),
            };
            let text = conn.format == Format::Text;
            let opts = RunOptions {
                code: &code,
                timeout: Duration::from_secs_f64(*timeout),
                unchecked: *no_check,
                started,
            };
            let verbose = conn.verbose;
            say(
                conn,
                err,
                &format!("{} on {}", board.info.summary(), conn.port),
            );
            let result = run(
                &mut board,
                &m,
                &opts,
                &mut |s| {
                    if text {
                        let _ = out.write_all(s.as_bytes());
                        let _ = out.flush();
                    }
                },
                &mut |sent, total| progress(verbose, sent, total),
            );
            let _ = board.leave();
            match result {
                Ok(r) => {
                    match conn.format {
                        Format::Json => {
                            let _ = writeln!(
                                out,
                                "{}",
                                json!({"ok": r.error.is_none(), "board": board.info, "run": r})
                            );
                        }
                        Format::Text => {
                            if let Some(e) = &r.error {
                                let _ = write!(err, "{e}");
                            }
                        }
                    }
                    i32::from(r.error.is_some())
                }
                Err(e) => fail(conn.format, out, err, &e),
            }
        }
        BoardCmd::Deploy {
            conn,
            module,
            dir,
            no_reset,
        } => {
            let (m, mut board) = match open(conn, module, !no_reset) {
                Ok(x) => x,
                Err(e) => return fail(conn.format, out, err, &e),
            };
            say(
                conn,
                err,
                &format!("{} on {}", board.info.summary(), conn.port),
            );
            let verbose = conn.verbose;
            let result = deploy::deploy(&mut board, &m, dir, &mut |sent, total| {
                progress(verbose, sent, total)
            });
            let _ = board.leave();
            match result {
                Ok(path) => {
                    match conn.format {
                        Format::Json => {
                            let _ = writeln!(
                                out,
                                "{}",
                                json!({"ok": true, "path": path, "bytes": m.bytes.len()})
                            );
                        }
                        Format::Text => {
                            let _ = writeln!(
                                out,
                                "{}: {} bytes written to {path}",
                                m.path.display(),
                                m.bytes.len()
                            );
                        }
                    }
                    0
                }
                Err(e) => fail(conn.format, out, err, &e),
            }
        }
    }
}

/// A `--verbose` line on stderr.
fn say(conn: &Conn, err: &mut dyn Write, what: &str) {
    if conn.verbose {
        let _ = writeln!(err, "natmod-lsp board: {what}");
    }
}

/// A `--verbose` transfer line on stderr (written directly: the output sink holds `err`).
fn progress(verbose: bool, sent: usize, total: usize) {
    if verbose {
        eprintln!("natmod-lsp board: sent {sent}/{total} bytes");
    }
}
