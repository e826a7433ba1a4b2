//! Layout: the GOT (and Xtensa literal pool), the entry trampoline, and the address of every
//! section in the text, rodata and BSS regions.

use crate::arch::Arch;
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{
    region_of, GotEntry, GotPlan, Layout, LinkSection, Region, Resolution, SecId, SecOrigin,
    Target, MAX_REGION,
};
use crate::Dialect;
use std::collections::HashMap;

/// An error when a region laid out from `(text, rodata, bss)` sizes exceeds [`MAX_REGION`].
fn check_region_sizes((text, rodata, _): (u64, u64, u64)) -> Result<()> {
    for (name, size) in [("text", text), ("rodata", rodata)] {
        if size > MAX_REGION {
            return Err(LinkError::new(
                ErrorKind::Unsupported,
                format!("{name} is {size} bytes, too large for a native module"),
            )
            .detail(format!("natmod-ld lays out at most {MAX_REGION} bytes")));
        }
    }
    Ok(())
}

fn align_to(v: u64, a: u64) -> u64 {
    let a = a.max(1);
    v.div_ceil(a) * a
}

/// The section name a GOT entry's target lives in, as mpy_ld.py names it.
pub fn got_section_name(
    entry: &GotEntry,
    sections: &[LinkSection],
    externs: Option<&crate::Externs>,
) -> Option<String> {
    if externs.map(|e| e.contains(&entry.symbol)).unwrap_or(false) {
        return Some(".external.fixed_addr".into());
    }
    if matches!(entry.symbol.as_str(), "memcpy" | "memset" | "memmove") {
        return Some(format!(".external.{}", entry.symbol));
    }
    Some(match entry.target {
        Target::Defined { sec, .. } => sections[sec].name.clone(),
        Target::FunTable => ".external".into(),
        Target::QstrTable => ".external.qstr_table".into(),
        Target::ObjTable => ".external.obj_table".into(),
        Target::FunTableSlot(_) => ".external.mp_fun_table".into(),
        Target::Mem(f, _) => format!(
            ".external.{}",
            f.stub_section_name().trim_start_matches(".internal.")
        ),
        Target::Extern(_) => ".external.fixed_addr".into(),
        Target::GotBase | Target::None => return None,
    })
}

fn got_sort_key(sec_name: &str) -> u32 {
    let ext = sec_name.starts_with(".external") as u32;
    let text = sec_name.starts_with(".text") as u32;
    let ro = (crate::model::is_rodata(sec_name) || sec_name.starts_with(".data.rel.ro")) as u32;
    let bss = sec_name.starts_with(".bss") as u32;
    ext + 2 * text + 3 * ro + 4 * bss
}

/// Assigns addresses: GOT (and literal pool) placement, trampoline sizing, region layout.
pub fn layout(
    arch: &dyn Arch,
    dialect: Dialect,
    res: &Resolution,
    plan: GotPlan,
    externs: Option<&crate::Externs>,
) -> Result<Layout> {
    let info = arch.info();
    let mut sections = res.sections.all.clone();
    let mut order = res.sections.order.clone();
    let mut log = Vec::new();
    let (got_sec, lit_sec) = add_pool_sections(info, &plan, &mut sections, &mut order);
    let (entry_sec, entry_value) = entry_point(res)?;
    let text_align = sections[entry_sec].align;
    if arch.text_alignment_untested(text_align) {
        log.push(format!(
            "A .text section with an alignment of {text_align} bytes for {} is not tested and may not work",
            info.machine_name
        ));
    }
    let regions = Regions {
        order: &order,
        separate_rodata: info.separate_rodata,
    };
    let entry_at = (entry_sec, entry_value);
    let (trampoline, sizes) = match dialect {
        Dialect::V1_23 => trampoline_v1_23(arch, &regions, &mut sections, entry_at)?,
        Dialect::Newest => trampoline_sized(arch, &regions, &mut sections, entry_at)?,
    };
    let entry = sections[entry_sec].addr + entry_value;
    let (got, got_index) = order_got(plan.entries, &sections, externs, info.word_size as u64);
    Ok(Layout {
        sections,
        order,
        got,
        got_index,
        got_sec,
        lit_sec,
        literals: plan.literals,
        trampoline,
        entry,
        text_size: sizes.0,
        rodata_size: sizes.1,
        bss_size: sizes.2,
        log,
    })
}

/// Adds the GOT, and on Xtensa the literal pool, as sections of their own (first on Xtensa,
/// last elsewhere). Returns their ids.
fn add_pool_sections(
    info: &crate::arch::ArchInfo,
    plan: &GotPlan,
    sections: &mut Vec<LinkSection>,
    order: &mut Vec<SecId>,
) -> (SecId, Option<SecId>) {
    let word = info.word_size as u64;
    let got_sec = sections.len();
    sections.push(LinkSection {
        name: "GOT".into(),
        origin: SecOrigin::Got,
        size: plan.entries.len() as u64 * word,
        align: word,
        addr: 0,
    });
    if !info.literal_pool {
        // (resolve already put the memset/memmove stubs at index 1, where mpy_ld.py puts them.)
        order.push(got_sec);
        return (got_sec, None);
    }
    order.insert(0, got_sec);
    let n = plan.literals.as_ref().map(|l| l.values.len()).unwrap_or(0) as u64;
    let id = sections.len();
    sections.push(LinkSection {
        name: "LIT".into(),
        origin: SecOrigin::Lit,
        size: n * word,
        align: word,
        addr: 0,
    });
    order.insert(1, id);
    (got_sec, Some(id))
}

/// The section and offset of `mpy_init`, or the missing-entry error.
fn entry_point(res: &Resolution) -> Result<(SecId, u64)> {
    let Some(&(eobj, esym)) = res.known.get("mpy_init") else {
        return Err(
            LinkError::new(ErrorKind::MissingEntry, "unknown symbol: mpy_init")
                .detail("every native module needs a global mpy_init function")
                .symbol("mpy_init"),
        );
    };
    match res.objects.targets[eobj][esym] {
        Target::Defined { sec, value } => Ok((sec, value)),
        _ => Err(
            LinkError::new(ErrorKind::MissingEntry, "unknown symbol: mpy_init").symbol("mpy_init"),
        ),
    }
}

/// The output order and how regions are split, for placing sections.
struct Regions<'a> {
    order: &'a [SecId],
    separate_rodata: bool,
}

impl Regions<'_> {
    /// Gives every section in the order an address after a trampoline of `tramp_len` bytes;
    /// returns the (text, rodata, bss) sizes.
    fn place(&self, sections: &mut [LinkSection], tramp_len: u64) -> (u64, u64, u64) {
        let (mut text, mut rodata, mut bss) = (tramp_len, 0u64, 0u64);
        for &id in self.order {
            let s = &mut sections[id];
            let len = match region_of(&s.name, self.separate_rodata) {
                Region::Text => &mut text,
                Region::Rodata => &mut rodata,
                Region::Bss => &mut bss,
            };
            s.addr = align_to(*len, s.align);
            *len = s.addr + s.size;
        }
        (text, rodata, bss)
    }
}

/// The trampoline and region sizes v1.23's mpy_ld.py produces: a jump sized for a placeholder
/// target, padded to that size.
fn trampoline_v1_23(
    arch: &dyn Arch,
    regions: &Regions,
    sections: &mut [LinkSection],
    (entry_sec, entry_value): (SecId, u64),
) -> Result<(Vec<u8>, (u64, u64, u64))> {
    let placeholder = arch.entry_jump(8, Dialect::V1_23)?.len() as u64;
    let sizes = regions.place(sections, placeholder);
    check_region_sizes(sizes)?;
    let target = sections[entry_sec].addr + entry_value;
    let mut j = arch.entry_jump(target as i64, Dialect::V1_23)?;
    j.resize(placeholder as usize, 0);
    Ok((j, sizes))
}

/// The trampoline sized against the real layout: mpy_init's address depends on the
/// trampoline's length, so the gap grows by the entry section's alignment until the jump fits.
/// (mpy_ld.py sizes it before layout, which is wrong when mpy_init is not in the first text
/// section: it then emits no jump at all.)
fn trampoline_sized(
    arch: &dyn Arch,
    regions: &Regions,
    sections: &mut [LinkSection],
    (entry_sec, entry_value): (SecId, u64),
) -> Result<(Vec<u8>, (u64, u64, u64))> {
    let step = sections[entry_sec].align.max(1);
    let mut gap = 0u64;
    loop {
        let s = regions.place(sections, gap);
        check_region_sizes(s)?;
        let target = sections[entry_sec].addr + entry_value;
        if gap == 0 {
            if target == 0 {
                return Ok((Vec::new(), s));
            }
        } else {
            let mut j = arch.entry_jump(target as i64, Dialect::Newest)?;
            if j.len() as u64 <= gap {
                j.resize(gap as usize, 0);
                return Ok((j, s));
            }
        }
        gap += step;
        if gap > 64 * step.max(4) {
            return Err(
                LinkError::new(ErrorKind::JumpTooFar, "cannot place the entry jump")
                    .symbol("mpy_init"),
            );
        }
    }
}

/// GOT order: external, other, text, rodata, bss (stable), then offsets. Returns the entries
/// in GOT order and the index by name.
fn order_got(
    entries: Vec<GotEntry>,
    sections: &[LinkSection],
    externs: Option<&crate::Externs>,
    word: u64,
) -> (Vec<GotEntry>, HashMap<String, usize>) {
    let mut keyed: Vec<(u32, GotEntry)> = entries
        .into_iter()
        .map(|e| {
            let key = got_section_name(&e, sections, externs).map_or(0, |n| got_sort_key(&n));
            (key, e)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let mut got = Vec::with_capacity(keyed.len());
    let mut got_index = HashMap::new();
    for (i, (_, mut e)) in keyed.into_iter().enumerate() {
        e.offset = i as u64 * word;
        got_index.insert(e.name.clone(), i);
        got.push(e);
    }
    (got, got_index)
}
