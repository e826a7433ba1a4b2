//! Read: the header and memory sizes of a native `.mpy` (version, sub-version, arch, arch
//! flags, text, rodata and BSS sizes), the way `py/persistentcode.c` reads them, without panics.

use crate::mpy::MPY_ARCH_FLAGS;

/// What a board's loader checks and allocates for a native `.mpy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeHeader {
    /// `.mpy` major version (byte 1).
    pub version: u8,
    /// Sub-version (low 2 bits of byte 2).
    pub sub_version: u8,
    /// `MP_NATIVE_ARCH_*` (byte 2 decoded as `MPY_FEATURE_DECODE_ARCH`); 0 for bytecode.
    pub arch: u8,
    /// Arch flags (the varint after the header when byte 2 has 0x40), 0 when absent.
    pub arch_flags: u64,
    /// Small-int bits (byte 3).
    pub small_int_bits: u8,
    /// Machine code bytes of the outer function (0 for bytecode).
    pub text: u64,
    /// Separate rodata bytes.
    pub rodata: u64,
    /// BSS bytes.
    pub bss: u64,
}

/// Why a file is not a readable `.mpy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

/// A cursor over `.mpy` bytes that fails instead of running off the end.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, ReadError> {
        let c = *self
            .b
            .get(self.i)
            .ok_or_else(|| ReadError(format!("truncated .mpy ({} bytes)", self.b.len())))?;
        self.i += 1;
        Ok(c)
    }

    fn uint(&mut self) -> Result<u64, ReadError> {
        let mut v = 0u64;
        for _ in 0..10 {
            let c = self.byte()?;
            v = (v << 7) | u64::from(c & 0x7f);
            if c & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ReadError(format!("varint too long at byte {}", self.i)))
    }

    fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.i.checked_add(n))
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| ReadError(format!("truncated .mpy ({} bytes)", self.b.len())))?;
        self.i = end;
        Ok(())
    }
}

/// Reads an unsigned varint from the start of `b` (`None` when it is truncated or too long).
pub fn read_uint(b: &[u8]) -> Option<u64> {
    Cursor { b, i: 0 }.uint().ok()
}

/// Reads the header and the outer function's sizes. For a bytecode `.mpy` (arch 0) only the
/// header fields are read and the sizes are 0.
pub fn read_native_header(b: &[u8]) -> Result<NativeHeader, ReadError> {
    if b.len() < 4 || b[0] != b'M' {
        return Err(ReadError(
            "not a .mpy file (it does not start with 'M')".into(),
        ));
    }
    let mut h = NativeHeader {
        version: b[1],
        sub_version: b[2] & 3,
        arch: (b[2] >> 2) & 0x2f,
        arch_flags: 0,
        small_int_bits: b[3],
        text: 0,
        rodata: 0,
        bss: 0,
    };
    let mut c = Cursor { b, i: 4 };
    if b[2] & MPY_ARCH_FLAGS != 0 {
        h.arch_flags = c.uint()?;
    }
    if h.arch == 0 || h.version != crate::mpy::MPY_VERSION {
        return Ok(h);
    }
    let n_qstr = c.uint()?;
    let n_obj = c.uint()?;
    if n_obj != 0 {
        // natmod-ld and mpy_ld.py write no constant objects; their encoding is not read here.
        return Err(ReadError(format!(
            "{n_obj} constant objects: not a native module"
        )));
    }
    for _ in 0..n_qstr {
        let v = c.uint()?;
        if v & 1 == 0 {
            c.skip((v >> 1) + 1)?;
        }
    }
    let kind_len = c.uint()?;
    h.text = kind_len >> 3;
    c.skip(h.text)?;
    let scope = c.uint()?;
    if scope & 0x20 != 0 {
        h.rodata = c.uint()?;
    }
    if scope & 0x40 != 0 {
        h.bss = c.uint()?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mpy::{build, MpyContents};

    fn sample(arch_flags: u64, rodata: &[u8], bss: u64) -> Vec<u8> {
        build(&MpyContents {
            mpy_arch: 11,
            arch_flags,
            source_name: "m.py",
            qstrs: &["factorial".to_string()],
            text: &[1, 2, 3, 4, 5, 6, 7, 8],
            rodata,
            bss_size: bss,
            relocs: &[],
            word_size: 4,
        })
    }

    #[test]
    fn reads_what_the_writer_writes() {
        let h = read_native_header(&sample(1, &[9; 12], 20)).unwrap();
        assert_eq!((h.version, h.sub_version, h.arch), (6, 3, 11));
        assert_eq!((h.arch_flags, h.text, h.rodata, h.bss), (1, 8, 12, 20));
        let h = read_native_header(&sample(0, &[], 0)).unwrap();
        assert_eq!((h.arch_flags, h.text, h.rodata, h.bss), (0, 8, 0, 0));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = sample(3, &[9; 12], 20);
        let whole = read_native_header(&full).unwrap();
        // The sizes end where the relocation stream starts: every shorter prefix is an error,
        // every longer one reads the same.
        let first_ok = (0..=full.len())
            .find(|&n| read_native_header(&full[..n]).is_ok())
            .unwrap();
        assert!(first_ok > 4 + 1 + 2 + 8, "reads past the text: {first_ok}");
        for n in first_ok..=full.len() {
            assert_eq!(read_native_header(&full[..n]).unwrap(), whole);
        }
        assert!(read_native_header(b"Mx").is_err());
        assert!(read_native_header(b"\x7fELF....").is_err());
        assert_eq!(read_uint(&[0x81, 0x00]), Some(128));
        assert_eq!(read_uint(&[0x81]), None);
    }
}
