//! natmod projects: finding them, evaluating their Makefiles with GNU make, and the
//! [`Project`] model the build uses. Set-up problems (a Makefile error, a missing MPY_DIR or
//! compiler) come back as [`SetupProblem`]s placed on a Makefile line.

pub mod assignment;
pub mod discover;
pub mod include_vars;
pub mod makefile;
pub mod plan;
pub mod shell_words;
pub mod toolchain;
pub mod trace;

use crate::config::Config;
use crate::process::{self, find_program, RunError};
use makefile::{EvalError, MakeMessage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A natmod project as make sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project directory (absolute); make and gcc run here.
    pub dir: PathBuf,
    /// The Makefile (absolute).
    pub makefile: PathBuf,
    /// `MOD`.
    pub module: String,
    /// `SRC` words, as written (relative to `dir`).
    pub sources: Vec<String>,
    /// `ARCH`.
    pub arch: String,
    /// `MPY_DIR`, absolute.
    pub mpy_dir: PathBuf,
    /// `CROSS`.
    pub cross: String,
    /// The compiler the object rules run: `$(CROSS)gcc`.
    pub cc: String,
    /// `CFLAGS`, split into words as the recipe's shell splits them.
    pub cflags: Vec<String>,
    /// `BUILD`.
    pub build: String,
    /// `CONFIG_H`, as make names it (relative to `dir`).
    pub config_h: String,
    /// `LINK_RUNTIME = 1`.
    pub link_runtime: bool,
    /// `-l` inputs from `MPY_LD_FLAGS` (and `MPY_LD`), in order.
    pub libs: Vec<String>,
    /// The `--externs` linkerscript, if any.
    pub externs: Option<String>,
    /// `--arch-flags` / `ARCH_FLAGS`.
    pub arch_flags: u64,
    /// `--gc-sections` in `MPY_LD_FLAGS` (or `MPY_LD`).
    pub gc_sections: bool,
    /// `MPY_CROSS`, split into words (the `.py` compiler).
    pub mpy_cross: Vec<String>,
    /// `MPY_CROSS_FLAGS`, split into words (`-march=$(ARCH)`...).
    pub mpy_cross_flags: Vec<String>,
    /// `MPY_TOOL`, split into words (`python3 $(MPY_DIR)/tools/mpy-tool.py`).
    pub mpy_tool: Vec<String>,
    /// Where `$(MOD).mpy` goes instead of the project directory (a matrix build's own
    /// directory per arch); `None` for make's place.
    pub output_dir: Option<PathBuf>,
    /// The makefiles make read (`MAKEFILE_LIST`), absolute: a change to one re-evaluates.
    pub makefiles: Vec<PathBuf>,
    /// What make would run (from its dry run); the methods below fall back to
    /// dynruntime.mk's names where it has nothing.
    pub plan: plan::Plan,
}

impl Project {
    /// The project's C sources and local headers: SRC's compiled files plus every `.c`/`.h`
    /// file up to two directory levels down (hidden and `build*` directories left out),
    /// sorted and without repeats.
    pub fn local_c_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self.compiled_sources().map(|s| self.abs(s)).collect();
        let mut dirs = vec![(self.dir.clone(), 0)];
        while let Some((d, depth)) = dirs.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten().map(|e| e.path()) {
                let name = e
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if e.is_dir() {
                    if depth < 2 && !name.starts_with('.') && !name.starts_with("build") {
                        dirs.push((e, depth + 1));
                    }
                } else if name.ends_with(".h") || name.ends_with(".c") {
                    out.push(e);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// `path` (relative to the project) made absolute.
    pub fn abs(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }

    /// The C and assembler sources, in SRC order.
    pub fn compiled_sources(&self) -> impl Iterator<Item = &str> {
        self.sources
            .iter()
            .map(String::as_str)
            .filter(|s| s.ends_with(".c") || s.ends_with(".S"))
    }

    /// Python sources in SRC, in order: compiled by mpy-cross and merged after the native code.
    pub fn python_sources(&self) -> impl Iterator<Item = &str> {
        self.sources
            .iter()
            .map(String::as_str)
            .filter(|s| s.ends_with(".py"))
    }

    /// make's compile of `src`, if its dry run had one.
    fn compile_step(&self, src: &str) -> Option<&plan::CompileStep> {
        self.plan.compiles.iter().find(|c| c.source == src)
    }

    /// The object make builds from `src`: `$(BUILD)/x.o`.
    pub fn object_for(&self, src: &str) -> String {
        if let Some(c) = self.compile_step(src) {
            return c.object.clone();
        }
        let stem = src
            .strip_suffix(".c")
            .or_else(|| src.strip_suffix(".S"))
            .unwrap_or(src);
        format!("{}/{stem}.o", self.build)
    }

    /// The compile command make runs for `src` (without diagnostics flags).
    pub fn compile_args(&self, src: &str) -> Vec<String> {
        if let Some(c) = self.compile_step(src) {
            return c.argv.clone();
        }
        let mut v = vec![self.cc.clone()];
        v.extend(self.cflags.iter().cloned());
        v.extend(["-o".into(), self.object_for(src), "-c".into(), src.into()]);
        v
    }

    /// The objects the link reads, in make's order.
    pub fn link_inputs(&self) -> Vec<String> {
        match &self.plan.link {
            Some(l) if !l.inputs.is_empty() => l.inputs.clone(),
            _ => self
                .compiled_sources()
                .map(|s| self.object_for(s))
                .collect(),
        }
    }

    /// The `.mpy` make compiles `src` (a `.py`) to: `$(BUILD)/x.mpy`.
    pub fn python_mpy_for(&self, src: &str) -> String {
        if let Some(s) = self.plan.pythons.iter().find(|s| s.source == src) {
            return s.output.clone();
        }
        format!(
            "{}/{}.mpy",
            self.build,
            src.strip_suffix(".py").unwrap_or(src)
        )
    }

    /// The link's output as make names it (from make's dry run); without a plan, as
    /// dynruntime.mk names it: v1.23 writes `$(BUILD)/$(MOD).native.mpy`, later ones
    /// `$(BUILD)/$(MOD).mpy` (the newest linker records that file name in the `.mpy`).
    pub fn native_mpy(&self) -> String {
        match &self.plan.link {
            Some(l) => l.output.clone(),
            None => match natmod_linker::Dialect::for_mpy_dir(&self.mpy_dir) {
                natmod_linker::Dialect::V1_23 => {
                    format!("{}/{}.native.mpy", self.build, self.module)
                }
                natmod_linker::Dialect::Newest => format!("{}/{}.mpy", self.build, self.module),
            },
        }
    }

    /// `$(MOD).mpy`, absolute: in [`Project::output_dir`] when set, else where make's merge
    /// writes it.
    pub fn output_mpy(&self) -> PathBuf {
        if let Some(dir) = &self.output_dir {
            return dir.join(format!("{}.mpy", self.module));
        }
        match &self.plan.merge {
            Some(m) => self.dir.join(&m.output),
            None => self.dir.join(format!("{}.mpy", self.module)),
        }
    }
}

#[cfg(test)]
impl Project {
    /// A plain x64 project for unit tests: MOD `m`, SRC `sources`, BUILD `build`, host gcc.
    pub fn sample(dir: &Path, mpy_dir: &Path, sources: &[&str]) -> Project {
        Project {
            dir: dir.to_path_buf(),
            makefile: dir.join("Makefile"),
            module: "m".into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
            arch: "x64".into(),
            mpy_dir: mpy_dir.to_path_buf(),
            cross: String::new(),
            cc: "gcc".into(),
            cflags: Vec::new(),
            build: "build".into(),
            config_h: "build/m.config.h".into(),
            link_runtime: false,
            libs: Vec::new(),
            externs: None,
            arch_flags: 0,
            gc_sections: false,
            mpy_cross: Vec::new(),
            mpy_cross_flags: Vec::new(),
            mpy_tool: Vec::new(),
            output_dir: None,
            makefiles: Vec::new(),
            plan: plan::Plan::default(),
        }
    }
}

/// A problem with a project's set-up, placed on a line of its Makefile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupProblem {
    /// 0-based Makefile line.
    pub line: u32,
    /// What is wrong and what to do.
    pub message: String,
    /// A stable code: `makefile-error`, `missing-mpy-dir`, `missing-compiler`, `make-failed`,
    /// `make-timeout`, `make-output-cut`.
    pub code: &'static str,
    /// Whether to also show it with `window/showMessage`.
    pub show: bool,
}

/// The 0-based line where the Makefile assigns `var` (see [`assignment::line_of`]).
pub use assignment::line_of as assignment_line;

/// The 0-based line of the `include ...dynruntime.mk` line.
pub fn include_line(text: &str) -> Option<u32> {
    text.lines()
        .position(discover::includes_dynruntime)
        .map(|i| i as u32)
}

/// Evaluates the project whose Makefile is `makefile` with the user's overrides, and checks
/// that MPY_DIR and the compiler exist. With the project come the problems that do not stop
/// a build (make printed so much that its output was cut), to show as warnings.
pub fn load(
    makefile: &Path,
    config: &Config,
    cancelled: &dyn Fn() -> bool,
) -> Result<(Project, Vec<SetupProblem>), Vec<SetupProblem>> {
    let dir = makefile.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = makefile
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Makefile".into());
    let text = std::fs::read_to_string(makefile).unwrap_or_default();
    let fallback = include_line(&text).unwrap_or(0);
    let line_of = |var: &str| assignment_line(&text, var).unwrap_or(fallback);
    let overrides = config.make_overrides();
    let evaluated = makefile::evaluate(&dir, &name, &overrides, config.make_timeout, cancelled);
    let evaluation = match evaluated {
        Ok(e) => e,
        Err(EvalError::Run(RunError::NotFound(_))) => {
            return Err(vec![SetupProblem {
                line: 0,
                message: "natmod-lsp: GNU make is not installed (apt-get install make)".into(),
                code: "make-failed",
                show: true,
            }])
        }
        Err(EvalError::Run(RunError::Timeout(_, after))) => {
            return Err(vec![SetupProblem {
                line: 0,
                message: format!(
                    "natmod-lsp: evaluating {name} timed out after {} s, so make (and all it \
                     started) was killed: does a $(shell ...) hang or the Makefile recurse \
                     without end? If it is only slow, raise the natmod.makeTimeoutMs setting",
                    process::secs(after)
                ),
                code: "make-timeout",
                show: true,
            }])
        }
        Err(EvalError::Run(e)) => {
            return Err(vec![SetupProblem {
                line: 0,
                message: format!("natmod-lsp: evaluating the Makefile failed: {e}"),
                code: "make-failed",
                show: false,
            }])
        }
        Err(EvalError::Make(msgs)) => {
            return Err(msgs
                .iter()
                .map(|m| make_problem(m, &dir, &name, &text, fallback))
                .collect())
        }
    };
    let mut project = project_from_vars(&dir, makefile, &evaluation.vars, &line_of)?;
    apply_plan(&mut project, evaluation.plan, &evaluation.vars);
    let mut warnings = Vec::new();
    if evaluation.cut {
        warnings.push(SetupProblem {
            line: 0,
            message: format!(
                "natmod-lsp: make printed more than {} MiB while reading {name} (a $(info) or \
                 $(warning) flood?); only the first and last half MiB were read",
                makefile::MAX_OUTPUT >> 20
            ),
            code: "make-output-cut",
            show: false,
        });
    }
    Ok((project, warnings))
}

/// Places one make message on a Makefile line.
fn make_problem(
    m: &MakeMessage,
    dir: &Path,
    name: &str,
    text: &str,
    fallback: u32,
) -> SetupProblem {
    let ours = m
        .file
        .as_deref()
        .is_some_and(|f| f == name || dir.join(f) == dir.join(name));
    let (line, message) = match (ours, m.line) {
        (true, Some(l)) => (l.saturating_sub(1), m.message.clone()),
        _ => {
            let line = if m.message.contains("architecture") {
                assignment_line(text, "ARCH").unwrap_or(fallback)
            } else {
                fallback
            };
            let loc = match (&m.file, m.line) {
                (Some(f), Some(l)) => format!("{f}:{l}: "),
                _ => String::new(),
            };
            (line, format!("{loc}{}", m.message))
        }
    };
    SetupProblem {
        line,
        message: format!("make: {message}"),
        code: "makefile-error",
        show: false,
    }
}

fn words(vars: &BTreeMap<String, String>, k: &str) -> Result<Vec<String>, String> {
    shell_words::split(vars.get(k).map(String::as_str).unwrap_or(""))
}

/// Builds the model from make's variables and checks MPY_DIR and the compiler.
fn project_from_vars(
    dir: &Path,
    makefile: &Path,
    vars: &BTreeMap<String, String>,
    line_of: &dyn Fn(&str) -> u32,
) -> Result<Project, Vec<SetupProblem>> {
    let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
    let problem = |var: &str, code, message: String, show| SetupProblem {
        line: line_of(var),
        message,
        code,
        show,
    };
    let mpy_dir_raw = get("MPY_DIR");
    let mpy_dir = dir.join(&mpy_dir_raw);
    let mpy_dir = mpy_dir.canonicalize().unwrap_or(mpy_dir);
    if mpy_dir_raw.is_empty() || !mpy_dir.join("py/dynruntime.mk").is_file() {
        let what = if mpy_dir_raw.is_empty() {
            "MPY_DIR is not set".to_string()
        } else if !mpy_dir.exists() {
            format!("MPY_DIR = {mpy_dir_raw} does not exist")
        } else if !mpy_dir.is_dir() {
            format!(
                "MPY_DIR = {mpy_dir_raw} is a file, not a MicroPython tree ({} is not a \
                 directory)",
                mpy_dir.display()
            )
        } else {
            format!(
                "MPY_DIR = {mpy_dir_raw} is not a MicroPython tree ({} has no py/dynruntime.mk)",
                mpy_dir.display()
            )
        };
        return Err(vec![problem(
            "MPY_DIR",
            "missing-mpy-dir",
            format!("natmod-lsp: {what}: set MPY_DIR in the Makefile or the natmod.mpyDir setting"),
            true,
        )]);
    }
    let arch = get("ARCH");
    let cross = get("CROSS");
    let cc = format!("{cross}gcc");
    if find_program(&cc).is_none() {
        return Err(vec![problem(
            "ARCH",
            "missing-compiler",
            toolchain::missing_compiler_message(&cc, &arch),
            true,
        )]);
    }
    let bad_words =
        |var: &str, e: String| vec![problem(var, "makefile-error", format!("{var}: {e}"), false)];
    let cflags = words(vars, "CFLAGS").map_err(|e| bad_words("CFLAGS", e))?;
    let ld_flags = words(vars, "MPY_LD_FLAGS").map_err(|e| bad_words("MPY_LD_FLAGS", e))?;
    let ld = words(vars, "MPY_LD").map_err(|e| bad_words("MPY_LD", e))?;
    let mpy_cross = words(vars, "MPY_CROSS").map_err(|e| bad_words("MPY_CROSS", e))?;
    let mpy_cross_flags =
        words(vars, "MPY_CROSS_FLAGS").map_err(|e| bad_words("MPY_CROSS_FLAGS", e))?;
    let mpy_tool = words(vars, "MPY_TOOL").map_err(|e| bad_words("MPY_TOOL", e))?;
    let mut libs = Vec::new();
    let mut externs = None;
    let mut arch_flags = parse_int(&get("ARCH_FLAGS"));
    let mut gc_sections = false;
    for flags in [&ld[ld.len().min(1)..], &ld_flags[..]] {
        let mut it = flags.iter();
        while let Some(f) = it.next() {
            match f.as_str() {
                "-l" | "--libs" => libs.extend(it.next().cloned()),
                "-e" | "--externs" => externs = it.next().cloned().or(externs),
                "--arch-flags" => arch_flags = it.next().map(|s| parse_int(s)).unwrap_or(0),
                "--gc-sections" => gc_sections = true,
                _ => {
                    if let Some(l) = f.strip_prefix("--libs=").or_else(|| f.strip_prefix("-l")) {
                        libs.push(l.to_string());
                    } else if let Some(e) = f.strip_prefix("--externs=") {
                        externs = Some(e.to_string());
                    }
                }
            }
        }
    }
    let externs = externs
        .or_else(|| Some(get("MPY_EXTERN_SYM_FILE")).filter(|s| !s.is_empty()))
        .or_else(|| Some(get("EXTERN_SYMS")).filter(|s| !s.is_empty()));
    let module = get("MOD");
    if module.is_empty() {
        return Err(vec![problem(
            "MOD",
            "makefile-error",
            "natmod-lsp: MOD (the module name) is not set".into(),
            false,
        )]);
    }
    let build = Some(get("BUILD"))
        .filter(|b| !b.is_empty())
        .unwrap_or("build".into());
    Ok(Project {
        dir: dir.to_path_buf(),
        makefile: makefile.to_path_buf(),
        config_h: Some(get("CONFIG_H"))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| format!("{build}/{module}.config.h")),
        module,
        sources: get("SRC").split_whitespace().map(String::from).collect(),
        arch,
        mpy_dir,
        cross,
        cc,
        cflags,
        build,
        link_runtime: get("LINK_RUNTIME") == "1",
        libs,
        externs,
        arch_flags,
        gc_sections,
        mpy_cross,
        mpy_cross_flags,
        mpy_tool,
        output_dir: None,
        makefiles: Vec::new(),
        plan: plan::Plan::default(),
    })
}

/// Takes what make's dry run says over what the variables suggest: the directory make ran in,
/// the sources after vpath, the link's own `-l`, `--externs`, `--arch-flags` and `--arch`.
fn apply_plan(p: &mut Project, plan: plan::Plan, vars: &BTreeMap<String, String>) {
    // CURDIR comes back as text: where the directory's name is not UTF-8 it is lossy, and the
    // exact path we ran make in stays.
    if let Some(curdir) = vars.get("CURDIR").filter(|c| !c.is_empty()) {
        if *curdir != p.dir.to_string_lossy() && Path::new(curdir).is_dir() {
            p.dir = PathBuf::from(curdir);
        }
    }
    p.makefiles = vars
        .get("MAKEFILE_LIST")
        .map(|l| l.split_whitespace().map(|m| p.dir.join(m)).collect())
        .unwrap_or_default();
    if let Some(inputs) = &plan.config_inputs {
        p.sources = inputs.clone();
    }
    if let Some(l) = &plan.link {
        p.libs = l.libs.clone();
        // (A link command without --externs keeps MPY_EXTERN_SYM_FILE's file, which the
        // knowledge features read even when dynruntime.mk's realpath dropped it.)
        p.externs = l.externs.clone().or(p.externs.take());
        p.arch_flags = l.arch_flags.as_deref().map(parse_int).unwrap_or(0);
        if let Some(a) = &l.arch {
            p.arch = a.clone();
        }
    }
    p.plan = plan;
}

/// Parses `0x..` or decimal; 0 when empty or malformed.
fn parse_int(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(0),
        None => s.parse().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_linker_flags() {
        let dir = std::env::temp_dir();
        let mut vars: BTreeMap<String, String> = makefile::VARS
            .iter()
            .map(|v| (v.to_string(), String::new()))
            .collect();
        let mpy = std::env::temp_dir().join(format!("natmod-lsp-ws-{}", std::process::id()));
        std::fs::create_dir_all(mpy.join("py")).unwrap();
        std::fs::write(mpy.join("py/dynruntime.mk"), "").unwrap();
        vars.insert("MPY_DIR".into(), mpy.display().to_string());
        vars.insert("MOD".into(), "m".into());
        vars.insert("SRC".into(), "a.c  b.S c.py".into());
        vars.insert("MPY_LD".into(), "python3 mpy_ld.py -l /x/libgcc.a".into());
        vars.insert("MPY_LD_FLAGS".into(), "-l/y/libm.a -e \"/z/rom.ld\"".into());
        vars.insert("CFLAGS".into(), "-DX='<a b>'".into());
        let p = project_from_vars(&dir, &dir.join("Makefile"), &vars, &|_| 0).unwrap();
        assert_eq!(p.libs, vec!["/x/libgcc.a", "/y/libm.a"]);
        assert_eq!(p.externs.as_deref(), Some("/z/rom.ld"));
        assert_eq!(p.cflags, vec!["-DX=<a b>"]);
        assert_eq!(p.config_h, "build/m.config.h");
        assert_eq!(p.compiled_sources().collect::<Vec<_>>(), vec!["a.c", "b.S"]);
        assert_eq!(p.object_for("b.S"), "build/b.o");
        assert_eq!(p.python_sources().collect::<Vec<_>>(), vec!["c.py"]);
        assert_eq!(p.python_mpy_for("c.py"), "build/c.mpy");
        assert!(!p.gc_sections);
        vars.insert("MPY_LD_FLAGS".into(), "-l/y/libm.a --gc-sections".into());
        let p = project_from_vars(&dir, &dir.join("Makefile"), &vars, &|_| 0).unwrap();
        assert!(p.gc_sections);
        std::fs::remove_dir_all(&mpy).unwrap();
    }
}
