//! Per-architecture knowledge, one module per family behind the [`Arch`] trait.
//!
//! Adding an architecture means a module here and a row in [`by_name`]; the passes call only
//! the trait. Nothing here imports a pass: the shared vocabulary is [`crate::model`].

use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{GotPlan, RelocSite, Resolution};

pub mod arm;
pub mod got;
pub mod reloc_cx;
pub mod reloc_names;
pub mod riscv;
pub mod x86;
pub mod xtensa;

pub use reloc_cx::RelocCx;

/// Fixed facts about an architecture.
#[derive(Debug, Clone, Copy)]
pub struct ArchInfo {
    /// The `--arch` name.
    pub name: &'static str,
    /// ELF `e_machine` accepted.
    pub machine: u16,
    /// `EM_*` name, as mpy_ld.py logs it.
    pub machine_name: &'static str,
    /// `MP_NATIVE_ARCH_*` value, written into the .mpy header.
    pub mpy_arch: u8,
    /// Pointer size in bytes.
    pub word_size: usize,
    /// Relocation types whose global symbols get a GOT entry.
    pub got_types: &'static [u32],
    /// Relocation types that store an absolute word (handled as data relocations).
    pub abs_types: &'static [u32],
    /// rodata and `.data.rel.ro` live apart from the text (xtensawin).
    pub separate_rodata: bool,
    /// GOT and literal pool come first, built from `.literal` sections (Xtensa).
    pub literal_pool: bool,
    /// Whether `--arch-flags` is accepted.
    pub accepts_arch_flags: bool,
    /// The C toolchain `py/dynruntime.mk` uses for this arch.
    pub toolchain: Toolchain,
}

/// The C compiler and flags `py/dynruntime.mk` uses for an arch (the parts that pick the
/// multilib), and the name of the archive holding libm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toolchain {
    /// The compiler (`CROSS` + `gcc`).
    pub cc: &'static str,
    /// The flags that pick the multilib.
    pub multilib_flags: &'static [&'static str],
    /// The archive holding the math functions (`libm.a`, or picolibc's `libc.a`).
    pub libm: &'static str,
}

/// The toolchain for the arch called `name` on the command line.
pub fn toolchain_for(name: &str) -> Option<Toolchain> {
    by_name(name).ok().map(|a| a.info().toolchain)
}

/// What differs between architectures in the link.
pub trait Arch: Sync + Send {
    /// Fixed facts.
    fn info(&self) -> &ArchInfo;

    /// The machine code jumping from offset 0 of the text to `target` (an offset in the text).
    fn entry_jump(&self, target: i64, dialect: crate::Dialect) -> Result<Vec<u8>>;

    /// Whether mpy_ld.py would call a `.text` section of this alignment untested.
    fn text_alignment_untested(&self, align: u64) -> bool;

    /// A stub that jumps through a pointer word (for memset/memmove provision), and the offset
    /// of that word; `None` where calls go through the GOT anyway (Xtensa).
    fn pointer_jump_stub(&self) -> Option<(Vec<u8>, u64)>;

    /// Applies one relocation found in a text or rodata section.
    fn relocate(&self, cx: &mut RelocCx<'_>, site: &RelocSite) -> Result<()>;

    /// Collects the GOT entries (and, on Xtensa, the literal pool).
    fn collect_got(&self, res: &Resolution) -> Result<GotPlan> {
        got::collect_got_generic(self.info().got_types, res)
    }
}

/// Every architecture name natmod-ld accepts, in mpy_ld.py's order.
pub const ARCH_NAMES: &[&str] = &[
    "x86",
    "x64",
    "armv6m",
    "armv7m",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
];

/// The names in [`ARCH_NAMES`] (in that order) whose objects have ELF `e_machine` `machine`.
pub fn names_for_machine(machine: u16) -> Vec<&'static str> {
    ARCH_NAMES
        .iter()
        .copied()
        .filter(|n| by_name(n).is_ok_and(|a| a.info().machine == machine))
        .collect()
}

/// The architecture called `name` on the command line.
pub fn by_name(name: &str) -> Result<&'static dyn Arch> {
    Ok(match name {
        "x86" => &x86::X86,
        "x64" => &x86::X64,
        "armv6m" => &arm::ARMV6M,
        "armv7m" => &arm::ARMV7M,
        "armv7emsp" => &arm::ARMV7EMSP,
        "armv7emdp" => &arm::ARMV7EMDP,
        "xtensa" => &xtensa::XTENSA,
        "xtensawin" => &xtensa::XTENSAWIN,
        "rv32imc" => &riscv::RV32IMC,
        "rv64imc" => &riscv::RV64IMC,
        _ => {
            return Err(LinkError::new(
                ErrorKind::BadArguments,
                format!(
                    "unknown --arch {name:?}; expected one of: {}",
                    ARCH_NAMES.join(", ")
                ),
            ))
        }
    })
}

/// True when `value` fits in a signed field of `bits + 1` bits (mpy_ld.py's `fit_signed`).
pub fn fits_signed(bits: u32, value: i64) -> bool {
    let v = value >> bits;
    v == 0 || v == -1
}

/// Reads a little-endian u16 at `off`.
pub fn read_u16(buf: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([buf[off], buf[off + 1]])
}

/// Writes a little-endian u16 at `off`.
pub fn write_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// Reads a little-endian u32 at `off`.
pub fn read_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(buf[off..off + 4].try_into().unwrap())
}

/// Writes a little-endian u32 at `off`.
pub fn write_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Adds `delta` to the little-endian u32 at `off`, wrapping (mpy_ld.py's `le32` patch).
pub fn add_u32(buf: &mut [u8], off: usize, delta: i64) {
    let v = read_u32(buf, off);
    write_u32(buf, off, (v as i64).wrapping_add(delta) as u32);
}
