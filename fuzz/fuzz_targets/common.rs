//! Shared by the fuzz targets: the golden objects, qstrs and externs each architecture links
//! with (compiled in from `../shared/data/golden`, beside the repo), and the arch names that
//! an object's `e_machine` selects.

#![allow(dead_code)]

use natmod_linker::{Dialect, Externs, LinkConfig, ObjectFile};
use std::sync::{Arc, OnceLock};

macro_rules! golden {
    ($($part:expr),+) => {
        include_bytes!(concat!("../../../shared/data/golden/", $($part),+)).as_slice()
    };
}

macro_rules! per_arch {
    ($case:literal, $file:literal) => {
        [
            ("x86", golden!($case, "/x86/", $file)),
            ("x64", golden!($case, "/x64/", $file)),
            ("armv6m", golden!($case, "/armv6m/", $file)),
            ("armv7m", golden!($case, "/armv7m/", $file)),
            ("armv7emsp", golden!($case, "/armv7emsp/", $file)),
            ("armv7emdp", golden!($case, "/armv7emdp/", $file)),
            ("xtensa", golden!($case, "/xtensa/", $file)),
            ("xtensawin", golden!($case, "/xtensawin/", $file)),
            ("rv32imc", golden!($case, "/rv32imc/", $file)),
            ("rv64imc", golden!($case, "/rv64imc/", $file)),
        ]
    };
}

/// `minimal/<arch>/minimal.o`: a known-good module with `mpy_init`, per arch.
const MINIMAL: [(&str, &[u8]); 10] = per_arch!("minimal", "minimal.o");
/// `userlib/<arch>/userlib.o`: a module that needs symbols from `libextra.a` and `libmore.a`.
const USERLIB: [(&str, &[u8]); 10] = per_arch!("userlib", "userlib.o");
/// Golden archives, by the file names a GROUP script may give.
pub const ARCHIVES: [(&str, &[u8]); 2] = [
    ("libextra.a", golden!("userlib/x64/libextra.a")),
    ("libmore.a", golden!("userlib/x64/libmore.a")),
];
const CONFIG_H: &[u8] = golden!("qstrs/x64/config.h");
const EXTERNS: [&[u8]; 2] = [
    golden!("externs/x64/hw.ld"),
    golden!("esp8266_rom/xtensa/esp8266-rom.ld"),
];

/// One architecture's fixed link inputs.
pub struct Golden {
    /// `--arch` name.
    pub arch: &'static str,
    /// `minimal.o`, parsed.
    pub minimal: Arc<ObjectFile>,
    /// `userlib.o`, parsed.
    pub userlib: Arc<ObjectFile>,
}

/// Every architecture's golden inputs, parsed once.
pub fn goldens() -> &'static [Golden] {
    static G: OnceLock<Vec<Golden>> = OnceLock::new();
    G.get_or_init(|| {
        MINIMAL
            .iter()
            .zip(USERLIB.iter())
            .map(|(&(arch, m), &(_, u))| Golden {
                arch,
                minimal: Arc::new(ObjectFile::parse("minimal.o", m).expect("golden minimal.o")),
                userlib: Arc::new(ObjectFile::parse("userlib.o", u).expect("golden userlib.o")),
            })
            .collect()
    })
}

/// The golden inputs of `arch`.
pub fn golden(arch: &str) -> &'static Golden {
    goldens()
        .iter()
        .find(|g| g.arch == arch)
        .expect("known arch")
}

/// The golden `--externs` files (hw.ld and esp8266-rom.ld), parsed once.
pub fn externs() -> &'static [Externs] {
    static E: OnceLock<Vec<Externs>> = OnceLock::new();
    E.get_or_init(|| {
        EXTERNS
            .iter()
            .map(|t| Externs::parse("hw.ld", &String::from_utf8_lossy(t)).expect("golden externs"))
            .collect()
    })
}

/// The arches whose `e_machine` is `machine` (x64 for an unknown machine, to exercise the
/// incompatible-arch path).
pub fn arches_for(machine: u16) -> Vec<&'static str> {
    let names = natmod_linker::arch::names_for_machine(machine);
    if names.is_empty() {
        vec!["x64"]
    } else {
        names
    }
}

/// A link configuration for `arch` with the golden module qstrs.
pub fn config(arch: &str, dialect: Dialect) -> LinkConfig {
    static Q: OnceLock<Vec<String>> = OnceLock::new();
    LinkConfig {
        arch: arch.to_string(),
        dialect,
        qstrs: Q
            .get_or_init(|| natmod_linker::qstr::read_config_h(CONFIG_H))
            .clone(),
        source_name: "fuzz.mpy".into(),
        arch_flags: 0,
        gc_sections: false,
    }
}

/// Checks what a successful link must hold: an `.mpy` 6.x header for the arch.
pub fn check_output(out: &natmod_linker::LinkOutput) {
    assert!(out.mpy.len() >= 4, "mpy too short");
    assert_eq!(out.mpy[0], b'M', "mpy magic");
    assert_eq!(out.mpy[1], 6, "mpy version");
}
