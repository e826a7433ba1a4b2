//! Open documents as ropes, and the one place that converts between LSP's UTF-16 positions
//! and byte columns.

use ls_types::{Position, TextDocumentContentChangeEvent};
use ropey::Rope;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types;

/// An open document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The client's version.
    pub version: i32,
    /// The text.
    pub text: Rope,
}

/// The open documents, by path.
#[derive(Debug, Default)]
pub struct Documents {
    docs: HashMap<PathBuf, Document>,
}

/// The char index of an LSP position in `rope` (clamped to the document).
fn char_index(rope: &Rope, pos: Position) -> usize {
    let line = (pos.line as usize).min(rope.len_lines().saturating_sub(1));
    let start = rope.line_to_char(line);
    let line_len = rope.line(line).len_chars();
    let start16 = rope.char_to_utf16_cu(start);
    let end16 = rope.char_to_utf16_cu(start + line_len);
    let want = (start16 + pos.character as usize).min(end16);
    rope.utf16_cu_to_char(want)
}

impl Documents {
    /// Opens (or replaces) a document.
    pub fn open(&mut self, path: PathBuf, version: i32, text: &str) {
        self.docs.insert(
            path,
            Document {
                version,
                text: Rope::from_str(text),
            },
        );
    }

    /// Applies changes (full or ranged); unknown documents are ignored.
    pub fn change(
        &mut self,
        path: &Path,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
    ) {
        let Some(doc) = self.docs.get_mut(path) else {
            return;
        };
        for c in changes {
            match c.range {
                None => doc.text = Rope::from_str(&c.text),
                Some(r) => {
                    let a = char_index(&doc.text, r.start);
                    let b = char_index(&doc.text, r.end).max(a);
                    doc.text.remove(a..b);
                    doc.text.insert(a, &c.text);
                }
            }
        }
        doc.version = version;
    }

    /// Closes a document.
    pub fn close(&mut self, path: &Path) {
        self.docs.remove(path);
    }

    /// The paths of the open documents.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.docs.keys().cloned().collect()
    }

    /// The text of an open document.
    pub fn text(&self, path: &Path) -> Option<String> {
        self.docs.get(path).map(|d| d.text.to_string())
    }
}

/// The largest file [`read_lossy`] reads (a C source or header is far smaller).
pub const MAX_READ: u64 = 16 << 20;

/// The text of `path` as an editor shows it: bytes that are not UTF-8 become U+FFFD, so the
/// lines (and the columns before such a byte) stay where they are. `None` for what is not a
/// regular file of at most [`MAX_READ`] bytes.
pub fn read_lossy(path: &Path) -> Option<String> {
    // Only regular files of a sane size: a client may name /dev/zero or a FIFO.
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_READ {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_READ)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The UTF-16 column of byte column `col` in `line` (clamped, and snapped back to a char
/// boundary).
pub fn utf16_col(line: &str, col: u32) -> u32 {
    let mut end = (col as usize).min(line.len());
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].encode_utf16().count() as u32
}

/// The LSP position of 0-based `line` and byte column `col` in `text`.
pub fn position(text: &str, line: u32, col: u32) -> Position {
    let l = text.lines().nth(line as usize).unwrap_or("");
    Position {
        line,
        character: utf16_col(l, col),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_regular_files() {
        assert_eq!(read_lossy(Path::new("/dev/zero")), None);
        let fifo = std::env::temp_dir().join(format!("natmod-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "mkfifo (coreutils) is needed"
        );
        assert_eq!(
            read_lossy(&fifo),
            None,
            "a FIFO is not read (it would block)"
        );
        std::fs::remove_file(&fifo).unwrap();
        let f = std::env::temp_dir().join(format!("natmod-lossy-{}.c", std::process::id()));
        std::fs::write(&f, b"int caf\xe9;\n").unwrap();
        assert_eq!(read_lossy(&f).as_deref(), Some("int caf\u{fffd};\n"));
        std::fs::remove_file(&f).unwrap();
    }
    use ls_types::Range;

    #[test]
    fn converts_utf16_and_applies_ranged_edits() {
        assert_eq!(utf16_col("a€b", 4), 2);
        assert_eq!(utf16_col("a€b", 2), 1, "inside a char snaps back");
        assert_eq!(utf16_col("x😀y", 5), 3);
        let mut docs = Documents::default();
        let p = PathBuf::from("/x.c");
        docs.open(p.clone(), 1, "int a€;\nint b;\n");
        let change = TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(0, 5), Position::new(0, 6))),
            range_length: None,
            text: "bc".into(),
        };
        docs.change(&p, 2, &[change]);
        assert_eq!(docs.text(&p).unwrap(), "int abc;\nint b;\n");
    }
}
