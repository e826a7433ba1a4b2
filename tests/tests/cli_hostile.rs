//! Hostile inputs to `natmod-ld`, each a clear `LinkError` (or a correct link) and never a
//! crash, a hang or a partial output: GROUP scripts that name each other in a loop or fan
//! out, a huge archive, an archive index that claims more than the file holds, ELF section
//! headers with huge sizes or offsets past the end of the file, a symlinked output path.

use natmod_linker::Archive;
use natmod_tests::golden::golden_dir;
use natmod_tests::ld_cli::{assert_fails_cleanly, copy_case, run, scratch, text};
use std::collections::BTreeMap;

/// The arch and qstr arguments of the x64 golden links used here.
const X64: [&str; 4] = ["--arch", "x64", "--qstrs", "config.h"];

/// userlib's link with `-l` inputs `libs` (in order), writing `out`.
fn userlib_args<'a>(libs: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut v = X64.to_vec();
    for l in libs {
        v.extend(["-l", l]);
    }
    v.extend(["-o", out, "userlib.o"]);
    v
}

/// The reference output `name` of golden case `case`'s default link.
fn golden_output(case: &str, name: &str) -> Vec<u8> {
    std::fs::read(golden_dir().join(case).join("expected/default").join(name)).unwrap()
}

#[test]
fn group_scripts_that_name_each_other_are_a_loop_error() {
    let d = scratch("group_loop");
    copy_case("userlib/x64", &d);
    std::fs::write(d.join("a.ld"), "GROUP ( libextra.a b.ld )\n").unwrap();
    std::fs::write(d.join("b.ld"), "/* back */ GROUP ( libmore.a ./a.ld )\n").unwrap();
    assert_fails_cleanly(
        &d,
        &userlib_args(&["a.ld"], "m.mpy"),
        "GROUP scripts name each other in a loop: a.ld -> b.ld -> ./a.ld",
    );
    std::fs::write(d.join("self.ld"), "GROUP(self.ld)\n").unwrap();
    assert_fails_cleanly(
        &d,
        &userlib_args(&["self.ld"], "m.mpy"),
        "loop: self.ld -> self.ld",
    );
}

#[test]
fn group_scripts_that_fan_out_are_cut_off() {
    // g0 names g1 ten times, g1 names g2 ten times... : 10^12 files if followed.
    let d = scratch("group_fan");
    copy_case("userlib/x64", &d);
    for i in 0..12 {
        let next = format!("g{}.ld ", i + 1);
        std::fs::write(
            d.join(format!("g{i}.ld")),
            format!("GROUP( {} )", next.repeat(10)),
        )
        .unwrap();
    }
    std::fs::write(d.join("g12.ld"), "GROUP( libextra.a )").unwrap();
    assert_fails_cleanly(
        &d,
        &userlib_args(&["g0.ld", "libmore.a"], "m.mpy"),
        "GROUP scripts name more than 256 files in all",
    );
    // A deep chain without a loop is cut off too, naming the chain.
    for i in 0..20 {
        std::fs::write(d.join(format!("c{i}.ld")), format!("GROUP(c{}.ld)", i + 1)).unwrap();
    }
    assert_fails_cleanly(
        &d,
        &userlib_args(&["c0.ld"], "m.mpy"),
        "GROUP scripts nest more than 16 deep: c0.ld -> c1.ld",
    );
}

/// A GNU `ar` archive of `members` (name, bytes) with a symbol index of `symbols`
/// (name, member position).
fn write_archive(members: &[(String, &[u8])], symbols: &[(String, usize)]) -> Vec<u8> {
    let header = |name: &str, size: usize| {
        let h = format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, 644);
        assert_eq!(h.len(), 60);
        h.into_bytes()
    };
    let names_len: usize = symbols.iter().map(|(s, _)| s.len() + 1).sum();
    let index_size = 4 + 4 * symbols.len() + names_len;
    let first = 8 + 60 + index_size + index_size % 2;
    let mut offsets = Vec::new();
    let mut at = first;
    for (_, data) in members {
        offsets.push(at);
        at += 60 + data.len() + data.len() % 2;
    }
    let mut out = b"!<arch>\n".to_vec();
    out.extend(header("/", index_size));
    out.extend((symbols.len() as u32).to_be_bytes());
    for (_, m) in symbols {
        out.extend((offsets[*m] as u32).to_be_bytes());
    }
    for (s, _) in symbols {
        out.extend(s.as_bytes());
        out.push(0);
    }
    if index_size % 2 == 1 {
        out.push(b'\n');
    }
    for (name, data) in members {
        out.extend(header(&format!("{name}/"), data.len()));
        out.extend(*data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn a_huge_archive_links_like_the_small_one() {
    const FILLERS: usize = 20_000;
    let d = scratch("huge_archive");
    copy_case("userlib/x64", &d);
    let small = std::fs::read(d.join("libextra.a")).unwrap();
    let lib = Archive::parse("libextra.a", small).unwrap();
    let data: Vec<Vec<u8>> = (0..lib.members.len())
        .map(|i| lib.member_data(i).to_vec())
        .collect();
    let mut members: Vec<(String, &[u8])> = lib
        .members
        .iter()
        .zip(&data)
        .map(|(m, b)| (m.name.clone(), b.as_slice()))
        .collect();
    let mut symbols: Vec<(String, usize)> = lib
        .symbols
        .iter()
        .map(|(s, m)| (s.clone(), *m))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    for i in 0..FILLERS {
        members.push((format!("f{i}.o"), data[0].as_slice()));
        symbols.push((format!("filler_symbol_{i}"), lib.members.len() + i));
    }
    let big = write_archive(&members, &symbols);
    assert!(big.len() > 10 << 20, "{} bytes", big.len());
    std::fs::write(d.join("libhuge.a"), &big).unwrap();

    let o = run(
        &d,
        &userlib_args(&["libhuge.a", "libmore.a"], "userlib.mpy"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = golden_output("userlib/x64", "userlib.mpy");
    assert_eq!(
        std::fs::read(d.join("userlib.mpy")).unwrap(),
        expected,
        "the {FILLERS} unused members change nothing"
    );
}

#[test]
fn an_archive_index_or_member_claiming_more_than_the_file_holds_is_handled() {
    let d = scratch("index_claims");
    copy_case("userlib/x64", &d);
    let lib = std::fs::read(d.join("libextra.a")).unwrap();
    assert_eq!(&lib[8..9], b"/", "libextra.a starts with its symbol index");
    let mut bad = lib.clone();
    // The index's symbol count (first word of the index member) made enormous: the index
    // cannot be read, so the members are scanned for their symbols instead.
    bad[68..72].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    std::fs::write(d.join("libextra.a"), &bad).unwrap();
    let o = run(
        &d,
        &userlib_args(&["libextra.a", "libmore.a"], "userlib.mpy"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = golden_output("userlib/x64", "userlib.mpy");
    assert_eq!(std::fs::read(d.join("userlib.mpy")).unwrap(), expected);
    std::fs::remove_file(d.join("userlib.mpy")).unwrap();
    // A member header claiming a size near 10^10 bytes.
    let mut bad = lib.clone();
    let index_size: usize = String::from_utf8_lossy(&bad[56..66])
        .trim()
        .parse()
        .unwrap();
    let member = 68 + index_size + index_size % 2;
    bad[member + 48..member + 58].copy_from_slice(b"9999999999");
    std::fs::write(d.join("libextra.a"), &bad).unwrap();
    assert_fails_cleanly(
        &d,
        &userlib_args(&["libextra.a", "libmore.a"], "m.mpy"),
        "extends past the end of the archive",
    );
}

/// Offset of the section header of the first executable PROGBITS section of an ELF64 object.
fn text_section_header(elf: &[u8]) -> usize {
    let word = |at: usize, n: usize| {
        let mut v = 0u64;
        for (i, b) in elf[at..at + n].iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        v
    };
    let shoff = word(0x28, 8) as usize;
    let shnum = word(0x3c, 2) as usize;
    (0..shnum)
        .map(|i| shoff + i * 64)
        .find(|&h| word(h + 4, 4) == 1 && word(h + 8, 8) & 4 != 0)
        .expect("an executable section")
}

#[test]
fn section_headers_with_huge_sizes_or_offsets_past_the_end_are_refused() {
    let d = scratch("huge_section");
    copy_case("minimal/x64", &d);
    let elf = std::fs::read(d.join("minimal.o")).unwrap();
    let h = text_section_header(&elf);
    let args = [&X64[..], &["-o", "m.mpy", "bad.o"]].concat();
    let cases: [(&str, usize, u64); 3] = [
        ("huge size", h + 32, 0xffff_ffff_ffff_0000),
        ("offset past the end", h + 24, elf.len() as u64 + 4096),
        ("offset that overflows", h + 24, u64::MAX - 8),
    ];
    for (what, at, value) in cases {
        let mut bad = elf.clone();
        bad[at..at + 8].copy_from_slice(&value.to_le_bytes());
        std::fs::write(d.join("bad.o"), &bad).unwrap();
        let o = run(&d, &args);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", text(&o));
        assert!(
            text(&o).starts_with("LinkError: bad.o: not a valid ELF object"),
            "{what}: {}",
            text(&o)
        );
        assert!(!d.join("m.mpy").exists(), "{what}");
    }
}

#[test]
fn a_symlinked_output_is_replaced_and_its_target_left_alone() {
    let d = scratch("symlinked_out");
    copy_case("minimal/x64", &d);
    let target = d.join("elsewhere.mpy");
    std::fs::write(&target, b"keep me").unwrap();
    let out = d.join("minimal.mpy");
    std::os::unix::fs::symlink(&target, &out).unwrap();
    let o = run(
        &d,
        &[&X64[..], &["-o", "minimal.mpy", "minimal.o"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    let meta = std::fs::symlink_metadata(&out).unwrap();
    assert!(meta.file_type().is_file());
    let expected = golden_output("minimal/x64", "minimal.mpy");
    assert_eq!(std::fs::read(&out).unwrap(), expected);
}
