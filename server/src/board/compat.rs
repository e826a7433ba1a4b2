//! Whether a board loads a native `.mpy`: `sys.implementation._mpy` decoded, and the loader's
//! rules of `py/persistentcode.c` (same .mpy version and sub-version; the arch equal to the
//! board's, except that a Thumb-2 board takes every Thumb arch up to its own; arch flags a
//! subset of the board's), each mismatch with the fix to make.

use natmod_linker::mpy_read::NativeHeader;

/// `MP_NATIVE_ARCH_*` names by value (`py/persistentcode.h`), as `ARCH =` spells them where
/// natmod-ld links them.
const ARCH_NAMES: [&str; 14] = [
    "none",
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
    "debug",
];
/// `MP_NATIVE_ARCH_ARMV6M`: the lowest arch a Thumb board takes.
const ARMV6M: u8 = 4;
/// `MP_NATIVE_ARCH_ARMV7EMDP`: the highest Thumb arch.
const ARMV7EMDP: u8 = 8;
/// RISC-V arch-flag bits (`RV32_EXT_*` in `py/asmrv32.h`), as `ARCH_FLAGS` names them.
const RV_FLAG_NAMES: [(u64, &str); 2] = [(1, "zba"), (2, "zcmp")];

/// The name of `MP_NATIVE_ARCH_*` value `code`.
pub fn arch_name(code: u8) -> String {
    ARCH_NAMES
        .get(usize::from(code))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("arch {code}"))
}

/// Pointer size of a native arch, in bytes.
pub fn word_size(code: u8) -> u64 {
    match code {
        2 | 12 => 8,
        _ => 4,
    }
}

/// Names the bits of RISC-V arch flags (`zba,zcmp`); unknown bits as hex.
pub fn flag_names(flags: u64) -> String {
    let mut names: Vec<String> = RV_FLAG_NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u64 = RV_FLAG_NAMES.iter().map(|(b, _)| b).sum();
    if flags & !known != 0 {
        names.push(format!("{:#x}", flags & !known));
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// What a firmware loads, from `sys.implementation._mpy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardAbi {
    /// `MPY_VERSION`.
    pub version: u8,
    /// `MPY_SUB_VERSION`.
    pub sub_version: u8,
    /// `MPY_FEATURE_ARCH`: 0 when the firmware cannot load native code.
    pub arch: u8,
    /// Arch flags the firmware's native emitter allows (RISC-V extensions).
    pub arch_flags: u64,
}

impl BoardAbi {
    /// Decodes `_mpy` (`MPY_FILE_HEADER_INT | arch_flags << 16`).
    pub fn from_sys_mpy(v: u64) -> BoardAbi {
        BoardAbi {
            version: (v & 0xff) as u8,
            sub_version: ((v >> 8) & 3) as u8,
            arch: ((v >> 10) & 0x2f) as u8,
            arch_flags: v >> 16,
        }
    }

    /// Whether the loader takes native code of `arch` (`MPY_FEATURE_ARCH_TEST`).
    pub fn accepts_arch(&self, arch: u8) -> bool {
        if self.is_thumb() {
            (ARMV6M..=self.arch).contains(&arch)
        } else {
            arch == self.arch
        }
    }

    fn is_thumb(&self) -> bool {
        (ARMV6M..=ARMV7EMDP).contains(&self.arch)
    }

    /// The arch names the board loads, as a list for messages.
    pub fn accepted_arch_names(&self) -> Vec<String> {
        (1..ARCH_NAMES.len() as u8)
            .filter(|&a| self.accepts_arch(a))
            .map(arch_name)
            .collect()
    }

    /// The `ARCH =` to build for this board: its own arch, or for a Thumb-2 board without
    /// FPU (which reports armv7em, an arch no linker writes) armv7m.
    pub fn best_arch(&self) -> String {
        match self.arch {
            6 => "armv7m".into(),
            a => arch_name(a),
        }
    }
}

/// One reason a module will not load, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// `version`, `arch`, `archFlags` or `native`.
    pub kind: &'static str,
    /// What differs, naming both sides.
    pub message: String,
    /// The change to the build that fixes it.
    pub fix: String,
}

/// Every reason the board's loader refuses the module, in the loader's order. `micropython`
/// is the board's MicroPython version, for the MPY_DIR fix.
pub fn check(m: &NativeHeader, board: &BoardAbi, micropython: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let native = m.arch != 0;
    if m.version != board.version || (native && m.sub_version != board.sub_version) {
        out.push(Mismatch {
            kind: "version",
            message: format!(
                "the module is .mpy version {}.{}, the board loads {}.{}",
                m.version, m.sub_version, board.version, board.sub_version
            ),
            fix: format!(
                "build against an MPY_DIR of .mpy version {}.{} (MPY_VERSION {} and MPY_SUB_VERSION {} in py/persistentcode.h), e.g. the board's MicroPython {micropython}",
                board.version, board.sub_version, board.version, board.sub_version
            ),
        });
    }
    if !native {
        return out;
    }
    if board.arch == 0 {
        out.push(Mismatch {
            kind: "native",
            message: "the board's firmware cannot load native code (its sys.implementation._mpy has no arch)".into(),
            fix: "use a firmware built with native code loading (MICROPY_PERSISTENT_CODE_LOAD_NATIVE, e.g. MICROPY_EMIT_THUMB/MICROPY_EMIT_RV32 on)".into(),
        });
        return out;
    }
    if !board.accepts_arch(m.arch) {
        out.push(Mismatch {
            kind: "arch",
            message: format!(
                "the module is for {}, the board ({}) loads {}",
                arch_name(m.arch),
                arch_name(board.arch),
                board.accepted_arch_names().join(", ")
            ),
            fix: format!("ARCH = {}", board.best_arch()),
        });
        return out;
    }
    if m.arch_flags & !board.arch_flags != 0 {
        let keep = m.arch_flags & board.arch_flags;
        out.push(Mismatch {
            kind: "archFlags",
            message: format!(
                "the module needs arch flags {}, the board allows {}",
                flag_names(m.arch_flags),
                flag_names(board.arch_flags)
            ),
            fix: if keep == 0 {
                "remove ARCH_FLAGS".into()
            } else {
                format!("ARCH_FLAGS = {}", flag_names(keep))
            },
        });
    }
    out
}

/// RAM the loader allocates for the module: the text, then BSS (word-aligned) and rodata in
/// one block, each rounded up to the GC's block of four words.
pub fn ram_cost(m: &NativeHeader) -> u64 {
    let word = word_size(m.arch);
    let block = 4 * word;
    let round = |n: u64, to: u64| n.div_ceil(to) * to;
    let data = round(m.bss, word) + m.rodata;
    round(m.text, block) + if data == 0 { 0 } else { round(data, block) }
}

/// Above this share of the board's free heap the module's RAM cost is warned about: the
/// module's own allocations and the heap's fragmentation need the rest.
pub const RAM_WARN_FRACTION: f64 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    fn module(arch: u8, flags: u64) -> NativeHeader {
        NativeHeader {
            version: 6,
            sub_version: 3,
            arch,
            arch_flags: flags,
            small_int_bits: 31,
            text: 100,
            rodata: 5,
            bss: 6,
        }
    }

    #[test]
    fn mps2_an385_reports_armv7em_and_takes_every_thumb_arch_up_to_it() {
        let b = BoardAbi::from_sys_mpy(6918);
        assert_eq!(
            (b.version, b.sub_version, b.arch, b.arch_flags),
            (6, 3, 6, 0)
        );
        assert_eq!(b.accepted_arch_names(), ["armv6m", "armv7m", "armv7em"]);
        for a in ["armv6m", "armv7m"] {
            let code = natmod_linker::arch::by_name(a).unwrap().info().mpy_arch;
            assert!(check(&module(code, 0), &b, "1.29.0").is_empty(), "{a}");
        }
        let sp = check(&module(7, 0), &b, "1.29.0");
        assert_eq!(sp[0].fix, "ARCH = armv7m");
        assert!(sp[0].message.contains("armv7emsp"), "{:?}", sp);
    }

    #[test]
    fn other_arches_must_match_exactly_and_flags_be_a_subset() {
        // VIRT_RV32: rv32imc with Zba and Zcmp.
        let rv = BoardAbi::from_sys_mpy(6 | ((3 | 11 << 2) << 8) | 3 << 16);
        assert_eq!(rv.accepted_arch_names(), ["rv32imc"]);
        assert!(check(&module(11, 1), &rv, "x").is_empty());
        let no_zba = BoardAbi {
            arch_flags: 2,
            ..rv
        };
        let m = check(&module(11, 3), &no_zba, "x");
        assert_eq!(
            (m[0].kind, m[0].fix.as_str()),
            ("archFlags", "ARCH_FLAGS = zcmp")
        );
        assert_eq!(
            check(&module(11, 1), &no_zba, "x")[0].fix,
            "remove ARCH_FLAGS"
        );
        assert_eq!(check(&module(12, 0), &rv, "x")[0].fix, "ARCH = rv32imc");
        // A Thumb board does not take ARMv6 (A-profile) or the other families.
        let dp = BoardAbi::from_sys_mpy(6 | ((3 | 8 << 2) << 8));
        assert!(!dp.accepts_arch(3) && dp.accepts_arch(8) && dp.accepts_arch(4));
        let m0 = BoardAbi::from_sys_mpy(6 | ((3 | 4 << 2) << 8));
        assert_eq!(m0.accepted_arch_names(), ["armv6m"]);
    }

    #[test]
    fn version_and_native_loading() {
        let b = BoardAbi::from_sys_mpy(6918);
        let old = NativeHeader {
            sub_version: 2,
            ..module(5, 0)
        };
        let m = check(&old, &b, "1.29.0");
        assert_eq!(m[0].kind, "version");
        assert!(m[0].message.contains("6.2") && m[0].message.contains("6.3"));
        assert!(m[0].fix.contains("1.29.0"));
        let no_native = BoardAbi::from_sys_mpy(6 | 3 << 8);
        assert_eq!(check(&module(5, 0), &no_native, "x")[0].kind, "native");
    }

    #[test]
    fn ram_cost_rounds_like_the_gc() {
        // text 100 -> 112; bss 6 -> 8, + rodata 5 = 13 -> 16.
        assert_eq!(ram_cost(&module(5, 0)), 128);
        // every name natmod-ld links has the same code here
        for a in natmod_linker::arch::ARCH_NAMES {
            let code = natmod_linker::arch::by_name(a).unwrap().info().mpy_arch;
            assert_eq!(arch_name(code), *a);
        }
    }
}
