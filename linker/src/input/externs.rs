//! `--externs` linkerscripts: fixed-address symbols such as a chip's ROM functions.
//!
//! The accepted subset is mpy_ld.py's: one definition per line, `name = 0xHEX;` or
//! `PROVIDE(name = 0xHEX);`, white space anywhere, `//` line comments and `/* */` block
//! comments that start a line. Lines the subset does not cover are skipped as the reference
//! skips them, but a skipped line that assigns a symbol is remembered with its line number, so
//! that an undefined-symbol error can point at it, and odd-but-accepted addresses get a warning.

use crate::error::{ErrorKind, LinkError, Result};
use std::collections::HashMap;

/// A definition line that the subset does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed {
    /// The symbol the line seems to define.
    pub symbol: String,
    /// 1-based line number.
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
}

/// A parsed externs file.
#[derive(Debug, Clone, Default)]
pub struct Externs {
    /// The path as given.
    pub path: String,
    /// Symbols in file order with their addresses.
    pub symbols: Vec<(String, u32)>,
    /// Symbol -> index into `symbols`.
    index: HashMap<String, usize>,
    /// 1-based line of each symbol's definition, parallel to `symbols`.
    pub lines: Vec<usize>,
    /// Lines that look like definitions but are skipped.
    pub unparsed: Vec<Unparsed>,
    /// Warnings about accepted lines (e.g. an address longer than 32 bits, truncated).
    pub warnings: Vec<String>,
}

impl Externs {
    /// The fixed address of `name`, if defined.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).map(|&i| self.symbols[i].1)
    }

    /// Whether `name` is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The 1-based line defining `name`.
    pub fn line_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).map(|&i| self.lines[i])
    }

    /// A skipped line that seems to define `name`.
    pub fn unparsed_line(&self, name: &str) -> Option<&Unparsed> {
        self.unparsed.iter().find(|u| u.symbol == name)
    }

    /// Reads and parses the file at `path` (named lossily when it is not UTF-8).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Externs> {
        let name = path.as_ref().to_string_lossy();
        let data = std::fs::read(path.as_ref()).map_err(|e| LinkError::io(&name, &e))?;
        Externs::parse(&name, &String::from_utf8_lossy(&data))
    }

    /// Parses linkerscript text; `path` names it in messages.
    pub fn parse(path: &str, text: &str) -> Result<Externs> {
        let mut ex = Externs {
            path: path.to_string(),
            ..Default::default()
        };
        let mut inside_comment = false;
        for (i, raw) in text.lines().enumerate() {
            let lineno = i + 1;
            let line = raw.trim();
            if line.starts_with("/*") && !inside_comment {
                if !line.ends_with("*/") {
                    inside_comment = true;
                }
                continue;
            }
            if inside_comment {
                if line.ends_with("*/") {
                    inside_comment = false;
                }
                continue;
            }
            if line.starts_with("//") {
                continue;
            }
            let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            match parse_definition(&compact) {
                Some(Ok((sym, addr, digits))) => {
                    if ex.index.contains_key(&sym) {
                        return Err(LinkError::new(
                            ErrorKind::BadExterns,
                            format!("Symbol {sym} already defined"),
                        )
                        .detail(format!(
                            "{path}:{lineno}; first defined on line {}",
                            ex.lines[ex.index[&sym]]
                        ))
                        .symbol(sym)
                        .object(path));
                    }
                    if digits.len() > 8 {
                        ex.warnings.push(format!(
                            "{path}:{lineno}: warning: address 0x{digits} of {sym} is longer than 32 bits; \
                             using 0x{addr:x} as mpy_ld.py does"
                        ));
                    }
                    ex.index.insert(sym.clone(), ex.symbols.len());
                    ex.symbols.push((sym, addr));
                    ex.lines.push(lineno);
                }
                Some(Err(sym)) => ex.unparsed.push(Unparsed {
                    symbol: sym,
                    line: lineno,
                    text: line.to_string(),
                }),
                None => {}
            }
        }
        Ok(ex)
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses one white-space-free line. `None`: not a definition at all. `Some(Err(sym))`: a line
/// that assigns `sym` but is outside the subset. `Some(Ok((sym, addr, hex_digits)))`: accepted;
/// like the reference, only the last chunk of at most 8 hex digits gives the address.
fn parse_definition(s: &str) -> Option<std::result::Result<(String, u32, String), String>> {
    let (weak, body) = match s.strip_prefix("PROVIDE(") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let bb = body.as_bytes();
    if bb.is_empty() || !is_ident_start(bb[0]) {
        return None;
    }
    let name_len = bb.iter().take_while(|&&c| is_ident(c)).count();
    let name = &body[..name_len];
    let rest = &body[name_len..];
    let value = rest.strip_prefix('=')?;
    let bad = || Some(Err(name.to_string()));
    let Some(hex_and_tail) = value.strip_prefix("0x") else {
        return bad();
    };
    let digits_len = hex_and_tail
        .bytes()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    let digits = &hex_and_tail[..digits_len];
    let tail = &hex_and_tail[digits_len..];
    let expected_tail = if weak { ");" } else { ";" };
    if digits.is_empty() || tail != expected_tail {
        return bad();
    }
    // `(hex{1,8})*` keeps the last repetition: the final 1..8 digits after splitting from the left.
    let chunk_start = ((digits.len() - 1) / 8) * 8;
    let addr = u32::from_str_radix(&digits[chunk_start..], 16).ok()?;
    Some(Ok((name.to_string(), addr, digits.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_reference_subset() {
        let ex = Externs::parse(
            "hw.ld",
            "PROVIDE ( a = 0x40001000 );\nb=0x10;\n  c   =  0x1F ;\n// d = 0x1;\n/* e = 0x2; */\n/*\nf = 0x3;\n*/\n",
        )
        .unwrap();
        assert_eq!(
            ex.symbols,
            vec![
                ("a".into(), 0x40001000),
                ("b".into(), 0x10),
                ("c".into(), 0x1f)
            ]
        );
        assert_eq!(ex.line_of("c"), Some(3));
        assert!(ex.unparsed.is_empty());
    }

    #[test]
    fn remembers_skipped_definitions_with_line_numbers() {
        let ex = Externs::parse(
            "hw.ld",
            "x = 1234;\ny = 0X10;\nz = 0x10; /* c */\nSECTIONS\n",
        )
        .unwrap();
        assert!(ex.symbols.is_empty());
        let lines: Vec<_> = ex
            .unparsed
            .iter()
            .map(|u| (u.symbol.as_str(), u.line))
            .collect();
        assert_eq!(lines, vec![("x", 1), ("y", 2), ("z", 3)]);
    }

    #[test]
    fn long_addresses_keep_the_last_chunk_and_warn() {
        let ex = Externs::parse("hw.ld", "far = 0x123456789;\n").unwrap();
        assert_eq!(ex.get("far"), Some(0x9));
        assert_eq!(ex.warnings.len(), 1);
        assert!(ex.warnings[0].contains("hw.ld:1"));
    }

    #[test]
    fn duplicate_is_an_error_naming_both_lines() {
        let e = Externs::parse("hw.ld", "a = 0x1;\nPROVIDE(a = 0x2);\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadExterns);
        assert_eq!(
            e.to_string(),
            "Symbol a already defined (hw.ld:2; first defined on line 1)"
        );
    }
}
