//! A reader for native `.mpy` files, the way `py/persistentcode.c` reads them: header,
//! source name, machine code, sizes and the loader's relocation stream.

/// The parts of a native `.mpy` the tests look at.
#[derive(Debug, Clone)]
pub struct MpyFile {
    /// `MP_NATIVE_ARCH_*`.
    pub arch: u8,
    /// Arch flags, if present.
    pub arch_flags: Option<u64>,
    /// qstr 0: the source name (`None` when it is a static qstr).
    pub source_name: Option<String>,
    /// Machine code.
    pub text: Vec<u8>,
    /// Loader relocations, one per word: (base 0 = text / 1 = rodata, word index, kind).
    pub relocs: Vec<(u8, u64, u64)>,
}

fn read_uint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    loop {
        let c = b[*i];
        *i += 1;
        v = (v << 7) | (c & 0x7f) as u64;
        if c & 0x80 == 0 {
            return v;
        }
    }
}

/// Parses a whole native `.mpy`, asserting nothing follows the relocation stream.
pub fn parse(b: &[u8]) -> MpyFile {
    assert_eq!(&b[..2], b"M\x06", "not a .mpy v6");
    let flags = b[2];
    let mut i = 4;
    let arch_flags = if flags & 0x40 != 0 {
        Some(read_uint(b, &mut i))
    } else {
        None
    };
    let n_qstr = read_uint(b, &mut i);
    let _n_obj = read_uint(b, &mut i);
    let mut source_name = None;
    for q in 0..n_qstr {
        let v = read_uint(b, &mut i);
        if v & 1 == 0 {
            let len = (v >> 1) as usize;
            if q == 0 {
                source_name = Some(String::from_utf8_lossy(&b[i..i + len]).into_owned());
            }
            i += len + 1;
        }
    }
    let kind_len = read_uint(b, &mut i);
    let len = (kind_len >> 3) as usize;
    let text = b[i..i + len].to_vec();
    i += len;
    let scope = read_uint(b, &mut i);
    let rodata = if scope & 0x20 != 0 {
        read_uint(b, &mut i) as usize
    } else {
        0
    };
    if scope & 0x40 != 0 {
        read_uint(b, &mut i);
    }
    i += rodata;
    let mut relocs = Vec::new();
    let (mut base, mut word) = (0u8, 0u64);
    loop {
        let mut op = b[i] as u64;
        i += 1;
        if op == 0xff {
            break;
        }
        if op & 1 != 0 {
            let a = read_uint(b, &mut i);
            base = (a & 1) as u8;
            word = a >> 1;
        }
        op >>= 1;
        let mut n = 1;
        let kind = if op <= 5 {
            if op & 1 != 0 {
                n = read_uint(b, &mut i);
            }
            op >> 1
        } else {
            op
        };
        for _ in 0..n {
            relocs.push((base, word, kind));
            word += 1;
        }
    }
    assert_eq!(i, b.len(), "bytes after the relocation stream");
    MpyFile {
        arch: flags >> 2 & 0xf,
        arch_flags,
        source_name,
        text,
        relocs,
    }
}

/// Where the entry jump at the start of `text` goes, for the arches whose jump encodings the
/// tests know; `Some(0)` when there is no jump (execution starts at offset 0).
pub fn entry_target(arch: &str, text: &[u8]) -> Option<u64> {
    match arch {
        "x86" | "x64" => match text.first() {
            Some(0xEB) => Some((2 + text[1] as i8 as i64) as u64),
            Some(0xE9) => {
                Some((5 + i32::from_le_bytes(text[1..5].try_into().unwrap()) as i64) as u64)
            }
            _ => Some(0),
        },
        "armv6m" | "armv7m" | "armv7emsp" | "armv7emdp" => {
            let h = |i: usize| u16::from_le_bytes([text[i], text[i + 1]]) as i64;
            let sext = |v: i64, bits: u32| (v << (64 - bits)) >> (64 - bits);
            let h0 = h(0);
            if h0 & 0xF800 == 0xE000 {
                // b <imm11>: target = 4 + 2*imm
                Some((4 + (sext(h0 & 0x7FF, 11) << 1)) as u64)
            } else if h0 == 0xB501 && h(2) & 0xF800 == 0xF000 && h(4) & 0xF800 == 0xF800 {
                // push {r0, lr}; bl <imm22>; pop {r0, pc}: the bl sits at 2
                let off = sext(((h(2) & 0x7FF) << 12) | ((h(4) & 0x7FF) << 1), 23);
                Some((2 + 4 + off) as u64)
            } else if h0 & 0xF800 == 0xF000 && h(2) & 0xF800 == 0xB800 {
                // b.w (as mpy_ld.py encodes it: imm22, J bits set)
                let off = sext(((h0 & 0x7FF) << 12) | ((h(2) & 0x7FF) << 1), 23);
                Some((4 + off) as u64)
            } else {
                Some(0)
            }
            .map(|t| t | 1)
        }
        "rv32imc" | "rv64imc" => {
            let h = |i: usize| u16::from_le_bytes([text[i], text[i + 1]]) as i64;
            let w = |i: usize| u32::from_le_bytes(text[i..i + 4].try_into().unwrap());
            let h0 = h(0);
            if h0 & 0xE003 == 0xA001 {
                // c.j: offset[11|4|9:8|10|6|7|3:1|5] in bits 12..2, relative to 0
                let bit = |from: u32, to: u32| ((h0 >> from) & 1) << to;
                let off = bit(12, 11)
                    | bit(11, 4)
                    | ((h0 >> 9) & 3) << 8
                    | bit(8, 10)
                    | bit(7, 6)
                    | bit(6, 7)
                    | ((h0 >> 3) & 7) << 1
                    | bit(2, 5);
                Some(((off << 52) >> 52) as u64)
            } else if text.len() >= 8 && w(0) & 0xFFF == 0xF97 && w(4) & 0xFFFFF == 0xF8067 {
                // auipc t6, hi; jalr zero, lo(t6): target = hi + sign-extended lo
                Some((w(0) as i32 as i64 + ((w(4) as i32) >> 20) as i64) as u64)
            } else {
                Some(0)
            }
        }
        "xtensa" | "xtensawin" => {
            // j <offset18>: op0 = 6 and n = 0 in the low 6 bits; target = 4 + offset.
            if text.len() >= 3 && text[0] & 0x3F == 0x06 {
                let w = text[0] as i64 | (text[1] as i64) << 8 | (text[2] as i64) << 16;
                Some((4 + (((w >> 6) << 46) >> 46)) as u64)
            } else {
                Some(0)
            }
        }
        _ => None,
    }
}
