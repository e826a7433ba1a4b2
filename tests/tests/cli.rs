//! natmod-ld's command line beyond the golden corpus: bad input gets a clear error and never a
//! crash or a partial output, JSON errors, dialect selection, and what natmod-ld says that
//! mpy_ld.py does not.

use natmod_tests::ld_cli::{copy_case, run, scratch, text};
use std::process::Command;

#[test]
fn unknown_arch_is_a_clear_error() {
    let d = scratch("arch");
    copy_case("minimal/x64", &d);
    let o = run(&d, &["--arch", "sparc", "-o", "m.mpy", "minimal.o"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("LinkError: unknown --arch \"sparc\""), "{t}");
    assert!(t.contains("rv64imc"), "lists the valid arches: {t}");
    assert!(!d.join("m.mpy").exists());
}

#[test]
fn failed_link_keeps_the_previous_output_intact() {
    let d = scratch("keep");
    copy_case("err_undefined/x64", &d);
    std::fs::write(d.join("out.mpy"), b"previous complete module").unwrap();
    let o = run(
        &d,
        &[
            "--arch",
            "x64",
            "--qstrs",
            "config.h",
            "-o",
            "out.mpy",
            "err_undefined.o",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        std::fs::read(d.join("out.mpy")).unwrap(),
        b"previous complete module"
    );
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !names.iter().any(|n| n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn json_errors_carry_kind_symbol_object_and_sites() {
    let d = scratch("json");
    copy_case("err_undefined_multi/x64", &d);
    let o = run(
        &d,
        &[
            "--arch",
            "x64",
            "--qstrs",
            "config.h",
            "--error-format",
            "json",
            "-o",
            "m.mpy",
            "first.o",
            "second.o",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout)
        .starts_with("LinkError: first.o: undefined symbol: missing_open"));
    let v: serde_json::Value = serde_json::from_slice(&o.stderr).expect("JSON array on stderr");
    let errs = v.as_array().unwrap();
    assert_eq!(errs.len(), 5, "{v:#}");
    assert!(errs.iter().all(|e| e["kind"] == "undefined_symbol"));
    let open: Vec<_> = errs
        .iter()
        .filter(|e| e["symbol"] == "missing_open")
        .collect();
    assert_eq!(open.len(), 2, "missing_open is undefined in both objects");
    for e in &open {
        let sites = e["sites"].as_array().expect("sites");
        assert!(
            !sites.is_empty(),
            "every undefined symbol lists where it is used: {e:#}"
        );
        assert!(sites
            .iter()
            .all(|s| s["object"] == e["object"]
                && s["section"].as_str().unwrap().starts_with(".text")));
    }
}

#[test]
fn data_error_names_the_symbol_after_the_reference_text() {
    let d = scratch("data");
    copy_case("err_data/x64", &d);
    let o = run(
        &d,
        &[
            "--arch",
            "x64",
            "--qstrs",
            "config.h",
            "-o",
            "m.mpy",
            "err_data.o",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.starts_with("LinkError: err_data.o: .data non-empty (symbol: "),
        "{out}"
    );
}

#[test]
fn externs_lines_the_reference_skips_are_named_with_file_and_line() {
    // mpy_ld.py silently skips `hw_decimal = 1234;` and reports only "undefined symbol"
    // (golden err_externs_unparsed). natmod-ld reports the same first line and adds where the
    // skipped definition is.
    let d = scratch("externs");
    copy_case("err_externs_unparsed/x64", &d);
    let ld = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".ld"))
        .unwrap();
    let o = run(
        &d,
        &[
            "--arch",
            "x64",
            "--qstrs",
            "config.h",
            "--externs",
            &ld,
            "-o",
            "m.mpy",
            "err_externs_unparsed.o",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let line = out
        .lines()
        .find(|l| l.contains("undefined symbol: hw_decimal"))
        .expect(&out);
    let src = std::fs::read_to_string(d.join(&ld)).unwrap();
    let lineno = src.lines().position(|l| l.contains("hw_decimal")).unwrap() + 1;
    assert!(line.contains(&format!("{ld}:{lineno}")), "{line}");
    assert!(line.contains("hw_decimal = 1234;"), "{line}");
    // A line inside a comment is not a definition and gets no such note.
    let commented = out
        .lines()
        .find(|l| l.contains("undefined symbol: hw_commented_out"))
        .unwrap();
    assert!(!commented.contains(&ld), "{commented}");
}

#[test]
fn output_in_a_read_only_directory_is_an_error_not_a_crash() {
    let d = scratch("ro");
    copy_case("minimal/x64", &d);
    let ro = d.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    perm.set_mode(0o555);
    std::fs::set_permissions(&ro, perm).unwrap();
    let o = run(
        &d,
        &[
            "--arch",
            "x64",
            "--qstrs",
            "config.h",
            "-o",
            "ro/m.mpy",
            "minimal.o",
        ],
    );
    let is_root = std::fs::write(ro.join("probe"), b"").is_ok();
    if is_root {
        // root ignores directory permissions; the write must then simply succeed.
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    } else {
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("ro/m.mpy"));
    }
}

#[test]
fn relocation_with_symbol_index_out_of_range_is_rejected() {
    let d = scratch("badsym");
    copy_case("minimal/x64", &d);
    let mut elf = std::fs::read(d.join("minimal.o")).unwrap();
    // Find .rela.text via the section headers and corrupt the first record's symbol index.
    let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(elf[0x3c..0x3e].try_into().unwrap()) as usize;
    let mut patched = false;
    for i in 0..shnum {
        let h = shoff + i * 64;
        let sh_type = u32::from_le_bytes(elf[h + 4..h + 8].try_into().unwrap());
        if sh_type == 4 {
            let off = u64::from_le_bytes(elf[h + 24..h + 32].try_into().unwrap()) as usize;
            // r_info: high 32 bits are the symbol index.
            elf[off + 12..off + 16].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
            patched = true;
            break;
        }
    }
    assert!(patched);
    std::fs::write(d.join("bad.o"), &elf).unwrap();
    let o = run(
        &d,
        &[
            "--arch", "x64", "--qstrs", "config.h", "-o", "m.mpy", "bad.o",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("LinkError: bad.o: not a valid ELF object: relocation"),
        "{}",
        text(&o)
    );
    assert!(!d.join("m.mpy").exists());
}

#[test]
fn preprocess_follows_the_micropython_version_of_mpy_dir() {
    let d = scratch("dialect");
    std::fs::write(d.join("mod.c"), "x = MP_QSTR_hello + MP_QSTR_append;\n").unwrap();
    let newest = run(&d, &["--preprocess", "mod.c"]);
    assert!(newest.status.success(), "{}", text(&newest));
    let h = std::fs::read_to_string(d.join("mod.config.h")).unwrap();
    assert!(!h.contains("mp_int_t"), "newest dialect by default");
    assert!(h.contains("#define MP_QSTR_hello (mp_native_qstr_table[1])"));
    let v123 = preprocess_for(&d, &natmod_tests::mpy_dir(), "old.h");
    assert!(v123.status.success(), "{}", text(&v123));
    let h = std::fs::read_to_string(d.join("old.h")).unwrap();
    assert!(
        h.contains("typedef intptr_t mp_int_t;"),
        "v1.23 tree gives the v1.23 header: {h}"
    );
}

fn armv6m_runtime_lib(which: &str) -> String {
    let out = Command::new(natmod_tests::require_tool(
        "arm-none-eabi-gcc",
        "gcc-arm-none-eabi",
    ))
    .args(["-mthumb", "-mcpu=cortex-m0", which])
    .output()
    .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// dynruntime.mk's multilib flags for armv6m.
fn armv6m_flags() -> &'static [&'static str] {
    let tc = natmod_linker::arch::toolchain_for("armv6m").expect("armv6m is an arch");
    tc.multilib_flags
}

#[test]
fn archive_member_with_data_names_archive_member_and_the_chain_that_pulled_it() {
    // newlib's sqrt wrapper needs __fdlib_version, defined in .data of lib_a-s_lib_ver.o.
    let d = scratch("member_data");
    std::fs::write(d.join("sq.c"), "#include <math.h>\ndouble root(double x) { return sqrt(x); }\nint mpy_init(void) { return 0; }\n").unwrap();
    let cc = Command::new("arm-none-eabi-gcc")
        .args(natmod_tests::cflags::DYNRUNTIME_CFLAGS)
        .args(armv6m_flags())
        .args(["-c", "sq.c", "-o", "sq.o"])
        .current_dir(&d)
        .status()
        .unwrap();
    assert!(cc.success());
    let libgcc = armv6m_runtime_lib("-print-libgcc-file-name");
    let libm = armv6m_runtime_lib("-print-file-name=libm.a");
    let o = run(
        &d,
        &[
            "--arch", "armv6m", "-l", &libgcc, "-l", &libm, "-o", "sq.mpy", "sq.o",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    let line = out.lines().find(|l| l.starts_with("LinkError: ")).unwrap();
    assert!(
        line.starts_with(&format!(
            "LinkError: {libm}:lib_a-s_lib_ver.o: .data non-empty"
        )),
        "{line}"
    );
    assert!(line.contains("symbol: __fdlib_version"), "{line}");
    assert!(
        line.contains("pulled in by sqrt -> libm.a:lib_a-w_sqrt.o -> __fdlib_version -> libm.a:lib_a-s_lib_ver.o"),
        "{line}"
    );
    assert!(!d.join("sq.mpy").exists());
}

#[test]
fn hint_libs_names_the_runtime_member_and_keeps_the_reference_first_line() {
    let d = scratch("hints");
    copy_case("float_rt/armv6m", &d);
    let args = [
        "--arch",
        "armv6m",
        "--qstrs",
        "config.h",
        "-o",
        "f.mpy",
        "float_rt.o",
    ];
    let plain = String::from_utf8_lossy(&run(&d, &args).stdout).to_string();
    assert!(
        !plain.contains("LINK_RUNTIME"),
        "no hint unless asked: {plain}"
    );
    let mut with = args.to_vec();
    with.insert(0, "--hint-libs");
    let hinted = String::from_utf8_lossy(&run(&d, &with).stdout).to_string();
    let first = hinted.lines().next().unwrap();
    let plain_first = plain.lines().next().unwrap();
    assert!(first.starts_with(plain_first), "{first} / {plain_first}");
    assert!(hinted.contains("(provided by libgcc.a:"), "{hinted}");
    assert!(hinted.contains("; set LINK_RUNTIME = 1)"), "{hinted}");
    // libgcc is pinned by the golden corpus' system_inputs, so the member name is fixed.
    assert!(
        hinted.contains(
            "undefined symbol: __aeabi_dmul (provided by libgcc.a:muldf3.o; set LINK_RUNTIME = 1)"
        ),
        "{hinted}"
    );
}

#[test]
fn hints_set_runtime_provider_to_the_archive_member_and_keep_the_detail_text() {
    let case = natmod_tests::golden::golden_dir().join("float_rt/armv6m");
    let bytes = std::fs::read(case.join("float_rt.o")).unwrap();
    let obj = std::sync::Arc::new(natmod_linker::ObjectFile::parse("float_rt.o", &bytes).unwrap());
    let config = natmod_linker::LinkConfig {
        arch: "armv6m".into(),
        dialect: natmod_linker::Dialect::Newest,
        qstrs: Vec::new(),
        source_name: "float_rt.o".into(),
        arch_flags: 0,
        gc_sections: false,
    };
    let failure = natmod_linker::link(&config, vec![obj], &[], None).expect_err("undefined");
    let mut errors = failure.errors;
    let before: Vec<_> = errors.iter().map(|e| e.detail.clone()).collect();
    assert!(errors.iter().all(|e| e.runtime_provider.is_none()));
    let runtime = natmod_linker::hints::runtime_archives("armv6m").expect("armv6m runtime");
    natmod_linker::hints::annotate_undefined(&mut errors, &runtime);
    let dmul = errors
        .iter()
        .find(|e| e.symbol.as_deref() == Some("__aeabi_dmul"))
        .expect("__aeabi_dmul is undefined");
    // libgcc is pinned by the golden corpus' system_inputs, so the member name is fixed.
    assert_eq!(dmul.runtime_provider.as_deref(), Some("libgcc.a:muldf3.o"));
    for (e, old) in errors.iter().zip(before) {
        match &e.runtime_provider {
            Some(p) => {
                let hint = format!("provided by {p}; set LINK_RUNTIME = 1");
                let want = old.map_or(hint.clone(), |d| format!("{d}; {hint}"));
                assert_eq!(e.detail.as_deref(), Some(want.as_str()));
            }
            None => assert_eq!(e.detail, old),
        }
    }
}

/// natmod-ld `--mpy-dir TREE --preprocess -o OUT mod.c` in `d`.
fn preprocess_for(d: &std::path::Path, tree: &std::path::Path, out: &str) -> std::process::Output {
    let tree = tree.to_str().unwrap();
    run(d, &["--mpy-dir", tree, "--preprocess", "-o", out, "mod.c"])
}

/// `--preprocess` writes the config.h each tree's own `mpy_ld.py` writes, run live.
#[test]
fn preprocess_matches_each_trees_mpy_ld_live() {
    let d = scratch("preprocess_live");
    std::fs::write(
        d.join("mod.c"),
        "x = MP_QSTR_hello + MP_QSTR_append + MP_QSTR___name__ + MP_QSTR_zz_top;\n",
    )
    .unwrap();
    for tree in [natmod_tests::mpy_dir(), natmod_tests::mpy_dir_newest()] {
        let ours = preprocess_for(&d, &tree, "ours.h");
        assert!(ours.status.success(), "{}", text(&ours));
        let reference = Command::new(natmod_tests::require_tool("python3", "python3"))
            .current_dir(&d)
            .arg(tree.join("tools/mpy_ld.py"))
            .args(["--preprocess", "-o", "ref.h", "mod.c"])
            .output()
            .unwrap();
        assert!(
            reference.status.success(),
            "{}'s mpy_ld.py --preprocess failed (pip install pyelftools)\n{}",
            tree.display(),
            text(&reference)
        );
        assert_eq!(
            std::fs::read_to_string(d.join("ours.h")).unwrap(),
            std::fs::read_to_string(d.join("ref.h")).unwrap(),
            "config.h for {}",
            tree.display()
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&reference.stdout),
            "stdout for {}",
            tree.display()
        );
    }
}
