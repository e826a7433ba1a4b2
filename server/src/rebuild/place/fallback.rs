//! Errors with no place in the project's C: at the call that pulled in their archive member,
//! else at the Makefile line that brings in the runtime archives.

use super::code_of;
use super::placer::Placer;
use crate::diag::Span;
use natmod_linker::LinkError;

impl Placer<'_, '_> {
    /// The archive member chain that brought `object` in, when it is a pulled member: the
    /// symbol an input object needed and the chain's text
    /// (`sqrt -> libm.a:lib_a-w_sqrt.o -> ...`).
    pub(super) fn pulled_by(&self, object: &str) -> Option<(String, String)> {
        let facts = self.cx.facts?;
        let pulled: Vec<natmod_linker::resolve::PulledMember> = facts
            .objects
            .iter()
            .filter_map(|o| o.member.clone())
            .collect();
        let mut i = pulled
            .iter()
            .position(|m| format!("{}:{}", m.archive, m.member) == object)?;
        let chain = natmod_linker::resolve::pull_chain(&pulled, i);
        let mut steps = 0;
        while let Some(up) = pulled[i].needed_by.filter(|&u| u < pulled.len()) {
            steps += 1;
            if steps > pulled.len() {
                return None;
            }
            i = up;
        }
        Some((pulled[i].by_symbol.clone(), chain))
    }

    /// Where an error with no place in the project's C goes: the call site that pulled in
    /// the archive member it comes from (the pull chain is known), else the Makefile line
    /// that brings in the runtime archives (`LINK_RUNTIME`, `MPY_LD_FLAGS`), else `SRC`'s,
    /// else the first.
    pub(super) fn fallback_span(&self, e: &LinkError) -> (Span, Option<String>) {
        let object = e
            .object
            .clone()
            .or_else(|| e.sites.first().map(|s| s.object.clone()));
        if let Some((sym, chain)) = object.and_then(|o| self.pulled_by(&o)) {
            for (_, src) in self.cx.objects {
                let range = self
                    .file(src)
                    .and_then(|f| f.references_to(&sym).map(|r| r.range).next());
                if let Some(r) = range {
                    return (Span::new(src, r), Some(chain));
                }
            }
        }
        let text = self.cx.makefile_text.unwrap_or("");
        let line = ["LINK_RUNTIME", "MPY_LD_FLAGS", "SRC"]
            .iter()
            .find_map(|v| crate::workspace::assignment_line(text, v));
        (self.makefile_line(line.unwrap_or(0)), None)
    }

    /// The error, in full, where the user acts on it (see [`Placer::fallback_span`]).
    pub(super) fn fallback(&mut self, e: &LinkError) {
        let (span, chain) = self.fallback_span(e);
        let mut message = e.to_string();
        // The linker names the chain itself for some errors (`.data` of a pulled member).
        if let Some(c) = chain.filter(|c| !message.contains(c.as_str())) {
            message.push_str(&format!(" (pulled in by {c})"));
        }
        if let Some(s) = &e.symbol {
            if !message.contains(s.as_str()) {
                message.push_str(&format!(" (symbol `{s}`)"));
            }
        }
        self.push(span, code_of(e.kind), message);
    }
}
