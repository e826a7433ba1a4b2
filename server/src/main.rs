//! natmod-lsp: the language server for MicroPython native modules (LSP over stdio), and
//! `natmod-lsp check`, the same build pipeline run once from the command line.

use clap::{Parser, Subcommand};
use natmod_lsp::board::cli::BoardCmd;
use natmod_lsp::check::{self, CheckOptions, Format};
use natmod_lsp::config::{valid_var_name, Config};
use natmod_lsp::matrix::{default_jobs, parse_arches};
use natmod_lsp::matrix_cli::MatrixOptions;
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

/// What `check` and `doctor` share: the project and how make is told about it.
#[derive(clap::Args)]
struct ProjectArgs {
    /// The project directory (default: the current directory).
    dir: Option<PathBuf>,
    /// MicroPython tree (passed to make as MPY_DIR=...).
    #[arg(long)]
    mpy_dir: Option<String>,
    /// Further make variables, NAME=VALUE, or ARCH:NAME=VALUE for one arch only
    /// (e.g. xtensawin:CROSS=xtensa-lx106-elf-); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

impl ProjectArgs {
    /// The settings these arguments give (no ARCH).
    fn config(&self) -> Config {
        let mut config = Config {
            mpy_dir: self.mpy_dir.clone(),
            ..Config::default()
        };
        for v in &self.vars {
            let (scope, assignment) = match v.split_once('=') {
                Some((k, _)) if k.contains(':') => v.split_once(':').unwrap_or(("", v)),
                _ => ("", v.as_str()),
            };
            match assignment.split_once('=') {
                Some((k, val)) if valid_var_name(k) => {
                    let vars = if scope.is_empty() {
                        &mut config.make_variables
                    } else {
                        config
                            .arch_make_variables
                            .entry(scope.to_string())
                            .or_default()
                    };
                    vars.insert(k.to_string(), val.to_string());
                }
                _ => fail(&format!(
                    "--var wants NAME=VALUE or ARCH:NAME=VALUE, got {v:?}"
                )),
            }
        }
        config
    }

    fn dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| PathBuf::from("."))
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a natmod project once (make's variables, gcc, in-process link) and print its
    /// diagnostics; exits 1 when there are errors. Also writes compile_commands.json.
    Check {
        #[command(flatten)]
        project: ProjectArgs,
        /// ARCH to build for (passed to make as ARCH=...); `all` or a comma-separated list
        /// builds each arch in parallel and prints the portability matrix.
        #[arg(long)]
        arch: Option<String>,
        /// Write release artifacts (one .mpy per arch, mip package.json, build-report.json)
        /// into DIR; implies the matrix (of `--arch`, default `all`).
        #[arg(long, value_name = "DIR")]
        dist: Option<PathBuf>,
        /// Matrix builds at once (default: the number of cores).
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    /// What the project needs to build, arch by arch: each compiler (or the Debian package to
    /// install) and its version, MPY_DIR, make, mpy-cross. Exits 0 when every arch can
    /// build, 1 when some can, 2 when none can.
    Doctor {
        #[command(flatten)]
        project: ProjectArgs,
        /// The arches to look at: `all` (default: those MPY_DIR supports) or a list.
        #[arg(long, default_value = "all")]
        arch: String,
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
            project,
            arch,
            dist,
            jobs,
        }) => {
            let several = dist.is_some()
                || arch
                    .as_deref()
                    .is_some_and(|a| a.trim() == "all" || a.contains(','));
            let matrix = several.then(|| {
                let (arches, named) =
                    parse_arches(arch.as_deref().unwrap_or("all")).unwrap_or_else(|e| fail(&e));
                MatrixOptions {
                    arches,
                    named,
                    jobs: jobs.unwrap_or_else(default_jobs).max(1),
                    dist,
                }
            });
            let mut config = project.config();
            config.arch = if several { None } else { arch };
            let opts = CheckOptions {
                dir: project.dir(),
                config,
                format: project.format,
                matrix,
            };
            let code = check::run(&opts, &mut std::io::stdout(), &mut std::io::stderr());
            std::process::exit(code);
        }
        Some(Cmd::Doctor { project, arch }) => {
            let (arches, named) = parse_arches(&arch).unwrap_or_else(|e| fail(&e));
            let Some(here) = check::locate(&project.dir(), &mut std::io::stderr()) else {
                std::process::exit(2);
            };
            let mut config = project.config();
            config.trusted = true;
            let code = natmod_lsp::doctor::run(
                &here,
                &config,
                &arches,
                named,
                project.format,
                &mut std::io::stdout(),
            );
            std::process::exit(code);
        }
    }
}

/// Prints `message` and exits with status 2 (bad command line).
fn fail(message: &str) -> ! {
    eprintln!("natmod-lsp: {message}");
    std::process::exit(2);
}
