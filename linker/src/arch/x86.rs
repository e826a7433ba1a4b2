//! x86 (EM_386) and x86-64 (EM_X86_64).

use super::RelocCx;
use super::{add_u32, fits_signed, Arch, ArchInfo, Toolchain};
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{RelocSite, Target};
use crate::Dialect;
use object::elf;

/// 32-bit x86.
pub struct X86Family {
    info: ArchInfo,
}

/// `--arch x86`.
pub static X86: X86Family = X86Family {
    info: ArchInfo {
        name: "x86",
        machine: elf::EM_386,
        machine_name: "EM_386",
        mpy_arch: 1,
        word_size: 4,
        got_types: &[elf::R_386_PC32, elf::R_386_GOT32, elf::R_386_GOT32X],
        abs_types: &[elf::R_386_32],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: false,
        toolchain: Toolchain {
            cc: "gcc",
            multilib_flags: &["-m32"],
            libm: "libm.a",
        },
    },
};

/// `--arch x64`.
pub static X64: X86Family = X86Family {
    info: ArchInfo {
        name: "x64",
        machine: elf::EM_X86_64,
        machine_name: "EM_X86_64",
        mpy_arch: 2,
        word_size: 8,
        got_types: &[elf::R_X86_64_GOTPCREL, elf::R_X86_64_REX_GOTPCRELX],
        abs_types: &[elf::R_X86_64_64],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: false,
        toolchain: Toolchain {
            cc: "gcc",
            multilib_flags: &[],
            libm: "libm.a",
        },
    },
};

impl X86Family {
    fn is_64(&self) -> bool {
        self.info.word_size == 8
    }
}

impl Arch for X86Family {
    fn info(&self) -> &ArchInfo {
        &self.info
    }

    fn entry_jump(&self, target: i64, dialect: Dialect) -> Result<Vec<u8>> {
        if dialect == Dialect::Newest && fits_signed(7, target - 2) {
            return Ok(vec![0xEB, (target - 2) as i8 as u8]);
        }
        if fits_signed(31, target - 5) {
            let mut v = vec![0xE9];
            v.extend_from_slice(&((target - 5) as i32).to_le_bytes());
            return Ok(v);
        }
        Err(LinkError::new(
            ErrorKind::JumpTooFar,
            "jumps larger than 2GiB are not supported",
        )
        .symbol("mpy_init"))
    }

    fn text_alignment_untested(&self, align: u64) -> bool {
        align != 1 && align != 4
    }

    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)> {
        // nop padding so the pointer is word-aligned, then `mov ptr, %eax/%rax; jmp *%eax/%rax`.
        if self.is_64() {
            let mut v = vec![0x90; 6];
            v.extend_from_slice(&[0x48, 0xB8]);
            v.extend_from_slice(&[0; 8]);
            v.extend_from_slice(&[0xFF, 0xE0]);
            Some((v, 8))
        } else {
            let mut v = vec![0x90; 3];
            v.push(0xB8);
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(&[0xFF, 0xE0]);
            Some((v, 4))
        }
    }

    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        let r = site.reloc;
        let at = site.offset as usize;
        let (pc_rel, plt, got_pcrel) = if self.is_64() {
            (
                elf::R_X86_64_PC32,
                elf::R_X86_64_PLT32,
                [elf::R_X86_64_GOTPCREL, elf::R_X86_64_REX_GOTPCRELX],
            )
        } else {
            (elf::R_386_PC32, elf::R_386_PLT32, [u32::MAX, u32::MAX])
        };
        let delta: i64 = if r.rtype == pc_rel || r.rtype == plt {
            let addr = cx.fixed_target(site)? as i64;
            (addr - site.offset as i64).wrapping_add(r.addend)
        } else if !self.is_64() && r.rtype == elf::R_386_GOTPC {
            if cx.symbol(site).name != "_GLOBAL_OFFSET_TABLE_" {
                return Err(cx.error_at(
                    site,
                    ErrorKind::Unsupported,
                    "R_386_GOTPC to a symbol other than _GLOBAL_OFFSET_TABLE_",
                ));
            }
            (cx.got_addr() as i64 - site.offset as i64).wrapping_add(r.addend)
        } else if !self.is_64() && (r.rtype == elf::R_386_GOT32 || r.rtype == elf::R_386_GOT32X) {
            cx.got_offset(site)? as i64
        } else if got_pcrel.contains(&r.rtype) {
            ((cx.got_addr() + cx.got_offset(site)?) as i64 - site.offset as i64)
                .wrapping_add(r.addend)
        } else if !self.is_64() && r.rtype == elf::R_386_GOTOFF {
            // GOT-relative reference to a local definition. The loader places BSS apart from
            // the text, so an offset from the GOT to BSS fixed at link time is wrong at run time
            // (mpy_ld.py writes such a module anyway).
            let (sec, addr) = match cx.target(site) {
                Target::Defined { sec, value } => (sec, cx.layout.sections[sec].addr + value),
                _ => cx.defined(site)?,
            };
            if cx.layout.sections[sec].name.starts_with(".bss") {
                return Err(cx.static_bss(site, sec));
            }
            (addr as i64 - cx.got_addr() as i64).wrapping_add(r.addend)
        } else {
            return Err(cx.unsupported_reloc(site));
        };
        add_u32(cx.bytes(site, 4)?, at, delta);
        Ok(())
    }
}
