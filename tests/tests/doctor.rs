//! `natmod-lsp doctor`: every arch's compiler and version, MPY_DIR and its version, make;
//! a toolchain missing from PATH is named with its Debian package and the exit code says
//! which arches can build.
//!
//! Needs (scripts/provision.sh): make and the cross compilers of every arch, and the newest
//! MicroPython tree.

use natmod_tests::{
    copy_module, describe_output, mpy_dir_newest, natmod_lsp, path_without, require_tool,
    scratch_dir,
};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn doctor(dir: &Path, path: Option<&str>, extra: &[&str]) -> Output {
    let mut c = Command::new(natmod_lsp());
    c.arg("doctor")
        .arg(dir)
        .arg("--mpy-dir")
        .arg(mpy_dir_newest())
        .args(["--var", "xtensawin:CROSS=xtensa-lx106-elf-"])
        .args(extra)
        .env_remove("MAKEFLAGS");
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().expect("run natmod-lsp doctor")
}

fn arch<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["arches"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["arch"] == name))
        .unwrap_or_else(|| panic!("no {name} in {v:#}"))
}

#[test]
fn doctor_lists_every_compiler_and_names_the_package_of_a_missing_one() {
    for (tool, pkg) in [
        ("make", "make"),
        ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
        ("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf"),
        ("xtensa-lx106-elf-gcc", "gcc-xtensa-lx106"),
        ("i686-linux-gnu-gcc", "gcc-i686-linux-gnu"),
        ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
    ] {
        require_tool(tool, pkg);
    }
    let dir = scratch_dir("doctor", "factorial");
    copy_module("examples/factorial", &dir);

    let out = doctor(&dir, None, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["micropython"], "1.29.0");
    assert_eq!(v["mpy_version"], "6.3");
    assert_eq!(v["buildable"].as_array().unwrap().len(), 10, "{v:#}");
    assert_eq!(
        arch(&v, "armv6m")["compiler"]["program"],
        "arm-none-eabi-gcc"
    );
    assert_eq!(
        arch(&v, "rv32imc")["compiler"]["program"],
        "riscv64-unknown-elf-gcc"
    );
    let version = arch(&v, "armv6m")["compiler"]["version"].as_str().unwrap();
    assert!(version.starts_with("arm-none-eabi-gcc"), "{version}");
    assert!(
        v["tools"][0]["version"].as_str().unwrap().contains("Make"),
        "{v:#}"
    );

    let path = path_without("arm-none-eabi-");
    let out = doctor(&dir, Some(&path), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some arches can build: {}",
        describe_output(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for a in ["armv6m", "armv7m", "armv7emsp", "armv7emdp"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{a} ")))
            .unwrap_or_else(|| panic!("no {a} line:\n{text}"));
        assert!(
            line.contains("missing-toolchain")
                && line.contains("apt-get install gcc-arm-none-eabi"),
            "{line}"
        );
    }
    assert!(
        text.contains("6 of 10 arches can build: x86, x64, xtensa, xtensawin, rv32imc, rv64imc"),
        "{text}"
    );

    // Only arm arches asked for, none installed: nothing can build.
    let out = doctor(&dir, Some(&path), &["--arch", "armv6m,armv7m"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe_output(&out));
}
