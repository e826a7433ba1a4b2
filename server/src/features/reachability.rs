//! Which calls can link into a natmod, decided without building: a called name must be
//! defined by the project, be part of the natmod API (dynruntime.h and what its headers define
//! as macros or inline functions), be a compiler builtin, be provided by natmod-ld
//! (memset/memcpy/memmove), sit in the project's `--externs` file, or come from a runtime
//! archive (`LINK_RUNTIME = 1`, or the project's `-l` archives).

use super::knowledge;
use super::Ctx;
use crate::c::RefKind;
use crate::diag::Diag;
use crate::diag::{Fix, Severity, Span};
use crate::mpydir::DeclKind;
use crate::rebuild::runtime::{self, SymbolIndex};
use std::path::PathBuf;
use std::sync::Arc;

/// Why a name is (or is not) reachable from a natmod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Callable: a definition, macro, builtin or provision (the reason, in words).
    Available(String),
    /// Only `LINK_RUNTIME = 1` would provide it, from this `archive:member`.
    LinkRuntime(String),
    /// Nothing provides it; a header of the tree may declare it (file, 0-based line).
    Unavailable(Option<(PathBuf, u32)>),
}

/// Names that look like calls but are operators or compiler-expanded macros.
const NOT_CALLS: &[&str] = &[
    "sizeof",
    "_Alignof",
    "alignof",
    "__alignof__",
    "offsetof",
    "__builtin_offsetof",
    "typeof",
    "__typeof__",
    "_Generic",
    "_Static_assert",
    "static_assert",
    "va_start",
    "va_end",
    "va_arg",
    "va_copy",
    "__va_copy",
    "defined",
    "__attribute__",
    "__asm__",
    "asm",
    // gcc expands these in place (they are builtins under their libc names).
    "abs",
    "labs",
    "llabs",
    "fabs",
    "fabsf",
    "copysign",
    "copysignf",
    "alloca",
];

/// Functions natmod-ld provides itself (through `mp_fun_table`'s memset_/memmove_).
const PROVIDED: &[&str] = &["memset", "memcpy", "memmove"];

/// The runtime symbols that could provide a name for the context's project: the toolchain's
/// (what `LINK_RUNTIME = 1` links) and the project's `-l` archives. Runs the compiler once per
/// arch to find the toolchain's archives.
pub fn runtime_for(ctx: &Ctx) -> Option<(Arc<SymbolIndex>, Arc<SymbolIndex>)> {
    let p = &ctx.snap.as_ref()?.project;
    let libs: Vec<PathBuf> = p.libs.iter().map(|l| p.abs(l)).collect();
    Some((
        runtime::runtime(&p.arch).symbols.clone(),
        knowledge::lib_symbols(&libs),
    ))
}

/// Decides whether `name`, used as a call in the context's file, can link.
pub fn classify(
    ctx: &Ctx,
    name: &str,
    runtime: Option<&(Arc<SymbolIndex>, Arc<SymbolIndex>)>,
) -> Verdict {
    let ok = |why: &str| Verdict::Available(why.to_string());
    if NOT_CALLS.contains(&name)
        || name.starts_with("__builtin_")
        || name.starts_with("__sync_")
        || name.starts_with("__atomic_")
    {
        return ok("a compiler builtin");
    }
    if ctx
        .file
        .locals
        .binary_search_by(|l| l.as_str().cmp(name))
        .is_ok()
    {
        return ok("a local variable or parameter");
    }
    if ctx.definition(name).is_some() {
        return ok("defined in the project");
    }
    if ctx.macro_def(name).is_some() {
        return ok("a macro of the project");
    }
    let mut declared = None;
    if let Some(k) = ctx.mpy.as_deref() {
        if k.api(name).is_some() {
            return ok("in the natmod API");
        }
        if let Some(d) = k.dir.decls.get(name) {
            if d.kind != DeclKind::Prototype {
                return ok("defined by a MicroPython header");
            }
            declared = Some((d.file.clone(), d.line));
        }
    }
    if PROVIDED.contains(&name) {
        return ok("provided by natmod-ld");
    }
    if let Some(snap) = &ctx.snap {
        if let Some(f) = snap.facts.as_deref() {
            if f.symbol(name).is_some_and(|s| s.global) {
                return ok("defined by a linked object");
            }
        }
    }
    if let Some(e) = &ctx.externs {
        if e.contains(name) {
            return ok("a ROM symbol of MPY_EXTERN_SYM_FILE");
        }
    }
    if let Some((rt, libs)) = runtime {
        if libs.contains_key(name) {
            return ok("in the project's -l archives");
        }
        if let Some(member) = rt.get(name) {
            let linked = ctx.snap.as_ref().is_some_and(|s| s.project.link_runtime);
            return if linked {
                ok("linked by LINK_RUNTIME = 1")
            } else {
                Verdict::LinkRuntime(member.clone())
            };
        }
    }
    Verdict::Unavailable(declared)
}

/// The message for an unreachable `name`.
pub fn unavailable_message(ctx: &Ctx, name: &str, declared: Option<&(PathBuf, u32)>) -> String {
    let why = match (declared, ctx.mpy.as_deref()) {
        (Some((f, _)), Some(k)) => format!(
            "{} declares it, but the firmware does not export it through mp_fun_table",
            k.rel(f)
        ),
        _ => {
            let mut places = vec!["the project", "the natmod API (py/dynruntime.h)"];
            places.push("the toolchain's runtime libraries");
            if ctx.externs.is_some() {
                places.push("MPY_EXTERN_SYM_FILE");
            }
            format!("it is not defined in {}", places.join(", "))
        }
    };
    match crate::substitutes::substitute(name) {
        Some(h) => format!("{name} is not available to natmods: use {h} instead ({why})"),
        None => format!("{name} is not available to natmods: {why}"),
    }
}

/// The message for a call only `LINK_RUNTIME = 1` provides.
pub fn link_runtime_message(name: &str, member: &str) -> String {
    format!(
        "{name} is not in the natmod API; {member} provides it: set LINK_RUNTIME = 1 to link it"
    )
}

/// Diagnostics for every call in the context's file that cannot link (warnings) or needs
/// `LINK_RUNTIME = 1` (information, with the fix). Empty without a built project.
pub fn check(ctx: &Ctx) -> Vec<Diag> {
    if ctx.snap.is_none() || ctx.mpy.is_none() {
        return Vec::new();
    }
    let runtime = runtime_for(ctx);
    let mut verdicts: std::collections::HashMap<&str, Verdict> = Default::default();
    let mut out = Vec::new();
    for r in ctx
        .file
        .references
        .iter()
        .filter(|r| r.kind == RefKind::Call)
    {
        let v = verdicts
            .entry(r.name.as_str())
            .or_insert_with(|| classify(ctx, &r.name, runtime.as_ref()));
        let span = Span {
            path: ctx.path.clone(),
            start: r.range.start,
            end: r.range.end,
        };
        match v {
            Verdict::Available(_) => {}
            Verdict::LinkRuntime(member) => {
                let mut d = Diag::new(
                    "natmod-lsp",
                    span,
                    Severity::Information,
                    "needs-link-runtime",
                    link_runtime_message(&r.name, member),
                );
                d.fixes.push(Fix::AddLinkRuntime);
                out.push(d);
            }
            Verdict::Unavailable(declared) => out.push(Diag::new(
                "natmod-lsp",
                span,
                Severity::Warning,
                "not-available",
                unavailable_message(ctx, &r.name, declared.as_ref()),
            )),
        }
    }
    out
}
