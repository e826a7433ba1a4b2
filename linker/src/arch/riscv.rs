//! RISC-V (EM_RISCV): rv32imc and rv64imc.
//!
//! Code is patched in place: PC-relative pairs (`auipc` + I/S-type), calls (`auipc` + `jalr`),
//! branches and jumps in their full and compressed forms, and the label-difference
//! arithmetic (`ADD*`/`SUB*`/`SET*`) of jump tables. Relaxation is never done, so `RELAX` and
//! `ALIGN` need nothing.

use super::RelocCx;
use super::{fits_signed, read_u16, read_u32, write_u16, write_u32, Arch, ArchInfo, Toolchain};
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{RelocSite, SecId, SecOrigin, Target};
use crate::Dialect;
use object::elf;

/// `R_RISCV_GOT32_PCREL`: a 32-bit word holding the distance from itself to a GOT entry.
/// Type 41; the `object` crate still calls that number by its retired meaning
/// `R_RISCV_GNU_VTINHERIT`.
pub const R_RISCV_GOT32_PCREL: u32 = 41;

/// A RISC-V flavour.
pub struct RiscvFamily {
    info: ArchInfo,
}

/// `--arch rv32imc`.
pub static RV32IMC: RiscvFamily = RiscvFamily {
    info: ArchInfo {
        name: "rv32imc",
        machine: elf::EM_RISCV,
        machine_name: "EM_RISCV",
        mpy_arch: 11,
        word_size: 4,
        got_types: &[elf::R_RISCV_32, elf::R_RISCV_GOT_HI20, R_RISCV_GOT32_PCREL],
        abs_types: &[elf::R_RISCV_32, elf::R_RISCV_64],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: true,
        toolchain: Toolchain {
            cc: "riscv64-unknown-elf-gcc",
            multilib_flags: &["-march=rv32imac", "-mabi=ilp32"],
            libm: "libc.a",
        },
    },
};

/// `--arch rv64imc`.
pub static RV64IMC: RiscvFamily = RiscvFamily {
    info: ArchInfo {
        name: "rv64imc",
        machine: elf::EM_RISCV,
        machine_name: "EM_RISCV",
        mpy_arch: 12,
        word_size: 8,
        got_types: &[elf::R_RISCV_64, elf::R_RISCV_GOT_HI20, R_RISCV_GOT32_PCREL],
        abs_types: &[elf::R_RISCV_32, elf::R_RISCV_64],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: false,
        toolchain: Toolchain {
            cc: "riscv64-unknown-elf-gcc",
            multilib_flags: &["-march=rv64imac", "-mabi=lp64"],
            libm: "libc.a",
        },
    },
};

/// Thread-local (general-dynamic and descriptor) relocations: refused.
const TLS_TYPES: &[u32] = &[
    elf::R_RISCV_TLS_GD_HI20,
    elf::R_RISCV_TLSDESC_HI20,
    elf::R_RISCV_TLSDESC_LOAD_LO12,
    elf::R_RISCV_TLSDESC_ADD_LO12,
    elf::R_RISCV_TLSDESC_CALL,
];

/// Thread-pointer-relative (local-exec TLS) relocations: refused.
const TPREL_TYPES: &[u32] = &[
    elf::R_RISCV_TPREL_HI20,
    elf::R_RISCV_TPREL_LO12_I,
    elf::R_RISCV_TPREL_LO12_S,
    elf::R_RISCV_TPREL_ADD,
];

const NO_TLS: &str = "native modules have no thread-local storage";

/// The relocation types whose value a LO12 partner takes.
const HI20_TYPES: &[u32] = &[
    elf::R_RISCV_GOT_HI20,
    elf::R_RISCV_PCREL_HI20,
    elf::R_RISCV_HI20,
];

// ---------------------------------------------------------------------------------------------
// Instruction fields. Offsets are taken modulo the field; range is not checked, as mpy_ld.py
// does not check it either.

/// Splits `v` into the `auipc`/`lui` upper part (bits 31..12, already in place, rounded so
/// that adding the sign-extended lower part gives `v` back) and the 12-bit lower part.
pub fn split_hi_lo(v: i64) -> (u32, u32) {
    let upper = (v.wrapping_add(0x800) as u32) & 0xFFFF_F000;
    let lower = (v as u32) & 0xFFF;
    (upper, lower)
}

/// U-type (`auipc`, `lui`): replaces imm[31:12].
pub fn set_u_imm(insn: u32, upper: u32) -> u32 {
    (insn & 0xFFF) | (upper & 0xFFFF_F000)
}

/// I-type (loads, `addi`, `jalr`): replaces imm[11:0] in bits 31..20.
pub fn set_i_imm(insn: u32, lower: u32) -> u32 {
    (insn & 0x000F_FFFF) | ((lower & 0xFFF) << 20)
}

/// S-type (stores): imm[11:5] in bits 31..25, imm[4:0] in bits 11..7.
pub fn set_s_imm(insn: u32, lower: u32) -> u32 {
    (insn & 0x01FF_F07F) | ((lower & 0xFE0) << 20) | ((lower & 0x1F) << 7)
}

/// B-type (conditional branches): offset[12|10:5] in bits 31|30..25, offset[4:1|11] in bits
/// 11..8|7.
pub fn set_b_offset(insn: u32, off: i64) -> u32 {
    let o = off as u32;
    (insn & 0x01FF_F07F)
        | ((o & 0x1000) << 19)
        | ((o & 0x7E0) << 20)
        | ((o & 0x1E) << 7)
        | ((o & 0x800) >> 4)
}

/// J-type (`jal`): offset[20|10:1|11|19:12] in bits 31|30..21|20|19..12.
pub fn set_j_offset(insn: u32, off: i64) -> u32 {
    let o = off as u32;
    (insn & 0xFFF)
        | ((o & 0x10_0000) << 11)
        | ((o & 0x7FE) << 20)
        | ((o & 0x800) << 9)
        | (o & 0xF_F000)
}

/// CB format (`c.beqz`, `c.bnez`): offset[8|4:3] in bits 12|11..10, offset[7:6|2:1|5] in bits
/// 6..5|4..3|2.
pub fn set_cb_offset(insn: u16, off: i64) -> u16 {
    let o = off as u32;
    let f = ((o & 0x100) << 4)
        | ((o & 0x18) << 7)
        | ((o & 0xC0) >> 1)
        | ((o & 0x06) << 2)
        | ((o & 0x20) >> 3);
    (insn & 0xE383) | f as u16
}

/// CJ format (`c.j`, `c.jal`): offset[11|4|9:8|10|6|7|3:1|5] in bits 12..2.
pub fn set_cj_offset(insn: u16, off: i64) -> u16 {
    let o = off as u32;
    let f = ((o & 0x800) << 1)
        | ((o & 0x10) << 7)
        | ((o & 0x300) << 1)
        | ((o & 0x400) >> 2)
        | ((o & 0x40) << 1)
        | ((o & 0x80) >> 1)
        | ((o & 0x0E) << 2)
        | ((o & 0x20) >> 3);
    (insn & 0xE003) | f as u16
}

/// `c.j 0`.
const C_J: u16 = 0xA001;
/// Register t6 (x31), the entry jump's scratch register.
const T6: u32 = 31;
/// Register a3 (x13), the pointer-jump stub's scratch register.
const A3: u32 = 13;
const OP_AUIPC: u32 = 0x17;
const OP_JALR: u32 = 0x67;

impl RiscvFamily {
    fn is_64(&self) -> bool {
        self.info.word_size == 8
    }

    /// The PC-relative value of a HI20-type relocation (what its LO12 partners use too).
    fn hi20_value(&self, cx: &RelocCx<'_>, site: &RelocSite) -> Result<i64> {
        let r = site.reloc;
        let pc = site.offset as i64;
        Ok(match r.rtype {
            elf::R_RISCV_GOT_HI20 => ((cx.got_addr() + cx.got_offset(site)?) as i64)
                .wrapping_add(r.addend)
                .wrapping_sub(pc),
            elf::R_RISCV_PCREL_HI20 => (cx.fixed_target(site)? as i64)
                .wrapping_add(r.addend)
                .wrapping_sub(pc),
            // Absolute: as mpy_ld.py, the link address (the loader cannot rebase it).
            _ => (cx.defined(site)?.1 as i64).wrapping_add(r.addend),
        })
    }

    /// The HI20 value a LO12 relocation completes: the HI20-type relocation sitting at the
    /// LO12's label (a local symbol on the `auipc`/`lui`) in the label's section.
    fn hi20_partner(&self, cx: &RelocCx<'_>, site: &RelocSite) -> Result<i64> {
        let Target::Defined { sec, value } = cx.target(site) else {
            return Err(self.no_partner(cx, site));
        };
        if let Some(&v) = cx.hi20.get(&(sec, value)) {
            return Ok(v);
        }
        // Not computed (yet, or it failed): find the parent and compute it; a failure is the
        // parent's own error, which the caller reports once.
        let parent = self.parent_site(cx, sec, value);
        match parent {
            Some(p) => self.hi20_value(cx, &p),
            None => Err(self.no_partner(cx, site)),
        }
    }

    fn parent_site(&self, cx: &RelocCx<'_>, sec: SecId, value: u64) -> Option<RelocSite> {
        let s = &cx.layout.sections[sec];
        let SecOrigin::Object { obj, shndx } = s.origin else {
            return None;
        };
        let file = &cx.res.objects.files[obj];
        let ri = file.reloc_section_for(shndx)?;
        let r = file.sections[ri]
            .relocs
            .iter()
            .find(|r| r.offset == value && HI20_TYPES.contains(&r.rtype))?;
        Some(RelocSite {
            obj,
            sec,
            reloc: *r,
            offset: s.addr + r.offset,
        })
    }

    fn no_partner(&self, cx: &RelocCx<'_>, site: &RelocSite) -> LinkError {
        cx.error_at(
            site,
            ErrorKind::Unsupported,
            format!(
                "{}: RISC-V LO12 relocation (type {}) without a HI20 relocation at its label",
                cx.object_name(site),
                site.reloc.rtype
            ),
        )
    }

    fn refuse(&self, cx: &RelocCx<'_>, site: &RelocSite, what: &str, why: &str) -> LinkError {
        let sym = cx.symbol(site).name.clone();
        cx.error_at(
            site,
            ErrorKind::UnsupportedTls,
            format!("{}: RISC-V {what} relocation: {sym}", cx.object_name(site)),
        )
        .detail(format!(
            "type {} at {}+0x{:x}; {why}",
            site.reloc.rtype,
            cx.section_name(site),
            site.reloc.offset
        ))
    }
}

impl Arch for RiscvFamily {
    fn info(&self) -> &ArchInfo {
        &self.info
    }

    fn entry_jump(&self, target: i64, dialect: Dialect) -> Result<Vec<u8>> {
        if dialect == Dialect::V1_23 {
            // mpy_ld.py gained RISC-V after v1.23, so there is no v1.23 output to match; this is
            // the first arch hook that sees the dialect.
            return Err(LinkError::new(
                ErrorKind::Unsupported,
                format!(
                    "--arch {} is not supported by MicroPython v1.23 (its mpy_ld.py has no RISC-V support)",
                    self.info.name
                ),
            ));
        }
        if fits_signed(11, target) {
            return Ok(set_cj_offset(C_J, target).to_le_bytes().to_vec());
        }
        // mpy_ld.py's range test, kept as it is (the pair itself reaches +-2GiB from 0).
        if fits_signed(31, target - 8) {
            let (upper, lower) = split_hi_lo(target);
            let auipc = set_u_imm(OP_AUIPC | (T6 << 7), upper);
            let jalr = set_i_imm(OP_JALR | (T6 << 15), lower);
            let mut v = auipc.to_le_bytes().to_vec();
            v.extend_from_slice(&jalr.to_le_bytes());
            return Ok(v);
        }
        Err(LinkError::new(
            ErrorKind::JumpTooFar,
            "jumps larger than 2GiB are not supported",
        )
        .symbol("mpy_init"))
    }

    fn text_alignment_untested(&self, align: u64) -> bool {
        align != 2
    }

    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)> {
        // auipc a3, 0; c.lw/c.ld a3, 8(a3); c.jr a3; then the pointer at offset 8.
        let auipc = OP_AUIPC | (A3 << 7);
        // CL format: funct3 (010 c.lw, 011 c.ld), uimm[5:3] in bits 12..10 (8 -> 0b001),
        // rs1' in 9..7, rd' in 4..2, op 00. a3 is x13, i.e. register 5 of the x8..x15 set.
        let funct3: u32 = if self.is_64() { 0b011 } else { 0b010 };
        let creg = A3 - 8;
        let load = (funct3 << 13) | (1 << 10) | (creg << 7) | (creg << 2);
        // CR format c.jr: funct4 1000, rs1 in 11..7, rs2 0, op 10.
        let jr = 0x8002 | (A3 << 7);
        let mut v = auipc.to_le_bytes().to_vec();
        v.extend_from_slice(&(load as u16).to_le_bytes());
        v.extend_from_slice(&(jr as u16).to_le_bytes());
        v.resize(8 + self.info.word_size, 0);
        Some((v, 8))
    }

    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        match site.reloc.rtype {
            t if TLS_TYPES.contains(&t) => Err(self.refuse(cx, site, "TLS", NO_TLS)),
            t if TPREL_TYPES.contains(&t) => Err(self.refuse(cx, site, "TP-relative", NO_TLS)),
            elf::R_RISCV_SET_ULEB128 | elf::R_RISCV_SUB_ULEB128 => Err(self.refuse(
                cx,
                site,
                "ULEB128",
                "variable-length label differences are not patched",
            )),
            // Nothing is relaxed, so nothing moves.
            elf::R_RISCV_RELAX | elf::R_RISCV_ALIGN => Ok(()),
            elf::R_RISCV_GOT_HI20 | elf::R_RISCV_PCREL_HI20 | elf::R_RISCV_HI20 => {
                self.patch_hi20(cx, site)
            }
            elf::R_RISCV_LO12_I | elf::R_RISCV_LO12_S => Err(absolute_lo12(cx, site)),
            elf::R_RISCV_PCREL_LO12_I | elf::R_RISCV_PCREL_LO12_S => {
                self.patch_pcrel_lo12(cx, site)
            }
            elf::R_RISCV_JAL
            | elf::R_RISCV_BRANCH
            | elf::R_RISCV_RVC_BRANCH
            | elf::R_RISCV_RVC_JUMP
            | elf::R_RISCV_CALL
            | elf::R_RISCV_CALL_PLT
            | elf::R_RISCV_32_PCREL
            | elf::R_RISCV_PLT32 => patch_pc_relative(cx, site),
            R_RISCV_GOT32_PCREL => {
                let r = site.reloc;
                let v = ((cx.got_addr() + cx.got_offset(site)?) as i64)
                    .wrapping_add(r.addend)
                    .wrapping_sub(site.offset as i64);
                write_u32(cx.bytes(site, 4)?, site.offset as usize, v as u32);
                Ok(())
            }
            t if field_op(t).is_some() => patch_field(cx, site),
            t if (t == elf::R_RISCV_32 && !self.is_64())
                || (t == elf::R_RISCV_64 && self.is_64()) =>
            {
                // A pointer word in rodata: like one in .data.rel.ro.
                cx.data_word(site)
            }
            _ => Err(cx.unsupported_reloc(site)),
        }
    }
}

impl RiscvFamily {
    /// A HI20-type relocation: patches the `auipc`/`lui` and remembers the value for the LO12
    /// partners.
    fn patch_hi20(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let v = self.hi20_value(cx, site)?;
        cx.hi20.insert((site.sec, site.reloc.offset), v);
        let (upper, _) = split_hi_lo(v);
        let buf = cx.bytes(site, 4)?;
        patch_u32(buf, site.offset as usize, |i| set_u_imm(i, upper));
        Ok(())
    }

    /// A PC-relative LO12 relocation: the low 12 bits of its HI20 partner's value.
    fn patch_pcrel_lo12(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let (_, lower) = split_hi_lo(self.hi20_partner(cx, site)?);
        let s_type = site.reloc.rtype == elf::R_RISCV_PCREL_LO12_S;
        let at = site.offset as usize;
        let buf = cx.bytes(site, 4)?;
        let insn = read_u32(buf, at);
        let insn = if s_type {
            set_s_imm(insn, lower)
        } else {
            set_i_imm(insn, lower)
        };
        write_u32(buf, at, insn);
        Ok(())
    }
}

/// The error for absolute addressing (lui + addi/load/store of the symbol itself): what gcc
/// emits without -fpic. The loader relocates whole words only, so such code cannot be moved to
/// where the module is loaded.
fn absolute_lo12(cx: &RelocCx<'_>, site: &RelocSite) -> LinkError {
    let sym = cx.symbol(site).name.clone();
    cx.error_at(
        site,
        ErrorKind::Unsupported,
        format!(
            "{}: non-PIC code: absolute address of {sym} (R_RISCV_HI20/LO12 pair)",
            cx.object_name(site)
        ),
    )
    .symbol(sym)
    .detail(
        "the MicroPython loader relocates only whole words, so natmod code must \
         be position-independent: compile with -fpic (as dynruntime.mk does)",
    )
}

/// A PC-relative jump, branch, call or word: the target must be in this image's text (not BSS,
/// which the loader allocates apart from it; not outside the module).
fn patch_pc_relative(cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
    let r = site.reloc;
    let at = site.offset as usize;
    let off = (cx.fixed_target(site)? as i64)
        .wrapping_add(r.addend)
        .wrapping_sub(site.offset as i64);
    let width = match r.rtype {
        elf::R_RISCV_RVC_BRANCH | elf::R_RISCV_RVC_JUMP => 2,
        elf::R_RISCV_CALL | elf::R_RISCV_CALL_PLT => 8,
        _ => 4,
    };
    let buf = cx.bytes(site, width)?;
    match r.rtype {
        elf::R_RISCV_JAL => patch_u32(buf, at, |i| set_j_offset(i, off)),
        elf::R_RISCV_BRANCH => patch_u32(buf, at, |i| set_b_offset(i, off)),
        elf::R_RISCV_RVC_BRANCH => patch_u16(buf, at, |i| set_cb_offset(i, off)),
        elf::R_RISCV_RVC_JUMP => patch_u16(buf, at, |i| set_cj_offset(i, off)),
        elf::R_RISCV_CALL | elf::R_RISCV_CALL_PLT => {
            let (upper, lower) = split_hi_lo(off);
            patch_u32(buf, at, |i| set_u_imm(i, upper));
            patch_u32(buf, at + 4, |i| set_i_imm(i, lower));
        }
        _ => write_u32(buf, at, off as u32),
    }
    Ok(())
}

/// The field an `ADD*`/`SUB*`/`SET*` relocation type patches: (bytes, bits, operation).
fn field_op(rtype: u32) -> Option<(usize, u32, Op)> {
    Some(match rtype {
        elf::R_RISCV_ADD8 => (1, 8, Op::Add),
        elf::R_RISCV_ADD16 => (2, 16, Op::Add),
        elf::R_RISCV_ADD32 => (4, 32, Op::Add),
        elf::R_RISCV_ADD64 => (8, 64, Op::Add),
        elf::R_RISCV_SUB6 => (1, 6, Op::Sub),
        elf::R_RISCV_SUB8 => (1, 8, Op::Sub),
        elf::R_RISCV_SUB16 => (2, 16, Op::Sub),
        elf::R_RISCV_SUB32 => (4, 32, Op::Sub),
        elf::R_RISCV_SUB64 => (8, 64, Op::Sub),
        elf::R_RISCV_SET6 => (1, 6, Op::Set),
        elf::R_RISCV_SET8 => (1, 8, Op::Set),
        elf::R_RISCV_SET16 => (2, 16, Op::Set),
        elf::R_RISCV_SET32 => (4, 32, Op::Set),
        _ => return None,
    })
}

/// An `ADD*`/`SUB*`/`SET*` relocation (label differences in data and debug-like tables).
fn patch_field(cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
    let Some((bytes, bits, op)) = field_op(site.reloc.rtype) else {
        return Err(cx.unsupported_reloc(site));
    };
    let value = (cx.defined(site)?.1 as i64).wrapping_add(site.reloc.addend) as u64;
    let at = site.offset as usize;
    let buf = cx.bytes(site, bytes as u64)?;
    let mut le = [0u8; 8];
    le[..bytes].copy_from_slice(&buf[at..at + bytes]);
    let old = u64::from_le_bytes(le);
    let new = apply_field(old, bits, op, value);
    buf[at..at + bytes].copy_from_slice(&new.to_le_bytes()[..bytes]);
    Ok(())
}

/// Rewrites the little-endian u32 at `at` with `f`.
fn patch_u32(buf: &mut [u8], at: usize, f: impl FnOnce(u32) -> u32) {
    let v = read_u32(buf, at);
    write_u32(buf, at, f(v));
}

/// Rewrites the little-endian u16 at `at` with `f`.
fn patch_u16(buf: &mut [u8], at: usize, f: impl FnOnce(u16) -> u16) {
    let v = read_u16(buf, at);
    write_u16(buf, at, f(v));
}

/// What an `ADD*`/`SUB*`/`SET*` relocation does to its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Set,
}

/// Applies `op` with `value` to the low `bits` bits of `old` (wrapping), keeping the rest.
fn apply_field(old: u64, bits: u32, op: Op, value: u64) -> u64 {
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let field = match op {
        Op::Add => (old & mask).wrapping_add(value),
        Op::Sub => (old & mask).wrapping_sub(value),
        Op::Set => value,
    };
    (old & !mask) | (field & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rounds_for_sign_extended_lower() {
        assert_eq!(split_hi_lo(0x1234), (0x1000, 0x234));
        assert_eq!(split_hi_lo(0x1800), (0x2000, 0x800));
        assert_eq!(split_hi_lo(-4), (0, 0xFFC));
        assert_eq!(split_hi_lo(-2048), (0, 0x800));
        assert_eq!(split_hi_lo(-0x1000), (0xFFFF_F000, 0));
        for v in [
            0i64,
            1,
            0x7FF,
            0x800,
            0xFFF,
            -1,
            -0x801,
            0x1234_5678,
            -0x1234_5678,
        ] {
            let (u, l) = split_hi_lo(v);
            let back = (u as i32 as i64) + (((l << 20) as i32 >> 20) as i64);
            assert_eq!(back, v, "{v:#x}");
        }
    }

    #[test]
    fn b_type() {
        // beq a0, a1, +16 is 0x00b50863; from a zero offset field.
        assert_eq!(set_b_offset(0x00b5_0063, 16), 0x00b5_0863);
        // bne a0, zero, -4 is 0xfe051ee3.
        assert_eq!(set_b_offset(0x0005_1063, -4), 0xfe05_1ee3);
        // The largest forward offset sets every field bit but the sign.
        assert_eq!(set_b_offset(0x63, 0xFFE), 0x7E00_0FE3);
    }

    #[test]
    fn j_type() {
        // jal ra, +2048 is 0x001000ef; jal zero, -8 is 0xff9ff06f.
        assert_eq!(set_j_offset(0xef, 2048), 0x0010_00ef);
        assert_eq!(set_j_offset(0x6f, -8), 0xff9f_f06f);
        // 0x12344: bits 19..12 in place, 10..1 moved to 30..21.
        assert_eq!(set_j_offset(0x6f, 0x12344), 0x3441_206f);
    }

    #[test]
    fn cb_and_cj() {
        // c.beqz a0, +8 is 0xc501; c.bnez a5, -2 is 0xfffd.
        assert_eq!(set_cb_offset(0xC101, 8), 0xC501);
        assert_eq!(set_cb_offset(0xE381, -2), 0xFFFD);
        // c.j +8 is 0xa021; c.j -2 is 0xbffd; c.j +2046 is 0xaffd.
        assert_eq!(set_cj_offset(C_J, 8), 0xA021);
        assert_eq!(set_cj_offset(C_J, -2), 0xBFFD);
        assert_eq!(set_cj_offset(C_J, 2046), 0xAFFD);
    }

    #[test]
    fn i_and_s_type() {
        // addi a0, a0, -1 is 0xfff50513; sw a1, 20(a0) is 0x00b52a23.
        assert_eq!(set_i_imm(0x0005_0513, 0xFFF), 0xfff5_0513);
        assert_eq!(set_s_imm(0x00b5_2023, 20), 0x00b5_2a23);
        assert_eq!(set_s_imm(0x00b5_2a23, 0), 0x00b5_2023);
    }

    #[test]
    fn entry_jumps() {
        // c.j 4
        assert_eq!(
            RV32IMC.entry_jump(4, Dialect::Newest).unwrap(),
            vec![0x11, 0xA0]
        );
        // 0x1810: auipc t6, 0x2; jalr zero, -0x7f0(t6).
        let j = RV64IMC.entry_jump(0x1810, Dialect::Newest).unwrap();
        let auipc = u32::from_le_bytes(j[..4].try_into().unwrap());
        let jalr = u32::from_le_bytes(j[4..].try_into().unwrap());
        assert_eq!(auipc, 0x0000_2f97);
        assert_eq!(jalr, 0x810f_8067);
        assert_eq!((auipc & 0xFFFF_F000) as i32 + ((jalr as i32) >> 20), 0x1810);
    }

    #[test]
    fn pointer_stubs() {
        let (s32, p32) = RV32IMC.pointer_jump_stub().unwrap();
        // auipc a3,0 = 0x00000697; c.lw a3,8(a3) = 0x4694; c.jr a3 = 0x8682.
        assert_eq!(s32[..8], [0x97, 0x06, 0x00, 0x00, 0x94, 0x46, 0x82, 0x86]);
        assert_eq!((s32.len(), p32), (12, 8));
        let (s64, p64) = RV64IMC.pointer_jump_stub().unwrap();
        // c.ld a3,8(a3) = 0x6694.
        assert_eq!(s64[4..6], [0x94, 0x66]);
        assert_eq!((s64.len(), p64), (16, 8));
    }

    #[test]
    fn add_sub_set_fields() {
        assert_eq!(apply_field(0xAB_FF, 8, Op::Add, 2), 0xAB_01);
        assert_eq!(apply_field(0xC5, 6, Op::Sub, 6), 0xFF);
        assert_eq!(apply_field(0xC0, 6, Op::Set, 0x7F), 0xFF);
        assert_eq!(apply_field(5, 64, Op::Sub, 7), u64::MAX - 1);
    }
}
