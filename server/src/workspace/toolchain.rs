//! Which compiler a project needs, whether it is installed, and which Debian package has it.

use std::path::Path;

/// The Debian package that provides compiler `cc` (a name or path), if one does.
pub fn debian_package(cc: &str) -> Option<&'static str> {
    let name = Path::new(cc).file_name()?.to_str()?;
    Some(match name {
        "gcc" => "gcc",
        "arm-none-eabi-gcc" => "gcc-arm-none-eabi",
        "riscv64-unknown-elf-gcc" => "gcc-riscv64-unknown-elf",
        "xtensa-lx106-elf-gcc" => "gcc-xtensa-lx106",
        "i686-linux-gnu-gcc" => "gcc-i686-linux-gnu",
        "x86_64-linux-gnu-gcc" => "gcc-x86-64-linux-gnu",
        _ => return None,
    })
}

/// The first line of `program --version`, or why there is none.
pub fn tool_version(program: &str) -> Result<String, String> {
    match std::process::Command::new(program)
        .arg("--version")
        .output()
    {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()),
        Ok(o) => Err(format!("{program} --version exited with {}", o.status)),
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

/// The message for a compiler that is not installed.
pub fn missing_compiler_message(cc: &str, arch: &str) -> String {
    let how = match debian_package(cc) {
        Some(pkg) => format!("install it with `apt-get install {pkg}`"),
        None if cc.contains("xtensa-esp32") => {
            "Debian does not package it: install Espressif's toolchain, or build with \
             CROSS=xtensa-lx106-elf- (Debian package gcc-xtensa-lx106)"
                .to_string()
        }
        None => "install it, or set CROSS to a compiler prefix that is installed".to_string(),
    };
    format!("natmod-lsp: the compiler {cc} for ARCH={arch} is not installed: {how}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_debian_packages() {
        assert_eq!(
            debian_package("arm-none-eabi-gcc"),
            Some("gcc-arm-none-eabi")
        );
        assert_eq!(
            debian_package("/usr/bin/riscv64-unknown-elf-gcc"),
            Some("gcc-riscv64-unknown-elf")
        );
        assert_eq!(
            debian_package("xtensa-lx106-elf-gcc"),
            Some("gcc-xtensa-lx106")
        );
        assert_eq!(
            debian_package("i686-linux-gnu-gcc"),
            Some("gcc-i686-linux-gnu")
        );
        assert_eq!(debian_package("xtensa-esp32-elf-gcc"), None);
        assert!(missing_compiler_message("xtensa-esp32-elf-gcc", "xtensawin").contains("lx106"));
    }
}
