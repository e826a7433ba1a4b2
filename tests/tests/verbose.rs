//! `natmod-ld -vvv` against the newest mpy_ld.py's `-vvv` on the same objects: every section,
//! every GOT entry and every relocation count the reference names is named by ours, and the
//! `.mpy` bytes do not change with the verbosity.

use natmod_tests::ld_cli::{copy_case, run, text};
use natmod_tests::{mpy_dir_newest, require_tool, scratch_dir};
use std::path::Path;
use std::process::Command;

/// What a verbose dump names.
#[derive(Debug, Default, PartialEq)]
struct Dump {
    /// Section names of the `sections:` list, in order.
    sections: Vec<String>,
    /// GOT entry names, in GOT order.
    got: Vec<String>,
    /// Per `OBJECT: SECTION` relocation header, in order: the number of relocations patched.
    relocs: Vec<(String, usize)>,
}

#[derive(Clone, Copy)]
enum Mode {
    None,
    Sections,
    Got,
    Relocs,
}

/// Parses the `sections:`, `GOT:` and `... relocations via ...:` blocks of either tool's
/// output. Lines natmod-ld marks `(not patched` are relocations mpy_ld.py does not log.
/// natmod-ld's headers end in the count, which must match the lines listed.
fn parse(out: &str) -> Dump {
    let mut d = Dump::default();
    let mut mode = Mode::None;
    let mut listed: Option<(usize, usize)> = None;
    let check = |listed: Option<(usize, usize)>| {
        if let Some((said, saw)) = listed {
            assert_eq!(said, saw, "a header's count differs from its lines:\n{out}");
        }
    };
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("  ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match mode {
                Mode::Sections => d.sections.push(words[1].to_string()),
                Mode::Got => d.got.push(words[1].to_string()),
                Mode::Relocs => {
                    if let Some((_, saw)) = listed.as_mut() {
                        *saw += 1;
                    }
                    if !rest.contains("(not patched") {
                        d.relocs.last_mut().unwrap().1 += 1;
                    }
                }
                Mode::None => {}
            }
            continue;
        }
        check(listed.take());
        mode = Mode::None;
        if line == "sections:" {
            mode = Mode::Sections;
        } else if line.starts_with("GOT: ") {
            mode = Mode::Got;
        } else if let Some((key, tail)) = line.split_once(" relocations via ") {
            mode = Mode::Relocs;
            d.relocs.push((key.to_string(), 0));
            if let Some((_, n)) = tail.rsplit_once(": ") {
                listed = Some((n.parse().expect("count after the header"), 0));
            }
        }
    }
    check(listed);
    d
}

/// Runs the newest mpy_ld.py in `dir` with `args`; its stdout.
fn reference(dir: &Path, args: &[&str]) -> String {
    let o = Command::new(require_tool("python3", "python3"))
        .current_dir(dir)
        .arg(mpy_dir_newest().join("tools/mpy_ld.py"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mpy_ld.py failed (needs pyelftools: pip install pyelftools)\n{}",
        text(&o)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn compare(case: &str, arch: &str, objects: &[&str]) {
    let dir = scratch_dir("verbose", format!("{case}_{arch}"));
    copy_case(&format!("{case}/{arch}"), &dir);
    let tree = mpy_dir_newest();
    let mut args = vec!["--arch", arch, "--qstrs", "config.h", "-o", "out.mpy"];
    args.extend_from_slice(objects);

    let reference_text = reference(&dir, &[&["-vvv"], args.as_slice()].concat());
    let reference_mpy = std::fs::read(dir.join("out.mpy")).unwrap();
    let mut ours_text = String::new();
    for v in [None, Some("-v"), Some("-vv"), Some("-vvv")] {
        let mut a = vec!["--mpy-dir", tree.to_str().unwrap()];
        a.extend(v);
        a.extend_from_slice(&args);
        let o = run(&dir, &a);
        assert!(o.status.success(), "{case}/{arch} {v:?}: {}", text(&o));
        let mpy = std::fs::read(dir.join("out.mpy")).unwrap();
        assert_eq!(
            mpy, reference_mpy,
            "{case}/{arch}: the .mpy differs with {v:?}"
        );
        ours_text = String::from_utf8(o.stdout).unwrap();
    }

    let theirs = parse(&reference_text);
    let ours = parse(&ours_text);
    assert!(
        !theirs.sections.is_empty(),
        "nothing parsed:\n{reference_text}"
    );
    assert!(!theirs.got.is_empty(), "no GOT parsed:\n{reference_text}");
    assert!(
        !theirs.relocs.is_empty(),
        "no relocations parsed:\n{reference_text}"
    );
    assert_eq!(
        ours.sections, theirs.sections,
        "{case}/{arch} sections\n{ours_text}"
    );
    assert_eq!(ours.got, theirs.got, "{case}/{arch} GOT\n{ours_text}");
    // The memset/memmove stubs: mpy_ld.py lists no line for their loader record, we do.
    let patched = |d: &Dump| -> Vec<(String, Option<usize>)> {
        d.relocs
            .iter()
            .map(|(k, n)| (k.clone(), (!k.starts_with("<internal>")).then_some(*n)))
            .collect()
    };
    assert_eq!(
        patched(&ours),
        patched(&theirs),
        "{case}/{arch} relocations per section\nours:\n{ours_text}\nmpy_ld.py:\n{reference_text}"
    );
    // And ours says more: every relocation's type, and the symbols at -vvv.
    assert!(ours_text.contains("symbols:"), "{ours_text}");
    assert!(ours_text.contains("loader relocations: "), "{ours_text}");
}

#[test]
fn x64_names_what_mpy_ld_names() {
    compare("multiobj", "x64", &["main.o", "util.o", "tables.o"]);
    compare("memfuncs", "x64", &["memfuncs.o"]);
}

#[test]
fn armv7m_names_what_mpy_ld_names() {
    compare("multiobj", "armv7m", &["main.o", "util.o", "tables.o"]);
}

#[test]
fn xtensa_names_what_mpy_ld_names() {
    compare("multiobj", "xtensa", &["main.o", "util.o", "tables.o"]);
}

#[test]
fn rv32imc_names_what_mpy_ld_names() {
    compare("multiobj", "rv32imc", &["main.o", "util.o", "tables.o"]);
}

#[test]
fn parse_reads_both_formats() {
    let reference =
        "sections:\n  00000000 .text size=4\nGOT: 00000004\n  00000000 f -> .text+00000000\n\
                     a.o: .text relocations via .rela.text:\n  00000000 f -> 00000004\n";
    let ours = "sections:\n  00000000 .text size=4 align=1 text a.o\nGOT: 00000004\n  00000000 f -> .text+00000000\n\
                a.o: .text relocations via .rela.text: 2\n  00000000 R_X f -> GOT f at 00000004\n  00000002 R_Y g -> (not patched: relaxation record)\n";
    let want = Dump {
        sections: vec![".text".into()],
        got: vec!["f".into()],
        relocs: vec![("a.o: .text".into(), 1)],
    };
    assert_eq!(parse(reference), want);
    assert_eq!(parse(ours), want);
}
