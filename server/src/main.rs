//! natmod-lsp: the language server for MicroPython native modules (LSP over stdio), and
//! `natmod-lsp check`, the same build pipeline run once from the command line.

use clap::{Parser, Subcommand};
use natmod_lsp::board::cli::BoardCmd;
use natmod_lsp::check::{self, CheckOptions, Format};
use natmod_lsp::config::{valid_var_name, Config};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "natmod-lsp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Serve LSP on stdin/stdout (the default; accepted for editors that pass it).
    #[arg(long, global = false)]
    stdio: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a natmod project once (make's variables, gcc, in-process link) and print its
    /// diagnostics; exits 1 when there are errors. Also writes compile_commands.json.
    Check {
        /// The project directory (default: the current directory).
        dir: Option<PathBuf>,
        /// ARCH to build for (passed to make as ARCH=...).
        #[arg(long)]
        arch: Option<String>,
        /// MicroPython tree (passed to make as MPY_DIR=...).
        #[arg(long)]
        mpy_dir: Option<String>,
        /// Further make variables, NAME=VALUE (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Talk to a MicroPython board on a serial port: list ports, show the board, check that
    /// a built .mpy loads on it, run it from the board's RAM, or deploy it.
    Board {
        #[command(subcommand)]
        cmd: BoardCmd,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        None => natmod_lsp::serve_stdio(),
        Some(Cmd::Board { cmd }) => {
            let code =
                natmod_lsp::board::cli::main(&cmd, &mut std::io::stdout(), &mut std::io::stderr());
            std::process::exit(code);
        }
        Some(Cmd::Check {
            dir,
            arch,
            mpy_dir,
            vars,
            format,
        }) => {
            let mut config = Config {
                arch,
                mpy_dir,
                ..Config::default()
            };
            for v in vars {
                match v.split_once('=') {
                    Some((k, val)) if valid_var_name(k) => {
                        config.make_variables.insert(k.to_string(), val.to_string());
                    }
                    _ => {
                        eprintln!("natmod-lsp: --var wants NAME=VALUE, got {v:?}");
                        std::process::exit(2);
                    }
                }
            }
            let opts = CheckOptions {
                dir: dir.unwrap_or_else(|| PathBuf::from(".")),
                config,
                format,
            };
            let code = check::run(&opts, &mut std::io::stdout(), &mut std::io::stderr());
            std::process::exit(code);
        }
    }
}
