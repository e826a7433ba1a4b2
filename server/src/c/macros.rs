//! The macro pre-lexer: rewrites the macro invocations tree-sitter cannot read as C (statement
//! macros without `;`, file-scope `MP_DEFINE_...(...);`) keeping every byte offset, and
//! returns what those `MP_DEFINE_`s define.

use super::is_c_identifier;
use crate::diag::{Pos, Range};

/// Statement-like macros of `py/dynruntime.h` written without a trailing `;`. They are blanked
/// to `;` before parsing (same length, so positions stay), or tree-sitter would read the macro
/// and the next statement as one declaration.
const STATEMENT_MACROS: &[&str] = &["MP_DYNRUNTIME_INIT_ENTRY", "MP_DYNRUNTIME_INIT_EXIT"];

/// An `MP_DEFINE_...(name, args...);` invocation at file scope: it defines the object `name`.
pub(super) struct ObjectDefine {
    pub(super) name: String,
    pub(super) name_range: Range,
    pub(super) static_range: Option<Range>,
    pub(super) is_const: bool,
    pub(super) range: Range,
    /// The identifiers among the other arguments (the functions it wraps).
    pub(super) args: Vec<(String, Range)>,
}

/// Byte offset to line/column.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.0.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.0.get(line).copied().unwrap_or(0);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(offset - start).unwrap_or(u32::MAX),
        }
    }

    fn range(&self, start: usize, end: usize) -> Range {
        Range {
            start: self.pos(start),
            end: self.pos(end),
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Rewrites macro invocations tree-sitter cannot read as C, keeping every byte offset:
/// [`STATEMENT_MACROS`] become `;` and spaces, and file-scope `[static] MP_DEFINE_...(...);`
/// become spaces (returned as [`ObjectDefine`]s). Comments, strings and preprocessor lines are
/// left alone.
pub(super) fn prepare(text: &str) -> (String, Vec<ObjectDefine>) {
    let mut out = text.as_bytes().to_vec();
    let b = text.as_bytes();
    let lines = Lines::new(text);
    let mut defines = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at_line_start = std::mem::replace(&mut line_start, false);
        match c {
            b'#' if at_line_start => i = skip_preprocessor_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |n| n + 2);
            }
            b'"' | b'\'' => i = skip_quoted(b, i),
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ if is_word_byte(c) && (i == 0 || !is_word_byte(b[i - 1])) => {
                let end = i + b[i..].iter().take_while(|&&x| is_word_byte(x)).count();
                let word = &text[i..end];
                if STATEMENT_MACROS.contains(&word) {
                    out[i] = b';';
                    out[i + 1..end].fill(b' ');
                } else if depth == 0 && word.starts_with("MP_DEFINE_") {
                    if let Some(d) = object_define(text, &lines, i, end) {
                        let (start, stop) = d.1;
                        out[start..stop]
                            .iter_mut()
                            .filter(|x| **x != b'\n')
                            .for_each(|x| *x = b' ');
                        defines.push(d.0);
                        i = stop;
                        continue;
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, and only whole ASCII tokens, so this stays UTF-8.
    let out = String::from_utf8(out).unwrap_or_else(|_| text.to_string());
    (out, defines)
}

fn find(b: &[u8], from: usize, what: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(what.len())
        .position(|w| w == what)
        .map(|n| from + n)
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            x if x == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_preprocessor_line(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'\n' => return i,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |n| n + 2);
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// The arguments of the macro call whose `(` is at `open`, split at top-level commas, as byte
/// spans, and the offset of its `)`; `None` when a `;` or the end comes first.
fn macro_args(b: &[u8], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut depth = 0usize;
    let mut args: Vec<(usize, usize)> = Vec::new();
    let mut arg_start = open + 1;
    let mut i = open;
    loop {
        match *b.get(i)? {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    args.push((arg_start, i));
                    return Some((args, i));
                }
            }
            b',' if depth == 1 => {
                args.push((arg_start, i));
                arg_start = i + 1;
            }
            b';' => return None,
            b'"' | b'\'' => {
                i = skip_quoted(b, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// The `static` / `const` words just before offset `m` on the same statement: where the
/// statement starts, the range of `static`, and whether `const` is there.
fn qualifiers_before(text: &str, lines: &Lines, m: usize) -> (usize, Option<Range>, bool) {
    let b = text.as_bytes();
    let mut start = m;
    let mut static_range = None;
    let mut is_const = false;
    loop {
        let mut e = start;
        while e > 0 && b[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
        let s = e - b[..e]
            .iter()
            .rev()
            .take_while(|&&x| is_word_byte(x))
            .count();
        match &text[s..e] {
            "static" => static_range = Some(lines.range(s, e)),
            "const" => is_const = true,
            _ => break,
        }
        start = s;
    }
    (start, static_range, is_const)
}

/// Reads `[static] [const] MP_DEFINE_X(name, args...);` whose macro name spans `m..m_end`;
/// returns it and the byte span to blank.
fn object_define(
    text: &str,
    lines: &Lines,
    m: usize,
    m_end: usize,
) -> Option<(ObjectDefine, (usize, usize))> {
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let open = skip_ws(m_end);
    if b.get(open) != Some(&b'(') {
        return None;
    }
    let (args, close) = macro_args(b, open)?;
    let semi = skip_ws(close + 1);
    if b.get(semi) != Some(&b';') {
        return None;
    }
    let trimmed = |(s, e): (usize, usize)| {
        let t = &text[s..e];
        let lead = t.len() - t.trim_start().len();
        (s + lead, s + lead + t.trim().len())
    };
    let (ns, ne) = trimmed(*args.first()?);
    let name = &text[ns..ne];
    if !is_c_identifier(name) {
        return None;
    }
    let (start, static_range, before_const) = qualifiers_before(text, lines, m);
    let is_const = before_const || text[m..m_end].contains("CONST");
    let mut refs = Vec::new();
    for &a in &args[1..] {
        let (s, e) = trimmed(a);
        if is_c_identifier(&text[s..e]) {
            refs.push((text[s..e].to_string(), lines.range(s, e)));
        }
    }
    Some((
        ObjectDefine {
            name: name.to_string(),
            name_range: lines.range(ns, ne),
            static_range,
            is_const,
            range: lines.range(start, semi + 1),
            args: refs,
        },
        (start, semi),
    ))
}
