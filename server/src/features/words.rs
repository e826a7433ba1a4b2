//! Words at a cursor: identifiers around an LSP position, what comes before them
//! (`mp_fun_table.`, `MP_QSTR_`), and UTF-16 ↔ byte column conversion for one line.

use tower_lsp_server::ls_types::{Position, Range};

/// Whether `b` can be part of a C identifier.
pub fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The byte column of UTF-16 column `utf16` in `line` (clamped to the line).
pub fn byte_col(line: &str, utf16: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in line.char_indices() {
        if units >= utf16 {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    line.len()
}

/// The LSP range of bytes `start..end` of line `line` (0-based) whose text is `text`.
pub fn range(line_no: u32, text: &str, start: usize, end: usize) -> Range {
    Range {
        start: Position::new(line_no, crate::text::utf16_col(text, start as u32)),
        end: Position::new(line_no, crate::text::utf16_col(text, end as u32)),
    }
}

/// The identifier touching byte column `col` of `line`: its byte range.
pub fn word_at(line: &str, col: usize) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    let col = col.min(b.len());
    let mut start = col;
    while start > 0 && is_word_byte(b[start - 1]) {
        start -= 1;
    }
    let mut end = col;
    while end < b.len() && is_word_byte(b[end]) {
        end += 1;
    }
    (start < end && !b[start].is_ascii_digit()).then_some((start, end))
}

/// The start of the identifier that ends at byte column `col` (the prefix being typed).
pub fn prefix_start(line: &str, col: usize) -> usize {
    let b = line.as_bytes();
    let mut start = col.min(b.len());
    while start > 0 && is_word_byte(b[start - 1]) {
        start -= 1;
    }
    start
}

/// Whether the text before byte `start` of `line` is `mp_fun_table.` or `mp_fun_table->`
/// (spaces allowed around the operator).
pub fn after_fun_table(line: &str, start: usize) -> bool {
    let before = line[..start.min(line.len())].trim_end();
    let before = before
        .strip_suffix('.')
        .or_else(|| before.strip_suffix("->"))
        .map(str::trim_end);
    before.is_some_and(|b| {
        b.ends_with("mp_fun_table")
            && !b[..b.len() - "mp_fun_table".len()]
                .bytes()
                .last()
                .is_some_and(is_word_byte)
    })
}

/// Whether byte `col` of `line` is inside a `//` comment or a string or char literal (a
/// one-line approximation: block comments spanning lines are not seen).
pub fn in_comment_or_string(line: &str, col: usize) -> bool {
    let b = line.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < col.min(b.len()) {
        match (quote, b[i]) {
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (None, b'"') | (None, b'\'') => quote = Some(b[i]),
            (None, b'/') if b.get(i + 1) == Some(&b'/') => return true,
            (None, b'/') if b.get(i + 1) == Some(&b'*') => match line[i + 2..].find("*/") {
                Some(n) if i + 2 + n + 2 <= col => i = i + 2 + n + 1,
                _ => return true,
            },
            _ => {}
        }
        i += 1;
    }
    quote.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_contexts() {
        assert_eq!(byte_col("a€b", 2), 4);
        assert_eq!(byte_col("ab", 9), 2);
        assert_eq!(word_at("x = mp_obj_new_int(1);", 8), Some((4, 18)));
        assert_eq!(word_at("f(1, 2)", 5), None);
        assert_eq!(prefix_start("  MP_QSTR_ap", 12), 2);
        assert!(after_fun_table("mp_fun_table.", 13));
        assert!(after_fun_table("x = mp_fun_table -> na", 20));
        assert!(!after_fun_table("my_mp_fun_table.x", 16));
        assert!(in_comment_or_string("a; // mp_", 9));
        assert!(in_comment_or_string("s = \"mp_", 8));
        assert!(!in_comment_or_string("s = \"x\"; mp_", 12));
        assert!(!in_comment_or_string("/* c */ mp_", 11));
    }
}
