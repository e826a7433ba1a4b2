//! `natmod-lsp check --arch all|LIST`: builds every arch in parallel, prints the matrix (arch
//! by ok or its errors, with sizes) as text or JSON, optionally writes release artifacts
//! (`--dist`), and exits 1 when an arch fails.

use crate::check::{Format, Located};
use crate::config::Config;
use crate::matrix::{self, ArchBuild, ArchResult, ArchStatus};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `check` does with several arches.
#[derive(Debug, Clone)]
pub struct MatrixOptions {
    /// The arches, in order.
    pub arches: Vec<String>,
    /// Whether they were named one by one (then an arch MPY_DIR lacks is a failure).
    pub named: bool,
    /// Builds at once.
    pub jobs: usize,
    /// Where to write release artifacts, if anywhere.
    pub dist: Option<PathBuf>,
}

/// Runs the matrix; returns the exit code (0 all ok, 1 an arch failed or dist failed).
pub fn run(
    here: &Located,
    config: &Config,
    format: Format,
    opts: &MatrixOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let start = Instant::now();
    let mut builds: Vec<ArchBuild> = opts
        .arches
        .iter()
        .map(|a| ArchBuild::new(here.makefile.clone(), vec![here.workspace.clone()], a))
        .collect();
    let results = match matrix::run_all(&mut builds, config, opts.jobs, &|| false) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "natmod-lsp: {e}");
            return 1;
        }
    };
    let failed = results.iter().any(|r| r.fails(opts.named));
    let dist = match (&opts.dist, failed) {
        (None, _) => None,
        (Some(d), true) => {
            let _ = writeln!(
                err,
                "natmod-lsp: not writing {}: an arch failed (a release has every arch or none)",
                d.display()
            );
            None
        }
        (Some(d), false) => match crate::dist::write(d, &results) {
            Ok(report) => Some(report),
            Err(e) => {
                let _ = writeln!(err, "natmod-lsp: writing {}: {e}", d.display());
                return 1;
            }
        },
    };
    match format {
        Format::Text => print_text(&results, &here.dir, out),
        Format::Json => {
            let v = json!({
                "project": here.dir.to_string_lossy(),
                "jobs": opts.jobs,
                "elapsed_ms": start.elapsed().as_millis() as u64,
                "ok": !failed,
                "arches": results.iter().map(|r| arch_json(r, &here.dir)).collect::<Vec<_>>(),
                "dist": dist.as_ref().map(|d| d.dir.to_string_lossy()),
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            );
        }
    }
    let count = |s: ArchStatus| results.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        err,
        "natmod-lsp: {} ok, {} failed, {} missing a toolchain, {} not in MPY_DIR; {} arches on \
         {} workers in {:.2} s",
        count(ArchStatus::Ok),
        count(ArchStatus::Failed),
        count(ArchStatus::MissingToolchain),
        count(ArchStatus::Unsupported),
        results.len(),
        opts.jobs,
        start.elapsed().as_secs_f64()
    );
    if let Some(d) = &dist {
        let _ = writeln!(
            err,
            "natmod-lsp: wrote {} ({} files)",
            d.dir.display(),
            d.files
        );
    }
    i32::from(failed)
}

/// The one-line explanation of a non-ok arch: its first error (the make or toolchain message
/// for set-up problems).
fn headline(r: &ArchResult) -> Option<&str> {
    r.errors().next().map(|d| d.message.as_str())
}

fn print_text(results: &[ArchResult], dir: &Path, out: &mut dyn Write) {
    let _ = writeln!(
        out,
        "{:<10} {:<17} {:>7} {:>7} {:>7} {:>6} {:>8}",
        "arch", "status", ".mpy", "text", "rodata", "bss", "time"
    );
    for r in results {
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let time = format!("{:.2} s", r.elapsed.as_secs_f64());
        match (r.status, r.sizes) {
            (ArchStatus::Ok, Some(s)) => {
                let _ = writeln!(
                    out,
                    "{:<10} {:<17} {:>7} {:>7} {:>7} {:>6} {:>8}",
                    r.arch, status, s.mpy, s.text, s.rodata, s.bss, time
                );
            }
            (ArchStatus::Failed, _) => {
                let _ = writeln!(out, "{:<10} {:<17} {:>40}", r.arch, status, time);
                for d in r.errors() {
                    let _ = writeln!(out, "    {}", d.to_gcc_line(dir));
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{:<10} {:<17} {}",
                    r.arch,
                    status,
                    headline(r).unwrap_or("")
                );
            }
        }
    }
}

fn arch_json(r: &ArchResult, dir: &Path) -> Value {
    let errors: Vec<Value> = r
        .errors()
        .map(|d| {
            let s = &d.span;
            json!({
                "file": s.path.strip_prefix(dir).unwrap_or(&s.path).to_string_lossy(),
                "line": s.start.line + 1,
                "col": s.start.col + 1,
                "code": d.code,
                "source": d.source,
                "message": d.message,
            })
        })
        .collect();
    json!({
        "arch": r.arch,
        "status": r.status,
        "mpy": r.mpy.as_ref().map(|p| p.to_string_lossy()),
        "sizes": r.sizes,
        "elapsed_ms": r.elapsed.as_millis() as u64,
        "errors": errors,
        "warnings": r.diags.iter().filter(|d| !d.is_error()).count(),
    })
}
