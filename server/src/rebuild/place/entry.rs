//! A missing or `static` `mpy_init`: placed at the `static` definition, else at the
//! Makefile's `SRC` line, else at the first source.

use super::placer::Placer;
use crate::diag::{Fix, Pos, Span};
use natmod_linker::LinkError;

impl Placer<'_, '_> {
    /// The Makefile line that sets `SRC`.
    pub(super) fn src_line(&self) -> Option<Span> {
        let text = self.cx.makefile_text?;
        let i = text.lines().position(|l| {
            let rest = l.trim_start();
            let Some(rest) = rest.strip_prefix("SRC") else {
                return false;
            };
            let rest = rest.trim_start();
            ["=", ":=", "::=", "+=", "?="]
                .iter()
                .any(|op| rest.starts_with(op))
        })?;
        Some(self.makefile_line(u32::try_from(i).ok()?))
    }

    pub(super) fn missing_entry(&mut self, e: &LinkError) -> bool {
        for src in self.linked_sources() {
            let Some(f) = self.file(src).and_then(|f| f.function("mpy_init")) else {
                continue;
            };
            if !f.is_static {
                continue;
            }
            let (name_range, static_range) = (f.name_range, f.static_range);
            let src = src.to_path_buf();
            let d = self.push(
                Span::new(&src, name_range),
                "missing-mpy-init",
                "`mpy_init` is `static`: the module's entry point must be global; drop `static`"
                    .into(),
            );
            if let Some(r) = static_range {
                d.fixes.push(Fix::DropStatic {
                    span: Span::new(&src, r),
                });
            }
            return true;
        }
        let message = format!(
            "no `mpy_init` in the module's sources: every native module needs a global `mpy_init` entry point ({})",
            e.message
        );
        if let Some(span) = self.src_line() {
            self.push(span, "missing-mpy-init", message);
            return true;
        }
        if let Some((_, first)) = self.cx.objects.first() {
            let span = Span {
                path: first.clone(),
                start: Pos::default(),
                end: Pos::default(),
            };
            self.push(span, "missing-mpy-init", message);
            return true;
        }
        false
    }
}
