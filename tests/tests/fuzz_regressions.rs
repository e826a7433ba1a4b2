//! Inputs the fuzzers (`fuzz/`) found that crashed the linker, kept byte for byte under
//! `tests/fixtures/fuzz/`: each must now fail with a clean `LinkError` of the right kind, in
//! the library and in `natmod-ld`, and never panic.
//!
//! The ELF reproducers are linked the way the `elf_link` fuzz target links them: alone, after
//! and before the golden `minimal.o` of every arch of their `e_machine`, in both dialects.

use natmod_linker::input::archive::load_lib_bytes;
use natmod_linker::{link, Dialect, ErrorKind, LinkConfig, LinkError, ObjectFile};
use natmod_tests::golden::golden_dir;
use natmod_tests::{natmod_ld, repo_root};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/fuzz").join(name)
}

fn read(name: &str) -> Vec<u8> {
    let p = fixture(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The arches `natmod-ld` accepts for an ELF `e_machine`.
fn arches_for(machine: u16) -> &'static [&'static str] {
    match machine {
        3 => &["x86"],
        62 => &["x64"],
        40 => &["armv6m", "armv7m", "armv7emsp", "armv7emdp"],
        94 => &["xtensa", "xtensawin"],
        243 => &["rv32imc", "rv64imc"],
        m => panic!("fixture with unexpected e_machine {m}"),
    }
}

fn golden_minimal(arch: &str) -> Arc<ObjectFile> {
    let p = golden_dir().join(format!("minimal/{arch}/minimal.o"));
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    Arc::new(ObjectFile::parse("minimal.o", &data).expect("golden minimal.o parses"))
}

fn config(arch: &str, dialect: Dialect) -> LinkConfig {
    LinkConfig {
        arch: arch.into(),
        dialect,
        qstrs: vec![],
        source_name: "fuzz.mpy".into(),
        arch_flags: 0,
    }
}

/// Links `name` the way the `elf_link` fuzz target does, for every arch of its `e_machine` and
/// both dialects: alone (`"alone"`), after (`"after"`) and before (`"before"`) the arch's golden
/// `minimal.o`. Every link must fail (no reproducer is a valid module), and none may panic.
/// Returns each link's description (`"<arch> <order> <dialect>"`) with its errors.
fn link_all_ways(name: &str) -> Vec<(String, Vec<LinkError>)> {
    let obj = Arc::new(ObjectFile::parse(name, &read(name)).expect("the reproducer parses"));
    let mut all = Vec::new();
    for &arch in arches_for(obj.machine) {
        let minimal = golden_minimal(arch);
        for dialect in [Dialect::Newest, Dialect::V1_23] {
            let orders = [
                ("alone", vec![obj.clone()]),
                ("after", vec![minimal.clone(), obj.clone()]),
                ("before", vec![obj.clone(), minimal.clone()]),
            ];
            for (order, objects) in orders {
                let how = format!("{arch} {order} {dialect:?}");
                let failure = link(&config(arch, dialect), objects, &[], None)
                    .err()
                    .unwrap_or_else(|| panic!("{name} links ({how})"));
                assert!(!failure.errors.is_empty(), "{name} ({how}): no error");
                all.push((how, failure.errors));
            }
        }
    }
    all
}

/// Asserts that the links of `name` for `arch` in `order` report an error of `kind` whose text
/// starts with `text` (in both dialects, or only the newest for RISC-V, which v1.23 refuses),
/// and returns those errors.
fn assert_link_fails_with(
    name: &str,
    arch: &str,
    order: &str,
    kind: ErrorKind,
    text: &str,
) -> Vec<LinkError> {
    let mut found = Vec::new();
    for (how, errors) in link_all_ways(name) {
        if !how.starts_with(&format!("{arch} {order} "))
            || (arch.starts_with("rv") && how.ends_with("V1_23"))
        {
            continue;
        }
        let hit = errors
            .iter()
            .find(|e| e.kind == kind && e.to_string().starts_with(text))
            .unwrap_or_else(|| {
                panic!("{name} ({how}): expected {kind:?} {text:?}, got {errors:#?}")
            });
        found.push(hit.clone());
    }
    assert!(!found.is_empty(), "no link of {name} for {arch} {order}");
    found
}

#[test]
fn relocation_past_its_section_is_refused() {
    // Found by `elf_link`: an R_RISCV_PCREL_HI20 whose offset lay far past the end of .text
    // made the patch index past the image (slice index panic in `read_u32`).
    let name = "elf_reloc_offset_past_section.o";
    let e = assert_link_fails_with(
        name,
        "rv32imc",
        "after",
        ErrorKind::BadObject,
        &format!("{name}: relocation at .text+0xfffffffa00002e lies outside its section"),
    );
    assert_eq!(e[0].section.as_deref(), Some(".text"));
    assert_eq!(e[0].offset, Some(0xfffffffa00002e));
}

#[test]
fn relocation_offset_that_overflows_is_refused() {
    // Found by `elf_link`: an r_offset of 2^64-1 overflowed `section address + offset`.
    let name = "elf_reloc_offset_overflow.o";
    assert_link_fails_with(
        name,
        "x64",
        "alone",
        ErrorKind::BadObject,
        &format!("{name}: relocation at .text+0xffffffffffffffff lies outside its section"),
    );
}

#[test]
fn global_defined_twice_in_one_object_is_a_duplicate() {
    // Found by `elf_link`: the duplicate-symbol error looked up the first definition's object,
    // which was the object still being loaded (index out of bounds in `load_object`).
    let name = "elf_duplicate_global_in_one_object.o";
    let e = assert_link_fails_with(
        name,
        "armv6m",
        "alone",
        ErrorKind::DuplicateSymbol,
        &format!("duplicate symbol:  (defined in {name} and {name})"),
    );
    assert_eq!(
        e[0].sites.len(),
        2,
        "both definitions are sites: {:?}",
        e[0]
    );
    assert!(e[0].sites.iter().all(|s| s.object == name), "{:?}", e[0]);
}

#[test]
fn huge_section_alignment_is_refused() {
    // Found by `elf_link` as an out-of-memory: a .text alignment of 1851750753 made the layout
    // pad the text to gigabytes.
    let name = "elf_huge_section_alignment.o";
    assert_link_fails_with(
        name,
        "rv32imc",
        "alone",
        ErrorKind::BadObject,
        &format!("{name}: section .text has an alignment of 1851750753 bytes"),
    );
}

#[test]
fn symbol_value_past_its_section_is_refused() {
    // Found by `elf_link`: st_value 0xffffffffffffffb4 overflowed `section address + value`.
    let name = "elf_symbol_value_past_section.o";
    assert_link_fails_with(
        name,
        "rv32imc",
        "alone",
        ErrorKind::BadObject,
        &format!("{name}: symbol .L68 lies outside its section .text"),
    );
}

#[test]
fn archive_member_past_the_end_is_refused() {
    // Found by `archive`: a member header claiming 752 bytes in a 415-byte archive made
    // `member_data` slice past the end.
    let e = load_lib_bytes("fuzz.a", read("archive_member_past_end.a"), 0)
        .expect_err("a truncated archive is an error");
    assert_eq!(e.kind, ErrorKind::BadArchive);
    assert_eq!(
        e.to_string(),
        "fuzz.a: malformed archive: member crctab.o (752 bytes at offset 172) extends past the end of the archive (415 bytes)"
    );
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("natmod-fuzzreg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `natmod-ld` in `dir`; asserts a clean failure: exit status 1, a `LinkError:` line, no
/// panic, no output file and no temporary left behind.
fn assert_cli_fails_cleanly(dir: &Path, args: &[&str], expect: &str) {
    let o = Command::new(natmod_ld())
        .args(args)
        .current_dir(dir)
        .env_remove("MPY_DIR")
        .env_remove("MAKEFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}\n{stdout}{stderr}");
    assert!(stdout.starts_with("LinkError: "), "{args:?}: {stdout}");
    assert!(stdout.contains(expect), "{args:?}: {stdout}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mpy") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
}

#[test]
fn natmod_ld_fails_cleanly_on_every_reproducer() {
    // (reproducer, arch, linked after minimal.o, expected text)
    let cases: &[(&str, &str, bool, &str)] = &[
        (
            "elf_reloc_offset_past_section.o",
            "rv32imc",
            true,
            "lies outside its section",
        ),
        (
            "elf_reloc_offset_overflow.o",
            "x64",
            false,
            "lies outside its section",
        ),
        (
            "elf_duplicate_global_in_one_object.o",
            "armv6m",
            false,
            "duplicate symbol:",
        ),
        (
            "elf_huge_section_alignment.o",
            "rv32imc",
            false,
            "has an alignment of 1851750753",
        ),
        (
            "elf_symbol_value_past_section.o",
            "rv32imc",
            false,
            "lies outside its section .text",
        ),
    ];
    for &(name, arch, after_minimal, expect) in cases {
        let d = scratch(name);
        std::fs::copy(fixture(name), d.join(name)).unwrap();
        std::fs::copy(
            golden_dir().join(format!("minimal/{arch}/minimal.o")),
            d.join("minimal.o"),
        )
        .unwrap();
        let mut args = vec!["--arch", arch, "-o", "m.mpy"];
        if after_minimal {
            args.push("minimal.o");
        }
        args.push(name);
        assert_cli_fails_cleanly(&d, &args, expect);
        std::fs::remove_dir_all(&d).unwrap();
    }
    let d = scratch("archive");
    std::fs::copy(fixture("archive_member_past_end.a"), d.join("lib.a")).unwrap();
    std::fs::copy(
        golden_dir().join("userlib/x64/userlib.o"),
        d.join("userlib.o"),
    )
    .unwrap();
    assert_cli_fails_cleanly(
        &d,
        &["--arch", "x64", "-l", "lib.a", "-o", "m.mpy", "userlib.o"],
        "extends past the end of the archive",
    );
    std::fs::remove_dir_all(&d).unwrap();
}
