//! Inputs the fuzzers (`fuzz/`) found that crashed the linker, kept byte for byte under
//! `tests/fixtures/fuzz/`: each must now fail with a clean `LinkError` of the right kind, in
//! the library and in `natmod-ld`, and never panic. The `lsp_*` ones are client byte streams
//! that stopped the language server; `natmod-lsp` must now answer them to the end.
//!
//! The ELF reproducers are linked the way the `elf_link` fuzz target links them: alone, after
//! and before the golden `minimal.o` of every arch of their `e_machine`, in both dialects.

use natmod_linker::input::archive::load_lib_bytes;
use natmod_linker::{link, Dialect, ErrorKind, LinkConfig, LinkError, ObjectFile};
use natmod_tests::golden::golden_dir;
use natmod_tests::ld_cli::{assert_fails_cleanly, scratch};
use natmod_tests::{natmod_lsp, repo_root};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/fuzz").join(name)
}

fn read(name: &str) -> Vec<u8> {
    let p = fixture(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The arches `natmod-ld` accepts for an ELF `e_machine`.
fn arches_for(machine: u16) -> Vec<&'static str> {
    let names = natmod_linker::arch::names_for_machine(machine);
    assert!(
        !names.is_empty(),
        "fixture with unexpected e_machine {machine}"
    );
    names
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
        gc_sections: false,
    }
}

/// Links `name` the way the `elf_link` fuzz target does, for every arch of its `e_machine` and
/// both dialects: alone (`"alone"`), after (`"after"`) and before (`"before"`) the arch's golden
/// `minimal.o`. Every link must fail (no reproducer is a valid module), and none may panic.
/// Returns each link's description (`"<arch> <order> <dialect>"`) with its errors.
fn link_all_ways(name: &str) -> Vec<(String, Vec<LinkError>)> {
    let obj = Arc::new(ObjectFile::parse(name, &read(name)).expect("the reproducer parses"));
    let mut all = Vec::new();
    for arch in arches_for(obj.machine) {
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
    let e = load_lib_bytes("fuzz.a", read("archive_member_past_end.a"))
        .expect_err("a truncated archive is an error");
    assert_eq!(e.kind, ErrorKind::BadArchive);
    assert_eq!(
        e.to_string(),
        "fuzz.a: malformed archive: member crctab.o (752 bytes at offset 172) extends past the end of the archive (415 bytes)"
    );
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
        assert_fails_cleanly(&d, &args, expect);
        std::fs::remove_dir_all(&d).unwrap();
    }
    let d = scratch("archive");
    std::fs::copy(fixture("archive_member_past_end.a"), d.join("lib.a")).unwrap();
    std::fs::copy(
        golden_dir().join("userlib/x64/userlib.o"),
        d.join("userlib.o"),
    )
    .unwrap();
    assert_fails_cleanly(
        &d,
        &["--arch", "x64", "-l", "lib.a", "-o", "m.mpy", "userlib.o"],
        "extends past the end of the archive",
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Runs `natmod-lsp` (untrusted) with the fixture `name` as its whole standard input; returns
/// the messages it wrote before exiting by itself at the end of its input.
fn lsp_session(name: &str) -> Vec<Value> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new(natmod_lsp())
        .stdin(std::fs::File::open(fixture(name)).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start natmod-lsp");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("natmod-lsp did not exit at the end of {name}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{name}: natmod-lsp {status}");
    let out = reader.join().unwrap().unwrap();
    let mut msgs = Vec::new();
    let mut rest = &out[..];
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let header = std::str::from_utf8(&rest[..end]).unwrap();
        let len: usize = header
            .strip_prefix("Content-Length: ")
            .unwrap()
            .parse()
            .unwrap();
        msgs.push(serde_json::from_slice(&rest[end + 4..end + 4 + len]).unwrap());
        rest = &rest[end + 4 + len..];
    }
    msgs
}

#[test]
fn lsp_message_with_a_duplicate_key_does_not_stop_the_server() {
    // A body with `"params"` twice: serde_json's `Value` keeps the last, so the transport
    // passed it on, but tower-lsp-server's decoder refuses duplicate fields and then stopped
    // reading for good: the request after it (`"id": "s8"`) was never answered.
    let msgs = lsp_session("lsp_duplicate_key.bin");
    assert!(
        msgs.iter()
            .any(|m| m["id"].is_null() && m["error"]["code"] == -32600),
        "the duplicate-key body is an Invalid Request: {msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m["id"] == "s8"),
        "the request after it is answered: {msgs:?}"
    );
}
