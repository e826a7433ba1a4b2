//! Section garbage collection (`--gc-sections`): which linked sections `mpy_init` reaches
//! through relocations, and, when asked, dropping the others before layout.
//!
//! The walk runs on every link (it is cheap, and editors use it to say why a function is in
//! the module); only [`sweep`] changes the link. Roots are `mpy_init`'s section: the loader
//! needs nothing else from the objects (the GOT, the Xtensa literal pool and the entry jump are
//! made by layout from what is kept). An edge is any relocation of a reached section (Xtensa
//! `.literal` sections included) whose symbol resolves to a section: a function, data, a
//! section symbol (static functions, string literals, RISC-V `%pcrel_lo` labels), or a
//! memset/memmove stub.

use crate::error::{ErrorKind, LinkError};
use crate::facts::{LinkFacts, Why};
use crate::model::Resolution;
use crate::model::{ObjId, SecId, SecOrigin, Target};
use std::collections::VecDeque;

/// How the walk reached a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// It holds `mpy_init`.
    Root,
    /// A relocation in section `from` (found first, so the chain is a shortest one).
    From(SecId),
}

/// The outcome of the walk: per section id, how it was reached, or `None` when unreachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Indexed like [`crate::model::Sections::all`].
    pub via: Vec<Option<Via>>,
}

impl Reach {
    /// Whether section `id` is reachable.
    pub fn kept(&self, id: SecId) -> bool {
        self.via.get(id).is_some_and(|v| v.is_some())
    }
}

/// What [`sweep`] dropped: the sections (in output order) and the symbols defined in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Dropped section ids, in the order they would have been laid out (literals last).
    pub sections: Vec<SecId>,
    /// (object, symbol index, section) of every symbol that was defined in them.
    pub symbols: Vec<(ObjId, usize, SecId)>,
}

/// Walks the relocation graph from `mpy_init`. `None` when `mpy_init` is not defined in a
/// linked section (layout reports that).
pub fn reach(res: &Resolution) -> Option<Reach> {
    let &(eobj, esym) = res.known.get("mpy_init")?;
    let Target::Defined { sec: root, .. } = res.objects.targets[eobj][esym] else {
        return None;
    };
    let mut via: Vec<Option<Via>> = vec![None; res.sections.all.len()];
    via[root] = Some(Via::Root);
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        let Some((obj, relocs)) = res.relocs_of(id) else {
            continue;
        };
        for r in relocs {
            let next = match res.objects.targets[obj].get(r.sym as usize) {
                Some(Target::Defined { sec, .. }) => *sec,
                Some(Target::Mem(_, Some(stub))) => *stub,
                _ => continue,
            };
            if via[next].is_none() {
                via[next] = Some(Via::From(id));
                queue.push_back(next);
            }
        }
    }
    Some(Reach { via })
}

/// Drops every unreachable section from the link: out of the output order and the Xtensa
/// literal list, unloaded from its object, and its symbols resolved to nothing (so a kept
/// relocation to one would fail loudly instead of pointing at a dropped section). Section ids
/// stay as they were.
pub fn sweep(res: &mut Resolution, reach: &Reach) -> Swept {
    let mut swept = Swept::default();
    let dropped = |id: &SecId| !reach.kept(*id);
    swept
        .sections
        .extend(res.sections.order.iter().filter(|i| dropped(i)));
    swept
        .sections
        .extend(res.sections.literals.iter().filter(|i| dropped(i)));
    if swept.sections.is_empty() {
        return swept;
    }
    res.sections.order.retain(|id| reach.kept(*id));
    // mpy_ld.py puts the memset/memmove stubs second in the section list; keep them there
    // (as a link of only the kept sections would) when the first section was dropped.
    let all = &res.sections.all;
    let (stubs, rest): (Vec<SecId>, Vec<SecId>) = res
        .sections
        .order
        .iter()
        .partition(|&&id| matches!(all[id].origin, SecOrigin::Stub(_)));
    let at = 1.min(rest.len());
    res.sections.order = rest[..at]
        .iter()
        .chain(&stubs)
        .chain(&rest[at..])
        .copied()
        .collect();
    res.sections.literals.retain(|id| reach.kept(*id));
    for &id in &swept.sections {
        if let SecOrigin::Object { obj, shndx } = res.sections.all[id].origin {
            res.objects.loaded[obj][shndx] = None;
        }
    }
    for (obj, targets) in res.objects.targets.iter_mut().enumerate() {
        for (si, t) in targets.iter_mut().enumerate() {
            let sec = match *t {
                Target::Defined { sec, .. } | Target::Mem(_, Some(sec)) => sec,
                _ => continue,
            };
            if !reach.kept(sec) {
                if matches!(t, Target::Defined { .. }) {
                    swept.symbols.push((obj, si, sec));
                }
                *t = Target::None;
            }
        }
    }
    let targets = &res.objects.targets;
    res.known
        .retain(|_, &mut (obj, si)| !matches!(targets[obj][si], Target::None));
    swept
}

/// Whether `e` is an undefined-symbol error whose every referencing site lies in a section the
/// walk did not reach (with `--gc-sections` such a reference is dropped with its section).
pub fn only_in_dropped(res: &Resolution, reach: &Reach, e: &LinkError) -> bool {
    if e.kind != ErrorKind::UndefinedSymbol || e.sites.is_empty() {
        return false;
    }
    e.sites.iter().all(|site| {
        let mut secs = res
            .objects
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name == site.object)
            .flat_map(|(oi, f)| {
                f.sections
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.name == site.section)
                    .filter_map(move |(i, _)| res.objects.loaded[oi][i])
            })
            .peekable();
        secs.peek().is_some() && secs.all(|id| !reach.kept(id))
    })
}

/// `--print-gc-sections` lines, as GNU ld words them: one per dropped section.
pub fn removed_lines(facts: &LinkFacts) -> Vec<String> {
    facts
        .sections
        .iter()
        .filter(|s| s.removed)
        .map(|s| {
            let file = s
                .object
                .and_then(|o| facts.objects.get(o))
                .map(|o| o.name.as_str())
                .unwrap_or("natmod-ld");
            format!(
                "removing unused section '{}' in file '{}' ({} bytes)",
                s.name, file, s.size
            )
        })
        .collect()
}

/// The `--why SYMBOL` line: `mpy_init → foo → bar (util.o:.text.bar)`, or why it is not kept.
pub fn why_line(facts: &LinkFacts, symbol: &str) -> String {
    let place = facts
        .symbol(symbol)
        .map(|s| facts.section_place(s.section))
        .unwrap_or_default();
    match facts.why(symbol) {
        Some(Why::Kept(chain)) => format!("{} ({place})", chain.join(" → ")),
        Some(Why::Unreachable { removed: true }) => {
            format!("{symbol}: removed: unreachable from mpy_init ({place})")
        }
        Some(Why::Unreachable { removed: false }) => format!(
            "{symbol}: unreachable from mpy_init, linked anyway without --gc-sections ({place})"
        ),
        None => format!("{symbol}: not defined in any linked section"),
    }
}
