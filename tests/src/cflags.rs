//! The compiler flags `py/dynruntime.mk` gives every natmod compile, kept in one place for the
//! tests that compile C themselves instead of running make.

/// `-std=c99 -Os` and `CFLAGS_ARCH`'s arch-independent part: position-independent code, no
/// common symbols, no `__*_chk` fortify calls. Arch flags come from
/// `natmod_linker::arch::toolchain_for`.
pub const DYNRUNTIME_CFLAGS: &[&str] = &[
    "-std=c99",
    "-Os",
    "-fpic",
    "-fno-common",
    "-U_FORTIFY_SOURCE",
];

/// The warnings and defines of a module build (add `-DMP_CONFIGFILE=<...>` for its config.h).
pub const DYNRUNTIME_MODULE_DEFINES: &[&str] = &[
    "-Wall",
    "-Werror",
    "-DNDEBUG",
    "-DNO_QSTR",
    "-DMICROPY_ENABLE_DYNRUNTIME",
];
