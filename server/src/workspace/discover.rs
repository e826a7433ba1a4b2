//! Finding natmod projects: directories whose Makefile includes `$(MPY_DIR)/py/dynruntime.mk`,
//! itself or through makefiles it includes (`include ../common.mk`).
//!
//! This only looks for include lines (a cheap filter for the workspace walk); what the
//! Makefile means is always asked of GNU make.

use super::include_vars::{Vars, UNKNOWN};
use std::path::{Path, PathBuf};

/// Makefile names GNU make tries, in its order.
const MAKEFILE_NAMES: [&str; 3] = ["GNUmakefile", "makefile", "Makefile"];
/// How deep below a workspace folder to look.
const MAX_DEPTH: usize = 8;
/// Stop after visiting this many directories per folder.
const MAX_DIRS: usize = 20_000;
/// Stop after reading this many directory entries per folder (a directory of a million files
/// costs as much as a million directories).
const MAX_ENTRIES: usize = 200_000;

/// How deep `include`s are followed looking for dynruntime.mk.
const MAX_INCLUDE_DEPTH: usize = 4;

/// The operands of Makefile text's `include` lines (`include`, `-include`, `sinclude`).
fn include_operands(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|l| {
        let l = l.trim_start();
        let rest = l
            .strip_prefix("-include")
            .or_else(|| l.strip_prefix("sinclude"))
            .or_else(|| l.strip_prefix("include"))?;
        rest.starts_with([' ', '\t'])
            .then(|| rest.split('#').next().unwrap_or("").trim())
    })
}

/// Whether Makefile text has an `include` line naming `py/dynruntime.mk`.
pub fn includes_dynruntime(text: &str) -> bool {
    include_operands(text).any(|r| r.contains("dynruntime.mk"))
}

/// Whether the makefile `path` includes dynruntime.mk, itself or through the makefiles it
/// includes (relative to `dir`, where make runs), up to [`MAX_INCLUDE_DEPTH`] deep. Include
/// operands with variables are expanded from the chain's own assignments ([`Vars`]).
fn reaches_dynruntime(path: &Path, dir: &Path, depth: usize, vars: &mut Vars) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    if includes_dynruntime(&text) {
        return true;
    }
    vars.record(&text);
    if depth >= MAX_INCLUDE_DEPTH {
        return false;
    }
    let operands: Vec<String> = include_operands(&text)
        .map(|o| vars.expand(o, path, dir))
        .collect();
    if operands.iter().any(|o| o.contains("dynruntime.mk")) {
        return true;
    }
    operands
        .iter()
        .flat_map(|o| o.split_whitespace())
        .filter(|f| !f.contains(UNKNOWN))
        .map(|f| dir.join(f))
        .filter(|f| f.is_file())
        .any(|f| reaches_dynruntime(&f, dir, depth + 1, vars))
}

/// The Makefile GNU make would read in `dir`, if `dir` is a natmod project.
pub fn natmod_makefile(dir: &Path) -> Option<PathBuf> {
    let mf = MAKEFILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())?;
    reaches_dynruntime(&mf, dir, 0, &mut Vars::default()).then_some(mf)
}

/// The natmod Makefile of the nearest project directory holding `file`.
pub fn project_for_file(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .take(MAX_DEPTH + 1)
        .find_map(natmod_makefile)
}

fn skip_dir(name: &str) -> bool {
    name.starts_with('.') || name.starts_with("build") || name == "target" || name == "node_modules"
}

/// Every natmod project Makefile under `root` (breadth first, sorted). Bounded: at most
/// [`MAX_DEPTH`] levels, [`MAX_DIRS`] directories and [`MAX_ENTRIES`] entries; hidden,
/// `build*`, `target` and `node_modules` directories are skipped, and symbolic links are not
/// followed (so a link loop costs nothing). Only reads Makefiles: nothing is evaluated.
pub fn find_projects(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut level = vec![root.to_path_buf()];
    let (mut dirs, mut entries) = (0, 0);
    'walk: for _ in 0..=MAX_DEPTH {
        let mut next = Vec::new();
        for dir in level {
            dirs += 1;
            if dirs > MAX_DIRS {
                break 'walk;
            }
            if let Some(mf) = natmod_makefile(&dir) {
                found.push(mf);
            }
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut subs = Vec::new();
            for e in rd.flatten() {
                entries += 1;
                if entries > MAX_ENTRIES {
                    break 'walk;
                }
                // The entry's own type: a symbolic link to a directory is not a directory.
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if is_dir && !skip_dir(&e.file_name().to_string_lossy()) {
                    subs.push(e.path());
                }
            }
            subs.sort();
            next.extend(subs);
        }
        level = next;
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_include_line() {
        assert!(includes_dynruntime(
            "MOD = x\ninclude $(MPY_DIR)/py/dynruntime.mk\n"
        ));
        assert!(includes_dynruntime("-include\t$(MPY_DIR)/py/dynruntime.mk"));
        assert!(!includes_dynruntime(
            "# include $(MPY_DIR)/py/dynruntime.mk"
        ));
        assert!(!includes_dynruntime("include common.mk"));
    }

    #[test]
    fn follows_includes_to_dynruntime() {
        let root = std::env::temp_dir().join(format!("natmod-lsp-incl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("mod")).unwrap();
        std::fs::create_dir_all(root.join("other")).unwrap();
        std::fs::write(
            root.join("common.mk"),
            "include $(MPY_DIR)/py/dynruntime.mk\n",
        )
        .unwrap();
        std::fs::write(root.join("mod/Makefile"), "MOD = m\ninclude ../common.mk\n").unwrap();
        std::fs::write(root.join("loop.mk"), "include loop.mk\n").unwrap();
        std::fs::write(root.join("other/Makefile"), "include ../loop.mk\n").unwrap();
        assert_eq!(
            natmod_makefile(&root.join("mod")),
            Some(root.join("mod/Makefile"))
        );
        assert_eq!(natmod_makefile(&root.join("other")), None);
        // Through variables: TOP set in the Makefile, DYN naming dynruntime.mk behind MPY_DIR
        // (from the environment), the makefile's own directory.
        std::fs::create_dir_all(root.join("vars")).unwrap();
        std::fs::write(
            root.join("natmod.mk"),
            "DYN = $(MPY_DIR)/py/dynruntime.mk\ninclude $(DYN)\n",
        )
        .unwrap();
        std::fs::write(
            root.join("vars/Makefile"),
            "TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)\ninclude $(TOP)/natmod.mk\n",
        )
        .unwrap();
        assert_eq!(
            natmod_makefile(&root.join("vars")),
            Some(root.join("vars/Makefile"))
        );
        std::fs::write(root.join("vars/Makefile"), "include $(NOWHERE)/natmod.mk\n").unwrap();
        assert_eq!(natmod_makefile(&root.join("vars")), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_walk_skips_build_dirs_and_symlink_loops() {
        let root = std::env::temp_dir().join(format!("natmod-lsp-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mk = "MOD = m\ninclude $(MPY_DIR)/py/dynruntime.mk\n";
        for d in ["a", "b/c", "node_modules/x", "build/y", ".git/z"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            std::fs::write(root.join(d).join("Makefile"), mk).unwrap();
        }
        std::os::unix::fs::symlink(&root, root.join("b/loop")).unwrap();
        std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
        let found = find_projects(&root);
        assert_eq!(
            found,
            vec![root.join("a/Makefile"), root.join("b/c/Makefile")]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
