//! Xtensa (EM_XTENSA): xtensa (ESP8266) and xtensawin (ESP32).

use super::{Arch, ArchInfo};
use crate::error::{LinkError, Result};
use crate::relocate::{RelocCx, RelocSite};
use crate::Dialect;
use object::elf;

/// A RISC-V flavour.
pub struct XtensaFamily {
    info: ArchInfo,
}

/// `--arch rv32imc`.
pub static XTENSA: XtensaFamily = XtensaFamily {
    info: ArchInfo {
        name: "xtensa",
        machine: elf::EM_XTENSA,
        machine_name: "EM_XTENSA",
        mpy_arch: 9,
        word_size: 4,
        got_types: &[elf::R_RISCV_32, elf::R_RISCV_GOT_HI20, 41],
        abs_types: &[elf::R_RISCV_32, elf::R_RISCV_64],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: true,
    },
};

/// `--arch rv64imc`.
pub static XTENSAWIN: XtensaFamily = XtensaFamily {
    info: ArchInfo {
        name: "xtensawin",
        machine: elf::EM_XTENSA,
        machine_name: "EM_XTENSA",
        mpy_arch: 10,
        word_size: 8,
        got_types: &[elf::R_RISCV_64, elf::R_RISCV_GOT_HI20, 41],
        abs_types: &[elf::R_RISCV_32, elf::R_RISCV_64],
        separate_rodata: false,
        literal_pool: false,
        accepts_arch_flags: false,
    },
};

impl Arch for XtensaFamily {
    fn info(&self) -> &ArchInfo {
        &self.info
    }

    fn entry_jump(&self, _target: i64, _dialect: Dialect) -> Result<Vec<u8>> {
        Err(LinkError::new(
            crate::ErrorKind::Unsupported,
            "RISC-V is not implemented yet",
        ))
    }

    fn text_alignment_untested(&self, align: u64) -> bool {
        align != 2
    }

    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)> {
        None
    }

    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()> {
        Err(LinkError::unsupported_reloc(
            cx.object_name(site),
            cx.section_name(site),
            site.reloc.offset,
            site.reloc.rtype,
            self.info.name,
        ))
    }
}
