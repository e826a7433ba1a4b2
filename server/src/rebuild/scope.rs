//! Where a build may write. Before anything runs, a project must lie inside a workspace
//! folder; after make is evaluated, every place the build writes (`$(BUILD)` with its objects
//! and dependency files, `$(CONFIG_H)`, `$(MOD).mpy`, `compile_commands.json`) is resolved
//! through symlinks and checked:
//!
//! - outside the workspace folders and MPY_DIR: an error on the Makefile line of the variable
//!   responsible, and the build writes nothing;
//! - inside them but outside the project's own places (`$(BUILD)` under the project directory,
//!   config.h under `$(BUILD)` or the project, `$(MOD).mpy` in the project directory): a
//!   warning saying where the files go, and the build goes on.
//!
//! Files the server writes itself (config.h, the `.mpy` files, compile_commands.json) are
//! replaced by rename, so a symlink in their place is replaced, never written through; only
//! their directory counts. Objects are written by gcc, which follows a symlink, so a symlinked
//! object counts by its target.

use crate::diag::Severity;
use crate::workspace::Project;
use std::path::{Component, Path, PathBuf};

/// A problem with where a build would write, for the Makefile line assigning `var`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProblem {
    /// The make variable that decides the path (`BUILD`, `CONFIG_H`, `MOD`).
    pub var: &'static str,
    /// Error (nothing is written) or warning (written, but the user is told where).
    pub severity: Severity,
    /// What is written where, and why it is refused or worth knowing.
    pub message: String,
}

/// The directories a project's build may write under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteScope {
    /// The project directory, resolved.
    project: PathBuf,
    /// Workspace folders holding the project, then MPY_DIR, resolved.
    roots: Vec<PathBuf>,
}

/// `path` made absolute with symlinks resolved component by component, as far as it exists
/// (a dangling symlink counts by where it points, since writing through it creates that
/// file); the missing rest is taken as written (`..` there removes the component before it,
/// as it will once the directories are created). A symlink in the last component is followed
/// only when `follow_last`. A symlink loop stops resolving where it is.
pub fn resolve(path: &Path, follow_last: bool) -> PathBuf {
    let start = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    };
    let mut hops = 0;
    resolve_from(start, path, follow_last, &mut hops)
}

/// How many symlinks [`resolve`] follows before giving up (the kernel's limit).
const MAX_HOPS: u32 = 40;

fn resolve_from(mut out: PathBuf, path: &Path, follow_last: bool, hops: &mut u32) -> PathBuf {
    let comps: Vec<Component> = path.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        match comp {
            Component::Prefix(_) | Component::RootDir => out.push(comp),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                let last = i + 1 == comps.len();
                if last && !follow_last {
                    continue;
                }
                let Ok(target) = std::fs::read_link(&out) else {
                    continue;
                };
                if *hops >= MAX_HOPS {
                    continue;
                }
                *hops += 1;
                out.pop();
                out = resolve_from(out, &target, true, hops);
            }
        }
    }
    out
}

impl WriteScope {
    /// The scope of the project in `dir` within `workspace` folders; `None` when no folder
    /// holds it (then nothing may run for it). With no folders at all (a client without a
    /// workspace, or `natmod-lsp check`), the project directory is the workspace.
    pub fn for_project(dir: &Path, workspace: &[PathBuf]) -> Option<WriteScope> {
        let project = resolve(dir, true);
        let roots: Vec<PathBuf> = if workspace.is_empty() {
            vec![project.clone()]
        } else {
            workspace
                .iter()
                .map(|w| resolve(w, true))
                .filter(|w| project.starts_with(w))
                .collect()
        };
        (!roots.is_empty()).then_some(WriteScope { project, roots })
    }

    /// Whether `resolved` lies under a workspace folder or `mpy_dir`.
    fn allowed(&self, resolved: &Path, mpy_dir: &Path) -> bool {
        self.roots.iter().any(|r| resolved.starts_with(r)) || resolved.starts_with(mpy_dir)
    }

    /// Checks every place a build of `p` writes; errors mean the build must not write.
    pub fn check(&self, p: &Project) -> Vec<ScopeProblem> {
        let mpy_dir = resolve(&p.mpy_dir, true);
        let build = resolve(&p.abs(&p.build), true);
        let mut out = Vec::new();
        let mut refuse = |var, what: &str, shown: &str, resolved: &Path| {
            let via = if Path::new(shown) == resolved {
                String::new()
            } else {
                format!(" (that is, {})", resolved.display())
            };
            out.push(ScopeProblem {
                var,
                severity: Severity::Error,
                message: format!(
                    "natmod-lsp: {var} puts {what} at {shown}{via}, outside the workspace and \
                     MPY_DIR: nothing is written there; point {var} inside the project"
                ),
            });
        };
        let mut targets: Vec<(&'static str, String, PathBuf, PathBuf)> = vec![
            (
                "BUILD",
                "the build directory".into(),
                p.abs(&p.build),
                build.clone(),
            ),
            (
                "CONFIG_H",
                "the qstr header".into(),
                p.abs(&p.config_h),
                resolve(&p.abs(&p.config_h), false),
            ),
            (
                "MOD",
                "the module".into(),
                p.output_mpy(),
                resolve(&p.output_mpy(), false),
            ),
            (
                if p.module.contains('/') {
                    "MOD"
                } else {
                    "BUILD"
                },
                "the native module".into(),
                p.abs(&p.native_mpy()),
                resolve(&p.abs(&p.native_mpy()), false),
            ),
        ];
        for src in p.compiled_sources() {
            let obj = p.abs(&p.object_for(src));
            let resolved = resolve(&obj, true);
            targets.push(("BUILD", format!("the object of {src}"), obj, resolved));
            let dep = super::deps::depfile(p, src);
            let resolved = resolve(&dep, true);
            targets.push((
                "BUILD",
                format!("the dependency file of {src}"),
                dep,
                resolved,
            ));
        }
        for src in p.python_sources() {
            let out_mpy = p.abs(&p.python_mpy_for(src));
            let resolved = resolve(&out_mpy, true);
            targets.push(("BUILD", format!("the compiled {src}"), out_mpy, resolved));
        }
        for (var, what, shown, resolved) in &targets {
            if !self.allowed(resolved, &mpy_dir) {
                refuse(var, what, &shown.display().to_string(), resolved);
            }
        }
        if out.is_empty() {
            out.extend(self.outside_project(p, &build));
        }
        out
    }

    /// Warnings for writes that stay in the workspace but leave the project's own places.
    fn outside_project(&self, p: &Project, build: &Path) -> Vec<ScopeProblem> {
        let mut out = Vec::new();
        let mut warn = |var, message: String| {
            out.push(ScopeProblem {
                var,
                severity: Severity::Warning,
                message,
            })
        };
        if !build.starts_with(&self.project) {
            warn(
                "BUILD",
                format!(
                    "natmod-lsp: BUILD = {} is outside the project: objects and {} are \
                     written to {}",
                    p.build,
                    p.native_mpy(),
                    build.display()
                ),
            );
        }
        let config_h = resolve(&p.abs(&p.config_h), false);
        if !config_h.starts_with(build) && !config_h.starts_with(&self.project) {
            warn(
                "CONFIG_H",
                format!(
                    "natmod-lsp: CONFIG_H = {} is outside the project and BUILD: the qstr \
                     header is written to {}",
                    p.config_h,
                    config_h.display()
                ),
            );
        }
        let output = resolve(&p.output_mpy(), false);
        if output.parent() != Some(self.project.as_path()) {
            warn(
                "MOD",
                format!(
                    "natmod-lsp: MOD = {} puts the module outside the project directory: it \
                     is written to {}",
                    p.module,
                    output.display()
                ),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir()
            .join(format!("natmod-scope-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.canonicalize().unwrap()
    }

    fn project(dir: &Path, mpy_dir: &Path) -> Project {
        Project::sample(dir, mpy_dir, &["m.c", "p.py"])
    }

    #[test]
    fn resolves_missing_tails_and_dot_dots_lexically() {
        let d = scratch("resolve");
        assert_eq!(resolve(&d.join("a/b/../c"), true), d.join("a/c"));
        assert_eq!(
            resolve(&d.join("a/../../x"), true),
            d.parent().unwrap().join("x")
        );
        std::fs::create_dir_all(d.join("real")).unwrap();
        symlink(d.join("real"), d.join("link")).unwrap();
        assert_eq!(resolve(&d.join("link/f.o"), true), d.join("real/f.o"));
        symlink("/etc/hostname", d.join("real/out.mpy")).unwrap();
        assert_eq!(
            resolve(&d.join("link/out.mpy"), false),
            d.join("real/out.mpy")
        );
        assert_eq!(
            resolve(&d.join("link/out.mpy"), true),
            Path::new("/etc/hostname").canonicalize().unwrap()
        );
    }

    #[test]
    fn a_project_outside_every_workspace_folder_has_no_scope() {
        let ws = scratch("ws");
        let elsewhere = scratch("elsewhere");
        assert!(WriteScope::for_project(&elsewhere, std::slice::from_ref(&ws)).is_none());
        assert!(WriteScope::for_project(&ws.join("p"), std::slice::from_ref(&ws)).is_some());
        assert!(WriteScope::for_project(&elsewhere, &[]).is_some());
    }

    #[test]
    fn the_usual_layout_is_quiet() {
        let ws = scratch("quiet");
        let mpy = scratch("quiet-mpy");
        let p = project(&ws.join("proj"), &mpy);
        let scope = WriteScope::for_project(&p.dir, std::slice::from_ref(&ws)).unwrap();
        assert_eq!(scope.check(&p), Vec::new());
    }

    #[test]
    fn writes_outside_the_workspace_are_refused_and_name_their_variable() {
        let ws = scratch("refuse");
        let mpy = scratch("refuse-mpy");
        let outside = scratch("refuse-outside");
        let dir = ws.join("proj");
        std::fs::create_dir_all(&dir).unwrap();
        let scope = WriteScope::for_project(&dir, std::slice::from_ref(&ws)).unwrap();

        let mut p = project(&dir, &mpy);
        p.build = outside.join("b").display().to_string();
        p.config_h = format!("{}/m.config.h", p.build);
        let problems = scope.check(&p);
        assert!(problems.iter().all(|e| e.severity == Severity::Error));
        assert!(problems.iter().any(|e| e.var == "BUILD"), "{problems:?}");
        assert!(problems.iter().any(|e| e.var == "CONFIG_H"), "{problems:?}");

        let mut p = project(&dir, &mpy);
        p.module = "../../../../../../../../tmp/m".into();
        let problems = scope.check(&p);
        assert_eq!(
            problems.len(),
            2,
            "the module and the native module: {problems:?}"
        );
        assert!(problems.iter().all(|e| e.var == "MOD"), "{problems:?}");

        // A build directory that is a symlink out of the workspace counts by its target.
        let p = project(&dir, &mpy);
        symlink(&outside, dir.join("build")).unwrap();
        let problems = scope.check(&p);
        assert!(
            problems.iter().any(|e| e.var == "BUILD"
                && e.message
                    .contains(&format!("(that is, {}", outside.display()))),
            "{problems:?}"
        );
        std::fs::remove_file(dir.join("build")).unwrap();

        // An object symlinked out is followed by gcc, so it is refused; a symlinked .mpy is
        // replaced by rename, so it is not.
        std::fs::create_dir_all(dir.join("build")).unwrap();
        symlink(outside.join("m.o"), dir.join("build/m.o")).unwrap();
        symlink(outside.join("m.mpy"), dir.join("m.mpy")).unwrap();
        let problems = scope.check(&p);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.contains("object of m.c"),
            "{problems:?}"
        );
    }

    #[test]
    fn writes_inside_the_workspace_but_outside_the_project_are_warned_about() {
        let ws = scratch("warn");
        let mpy = scratch("warn-mpy");
        let dir = ws.join("proj");
        std::fs::create_dir_all(&dir).unwrap();
        let scope = WriteScope::for_project(&dir, std::slice::from_ref(&ws)).unwrap();
        let mut p = project(&dir, &mpy);
        p.build = "../shared-build".into();
        p.config_h = "../shared-build/m.config.h".into();
        p.module = "../m".into();
        let problems = scope.check(&p);
        let vars: Vec<_> = problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, ["BUILD", "MOD"], "{problems:?}");
        assert!(problems.iter().all(|e| e.severity == Severity::Warning));
        assert!(problems[0]
            .message
            .contains(&ws.join("shared-build").display().to_string()));

        // MPY_DIR is a place builds may write (examples built inside the tree).
        let mut p = project(&dir, &mpy);
        p.build = mpy.join("build").display().to_string();
        p.config_h = format!("{}/m.config.h", p.build);
        let problems = scope.check(&p);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].severity, Severity::Warning);
    }
}
