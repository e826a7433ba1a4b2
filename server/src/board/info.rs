//! What a board is: `sys.implementation` (name, version, `_mpy`), `sys.platform`, the machine,
//! and its free heap after a collection, read over the raw REPL with one small script.

use super::compat::{arch_name, flag_names, BoardAbi};
use super::repl::{RawRepl, ReplError};
use serde::Serialize;
use std::time::Duration;

/// The script that prints the facts, one per line (no `json` module needed on the board).
const QUERY: &str = "import sys,gc
i=sys.implementation
gc.collect()
print(i.name)
print('.'.join(str(x) for x in i.version if x!=''))
print(getattr(i,'_mpy',-1))
print(sys.platform)
print(gc.mem_free())
print(getattr(i,'_machine',''))
";

/// A board's facts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardInfo {
    /// `sys.implementation.name` (`micropython`).
    pub implementation: String,
    /// `sys.implementation.version`, dotted (`1.29.0.preview`).
    pub version: String,
    /// `sys.platform` (`rp2`, `qemu`, ...).
    pub platform: String,
    /// `sys.implementation._machine`.
    pub machine: String,
    /// Free heap after `gc.collect()`, in bytes.
    pub mem_free: u64,
    /// `sys.implementation._mpy`, when the firmware loads `.mpy` files at all.
    pub sys_mpy: Option<u64>,
    /// `_mpy` decoded: `.mpy` version (`6.3`).
    pub mpy_version: Option<String>,
    /// `_mpy` decoded: the native arch (`armv7em`), `none` without native loading.
    pub arch: Option<String>,
    /// `_mpy` decoded: arch flags by name (`zba,zcmp`).
    pub arch_flags: Option<String>,
    /// The arch names the loader takes.
    pub accepts: Vec<String>,
    /// Whether native `.mpy` files load.
    pub native: bool,
}

impl BoardInfo {
    /// The decoded `_mpy`, when present.
    pub fn abi(&self) -> Option<BoardAbi> {
        self.sys_mpy.map(BoardAbi::from_sys_mpy)
    }

    /// One line: `qemu · armv7em · mpy 6.3 · 139648 bytes free`.
    pub fn summary(&self) -> String {
        let arch = self.arch.as_deref().unwrap_or("no .mpy loading");
        let mpy = self
            .mpy_version
            .as_deref()
            .map(|v| format!(" · mpy {v}"))
            .unwrap_or_default();
        format!("{} · {arch}{mpy}", self.platform)
    }
}

/// Parses the query's output.
fn parse(out: &str) -> Result<BoardInfo, ReplError> {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let [name, version, mpy, platform, free, machine, ..] = lines[..] else {
        return Err(ReplError::Protocol(format!(
            "unexpected answer to the board query: {out:?}"
        )));
    };
    let sys_mpy = mpy.parse::<i64>().ok().and_then(|v| u64::try_from(v).ok());
    let abi = sys_mpy.map(BoardAbi::from_sys_mpy);
    Ok(BoardInfo {
        implementation: name.to_string(),
        version: version.to_string(),
        platform: platform.to_string(),
        machine: machine.to_string(),
        mem_free: free.parse().unwrap_or(0),
        sys_mpy,
        mpy_version: abi.map(|a| format!("{}.{}", a.version, a.sub_version)),
        arch: abi.map(|a| arch_name(a.arch)),
        arch_flags: abi.map(|a| flag_names(a.arch_flags)),
        accepts: abi.map(|a| a.accepted_arch_names()).unwrap_or_default(),
        native: abi.is_some_and(|a| a.arch != 0),
    })
}

/// Asks the board (already in the raw REPL) what it is.
pub fn query(repl: &mut RawRepl) -> Result<BoardInfo, ReplError> {
    parse(&repl.eval(QUERY, Duration::from_secs(5))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_an385_answer() {
        let i =
            parse("micropython\n1.29.0.preview\n6918\nqemu\n139648\nmps2-an385 with Cortex-M3\n")
                .unwrap();
        assert_eq!(i.arch.as_deref(), Some("armv7em"));
        assert_eq!(i.mpy_version.as_deref(), Some("6.3"));
        assert_eq!(i.summary(), "qemu · armv7em · mpy 6.3");
        assert!(i.native);
        let none = parse("micropython\n1.20.0\n-1\nesp8266\n1000\nx\n").unwrap();
        assert!(none.sys_mpy.is_none() && !none.native);
        assert!(parse("garbage").is_err());
    }
}
