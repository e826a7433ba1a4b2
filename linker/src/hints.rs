//! Hints for undefined symbols: which toolchain runtime archive (libgcc, libm, picolibc's
//! libc) would provide a symbol, so the error can say "set LINK_RUNTIME = 1".
//!
//! Only archive symbol indexes are read; no member is parsed.

use crate::error::{ErrorKind, LinkError};
use crate::input::archive::{load_lib, Archive};
use std::path::PathBuf;
use std::process::Command;

/// The C compiler and flags `py/dynruntime.mk` uses for an arch (the parts that pick the
/// multilib), and the name of the archive holding libm.
pub fn toolchain_for(arch: &str) -> Option<(&'static str, &'static [&'static str], &'static str)> {
    Some(match arch {
        "x86" => ("gcc", &["-m32"], "libm.a"),
        "x64" => ("gcc", &[], "libm.a"),
        "armv6m" => (
            "arm-none-eabi-gcc",
            &["-mthumb", "-mcpu=cortex-m0"],
            "libm.a",
        ),
        "armv7m" => (
            "arm-none-eabi-gcc",
            &["-mthumb", "-mcpu=cortex-m3"],
            "libm.a",
        ),
        "armv7emsp" => (
            "arm-none-eabi-gcc",
            &[
                "-mthumb",
                "-mcpu=cortex-m4",
                "-mfpu=fpv4-sp-d16",
                "-mfloat-abi=hard",
            ],
            "libm.a",
        ),
        "armv7emdp" => (
            "arm-none-eabi-gcc",
            &[
                "-mthumb",
                "-mcpu=cortex-m7",
                "-mfpu=fpv5-d16",
                "-mfloat-abi=hard",
            ],
            "libm.a",
        ),
        "xtensa" | "xtensawin" => ("xtensa-lx106-elf-gcc", &["-mforce-l32"], "libm.a"),
        "rv32imc" => (
            "riscv64-unknown-elf-gcc",
            &["-march=rv32imac", "-mabi=ilp32"],
            "libc.a",
        ),
        "rv64imc" => (
            "riscv64-unknown-elf-gcc",
            &["-march=rv64imac", "-mabi=lp64"],
            "libc.a",
        ),
        _ => return None,
    })
}

/// The runtime archives (libgcc, then libm or libc) `LINK_RUNTIME = 1` would link for `arch`,
/// asking the arch's compiler where they are. Archives the compiler does not know are left out.
pub fn runtime_archive_paths(arch: &str) -> Result<Vec<PathBuf>, LinkError> {
    let (cc, flags, libm) = toolchain_for(arch).ok_or_else(|| {
        LinkError::new(
            ErrorKind::BadArguments,
            format!("no toolchain known for --arch {arch}"),
        )
    })?;
    let ask = |what: &str| -> Result<Option<PathBuf>, LinkError> {
        let out = Command::new(cc)
            .args(flags)
            .arg(what)
            .output()
            .map_err(|e| {
                LinkError::new(
                    ErrorKind::Io,
                    format!("cannot run {cc} to find the runtime libraries: {e}"),
                )
            })?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // gcc prints the bare name back when it does not know the file.
        Ok((out.status.success() && p.is_absolute() && p.is_file()).then_some(p))
    };
    let mut paths = Vec::new();
    paths.extend(ask("-print-libgcc-file-name")?);
    paths.extend(ask(&format!("-print-file-name={libm}"))?);
    Ok(paths)
}

/// Loads the runtime archives for `arch` (see [`runtime_archive_paths`]).
pub fn runtime_archives(arch: &str) -> Result<Vec<Archive>, LinkError> {
    let mut out = Vec::new();
    for p in runtime_archive_paths(arch)? {
        out.extend(load_lib(&p)?);
    }
    Ok(out)
}

/// Adds "provided by ARCHIVE:MEMBER; set LINK_RUNTIME = 1" to every undefined-symbol error
/// whose symbol one of `archives` defines. The first words of each message stay as they were.
pub fn annotate_undefined(errors: &mut [LinkError], archives: &[Archive]) {
    for e in errors
        .iter_mut()
        .filter(|e| e.kind == ErrorKind::UndefinedSymbol)
    {
        let Some(sym) = e.symbol.clone() else {
            continue;
        };
        let Some((a, m)) = archives
            .iter()
            .find_map(|a| a.symbols.get(&sym).map(|&m| (a, m)))
        else {
            continue;
        };
        let file = std::path::Path::new(&a.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        let provider = format!(
            "{}:{}",
            file.unwrap_or_else(|| a.path.clone()),
            a.members[m].name
        );
        let hint = format!("provided by {provider}; set LINK_RUNTIME = 1");
        e.runtime_provider = Some(provider);
        e.detail = Some(match e.detail.take() {
            Some(d) => format!("{d}; {hint}"),
            None => hint,
        });
    }
}
