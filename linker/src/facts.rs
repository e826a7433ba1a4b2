//! Link facts: what a link put where and why, gathered on the same pass as the link itself,
//! for editors (hover, code lenses, "where does this symbol come from").
//!
//! Facts come with a successful link and with a failed one; offsets in the image are known
//! only once layout has run.

use crate::arch::ArchInfo;
use crate::error::{ErrorKind, LinkError, Site};
use crate::gc::{Reach, Swept, Via};
use crate::input::elf::{SectionType, Shndx, SymType};
use crate::model::{region_of, Region, Target};
use crate::model::{Image, Layout, Provider, PulledMember, Resolution};
use crate::resolve::reference_sites;
use serde::Serialize;
use std::collections::HashMap;

/// Everything a link learned about its inputs and output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkFacts {
    /// Loaded objects in link order: the given objects, then archive members in pull order.
    pub objects: Vec<ObjectFacts>,
    /// Linked sections by id (object sections, memset/memmove stubs, then GOT and literal
    /// pool once laid out).
    pub sections: Vec<SectionFacts>,
    /// Every named function or data symbol defined in a linked section.
    pub symbols: Vec<SymbolFacts>,
    /// How each referenced global was provided, in first-reference order.
    pub resolutions: Vec<Resolved>,
    /// Every undefined symbol with every place referencing it.
    pub undefined: Vec<UndefinedFacts>,
    /// Number of GOT entries (after layout).
    pub got_entries: Option<usize>,
    /// Number of loader relocation records in the `.mpy` (after relocation).
    pub relocation_records: Option<usize>,
    /// The link ran with `--gc-sections` (unreachable sections were dropped).
    pub gc_sections: bool,
    /// The module's sizes (after a successful link).
    pub module: Option<ModuleSizes>,
}

/// Sizes of a linked module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ModuleSizes {
    /// The `.mpy` file.
    pub mpy: u64,
    /// Text bytes.
    pub text: u64,
    /// Separate rodata bytes.
    pub rodata: u64,
    /// BSS bytes.
    pub bss: u64,
}

/// One loaded object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectFacts {
    /// Its name, as in messages (`lib.a:member.o` for archive members).
    pub name: String,
    /// The archive member it is, and the symbol that pulled it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<PulledMember>,
    /// Bytes it adds to the text.
    pub text: u64,
    /// Bytes it adds to separate rodata.
    pub rodata: u64,
    /// Bytes it adds to BSS.
    pub bss: u64,
    /// ELF relocations in its linked sections.
    pub relocations: usize,
    /// Loader relocation records patching its bytes (after relocation).
    pub records: usize,
}

/// One linked section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionFacts {
    /// Section name (`GOT`, `LIT` and `.internal.mem*` for the linker's own).
    pub name: String,
    /// Index into [`LinkFacts::objects`], if it comes from an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<usize>,
    /// The region it lands in.
    pub region: Region,
    /// Size in bytes.
    pub size: u64,
    /// Offset in its region (after layout; `None` when removed).
    pub offset: Option<u64>,
    /// `mpy_init` reaches it through relocations (true when there is no `mpy_init` to walk
    /// from, and for the linker's own GOT and literal pool).
    pub reachable: bool,
    /// The section whose relocation reached it first (`None` for `mpy_init`'s own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached_from: Option<usize>,
    /// Dropped by `--gc-sections`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// One defined symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolFacts {
    /// Its name.
    pub name: String,
    /// Global (or weak) rather than file-local.
    pub global: bool,
    /// Index into [`LinkFacts::objects`].
    pub object: usize,
    /// Index into [`LinkFacts::sections`].
    pub section: usize,
    /// Offset within its section (`st_value`).
    pub value: u64,
    /// Offset in its region of the final image (after layout).
    pub offset: Option<u64>,
    /// `st_size`.
    pub size: u64,
    /// The region it lands in.
    pub region: Region,
    /// Its section was dropped by `--gc-sections` (it is not in the module).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// Why a symbol is in the module, or is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Reached from `mpy_init`: the chain of sections, each named by its first function or
    /// data symbol (the section's name when it has none), `mpy_init`'s first.
    Kept(Vec<String>),
    /// Unreachable from `mpy_init`; `removed` when `--gc-sections` dropped it.
    Unreachable {
        /// Dropped from the module (else it is linked anyway).
        removed: bool,
    },
}

/// How a referenced global was provided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The symbol.
    pub symbol: String,
    /// What provides it: an object, an `mp_fun_table` slot, memset/memmove provision, an
    /// `--externs` address, or a runtime table.
    pub provider: Provider,
    /// The archive member that defines it, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<PulledMember>,
}

/// An undefined symbol and every place that references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndefinedFacts {
    /// The symbol.
    pub symbol: String,
    /// Referencing (object, section, offset) sites, in link order.
    pub sites: Vec<Site>,
}

impl LinkFacts {
    /// The defined global symbol called `name` (the definition the link used).
    pub fn symbol(&self, name: &str) -> Option<&SymbolFacts> {
        let mut found = None;
        for s in self.symbols.iter().filter(|s| s.name == name) {
            if s.global || found.is_none() {
                found = Some(s);
            }
        }
        found
    }

    /// Why `name` (a defined symbol, the one [`LinkFacts::symbol`] finds) is in the module:
    /// the relocation chain from `mpy_init`, or that nothing reaches it. `None` for a symbol no
    /// linked section defines.
    pub fn why(&self, name: &str) -> Option<Why> {
        self.why_of(self.symbol(name)?)
    }

    /// [`LinkFacts::why`] for one symbol of these facts (a file-local one too).
    pub fn why_of(&self, sym: &SymbolFacts) -> Option<Why> {
        let name = &sym.name;
        let sec = self.sections.get(sym.section)?;
        if !sec.reachable {
            return Some(Why::Unreachable {
                removed: sec.removed,
            });
        }
        let mut chain = vec![sym.section];
        let mut at = sym.section;
        while let Some(from) = self.sections[at].reached_from {
            if chain.contains(&from) || chain.len() > self.sections.len() {
                break;
            }
            chain.push(from);
            at = from;
        }
        chain.reverse();
        let mut steps: Vec<String> = chain.iter().map(|&i| self.section_label(i)).collect();
        if let Some(last) = steps.last_mut() {
            *last = name.clone();
        }
        Some(Why::Kept(steps))
    }

    /// A section named by its first function (else data) symbol, for chains.
    fn section_label(&self, id: usize) -> String {
        let in_sec = || self.symbols.iter().filter(move |s| s.section == id);
        in_sec()
            .min_by_key(|s| (s.value, !s.global))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| self.sections[id].name.clone())
    }

    /// `object:section` of section `id`, as chains and reports print it.
    pub fn section_place(&self, id: usize) -> String {
        let s = &self.sections[id];
        match s.object.and_then(|o| self.objects.get(o)) {
            Some(o) => format!("{}:{}", o.name, s.name),
            None => s.name.clone(),
        }
    }
}

/// Gives every undefined-symbol error that has none the sites referencing its symbol (in its
/// object, or in every object when it names none).
pub fn complete_undefined_sites(res: &Resolution, errors: &mut [LinkError]) {
    for e in errors.iter_mut() {
        if e.kind != ErrorKind::UndefinedSymbol || !e.sites.is_empty() {
            continue;
        }
        let Some(name) = e.symbol.clone() else {
            continue;
        };
        for (oi, file) in res.objects.files.iter().enumerate() {
            if e.object.as_ref().is_some_and(|o| *o != file.name) {
                continue;
            }
            for (si, s) in file.symbols.iter().enumerate() {
                if s.shndx == Shndx::Undef && s.name == name {
                    e.sites.extend(reference_sites(res, oi, si));
                }
            }
        }
    }
}

/// Gathers the facts of a link from what its passes produced.
pub fn collect(
    info: &ArchInfo,
    res: &Resolution,
    layout: Option<&Layout>,
    image: Option<&Image>,
    errors: &[LinkError],
    gc: &GcState,
) -> LinkFacts {
    let sep = info.separate_rodata;
    let all = layout.map(|l| &l.sections[..]).unwrap_or(&res.sections.all);
    let removed = |id: usize| gc.swept.as_ref().is_some_and(|s| s.sections.contains(&id));
    let sections: Vec<SectionFacts> = all
        .iter()
        .enumerate()
        .map(|(id, s)| {
            let via = gc.reach.as_ref().map(|r| r.via.get(id).copied().flatten());
            SectionFacts {
                name: s.name.clone(),
                object: s.obj(),
                region: region_of(&s.name, sep),
                size: s.size,
                offset: layout.map(|_| s.addr).filter(|_| !removed(id)),
                reachable: s.obj().is_none() || !matches!(via, Some(None)),
                reached_from: match via.flatten() {
                    Some(Via::From(f)) => Some(f),
                    _ => None,
                },
                removed: removed(id),
            }
        })
        .collect();
    let by_name: HashMap<String, &PulledMember> = res
        .pulled
        .iter()
        .map(|p| (format!("{}:{}", p.archive, p.member), p))
        .collect();
    let mut objects: Vec<ObjectFacts> = res
        .objects
        .files
        .iter()
        .enumerate()
        .map(|(oi, f)| ObjectFacts {
            name: f.name.clone(),
            member: by_name.get(&f.name).map(|p| (*p).clone()),
            text: 0,
            rodata: 0,
            bss: 0,
            relocations: relocation_count(res, oi),
            records: 0,
        })
        .collect();
    for s in sections.iter().filter(|s| !s.removed) {
        if let Some(o) = s.object {
            let o = &mut objects[o];
            match s.region {
                Region::Text => o.text += s.size,
                Region::Rodata => o.rodata += s.size,
                Region::Bss => o.bss += s.size,
            }
        }
    }
    if let Some(image) = image {
        count_records(&sections, image, &mut objects);
    }
    LinkFacts {
        symbols: symbols(res, &sections, gc),
        objects,
        sections,
        resolutions: res
            .providers
            .iter()
            .map(|(name, p)| Resolved {
                symbol: name.clone(),
                provider: p.clone(),
                member: match p {
                    Provider::Object(o) => by_name.get(o).map(|m| (*m).clone()),
                    _ => None,
                },
            })
            .collect(),
        undefined: undefined(errors),
        got_entries: layout.map(|l| l.got.len()),
        relocation_records: image.map(|i| i.relocs.len()),
        gc_sections: gc.swept.is_some(),
        module: None,
    }
}

/// What the reachability walk found and, with `--gc-sections`, what it dropped.
#[derive(Debug, Clone, Default)]
pub struct GcState {
    /// The walk from `mpy_init` (none without a defined `mpy_init`).
    pub reach: Option<Reach>,
    /// What `--gc-sections` dropped (none when it is off).
    pub swept: Option<Swept>,
}

/// ELF relocations that apply to object `oi`'s linked sections (the last relocation section
/// after each target, as the link uses).
fn relocation_count(res: &Resolution, oi: usize) -> usize {
    let file = &res.objects.files[oi];
    let loaded = &res.objects.loaded[oi];
    let mut last: Vec<Option<usize>> = vec![None; file.sections.len()];
    for (i, s) in file.sections.iter().enumerate() {
        let t = s.info as usize;
        if matches!(s.stype, SectionType::Rel | SectionType::Rela) && t < i {
            last[t] = Some(i);
        }
    }
    last.iter()
        .zip(loaded)
        .filter_map(|(r, l)| r.filter(|_| l.is_some()))
        .map(|r| file.sections[r].relocs.len())
        .sum()
}

/// Attributes each loader record to the object whose section holds the patched word.
fn count_records(sections: &[SectionFacts], image: &Image, objects: &mut [ObjectFacts]) {
    let slot = |r: Region| match r {
        Region::Text => 0,
        Region::Rodata => 1,
        Region::Bss => 2,
    };
    let mut spans: [Vec<(u64, u64, usize)>; 3] = Default::default();
    for s in sections {
        if let (Some(o), Some(off)) = (s.object, s.offset) {
            spans[slot(s.region)].push((off, off + s.size, o));
        }
    }
    for v in &mut spans {
        v.sort_unstable();
    }
    for r in &image.relocs {
        let v = &spans[slot(r.base)];
        let i = v.partition_point(|&(start, _, _)| start <= r.offset);
        if let Some(&(_, end, o)) = i.checked_sub(1).and_then(|i| v.get(i)) {
            if r.offset < end {
                objects[o].records += 1;
            }
        }
    }
}

fn symbols(res: &Resolution, sections: &[SectionFacts], gc: &GcState) -> Vec<SymbolFacts> {
    let mut out = Vec::new();
    let swept: HashMap<(usize, usize), usize> = gc
        .swept
        .iter()
        .flat_map(|s| s.symbols.iter().map(|&(o, si, sec)| ((o, si), sec)))
        .collect();
    for (oi, file) in res.objects.files.iter().enumerate() {
        for (si, s) in file.symbols.iter().enumerate() {
            if s.shndx == Shndx::Undef
                || s.name.is_empty()
                || !matches!(s.stype, SymType::Func | SymType::Object | SymType::NoType)
                || s.name.starts_with('$')
                || s.name.starts_with(".L")
            {
                continue;
            }
            let (sec, value) = match res.objects.targets[oi].get(si).copied() {
                Some(Target::Defined { sec, value }) => (sec, value),
                _ => match swept.get(&(oi, si)) {
                    Some(&sec) => (sec, s.value),
                    None => continue,
                },
            };
            let Some(sf) = sections.get(sec) else {
                continue;
            };
            out.push(SymbolFacts {
                name: s.name.clone(),
                global: s.is_global(),
                object: oi,
                section: sec,
                value,
                offset: sf.offset.map(|o| o + value),
                size: s.size,
                region: sf.region,
                removed: sf.removed,
            });
        }
    }
    out
}

fn undefined(errors: &[LinkError]) -> Vec<UndefinedFacts> {
    let mut out: Vec<UndefinedFacts> = Vec::new();
    for e in errors {
        let (ErrorKind::UndefinedSymbol, Some(name)) = (e.kind, &e.symbol) else {
            continue;
        };
        let i = match out.iter().position(|u| u.symbol == *name) {
            Some(i) => i,
            None => {
                out.push(UndefinedFacts {
                    symbol: name.clone(),
                    sites: Vec::new(),
                });
                out.len() - 1
            }
        };
        for s in &e.sites {
            if !out[i].sites.contains(s) {
                out[i].sites.push(s.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MpyReloc, RelocDest};

    fn sec(name: &str, object: Option<usize>, offset: u64, size: u64) -> SectionFacts {
        SectionFacts {
            name: name.into(),
            object,
            region: region_of(name, false),
            size,
            offset: Some(offset),
            reachable: true,
            reached_from: None,
            removed: false,
        }
    }

    #[test]
    fn records_go_to_the_object_holding_the_word() {
        let sections = vec![
            sec(".text", Some(0), 8, 16),
            sec(".text", Some(1), 24, 8),
            sec("GOT", None, 32, 16),
        ];
        let mut objects: Vec<ObjectFacts> = (0..2)
            .map(|i| ObjectFacts {
                name: format!("o{i}"),
                member: None,
                text: 0,
                rodata: 0,
                bss: 0,
                relocations: 0,
                records: 0,
            })
            .collect();
        let image = Image {
            relocs: [8u64, 20, 24, 36]
                .iter()
                .map(|&offset| MpyReloc {
                    base: Region::Text,
                    offset,
                    dest: RelocDest::Text,
                })
                .collect(),
            ..Default::default()
        };
        count_records(&sections, &image, &mut objects);
        assert_eq!((objects[0].records, objects[1].records), (2, 1));
    }

    #[test]
    fn undefined_merges_sites_by_symbol() {
        let site = |o: &str, off| Site {
            object: o.into(),
            section: ".text".into(),
            offset: off,
        };
        let e = |o: &str, off| {
            LinkError::new(ErrorKind::UndefinedSymbol, "x")
                .symbol("f")
                .site(site(o, off))
        };
        let u = undefined(&[e("a.o", 1), e("b.o", 2), e("a.o", 1)]);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].sites, vec![site("a.o", 1), site("b.o", 2)]);
    }
}
