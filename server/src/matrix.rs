//! One project built for several arches: each arch is the server's one build pipeline
//! ([`ProjectBuild::run`]) with `ARCH=` and its own `BUILD` directory and output, run on a
//! worker pool sized to the cores. Used by `check --arch all|LIST`, `--dist` and the
//! server's background portability builds.

use crate::config::Config;
use crate::diag::Diag;
use crate::process::RunError;
use crate::rebuild::{BuildReport, ProjectBuild};
use crate::workspace::Project;
use natmod_linker::arch::ARCH_NAMES;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How one arch's build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchStatus {
    /// Compiled and linked; the `.mpy` was written.
    Ok,
    /// The compiler or the link reported errors.
    Failed,
    /// The arch's compiler is not installed.
    MissingToolchain,
    /// The MicroPython tree's dynruntime.mk does not know the arch.
    Unsupported,
}

/// Section sizes of a linked module, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sizes {
    /// The `.mpy` file.
    pub mpy: u64,
    /// Machine code.
    pub text: u64,
    /// Read-only data.
    pub rodata: u64,
    /// Zero-initialised data.
    pub bss: u64,
}

/// One arch of a matrix.
#[derive(Debug, Clone)]
pub struct ArchResult {
    /// The arch name.
    pub arch: String,
    /// How it ended.
    pub status: ArchStatus,
    /// The build's diagnostics (errors and warnings, in every file).
    pub diags: Vec<Diag>,
    /// The `.mpy` written for this arch.
    pub mpy: Option<PathBuf>,
    /// Sizes, when it linked.
    pub sizes: Option<Sizes>,
    /// The project as evaluated for this arch (compiler, MPY_DIR...).
    pub project: Option<Project>,
    /// How long its build took.
    pub elapsed: Duration,
}

impl ArchResult {
    /// Whether this arch counts as a failure of the matrix (`unsupported` only when the arch
    /// was asked for by name).
    pub fn fails(&self, named: bool) -> bool {
        match self.status {
            ArchStatus::Ok => false,
            ArchStatus::Unsupported => named,
            ArchStatus::Failed | ArchStatus::MissingToolchain => true,
        }
    }

    /// The error diagnostics.
    pub fn errors(&self) -> impl Iterator<Item = &Diag> {
        self.diags.iter().filter(|d| d.is_error())
    }
}

/// Which arches `spec` names: `all` (every arch natmod-ld links, in mpy_ld.py's order) or a
/// comma-separated list. The flag says whether they were named one by one.
pub fn parse_arches(spec: &str) -> Result<(Vec<String>, bool), String> {
    if spec.trim() == "all" {
        return Ok((ARCH_NAMES.iter().map(|s| s.to_string()).collect(), false));
    }
    let mut out: Vec<String> = Vec::new();
    for a in spec.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        if !ARCH_NAMES.contains(&a) {
            return Err(format!(
                "unknown arch {a:?}; expected `all` or a comma-separated list of: {}",
                ARCH_NAMES.join(", ")
            ));
        }
        if !out.iter().any(|o| o == a) {
            out.push(a.to_string());
        }
    }
    if out.is_empty() {
        return Err("--arch names no arch".into());
    }
    Ok((out, true))
}

/// The `BUILD` directory of `arch`'s build: `build-ARCH` (the newest dynruntime.mk's own
/// default), or `B-ARCH` when the settings set `BUILD = B`.
pub fn build_dir_for(config: &Config, arch: &str) -> String {
    let base = config
        .make_variables
        .get("BUILD")
        .map(|b| b.trim_end_matches('/'))
        .filter(|b| !b.is_empty())
        .unwrap_or("build");
    format!("{base}-{arch}")
}

/// The builds of one project for one arch, kept between runs (a compile cache per arch).
pub struct ArchBuild {
    arch: String,
    dir: PathBuf,
    build: ProjectBuild,
}

impl ArchBuild {
    /// State for building the project of `makefile` (absolute) for `arch`, in `workspace`.
    pub fn new(makefile: PathBuf, workspace: Vec<PathBuf>, arch: &str) -> ArchBuild {
        let dir = makefile.parent().unwrap_or(Path::new("/")).to_path_buf();
        ArchBuild {
            arch: arch.to_string(),
            dir,
            build: ProjectBuild::new(makefile, workspace),
        }
    }

    /// The arch.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Forgets the Makefile's evaluation.
    pub fn invalidate(&mut self) {
        self.build.invalidate();
    }

    /// The settings of this arch's build: `config` with `ARCH` and its own `BUILD`.
    pub fn config(&self, config: &Config) -> Config {
        let mut c = config.clone();
        c.arch = Some(self.arch.clone());
        c.make_variables
            .insert("BUILD".into(), build_dir_for(config, &self.arch));
        c
    }

    /// Builds once. The module is written to `$(BUILD)/out/$(MOD).mpy`.
    pub fn run(
        &mut self,
        config: &Config,
        cancelled: &(dyn Fn() -> bool + Sync),
    ) -> Result<ArchResult, RunError> {
        let build_dir = self.dir.join(build_dir_for(config, &self.arch));
        let out_dir = build_dir.join("out");
        if self.build.project().is_none() {
            self.build.set_output_dir(out_dir.clone());
        }
        let created = !build_dir.exists() && out_dir.starts_with(&self.dir);
        if out_dir.starts_with(&self.dir) {
            let _ = std::fs::create_dir_all(&out_dir);
        }
        let report = self.build.run(&self.config(config), cancelled);
        if created && !report.as_ref().is_ok_and(|r| r.configured) {
            // Nothing was built (no toolchain, an arch MPY_DIR lacks): leave no empty dirs.
            let _ = std::fs::remove_dir(&out_dir);
            let _ = std::fs::remove_dir(&build_dir);
        }
        Ok(self.result(report?))
    }

    fn result(&self, report: BuildReport) -> ArchResult {
        let has = |code: &str| report.diags.iter().any(|d| d.code == code);
        let unsupported = report.diags.iter().any(|d| {
            d.code == "makefile-error"
                && d.message.contains("architecture")
                && d.message.contains("not supported")
        });
        let status = if has("missing-compiler") {
            ArchStatus::MissingToolchain
        } else if unsupported {
            ArchStatus::Unsupported
        } else if report.errors() > 0 || report.written.is_none() {
            ArchStatus::Failed
        } else {
            ArchStatus::Ok
        };
        let sizes = report.written.as_ref().and_then(|w| {
            let mpy = std::fs::metadata(w).ok()?.len();
            let mut s = Sizes {
                mpy,
                ..Sizes::default()
            };
            for o in report.facts.iter().flat_map(|f| &f.objects) {
                s.text += o.text;
                s.rodata += o.rodata;
                s.bss += o.bss;
            }
            Some(s)
        });
        ArchResult {
            arch: self.arch.clone(),
            status,
            diags: report.diags,
            mpy: report.written.filter(|_| status == ArchStatus::Ok),
            sizes,
            project: report.project,
            elapsed: report.elapsed,
        }
    }
}

/// How many builds run at once: the cores the process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs `builds` on `jobs` worker threads (each build's own tools run as child processes);
/// results come back in the order of `builds`. `Err` only when cancelled.
pub fn run_all(
    builds: &mut [ArchBuild],
    config: &Config,
    jobs: usize,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<ArchResult>, RunError> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<&mut ArchBuild>> = builds.iter_mut().map(Mutex::new).collect();
    let results: Mutex<Vec<Option<Result<ArchResult, RunError>>>> =
        Mutex::new((0..slots.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, slots.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(slot) = slots.get(i) else {
                    break;
                };
                let r = match slot.lock() {
                    Ok(mut b) => b.run(config, cancelled),
                    Err(_) => Err(RunError::Io("a matrix worker panicked".into())),
                };
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(RunError::Cancelled)))
        .collect()
}
