//! Errors at an (object, section, offset), such as relocations out of range: placed at the
//! symbol's uses in the function holding that offset, else at the function.

use super::code_of;
use super::placer::Placer;
use crate::diag::{Range, Span};
use natmod_linker::{ErrorKind, LinkError};
use std::path::Path;

impl Placer<'_, '_> {
    /// Errors at an (object, section, offset): placed at the symbol's uses in the function (or
    /// data) holding that offset, else at that function's name. The entry jump (no site) goes
    /// to `mpy_init`.
    pub(super) fn located(&mut self, e: &LinkError) -> bool {
        let code = code_of(e.kind);
        let sym = e.symbol.clone().filter(|s| !s.starts_with('.'));
        let Some(site) = Self::sites_of(e).into_iter().next() else {
            return e.kind == ErrorKind::JumpTooFar && self.entry_jump(e);
        };
        let Some(src) = self.source_of(&site.object).map(Path::to_path_buf) else {
            return false;
        };
        let Some(holder) = self.containing_symbol(&site) else {
            return false;
        };
        let message = located_message(e, &holder, sym.as_deref());
        let uses: Vec<Range> = match (&sym, self.file(&src)) {
            (Some(s), Some(f)) => f
                .references_to(s)
                .filter(|r| r.function.as_deref() == Some(holder.as_str()))
                .map(|r| r.range)
                .collect(),
            _ => Vec::new(),
        };
        if !uses.is_empty() {
            for r in uses {
                self.push(Span::new(&src, r), code, message.clone());
            }
            return true;
        }
        let Some(r) = self.definition_range(&src, &holder) else {
            return false;
        };
        self.push(Span::new(&src, r), code, message);
        true
    }

    /// The entry jump out of range (no site): placed at `mpy_init`'s name.
    fn entry_jump(&mut self, e: &LinkError) -> bool {
        for src in self.linked_sources() {
            let Some(r) = self.file(src).and_then(|f| f.function("mpy_init")) else {
                continue;
            };
            let span = Span::new(src, r.name_range);
            self.push(
                span,
                code_of(e.kind),
                format!(
                    "{}: `mpy_init` starts too far into the text for the entry jump; define it earlier (its file first in SRC, near the top of that file)",
                    e.message
                ),
            );
            return true;
        }
        false
    }
}

/// The message of a located error: the linker's, the function holding the site, the detail
/// without its offsets, and the symbol when the rest does not name it.
fn located_message(e: &LinkError, holder: &str, sym: Option<&str>) -> String {
    let detail: Vec<&str> = e
        .detail
        .as_deref()
        .unwrap_or("")
        .split("; ")
        .filter(|c| !c.is_empty() && !c.contains("+0x"))
        .collect();
    let mut message = format!("{} (in `{holder}`)", e.message);
    if !detail.is_empty() {
        message.push_str(&format!(": {}", detail.join("; ")));
    }
    if let Some(s) = sym {
        if !message.contains(s) {
            message.push_str(&format!(" (symbol `{s}`)"));
        }
    }
    message
}
