//! Which MicroPython version's `mpy_ld.py` to reproduce.
//!
//! Both write `.mpy` 6.3, but v1.23's linker differs in details (entry trampoline form, the
//! source name it records, the `--preprocess` header). The dialect follows the MicroPython tree
//! the module is built against: `--mpy-dir`, else `$MPY_DIR`, else the newest.

use std::path::Path;

/// A MicroPython release line whose linker output we reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Dialect {
    /// MicroPython v1.23.x.
    V1_23,
    /// The newest `mpy_ld.py` (v1.24 onwards).
    #[default]
    Newest,
}

/// A MicroPython version read from `py/mpconfig.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MpyVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Micro version.
    pub micro: u32,
}

impl std::fmt::Display for MpyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// Reads `MICROPY_VERSION_{MAJOR,MINOR,MICRO}` from `DIR/py/mpconfig.h`.
pub fn read_version(mpy_dir: &Path) -> Option<MpyVersion> {
    let text = std::fs::read_to_string(mpy_dir.join("py/mpconfig.h")).ok()?;
    let get = |key: &str| -> Option<u32> {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start();
            let rest = rest.strip_prefix(key)?;
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            rest.trim().parse().ok()
        })
    };
    Some(MpyVersion {
        major: get("MICROPY_VERSION_MAJOR")?,
        minor: get("MICROPY_VERSION_MINOR")?,
        micro: get("MICROPY_VERSION_MICRO")?,
    })
}

impl Dialect {
    /// The dialect for a MicroPython version.
    pub fn for_version(v: MpyVersion) -> Dialect {
        if v.major == 1 && v.minor <= 23 {
            Dialect::V1_23
        } else {
            Dialect::Newest
        }
    }

    /// The dialect for a MicroPython tree; the newest when its version cannot be read.
    pub fn for_mpy_dir(mpy_dir: &Path) -> Dialect {
        read_version(mpy_dir)
            .map(Dialect::for_version)
            .unwrap_or_default()
    }
}
