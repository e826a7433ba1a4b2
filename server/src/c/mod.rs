//! The C front end: a tree-sitter-c index of C sources (function definitions, variable
//! declarations, identifier references with the function they are in, division operators,
//! `MP_QSTR_` names, macros) and the declarator rules the MPY_DIR header reader shares.
//!
//! [`FileIndex::parse`] parses one text once; rebuilding it on every save is cheap. Broken input
//! is indexed as far as tree-sitter's error recovery goes; nothing here panics. Positions are
//! 0-based lines and UTF-8 byte columns, as tree-sitter reports them. `macros.rs` pre-lexes,
//! `walk.rs` walks the tree into `model.rs`'s types, `index.rs` keeps a project's files.

pub mod declarator;
mod index;
mod macros;
mod model;
mod walk;

pub use index::ProjectIndex;
pub use model::*;

use crate::diag::{Pos, Range};
use tree_sitter::{Node, Parser};

/// A tree-sitter parser for C, if the grammar loads.
pub fn c_parser() -> Option<Parser> {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_c::LANGUAGE.into()).ok()?;
    Some(p)
}

/// The range of a tree-sitter node.
pub(crate) fn range_of(node: Node) -> Range {
    let p = |p: tree_sitter::Point| Pos {
        line: u32::try_from(p.row).unwrap_or(u32::MAX),
        col: u32::try_from(p.column).unwrap_or(u32::MAX),
    };
    Range {
        start: p(node.start_position()),
        end: p(node.end_position()),
    }
}

fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
