//! One Makefile assignment line read from the text (`NAME op value`, after `export` or
//! `override`): what project detection, Makefile line placement and the look-alike check share.

/// The operators of a make assignment, longest first where one is a prefix of another.
const OPERATORS: [&str; 6] = ["::=", ":=", "?=", "+=", "!=", "="];

/// A `NAME op value` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment<'a> {
    /// Byte column of the name.
    pub col: usize,
    /// The variable's name (letters, digits, `_`, `.` and `-`, as make allows).
    pub name: &'a str,
    /// The operator (`=`, `:=`, `::=`, `?=`, `+=`, `!=`).
    pub op: &'static str,
    /// Everything after the operator, untrimmed (comments included).
    pub value: &'a str,
}

/// `line` read as an assignment, if it is one.
pub fn parse(line: &str) -> Option<Assignment<'_>> {
    let mut col = line.len() - line.trim_start().len();
    for kw in ["export ", "override "] {
        if line[col..].starts_with(kw) {
            col += kw.len();
            col += line[col..].len() - line[col..].trim_start().len();
        }
    }
    let rest = &line[col..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
        .unwrap_or(rest.len());
    let after = rest[end..].trim_start();
    let op = OPERATORS.into_iter().find(|op| after.starts_with(op))?;
    (end > 0).then(|| Assignment {
        col,
        name: &rest[..end],
        op,
        value: &after[op.len()..],
    })
}

/// The 0-based line where Makefile text assigns `var` (`VAR =`, `VAR ?=`, `override VAR :=`...).
pub fn line_of(text: &str, var: &str) -> Option<u32> {
    text.lines()
        .position(|l| parse(l).is_some_and(|a| a.name == var))
        .map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_operators_and_values() {
        let a = parse(" export  CFLAG_EXTRA := -O2 # c").unwrap();
        assert_eq!(
            (a.col, a.name, a.op, a.value),
            (9, "CFLAG_EXTRA", ":=", " -O2 # c")
        );
        assert_eq!(parse("A::=1").map(|a| a.op), Some("::="));
        assert_eq!(parse("A != date").map(|a| a.op), Some("!="));
        assert_eq!(parse("A-B.c = 1").map(|a| a.name), Some("A-B.c"));
        assert_eq!(parse("A = 1").map(|a| a.value), Some(" 1"));
        assert_eq!(parse("= 1"), None);
        assert_eq!(parse("include x.mk"), None);
        let t = "# ARCH = no\nMPY_DIR ?= ../x\nexport MPY_DIR\n override ARCH := x64\nARCHX = 1\n";
        assert_eq!(line_of(t, "MPY_DIR"), Some(1));
        assert_eq!(line_of(t, "ARCH"), Some(3));
        assert_eq!(line_of(t, "SRC"), None);
    }
}
