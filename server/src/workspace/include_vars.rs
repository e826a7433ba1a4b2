//! Include operands with variables, expanded from the text alone (`include $(TOP)/natmod.mk`
//! where the makefile chain sets `TOP := ..`), so project detection finds dynruntime.mk behind
//! them without running make on every Makefile in the workspace.
//!
//! Only what can be known without make: the chain's own simple assignments (`=`, `:=`, `::=`,
//! `?=`, `+=`), `CURDIR`, `MAKEFILE_LIST` (the makefile being read) and the functions `dir`,
//! `notdir`, `lastword`, `firstword`, `abspath`, `realpath` and `strip`. Anything else becomes
//! [`UNKNOWN`]: `$(DYNRUNTIME)` set to `$(MPY_DIR)/py/dynruntime.mk` still names dynruntime.mk
//! when MPY_DIR comes from the environment, and a path with an unknown part is not followed.

use super::assignment;
use std::collections::HashMap;
use std::path::Path;

/// How deep variable references are expanded (a self-referencing variable stops here).
const MAX_DEPTH: usize = 16;

/// What a reference that cannot be known from the text expands to.
pub const UNKNOWN: char = '\0';

/// The variables a makefile chain has assigned so far.
#[derive(Debug, Default, Clone)]
pub struct Vars(HashMap<String, String>);

impl Vars {
    /// Records the simple assignments of makefile `text` (recipe lines are skipped).
    pub fn record(&mut self, text: &str) {
        for line in text.lines() {
            if line.starts_with('\t') {
                continue;
            }
            let Some(a) = assignment::parse(line) else {
                continue;
            };
            // (A shell assignment, `!=`, is not known from the text: left out.)
            let (name, op) = (a.name, a.op);
            let value = a.value.split('#').next().unwrap_or("").trim();
            match op {
                "!=" => {}
                "?=" => {
                    self.0.entry(name.into()).or_insert_with(|| value.into());
                }
                "+=" => {
                    let v = self.0.entry(name.into()).or_default();
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(value);
                }
                _ => {
                    self.0.insert(name.into(), value.into());
                }
            }
        }
    }

    /// `operand` with its references expanded, as read in `makefile` with make running in
    /// `cwd`; what cannot be known from the text is [`UNKNOWN`].
    pub fn expand(&self, operand: &str, makefile: &Path, cwd: &Path) -> String {
        let cx = Cx {
            vars: self,
            makefile: makefile.to_string_lossy().into_owned(),
            cwd: cwd.to_string_lossy().into_owned(),
        };
        cx.expand(operand, 0)
    }
}

/// What an expansion needs to know.
struct Cx<'a> {
    vars: &'a Vars,
    makefile: String,
    cwd: String,
}

impl Cx<'_> {
    fn expand(&self, s: &str, depth: usize) -> String {
        if depth > MAX_DEPTH {
            return UNKNOWN.to_string();
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let Some(first) = after.chars().next() else {
                out.push(UNKNOWN);
                return out;
            };
            let (inner, len) = match first {
                '$' => {
                    out.push('$');
                    rest = &after[1..];
                    continue;
                }
                open @ ('(' | '{') => {
                    let close = if open == '(' { ')' } else { '}' };
                    let Some(end) = matching(after, open, close) else {
                        out.push(UNKNOWN);
                        return out;
                    };
                    (&after[1..end], end + 1)
                }
                c => (&after[..c.len_utf8()], c.len_utf8()),
            };
            match self.reference(inner, depth) {
                Some(v) => out.push_str(&v),
                None => out.push(UNKNOWN),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }

    /// The value of a reference's inside (`NAME` or `function args`).
    fn reference(&self, inner: &str, depth: usize) -> Option<String> {
        if let Some((func, arg)) = inner.split_once([' ', '\t']) {
            let arg = self.expand(arg.trim(), depth + 1);
            let words = || arg.split_whitespace();
            return Some(match func {
                "dir" => words()
                    .map(|w| w.rfind('/').map_or("./", |i| &w[..=i]).to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                "notdir" => words()
                    .map(|w| w.rsplit('/').next().unwrap_or(w))
                    .collect::<Vec<_>>()
                    .join(" "),
                "lastword" => words().last().unwrap_or("").to_string(),
                "firstword" => words().next().unwrap_or("").to_string(),
                "abspath" | "realpath" => words()
                    .map(|w| self.absolute(w))
                    .collect::<Vec<_>>()
                    .join(" "),
                "strip" => words().collect::<Vec<_>>().join(" "),
                _ => return None,
            });
        }
        match inner {
            "CURDIR" => Some(self.cwd.clone()),
            "MAKEFILE_LIST" => Some(self.makefile.clone()),
            name => {
                let value = self.vars.0.get(name)?;
                Some(self.expand(value, depth + 1))
            }
        }
    }

    /// `path` made absolute against make's directory (no symlinks resolved: detection only
    /// needs to find the file).
    fn absolute(&self, path: &str) -> String {
        let p = Path::new(&self.cwd).join(path);
        let mut out = std::path::PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        out.to_string_lossy().into_owned()
    }
}

/// The index in `s` (which starts with `open`) of the `close` that matches it.
fn matching(s: &str, open: char, close: char) -> Option<usize> {
    let mut level = 0usize;
    for (i, c) in s.char_indices() {
        if c == open {
            level += 1;
        } else if c == close {
            level -= 1;
            if level == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(text: &str, operand: &str) -> String {
        let mut v = Vars::default();
        v.record(text);
        v.expand(operand, Path::new("/p/mod/Makefile"), Path::new("/p/mod"))
    }

    #[test]
    fn expands_assignments_and_the_functions_detection_needs() {
        let text = "TOP := ..\nCOMMON ?= $(TOP)/common.mk\nCOMMON ?= other\n\
                    HERE = $(dir $(lastword $(MAKEFILE_LIST)))\n\tTOP = recipe\n";
        assert_eq!(expand(text, "$(COMMON)"), "../common.mk");
        assert_eq!(expand(text, "${TOP}/x.mk"), "../x.mk");
        assert_eq!(expand(text, "$(HERE)a.mk"), "/p/mod/a.mk");
        assert_eq!(expand(text, "$(abspath $(CURDIR)/$(TOP))/n.mk"), "/p/n.mk");
        assert_eq!(expand("A += x\nA += y\n", "$(A)"), "x y");
        assert_eq!(expand("", "$$(X)"), "$(X)");
    }

    #[test]
    fn unknown_references_and_loops_are_marked() {
        let text = "DYN = $(MPY_DIR)/py/dynruntime.mk\nA = $(A)\n";
        assert_eq!(expand(text, "$(DYN)"), "\0/py/dynruntime.mk");
        assert_eq!(expand("", "$(shell echo x)"), "\0");
        assert!(expand(text, "$(A)").contains(UNKNOWN));
        assert_eq!(expand("", "a$(unclosed"), "a\0");
        assert_eq!(expand("", "a$"), "a\0");
    }
}
