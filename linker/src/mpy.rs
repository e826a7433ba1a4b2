//! Write: the `.mpy` container (header, qstr table, machine code, rodata, BSS size, relocation
//! stream), byte for byte as mpy_ld.py writes it. See `py/persistentcode.c` for the reader.

use crate::model::{MpyReloc, Region, RelocDest};
use crate::qstr::static_index;

/// `.mpy` format version.
pub const MPY_VERSION: u8 = 6;
/// `.mpy` sub-version.
pub const MPY_SUB_VERSION: u8 = 3;
/// Header flag: arch flags follow.
pub const MPY_ARCH_FLAGS: u8 = 0x40;
/// Small-int bits recorded in the header.
pub const MP_SMALL_INT_BITS: u8 = 31;
/// Code kind of native viper code, minus bytecode.
const KIND_NATIVE_VIPER: u64 = 4 - 2;
const SCOPE_VIPERRELOC: u64 = 0x10;
const SCOPE_VIPERRODATA: u64 = 0x20;
const SCOPE_VIPERBSS: u64 = 0x40;

/// What goes into a `.mpy`.
pub struct MpyContents<'a> {
    /// `MP_NATIVE_ARCH_*`.
    pub mpy_arch: u8,
    /// Extra arch flags (RISC-V extensions); 0 for none.
    pub arch_flags: u64,
    /// The source name recorded as qstr 0.
    pub source_name: &'a str,
    /// Module-local qstrs, in config.h order.
    pub qstrs: &'a [String],
    /// Machine code.
    pub text: &'a [u8],
    /// Separate rodata (may be empty).
    pub rodata: &'a [u8],
    /// BSS size.
    pub bss_size: u64,
    /// Loader relocations.
    pub relocs: &'a [MpyReloc],
    /// Pointer size.
    pub word_size: usize,
}

/// Appends an unsigned varint (big-endian groups of 7 bits, high bit = more).
pub fn write_uint(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 10];
    let mut i = buf.len() - 1;
    buf[i] = (v & 0x7f) as u8;
    v >>= 7;
    while v != 0 {
        i -= 1;
        buf[i] = 0x80 | (v & 0x7f) as u8;
        v >>= 7;
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_qstr(out: &mut Vec<u8>, s: &str) {
    if let Some(i) = static_index(s) {
        write_uint(out, ((i as u64) << 1) | 1);
    } else {
        write_uint(out, (s.len() as u64) << 1);
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
}

/// Writes one relocation record. The format lets a record omit its offset when it follows
/// the previous one, but mpy_ld.py never does (it compares the base against a value it never
/// updates), so every record carries its offset, as here.
fn write_reloc(out: &mut Vec<u8>, base: u8, offset: u64, dest: u32, n: u64) {
    if dest > 2 && n > 1 {
        for i in 0..n {
            write_reloc(out, base, offset + i, dest, 1);
        }
        return;
    }
    let need_offset = true;
    let mut d = if dest <= 2 {
        (dest << 1) | (n > 1) as u32
    } else {
        dest
    };
    d = (d << 1) | need_offset as u32;
    out.push(d as u8);
    if need_offset {
        write_uint(out, (offset << 1) | base as u64);
    }
    if n > 1 {
        write_uint(out, n);
    }
}

/// The loader's kind number for a destination.
pub fn dest_code(dest: RelocDest, separate_rodata: bool) -> u32 {
    match dest {
        RelocDest::Text => 0,
        RelocDest::Rodata => {
            if separate_rodata {
                1
            } else {
                0
            }
        }
        RelocDest::Bss => 2,
        RelocDest::QstrTable => 6,
        RelocDest::ObjTable => 7,
        RelocDest::FunTable => 8,
        RelocDest::FunSlot(k) => 9 + k,
    }
}

/// The header of a `.mpy`: what a board compares with its `sys.implementation._mpy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpyHeader {
    /// Format version (6).
    pub version: u8,
    /// Sub-version (3 for v1.23 onwards).
    pub sub_version: u8,
    /// `MP_NATIVE_ARCH_*`.
    pub mpy_arch: u8,
    /// Arch flags (RISC-V extensions); 0 for none.
    pub arch_flags: u64,
}

impl MpyHeader {
    /// `sys.implementation._mpy` of a board that loads this file: version, sub-version << 8,
    /// arch << 10, arch flags << 16.
    pub fn mpy_tag(&self) -> u64 {
        u64::from(self.version)
            | u64::from(self.sub_version) << 8
            | u64::from(self.mpy_arch) << 10
            | self.arch_flags << 16
    }
}

/// Reads the header [`build`] writes; `None` when `bytes` is not a `.mpy`.
pub fn read_header(bytes: &[u8]) -> Option<MpyHeader> {
    let [b'M', version, flags, _, rest @ ..] = bytes else {
        return None;
    };
    let mut arch_flags = 0u64;
    if flags & MPY_ARCH_FLAGS != 0 {
        for (i, &b) in rest.iter().enumerate().take(10) {
            arch_flags = arch_flags << 7 | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
            if i == 9 {
                return None;
            }
        }
    }
    Some(MpyHeader {
        version: *version,
        sub_version: flags & 3,
        mpy_arch: (flags >> 2) & 0x0f,
        arch_flags,
    })
}

/// Serialises a native `.mpy`.
pub fn build(c: &MpyContents) -> Vec<u8> {
    let separate = !c.rodata.is_empty();
    let mut out = Vec::with_capacity(c.text.len() + c.rodata.len() + 64 + c.relocs.len() * 2);
    let mut flags = (c.mpy_arch << 2) | MPY_SUB_VERSION;
    if c.arch_flags != 0 {
        flags |= MPY_ARCH_FLAGS;
    }
    out.extend_from_slice(&[b'M', MPY_VERSION, flags, MP_SMALL_INT_BITS]);
    if c.arch_flags != 0 {
        write_uint(&mut out, c.arch_flags);
    }
    write_uint(&mut out, 1 + c.qstrs.len() as u64);
    write_uint(&mut out, 0);
    write_qstr(&mut out, c.source_name);
    for q in c.qstrs {
        write_qstr(&mut out, q);
    }
    write_uint(&mut out, ((c.text.len() as u64) << 3) | KIND_NATIVE_VIPER);
    out.extend_from_slice(c.text);
    let mut scope = SCOPE_VIPERRELOC;
    if !c.rodata.is_empty() {
        scope |= SCOPE_VIPERRODATA;
    }
    if c.bss_size != 0 {
        scope |= SCOPE_VIPERBSS;
    }
    write_uint(&mut out, scope);
    if !c.rodata.is_empty() {
        write_uint(&mut out, c.rodata.len() as u64);
    }
    if c.bss_size != 0 {
        write_uint(&mut out, c.bss_size);
    }
    out.extend_from_slice(c.rodata);

    // Runs of consecutive words with the same destination are merged.
    let mut run: Option<(u8, u64, u32, u64)> = None; // base, first word, kind, n
    for r in c.relocs {
        let base = match r.base {
            Region::Rodata => 1,
            _ => 0,
        };
        let kind = dest_code(r.dest, separate);
        let word = r.offset / c.word_size as u64;
        match &mut run {
            Some((b, first, k, n)) if *k == kind && *b == base && word == *first + *n => *n += 1,
            _ => {
                if let Some((b, first, k, n)) = run {
                    write_reloc(&mut out, b, first, k, n);
                }
                run = Some((base, word, kind, 1));
            }
        }
    }
    if let Some((b, first, k, n)) = run {
        write_reloc(&mut out, b, first, k, n);
    }
    out.push(0xff);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_big_endian_groups() {
        let mut v = Vec::new();
        write_uint(&mut v, 0);
        write_uint(&mut v, 127);
        write_uint(&mut v, 128);
        write_uint(&mut v, 300);
        assert_eq!(v, vec![0, 0x7f, 0x81, 0x00, 0x82, 0x2c]);
    }

    #[test]
    fn header_round_trips() {
        let mut bytes = vec![b'M', 6, (4 << 2) | 3 | MPY_ARCH_FLAGS, 31];
        write_uint(&mut bytes, 300);
        let h = read_header(&bytes).unwrap();
        assert_eq!((h.version, h.sub_version, h.mpy_arch), (6, 3, 4));
        assert_eq!(h.arch_flags, 300);
        let plain = read_header(&[b'M', 6, (4 << 2) | 3, 31]).unwrap();
        assert_eq!(
            plain.mpy_tag(),
            4870,
            "an RP2040 board's sys.implementation._mpy"
        );
        assert_eq!(read_header(b"MZ"), None);
    }
}
