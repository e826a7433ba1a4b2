//! `natmod-lsp check`: the server's build pipeline run once on one project, printing
//! diagnostics gcc-style (or as JSON) and exiting non-zero when there are errors.

use crate::config::Config;
use crate::rebuild::{BuildReport, ProjectBuild};
use crate::workspace::discover;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `file:line:col: error: message`, like gcc.
    Text,
    /// One JSON object: diagnostics, messages, the written `.mpy`.
    Json,
}

/// Options of `check`.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The project directory.
    pub dir: PathBuf,
    /// Settings (ARCH, MPY_DIR, make variables); `trusted` is implied.
    pub config: Config,
    /// Output format.
    pub format: Format,
    /// Several arches at once (`--arch all` or a list): see [`crate::matrix_cli`].
    pub matrix: Option<crate::matrix_cli::MatrixOptions>,
}

/// A command-line project: its directory, Makefile and workspace folder.
pub struct Located {
    /// The project directory, canonical.
    pub dir: PathBuf,
    /// Its natmod Makefile.
    pub makefile: PathBuf,
    /// The workspace: the current directory when it holds the project, else the project.
    pub workspace: PathBuf,
}

/// Finds the natmod project in `dir`; `None` (said on `err`) when there is none.
pub fn locate(dir: &Path, err: &mut dyn Write) -> Option<Located> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Some(makefile) = discover::natmod_makefile(&dir) else {
        let _ = writeln!(
            err,
            "natmod-lsp: {} has no Makefile that includes $(MPY_DIR)/py/dynruntime.mk",
            dir.display()
        );
        return None;
    };
    let workspace = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok())
        .filter(|c| dir.starts_with(c))
        .unwrap_or_else(|| dir.clone());
    Some(Located {
        dir,
        makefile,
        workspace,
    })
}

/// Runs the check; returns the process exit code (0 clean, 1 errors, 2 not a project).
pub fn run(opts: &CheckOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let Some(Located {
        dir,
        makefile,
        workspace,
    }) = locate(&opts.dir, err)
    else {
        return 2;
    };
    let mut config = opts.config.clone();
    config.trusted = true;
    if let Some(m) = &opts.matrix {
        let here = Located {
            dir,
            makefile,
            workspace,
        };
        return crate::matrix_cli::run(&here, &config, opts.format, m, out, err);
    }
    let mut build = ProjectBuild::new(makefile, vec![workspace]);
    let report = match build.run(&config, &|| false) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "natmod-lsp: {e}");
            return 1;
        }
    };
    for l in &report.log {
        let _ = writeln!(err, "{l}");
    }
    match opts.format {
        Format::Text => print_text(&report, &dir, out, err),
        Format::Json => {
            let v = serde_json::json!({
                "diagnostics": report.diags,
                "messages": report.messages,
                "errors": report.errors(),
                "written": report.written.as_ref().map(|w| w.to_string_lossy()),
                "compiled": report.compiled,
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            );
        }
    }
    i32::from(report.errors() > 0)
}

fn print_text(report: &BuildReport, dir: &Path, out: &mut dyn Write, err: &mut dyn Write) {
    for m in &report.messages {
        let _ = writeln!(err, "{m}");
    }
    for d in &report.diags {
        let _ = writeln!(out, "{}", d.to_gcc_line(dir));
        for (s, m) in &d.related {
            let p = s.path.strip_prefix(dir).unwrap_or(&s.path);
            let _ = writeln!(
                out,
                "{}:{}:{}: note: {m}",
                p.display(),
                s.start.line + 1,
                s.start.col + 1
            );
        }
    }
    let summary = match (&report.written, report.errors()) {
        (Some(w), _) => format!("natmod-lsp: wrote {}", w.display()),
        (None, 0) => "natmod-lsp: no errors".to_string(),
        (None, n) => format!("natmod-lsp: {n} error{}", if n == 1 { "" } else { "s" }),
    };
    let _ = writeln!(err, "{summary} ({} ms)", report.elapsed.as_millis());
}
