//! ARM Thumb (EM_ARM): armv6m, armv7m, armv7emsp, armv7emdp.

use super::RelocCx;
use super::{add_u32, fits_signed, read_u16, write_u16, Arch, ArchInfo, Toolchain};
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::RelocSite;
use crate::Dialect;
use object::elf;

/// An ARM Thumb flavour.
pub struct ArmFamily {
    info: ArchInfo,
    /// Thumb-2 (armv7*): the long entry jump is `b.w`; Thumb-1 (armv6m) uses push/bl/pop.
    thumb2: bool,
}

/// `R_ARM_GOT_BREL` (aka `R_ARM_GOT32`).
const R_ARM_GOT_BREL: u32 = elf::R_ARM_GOT32;
/// `R_ARM_THM_CALL` (aka `R_ARM_THM_PC22`).
const R_ARM_THM_CALL: u32 = elf::R_ARM_THM_PC22;
/// `R_ARM_BASE_PREL` (aka `R_ARM_GOTPC`).
const R_ARM_BASE_PREL: u32 = elf::R_ARM_GOTPC;

const GOT_TYPES: &[u32] = &[R_ARM_GOT_BREL, elf::R_ARM_GOT_PREL];

const fn arm(
    name: &'static str,
    mpy_arch: u8,
    thumb2: bool,
    multilib_flags: &'static [&'static str],
) -> ArmFamily {
    ArmFamily {
        info: ArchInfo {
            name,
            machine: elf::EM_ARM,
            machine_name: "EM_ARM",
            mpy_arch,
            word_size: 4,
            got_types: GOT_TYPES,
            abs_types: &[elf::R_ARM_ABS32],
            separate_rodata: false,
            literal_pool: false,
            accepts_arch_flags: false,
            toolchain: Toolchain {
                cc: "arm-none-eabi-gcc",
                multilib_flags,
                libm: "libm.a",
            },
        },
        thumb2,
    }
}

/// `--arch armv6m` (Cortex-M0, Thumb-1).
pub static ARMV6M: ArmFamily = arm("armv6m", 4, false, &["-mthumb", "-mcpu=cortex-m0"]);
/// `--arch armv7m` (Cortex-M3).
pub static ARMV7M: ArmFamily = arm("armv7m", 5, true, &["-mthumb", "-mcpu=cortex-m3"]);
/// `--arch armv7emsp` (Cortex-M4F).
pub static ARMV7EMSP: ArmFamily = arm(
    "armv7emsp",
    7,
    true,
    &[
        "-mthumb",
        "-mcpu=cortex-m4",
        "-mfpu=fpv4-sp-d16",
        "-mfloat-abi=hard",
    ],
);
/// `--arch armv7emdp` (Cortex-M7 with double FPU).
pub static ARMV7EMDP: ArmFamily = arm(
    "armv7emdp",
    8,
    true,
    &[
        "-mthumb",
        "-mcpu=cortex-m7",
        "-mfpu=fpv5-d16",
        "-mfloat-abi=hard",
    ],
);

fn halfwords(hs: &[u16]) -> Vec<u8> {
    hs.iter().flat_map(|h| h.to_le_bytes()).collect()
}

impl Arch for ArmFamily {
    fn info(&self) -> &ArchInfo {
        &self.info
    }

    fn entry_jump(&self, target: i64, dialect: Dialect) -> Result<Vec<u8>> {
        let e = target - 4;
        if dialect == Dialect::V1_23 {
            // v1.23 always writes the same size: 2 bytes (Thumb-1) or 4 (Thumb-2).
            if !self.thumb2 {
                if !fits_signed(11, e) {
                    return Err(LinkError::new(
                        ErrorKind::JumpTooFar,
                        "entry jump out of range for armv6m",
                    )
                    .symbol("mpy_init"));
                }
                return Ok(halfwords(&[0xE000 | ((e >> 1) & 0x07FF) as u16]));
            }
            if fits_signed(11, e) {
                return Ok(halfwords(&[0xE000 | ((e >> 1) & 0x07FF) as u16, 0]));
            }
            return Ok(halfwords(&[
                0xF000 | ((e >> 12) & 0x07FF) as u16,
                0xB800 | ((e >> 1) & 0x07FF) as u16,
            ]));
        }
        if fits_signed(11, e) {
            return Ok(halfwords(&[0xE000 | ((e >> 1) & 0x07FF) as u16]));
        }
        if self.thumb2 {
            Ok(halfwords(&[
                0xF000 | ((e >> 12) & 0x07FF) as u16,
                0xB800 | ((e >> 1) & 0x07FF) as u16,
            ]))
        } else {
            // push {r0, lr}; bl <dest>; pop {r0, pc}
            let e = e - 2;
            Ok(halfwords(&[
                0xB501,
                0xF000 | ((e >> 12) & 0x07FF) as u16,
                0xF800 | ((e >> 1) & 0x07FF) as u16,
                0xBD01,
            ]))
        }
    }

    fn text_alignment_untested(&self, align: u64) -> bool {
        align != 4
    }

    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)> {
        // ldr r3, [pc, #0]; bx r3; .word ptr
        let mut v = halfwords(&[0x4800 | (3 << 8), 0x4700 | (3 << 3)]);
        v.extend_from_slice(&[0; 4]);
        Some((v, 4))
    }

    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let r = site.reloc;
        let at = site.offset as usize;
        match r.rtype {
            elf::R_ARM_REL32 => {
                let addr = cx.fixed_target(site)? as i64;
                add_u32(cx.bytes(site, 4)?, at, addr - site.offset as i64);
            }
            R_ARM_THM_CALL | elf::R_ARM_THM_JUMP24 => {
                let addr = cx.fixed_target(site)? as i64;
                let delta = addr - site.offset as i64;
                let buf = cx.bytes(site, 4)?;
                let (mut hi, mut lo) = (read_u16(buf, at), read_u16(buf, at + 2));
                let mut existing = (((hi & 0x7FF) as i64) << 12) | (((lo & 0x7FF) as i64) << 1);
                if existing >= 0x400000 {
                    existing -= 0x800000;
                }
                let new = existing + delta;
                hi = (hi & 0xF800) | ((new >> 12) & 0x7FF) as u16;
                lo = (lo & 0xF800) | ((new >> 1) & 0x7FF) as u16;
                write_u16(buf, at, hi);
                write_u16(buf, at + 2, lo);
            }
            R_ARM_BASE_PREL => {
                if cx.symbol(site).name != "_GLOBAL_OFFSET_TABLE_" {
                    return Err(cx.error_at(
                        site,
                        ErrorKind::Unsupported,
                        "R_ARM_BASE_PREL to a symbol other than _GLOBAL_OFFSET_TABLE_",
                    ));
                }
                let delta = cx.got_addr() as i64 - site.offset as i64;
                add_u32(cx.bytes(site, 4)?, at, delta);
            }
            R_ARM_GOT_BREL => {
                let off = cx.got_offset(site)? as i64;
                add_u32(cx.bytes(site, 4)?, at, off);
            }
            elf::R_ARM_GOT_PREL => {
                let addr = (cx.got_addr() + cx.got_offset(site)?) as i64;
                add_u32(cx.bytes(site, 4)?, at, addr - site.offset as i64);
            }
            elf::R_ARM_ABS32 => return cx.data_word(site),
            _ => return Err(cx.unsupported_reloc(site)),
        }
        Ok(())
    }
}
