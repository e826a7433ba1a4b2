//! One build of a project, as make would do it but in process where it can be: evaluate the
//! Makefile (when needed), regenerate the qstr config.h, compile changed sources with gcc,
//! relink with the project's [`natmod_linker::Session`], write the `.mpy` (merging in the
//! `.py` sources with mpy-cross and mpy-tool when SRC has any).
//!
//! A [`ProjectBuild`] keeps what survives between builds; [`ProjectBuild::run`] is
//! synchronous and checks `cancelled` between steps and while tools run.

pub mod compile;
pub mod deps;
pub mod gcc_diag;
pub mod link;
pub mod lookalike;
pub mod make_steps;
pub mod place;
pub mod python;
pub mod qstrs;
pub mod runtime;
pub mod scope;

use crate::config::Config;
use crate::diag::Severity;
use crate::diag::{line_span, Diag};
use crate::process::RunError;
use crate::workspace::{self, Project, SetupProblem};
use natmod_linker::Dialect;
use scope::WriteScope;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The outcome of one build.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Every diagnostic, in every file.
    pub diags: Vec<Diag>,
    /// Messages to show the user once (`window/showMessage`).
    pub messages: Vec<String>,
    /// Lines for the server log (`window/logMessage`).
    pub log: Vec<String>,
    /// The `.mpy` written.
    pub written: Option<PathBuf>,
    /// Sources compiled (not skipped).
    pub compiled: Vec<String>,
    /// Whether the Makefile evaluated and the toolchain is there.
    pub configured: bool,
    /// How long the build took.
    pub elapsed: Duration,
    /// How long gcc ran in it: the longest compile (they run in parallel).
    pub gcc_time: Duration,
    /// The project as evaluated for this build (for editor features).
    pub project: Option<Project>,
    /// The link's facts, when the build linked.
    pub facts: Option<natmod_linker::LinkFacts>,
}

impl BuildReport {
    /// Number of error diagnostics.
    pub fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// What a project keeps between builds.
pub struct ProjectBuild {
    makefile: PathBuf,
    workspace: Vec<PathBuf>,
    project: Option<Project>,
    /// The last evaluation's problems that do not stop a build, shown as warnings.
    warnings: Vec<SetupProblem>,
    compile: compile::CompileCache,
    linker: link::Linker,
    shown: BTreeSet<String>,
    /// See [`ProjectBuild::set_output_dir`].
    output_dir: Option<PathBuf>,
    /// The modification times of the makefiles the evaluation read.
    makefile_stamps: Vec<Option<std::time::SystemTime>>,
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Adds `scope`'s problems with where a build of `p` writes to `report`; false when the
/// build must not write.
fn scope_allows(
    scope: &WriteScope,
    p: &Project,
    makefile_text: &str,
    report: &mut BuildReport,
) -> bool {
    let fallback = workspace::include_line(makefile_text).unwrap_or(0);
    let mut allowed = true;
    for problem in scope.check(p) {
        let line = workspace::assignment_line(makefile_text, problem.var).unwrap_or(fallback);
        let code = if problem.severity == Severity::Error {
            allowed = false;
            "write-outside-workspace"
        } else {
            "write-outside-project"
        };
        report.diags.push(Diag::new(
            "natmod-lsp",
            line_span(&p.makefile, makefile_text, line),
            problem.severity,
            code,
            problem.message,
        ));
    }
    allowed
}

impl ProjectBuild {
    /// State for the project whose Makefile is `makefile` (absolute), in the `workspace`
    /// folders (see [`scope::WriteScope::for_project`]).
    pub fn new(makefile: PathBuf, workspace: Vec<PathBuf>) -> ProjectBuild {
        ProjectBuild {
            makefile,
            workspace,
            project: None,
            warnings: Vec::new(),
            compile: compile::CompileCache::default(),
            linker: link::Linker::default(),
            shown: BTreeSet::new(),
            output_dir: None,
            makefile_stamps: Vec::new(),
        }
    }

    /// Writes `$(MOD).mpy` into `dir` instead of the project directory (so builds of one
    /// project for several arches do not overwrite each other's module).
    pub fn set_output_dir(&mut self, dir: PathBuf) {
        self.output_dir = Some(dir);
        self.invalidate();
    }

    /// The last evaluation, if it succeeded.
    pub fn project(&self) -> Option<&Project> {
        self.project.as_ref()
    }

    /// Forgets the Makefile's evaluation (it changed, or the settings did).
    pub fn invalidate(&mut self) {
        self.project = None;
    }

    /// Whether the evaluation is out of date: a makefile it read (an included `.mk`, an
    /// `-include`d config) changed, or a source make resolved (vpath, `$(wildcard)`) is gone.
    fn evaluation_stale(&self) -> bool {
        let Some(p) = &self.project else {
            return false;
        };
        p.makefiles
            .iter()
            .map(|m| mtime(m))
            .ne(self.makefile_stamps.iter().copied())
            || p.plan.compiles.iter().any(|c| !p.abs(&c.source).exists())
    }

    /// Runs one build. `Err(Cancelled)` means a newer build superseded it.
    pub fn run(
        &mut self,
        config: &Config,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<BuildReport, RunError> {
        let start = Instant::now();
        let mut report = BuildReport::default();
        let dir = self.makefile.parent().unwrap_or(Path::new("/"));
        let Some(scope) = WriteScope::for_project(dir, &self.workspace) else {
            let problem = SetupProblem {
                line: 0,
                message: format!(
                    "natmod-lsp: {} is outside the workspace folders, so nothing runs for it \
                     (no make, no gcc): add its folder to the workspace to build it",
                    dir.display()
                ),
                code: "outside-workspace",
                show: true,
            };
            self.report_setup(&[problem], &mut report);
            report.elapsed = start.elapsed();
            return Ok(report);
        };
        if self.evaluation_stale() {
            self.invalidate();
        }
        if self.project.is_none() {
            match workspace::load(&self.makefile, config, cancelled) {
                Ok((mut p, warnings)) => {
                    p.output_dir.clone_from(&self.output_dir);
                    self.compile.clear();
                    self.shown.clear();
                    self.makefile_stamps = p.makefiles.iter().map(|m| mtime(m)).collect();
                    self.project = Some(p);
                    self.warnings = warnings;
                }
                Err(problems) => {
                    if cancelled() {
                        return Err(RunError::Cancelled);
                    }
                    self.report_setup(&problems, &mut report);
                    report.elapsed = start.elapsed();
                    return Ok(report);
                }
            }
        }
        let Some(p) = self.project.clone() else {
            return Ok(report);
        };
        report.configured = true;
        report.project = Some(p.clone());
        let dialect = Dialect::for_mpy_dir(&p.mpy_dir);
        let makefile_text = std::fs::read_to_string(&p.makefile).unwrap_or_default();
        for w in &self.warnings {
            report.diags.push(Diag::new(
                "natmod-lsp",
                line_span(&p.makefile, &makefile_text, w.line),
                Severity::Warning,
                w.code,
                w.message.clone(),
            ));
        }
        report.diags.extend(lookalike::check(&p, &makefile_text));
        if !scope_allows(&scope, &p, &makefile_text, &mut report) {
            report.elapsed = start.elapsed();
            return Ok(report);
        }
        let failed = make_steps::run(&p, config, cancelled)?;
        if !failed.is_empty() {
            report.diags.extend(failed);
            report.elapsed = start.elapsed();
            return Ok(report);
        }
        if let Err(e) = qstrs::refresh_config_h(&p, dialect) {
            report.diags.push(Diag::new(
                "natmod-lsp",
                line_span(&p.makefile, &makefile_text, 0),
                Severity::Error,
                "config-h",
                format!("cannot write {}: {e}", p.config_h),
            ));
            report.elapsed = start.elapsed();
            return Ok(report);
        }
        let _ = compile::write_compile_commands(&p);
        let compiled = compile::compile_all(&p, &mut self.compile, cancelled)?;
        let all_ok = compiled.iter().all(|c| c.ok);
        for c in compiled {
            if c.ran {
                report.compiled.push(c.source.clone());
            }
            report.gcc_time = report.gcc_time.max(c.gcc_time);
            report.diags.extend(c.diags);
        }
        if cancelled() {
            return Err(RunError::Cancelled);
        }
        if all_ok {
            let has_python = p.python_sources().next().is_some();
            let r = self.linker.link(&p, dialect, !has_python);
            report.diags.extend(r.diags);
            report.written = r.written;
            report.facts = r.facts;
            if has_python && r.ok {
                let merged = python::compile_and_merge(&p, &makefile_text, cancelled)?;
                report.diags.extend(merged.diags);
                report.log.extend(merged.log);
                report.written = merged.written;
            }
        }
        report.elapsed = start.elapsed();
        Ok(report)
    }

    /// Reports set-up problems on their Makefile lines (and once as messages when they ask).
    fn report_setup(&mut self, problems: &[SetupProblem], report: &mut BuildReport) {
        let text = std::fs::read_to_string(&self.makefile).unwrap_or_default();
        let current: BTreeSet<String> = problems
            .iter()
            .filter(|p| p.show)
            .map(|p| p.message.clone())
            .collect();
        for m in &current {
            if !self.shown.contains(m) {
                report.messages.push(m.clone());
            }
        }
        self.shown = current;
        for p in problems {
            report.diags.push(Diag::new(
                if p.code == "makefile-error" {
                    "make"
                } else {
                    "natmod-lsp"
                },
                line_span(&self.makefile, &text, p.line),
                Severity::Error,
                p.code,
                p.message.clone(),
            ));
        }
    }
}
