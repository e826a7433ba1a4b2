//! Xtensa literals holding `mp_native_qstr_table+N`.
//!
//! Debian's GCC 12 lx106 compiler at -Os folds `mp_native_qstr_table[1]` (a `uint16_t` table)
//! into a literal word `mp_native_qstr_table+2`. mpy_ld.py crashes on it
//! (`AssertionError: ('mp_native_qstr_table+0x2', '.external.qstr_table')`, golden entries
//! `xtensa_qstr_addend/*`), so there are no reference bytes to compare with. Instead this test
//! links the golden objects and checks the module itself: the literal becomes a GOT word
//! holding 2 with a qstr-table relocation (kind 6), which the loader turns into `table + 2`
//! (`mp_native_relocate` adds the table's address to the word), and the `l32r` that loaded the
//! literal now loads that word.

use natmod_tests::golden::{entries, golden_dir};

/// The address an `l32r` at `pc` loads from (Xtensa ISA: the 16-bit offset is extended with
/// ones, scaled by 4 and added to the word-aligned PC + 3).
fn l32r_target(text: &[u8], pc: usize) -> u64 {
    let insn = text[pc] as u32 | (text[pc + 1] as u32) << 8 | (text[pc + 2] as u32) << 16;
    assert_eq!(insn & 0xF, 1, "not an l32r at {pc}: {insn:06x}");
    let imm = (insn >> 8) as i64 - 0x10000;
    ((((pc as i64) + 3) & !3) + (imm << 2)) as u64
}

fn word(text: &[u8], at: u64) -> u32 {
    u32::from_le_bytes(text[at as usize..at as usize + 4].try_into().unwrap())
}

fn check(arch: &str) {
    let e = entries()
        .into_iter()
        .find(|e| e["id"] == format!("xtensa_qstr_addend/{arch}/default"))
        .expect("golden entry");
    assert_eq!(
        e["expected"]["exception"], "AssertionError",
        "the reference is expected to crash on this entry"
    );
    let dir = golden_dir().join(format!("xtensa_qstr_addend/{arch}"));
    let obj = dir.join("xtensa_qstr_addend.o");
    let objects = natmod_linker::load_objects(&[obj.to_string_lossy().into_owned()]).unwrap();
    let config_h = std::fs::read(dir.join("config.h")).unwrap();
    let config = natmod_linker::LinkConfig {
        arch: arch.into(),
        dialect: natmod_linker::Dialect::Newest,
        qstrs: natmod_linker::qstr::read_config_h(&config_h),
        source_name: "xtensa_qstr_addend.mpy".into(),
        arch_flags: 0,
        gc_sections: false,
    };
    let out = natmod_linker::link(&config, objects, &[], None)
        .unwrap_or_else(|f| panic!("link failed: {:?}", f.errors));
    assert_eq!(out.got_entries, 3, "mp_fun_table, the table, the table + 2");
    let m = natmod_tests::mpyfile::parse(&out.mpy);
    let kind_of = |at: u64| {
        assert_eq!(at % 4, 0);
        m.relocs
            .iter()
            .find(|r| r.0 == 0 && r.1 == at / 4)
            .map(|r| r.2)
    };

    // mpy_init is at offset 0 of .text; the object's l32r sites (see its .rela.text) load
    // .literal+0 (mp_fun_table), +8 (mp_native_qstr_table+2) and +4 (mp_native_qstr_table).
    let text_start = out.entry as usize;
    let fun_table = l32r_target(&m.text, text_start + 0x07);
    let table_plus_2 = l32r_target(&m.text, text_start + 0x1d);
    let table = l32r_target(&m.text, text_start + 0x44);

    assert_eq!(kind_of(fun_table), Some(8), "mp_fun_table word");
    assert_eq!(word(&m.text, fun_table), 0);
    assert_eq!(kind_of(table), Some(6), "mp_native_qstr_table word");
    assert_eq!(word(&m.text, table), 0);
    assert_ne!(table_plus_2, table, "table+2 needs a word of its own");
    assert_eq!(
        kind_of(table_plus_2),
        Some(6),
        "mp_native_qstr_table+2 word"
    );
    assert_eq!(word(&m.text, table_plus_2), 2, "the word holds the addend");

    // What the loader makes of it: the table address added to each word.
    let qstr_table = 0x3FFE_8000u32;
    assert_eq!(
        word(&m.text, table_plus_2).wrapping_add(qstr_table),
        qstr_table + 2
    );
    // Every relocation is in the text, on a GOT word (the 3 words after the 4-byte jump).
    assert_eq!(m.relocs.len(), 3, "{:?}", m.relocs);
    for r in &m.relocs {
        assert!(r.0 == 0 && (1..=3).contains(&r.1), "{r:?}");
    }
}

#[test]
fn xtensa_qstr_table_with_addend_links_correctly() {
    check("xtensa");
}

#[test]
fn xtensawin_qstr_table_with_addend_links_correctly() {
    check("xtensawin");
}
