//! Xtensa (EM_XTENSA): xtensa (ESP8266, lx106) and xtensawin (ESP32, rodata kept apart).
//!
//! Xtensa code reaches every constant and address through `l32r`, a PC-relative load from a
//! literal word placed before the code. The compiler collects those words in `.literal`
//! sections; the link does not copy them but rebuilds them in front of the text as two tables:
//! the GOT (words the loader relocates: pointers) and the literal pool (plain constants,
//! deduplicated). Every `l32r` is then re-pointed at its word in one of them.

use super::RelocCx;
use super::{fits_signed, read_u32, Arch, ArchInfo, Toolchain};
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{
    Bind, GotEntry, GotPlan, LitSlot, LiteralPool, RelocSite, Resolution, SecId, SecOrigin, Shndx,
    SymType, Target,
};
use crate::Dialect;
use object::elf;
use std::collections::HashSet;

/// An Xtensa flavour.
pub struct XtensaFamily {
    info: ArchInfo,
}

const R_XTENSA_32: u32 = elf::R_XTENSA_32;
const R_XTENSA_PLT: u32 = elf::R_XTENSA_PLT;
const R_XTENSA_ASM_EXPAND: u32 = elf::R_XTENSA_ASM_EXPAND;
const R_XTENSA_DIFF32: u32 = elf::R_XTENSA_DIFF32;
const R_XTENSA_SLOT0_OP: u32 = elf::R_XTENSA_SLOT0_OP;
const R_XTENSA_PDIFF32: u32 = elf::R_XTENSA_PDIFF32;
const R_XTENSA_NDIFF32: u32 = elf::R_XTENSA_NDIFF32;

const GOT_TYPES: &[u32] = &[R_XTENSA_32, R_XTENSA_PLT];

/// `--arch xtensa` (ESP8266).
pub static XTENSA: XtensaFamily = XtensaFamily {
    info: ArchInfo {
        name: "xtensa",
        machine: elf::EM_XTENSA,
        machine_name: "EM_XTENSA",
        mpy_arch: 9,
        word_size: 4,
        got_types: GOT_TYPES,
        abs_types: &[R_XTENSA_32],
        separate_rodata: false,
        literal_pool: true,
        accepts_arch_flags: false,
        toolchain: Toolchain {
            cc: "xtensa-lx106-elf-gcc",
            multilib_flags: &["-mforce-l32"],
            libm: "libm.a",
        },
    },
};

/// `--arch xtensawin` (ESP32): the same code, with rodata and `.data.rel.ro` in their own
/// region.
pub static XTENSAWIN: XtensaFamily = XtensaFamily {
    info: ArchInfo {
        name: "xtensawin",
        machine: elf::EM_XTENSA,
        machine_name: "EM_XTENSA",
        mpy_arch: 10,
        word_size: 4,
        got_types: GOT_TYPES,
        abs_types: &[R_XTENSA_32],
        separate_rodata: true,
        literal_pool: true,
        accepts_arch_flags: false,
        toolchain: Toolchain {
            cc: "xtensa-lx106-elf-gcc",
            multilib_flags: &["-mforce-l32"],
            libm: "libm.a",
        },
    },
};

/// mpy_ld.py's `0x` formatting of a possibly negative number (Python's `{:x}`).
fn hex(v: i64) -> String {
    if v < 0 {
        format!("-{:x}", v.unsigned_abs())
    } else {
        format!("{v:x}")
    }
}

/// The GOT entry name and initial word of a literal word holding a pointer, and whether the
/// object's assembler put an addend on a named symbol.
///
/// Names follow mpy_ld.py so GOT order and sharing stay identical: the symbol's name,
/// `name+0xADDEND` with an addend, and `section+0xOFFSET` for a section symbol (whose word
/// already holds the offset into the section). Entries are shared by name, also across
/// objects, as mpy_ld.py shares them.
///
/// The initial word is added to the target's link address and is what the loader relocates.
/// For a section symbol it is the existing offset. For a named symbol it is the addend: with
/// it the word holds `symbol + addend`, what the code loads (e.g. `&big_buffer[999]`).
/// mpy_ld.py drops that addend and writes the bare symbol's address, so such a module reads
/// and writes the wrong element; natmod-ld keeps it (the golden harness proves those words
/// differ by exactly the addend). For `mp_native_qstr_table+N` (and `mp_native_obj_table+N`)
/// the word is N and the loader record is the table's kind: `mp_native_relocate` in
/// py/persistentcode.c does `*addr_to_adjust += dest` for every kind, with `dest` the table's
/// address for kinds 6 and 7, so the slot ends up holding `table + N`. (mpy_ld.py asserts
/// there.) `mp_fun_table+0xN` keeps mpy_ld.py's meaning: the loader adds the contents of
/// slot N/4 (kind 9 + N/4) to a zero word.
fn literal_pointer(
    sym_name: &str,
    stype: SymType,
    section_name: Option<&str>,
    addend: i64,
    existing: u32,
) -> std::result::Result<(String, u64), String> {
    if stype == SymType::Section {
        if addend != 0 {
            return Err(format!(
                "section-symbol literal with an addend ({})",
                hex(addend)
            ));
        }
        let Some(sec) = section_name else {
            return Err("literal pointing into a section that is not linked".into());
        };
        return Ok((format!("{sec}+0x{existing:x}"), existing as u64));
    }
    if existing != 0 {
        return Err(format!(
            "literal word for {sym_name} already holds 0x{existing:x}"
        ));
    }
    if addend == 0 {
        return Ok((sym_name.to_string(), 0));
    }
    let name = format!("{sym_name}+0x{}", hex(addend));
    let init = if sym_name == "mp_fun_table" {
        0
    } else {
        addend as u64
    };
    Ok((name, init))
}

/// Builds the GOT and the literal pool from every `.literal` section, in load order.
///
/// Literal words are keyed by (object name, offset in its `.literal` section), as mpy_ld.py
/// keys them: when one object has several `.literal` sections, a later section's word at an
/// offset already seen takes the earlier key (pointers overwrite it; constants do not enter the
/// pool). That is reproduced so the pool, and thus every output byte, stays the same.
fn collect_xtensa(res: &Resolution, word: usize) -> Result<GotPlan> {
    let mut entries: Vec<GotEntry> = Vec::new();
    let mut names = HashSet::new();
    let mut pool = LiteralPool::default();
    for &id in &res.sections.literals {
        let SecOrigin::Object { obj, shndx } = res.sections.all[id].origin else {
            continue;
        };
        let file = &res.objects.files[obj];
        let sec = &file.sections[shndx];
        let err = |offset: u64, msg: String| {
            LinkError::new(ErrorKind::Unsupported, format!("{}: {msg}", file.name))
                .object(file.name.clone())
                .at(sec.name.clone(), offset)
        };
        if !sec.data.len().is_multiple_of(word) {
            return Err(err(
                0,
                format!("{} is not a whole number of words", sec.name),
            ));
        }
        if let Some(ri) = file.reloc_section_for(shndx) {
            for r in &file.sections[ri].relocs {
                let s = &file.symbols[r.sym as usize];
                if !matches!(
                    s.stype,
                    SymType::NoType | SymType::Func | SymType::Object | SymType::Section
                ) {
                    return Err(err(
                        r.offset,
                        format!(
                            "literal relocation to a symbol of unsupported type: {:?}",
                            s.name
                        ),
                    )
                    .symbol(s.name.clone()));
                }
                if !GOT_TYPES.contains(&r.rtype) {
                    return Err(LinkError::unsupported_reloc(
                        &file.name, &sec.name, r.offset, r.rtype, "xtensa",
                    )
                    .symbol(s.name.clone()));
                }
                if !r.offset.is_multiple_of(word as u64) || r.offset as usize + 4 > sec.data.len() {
                    return Err(err(r.offset, "unaligned literal relocation".into()));
                }
                let existing = read_u32(&sec.data, r.offset as usize);
                let target_sec_name = match s.shndx {
                    Shndx::Index(i) => res.objects.loaded[obj]
                        .get(i as usize)
                        .copied()
                        .flatten()
                        .map(|sid: SecId| res.sections.all[sid].name.as_str()),
                    _ => None,
                };
                let (name, init) =
                    literal_pointer(&s.name, s.stype, target_sec_name, r.addend, existing)
                        .map_err(|m| err(r.offset, m).symbol(s.name.clone()))?;
                pool.slots
                    .insert((file.name.clone(), r.offset), LitSlot::Got(name.clone()));
                if names.insert(name.clone()) {
                    entries.push(GotEntry {
                        name,
                        symbol: s.name.clone(),
                        target: res.objects.targets[obj][r.sym as usize],
                        init,
                        offset: 0,
                    });
                }
            }
        }
        for off in (0..sec.data.len()).step_by(word) {
            let key = (file.name.clone(), off as u64);
            if pool.slots.contains_key(&key) {
                continue;
            }
            let v = read_u32(&sec.data, off);
            pool.slots.insert(key, LitSlot::Value(v));
            if !pool.value_index.contains_key(&v) {
                pool.value_index.insert(v, pool.values.len());
                pool.values.push(v);
            }
        }
    }
    Ok(GotPlan {
        entries,
        literals: Some(pool),
    })
}

impl XtensaFamily {
    /// Re-points the `l32r` at the site to the GOT or literal-pool word that replaces the
    /// `.literal` word it loaded.
    fn patch_l32r(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let key = (cx.object_name(site).to_string(), site.reloc.addend as u64);
        let lay = cx.layout;
        let Some(lit) = lay.literals.as_ref() else {
            return Err(cx.error_at(site, ErrorKind::Unsupported, "no literal pool"));
        };
        let addr = match lit.slots.get(&key) {
            Some(LitSlot::Got(name)) => {
                let Some(e) = lay.got_entry(name) else {
                    return Err(cx.error_at(
                        site,
                        ErrorKind::Unsupported,
                        format!("no GOT entry for {name}"),
                    ));
                };
                lay.got_addr() + e.offset
            }
            Some(LitSlot::Value(v)) => {
                let lit_addr = lay.sections[lay.lit_sec.expect("literal pool section")].addr;
                lit_addr + lit.value_index[v] as u64 * self.info.word_size as u64
            }
            None => {
                return Err(cx.error_at(
                    site,
                    ErrorKind::Unsupported,
                    format!(
                        "l32r of a literal outside its .literal section (offset 0x{})",
                        hex(site.reloc.addend)
                    ),
                ))
            }
        };
        let delta = addr as i64 - site.offset as i64;
        let at = site.offset as usize;
        let buf = cx.bytes(site, 3)?;
        let insn = buf[at] as u32 | (buf[at + 1] as u32) << 8 | (buf[at + 2] as u32) << 16;
        if insn & 0xF != 1 {
            return Err(cx.error_at(
                site,
                ErrorKind::Unsupported,
                format!("R_XTENSA_SLOT0_OP to a literal on an instruction that is not l32r (0x{insn:06x})"),
            ));
        }
        // mpy_ld.py's arithmetic: (imm16 + delta) >> 2, an arithmetic shift, kept to 16 bits.
        let imm = ((((insn >> 8) as i64) + delta) >> 2) & 0xFFFF;
        let insn = (insn & 0xFF) | (imm as u32) << 8;
        buf[at..at + 3].copy_from_slice(&insn.to_le_bytes()[..3]);
        Ok(())
    }

    /// The section the relocation's symbol is defined in within its own object, if loaded.
    fn own_section(cx: &RelocCx<'_>, site: &RelocSite) -> Option<SecId> {
        match cx.symbol(site).shndx {
            Shndx::Index(i) => cx.res.objects.loaded[site.obj]
                .get(i as usize)
                .copied()
                .flatten(),
            _ => None,
        }
    }
}

impl Arch for XtensaFamily {
    fn info(&self) -> &ArchInfo {
        &self.info
    }

    /// `j` to `target`: the offset is counted from the instruction's address + 4.
    fn entry_jump(&self, target: i64, _dialect: Dialect) -> Result<Vec<u8>> {
        let off = target - 4;
        if !fits_signed(17, off) {
            return Err(LinkError::new(
                ErrorKind::JumpTooFar,
                "jumps larger than 128KiB are not supported",
            )
            .symbol("mpy_init"));
        }
        let op = ((off << 6) | 6) as u32;
        Ok(op.to_le_bytes()[..3].to_vec())
    }

    fn text_alignment_untested(&self, align: u64) -> bool {
        align != 4
    }

    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)> {
        None
    }

    fn collect_got(&self, res: &Resolution) -> Result<GotPlan> {
        collect_xtensa(res, self.info.word_size)
    }

    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let r = site.reloc;
        match r.rtype {
            R_XTENSA_32 if cx.symbol(site).bind == Bind::Local => {
                // mpy_ld.py's "fixed location" relocation, PC-relative like the other arches'.
                let addr = cx.fixed_target(site)? as i64;
                let delta = (addr - site.offset as i64).wrapping_add(r.addend);
                super::add_u32(cx.bytes(site, 4)?, site.offset as usize, delta);
                Ok(())
            }
            R_XTENSA_SLOT0_OP => {
                let Some(sec) = Self::own_section(cx, site) else {
                    return Err(cx.error_at(
                        site,
                        ErrorKind::Unsupported,
                        format!(
                            "{}: R_XTENSA_SLOT0_OP to {}, which this object does not define",
                            cx.object_name(site),
                            cx.symbol(site).name
                        ),
                    ));
                };
                let name = &cx.layout.sections[sec].name;
                if name.starts_with(".text") {
                    // A branch or call within the text: the assembler already resolved it.
                    Ok(())
                } else if name.starts_with(".literal") {
                    self.patch_l32r(cx, site)
                } else {
                    Err(cx.unsupported_reloc(site))
                }
            }
            R_XTENSA_DIFF32 | R_XTENSA_PDIFF32 | R_XTENSA_NDIFF32 | R_XTENSA_ASM_EXPAND => {
                // Relaxation records: ignored when they concern the text (or a symbol with no
                // section of its own here); anything else is not understood.
                let in_text = match Self::own_section(cx, site) {
                    Some(sec) => cx.layout.sections[sec].name.starts_with(".text"),
                    None => !matches!(
                        cx.target(site),
                        Target::FunTable
                            | Target::QstrTable
                            | Target::ObjTable
                            | Target::FunTableSlot(_)
                            | Target::Mem(..)
                    ),
                };
                if in_text {
                    Ok(())
                } else {
                    Err(cx.unsupported_reloc(site))
                }
            }
            _ => Err(cx.unsupported_reloc(site)),
        }
    }
}
