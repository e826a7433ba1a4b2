//! The `-v` dumps of a link, built from each pass's results (never from inside a pass): what
//! mpy_ld.py prints with `-v`/`-vv` (qstrs, archive members, sections, GOT, literal pool,
//! every relocation), with relocation types, targets and object names added, and at `-vvv`
//! the defined symbols and the loader's relocation records.
//!
//! Levels count `-v` flags: 1 is mpy_ld.py's `-v`, 2 its `-vv`; 3 adds natmod-ld's extras.

use crate::arch::reloc_names::reloc_type_name;
use crate::arch::ArchInfo;
use crate::layout::got_section_name;
use crate::model::{
    Image, Layout, LitSlot, RelocDest, Resolution, SecId, SecOrigin, SymType, Target,
};
use crate::Externs;

/// `-v`: sections, GOT, literal pool, qstrs, archive members, the entry jump.
pub const SECTIONS: u8 = 1;
/// `-vv`: every relocation.
pub const RELOCATIONS: u8 = 2;
/// `-vvv`: defined symbols and the loader's relocation records.
pub const SYMBOLS: u8 = 3;

/// Resolution's own log, with at `-v` the module's qstrs before it (as mpy_ld.py logs them
/// first) and the archive members pulled in after it.
pub fn with_resolution_log(level: u8, qstrs: &[String], res: &Resolution) -> Vec<String> {
    let mut out = Vec::new();
    if level >= SECTIONS {
        out.push(format!("qstr vals: {}", qstrs.join(", ")));
    }
    out.extend(res.log.iter().cloned());
    if level >= SECTIONS {
        out.extend(pulled(res));
    }
    out
}

/// A link's results once layout is done, for the dumps after relocation.
pub struct Linked<'a> {
    /// The arch.
    pub info: &'a ArchInfo,
    /// Resolution.
    pub res: &'a Resolution,
    /// Layout.
    pub lay: &'a Layout,
    /// Fixed-address symbols.
    pub externs: Option<&'a Externs>,
}

impl Linked<'_> {
    /// The lines `level` prints after relocation: the layout (`-v`), the relocations (`-vv`),
    /// symbols and loader records (`-vvv`). `image` is `None` when relocation failed: then
    /// only the layout, without GOT values.
    pub fn after_relocation(&self, level: u8, image: Option<&Image>) -> Vec<String> {
        let (info, res, lay) = (self.info, self.res, self.lay);
        let mut out = Vec::new();
        if level >= SECTIONS {
            out.extend(layout(info, res, lay, self.externs, image));
        }
        let Some(image) = image else {
            return out;
        };
        if level >= RELOCATIONS {
            out.extend(relocations(info, res, lay, image));
        }
        if level >= SYMBOLS {
            out.extend(symbols(res, lay));
            out.extend(loader_relocs(image));
        }
        out
    }
}

/// The archive members resolution pulled in, and why.
pub fn pulled(res: &Resolution) -> Vec<String> {
    res.pulled
        .iter()
        .map(|p| {
            let why = match p.needed_by {
                Some(i) => format!("{} (needed by {})", p.by_symbol, res.pulled[i].member),
                None => p.by_symbol.clone(),
            };
            format!("using {}:{} for {why}", p.archive, p.member)
        })
        .collect()
}

/// The entry jump, the sections with addresses and sizes, the GOT and (Xtensa) the literal
/// pool. GOT values are read from `image` when relocation got that far.
pub fn layout(
    info: &ArchInfo,
    res: &Resolution,
    lay: &Layout,
    externs: Option<&Externs>,
    image: Option<&Image>,
) -> Vec<String> {
    let mut out = vec![format!(
        "entry: mpy_init at {:08x}, jump of {} byte(s) at 00000000",
        lay.entry,
        lay.trampoline.len()
    )];
    out.push("sections:".into());
    for &id in &lay.order {
        out.push(section_line(info, res, lay, id));
    }
    out.push(format!(
        "regions: text={} rodata={} bss={}",
        lay.text_size, lay.rodata_size, lay.bss_size
    ));
    out.push(format!("GOT: {:08x}", lay.got_addr()));
    let word = info.word_size;
    for e in &lay.got {
        let sec = got_section_name(e, &lay.sections, externs).unwrap_or_else(|| "?".into());
        let at = (lay.got_addr() + e.offset) as usize;
        let value = image
            .and_then(|i| i.text.get(at..at + word))
            .map(|b| {
                let mut le = [0u8; 8];
                le[..word].copy_from_slice(b);
                format!("{:08x}", u64::from_le_bytes(le))
            })
            .unwrap_or_else(|| "(not filled)".into());
        out.push(format!("  {:08x} {} -> {sec}+{value}", e.offset, e.name));
    }
    if let (Some(lit), Some(sec)) = (&lay.literals, lay.lit_sec) {
        out.push(format!("LIT: {:08x}", lay.sections[sec].addr));
        for (i, v) in lit.values.iter().enumerate() {
            out.push(format!("  {:08x} = {v:08x}", i * word));
        }
    }
    out
}

/// One line of the section list: address, name, size, region and where it comes from.
fn section_line(info: &ArchInfo, res: &Resolution, lay: &Layout, id: SecId) -> String {
    let s = &lay.sections[id];
    let from = match s.origin {
        SecOrigin::Object { obj, .. } => res.objects.files[obj].name.clone(),
        SecOrigin::Got | SecOrigin::Lit | SecOrigin::Stub(_) => "<internal>".into(),
    };
    let region = format!("{:?}", s.region(info.separate_rodata)).to_lowercase();
    format!(
        "  {:08x} {} size={} align={} {region} {from}",
        s.addr, s.name, s.size, s.align
    )
}

/// Every relocation, section by section in output order: offset in its region, type, symbol,
/// addend and what it resolved to. Relocations the link leaves alone (relaxation records,
/// branches the assembler resolved) are marked `(not patched)`.
pub fn relocations(info: &ArchInfo, res: &Resolution, lay: &Layout, image: &Image) -> Vec<String> {
    let mut out = Vec::new();
    for &id in &lay.order {
        let s = &lay.sections[id];
        match s.origin {
            SecOrigin::Object { obj, shndx } => {
                let file = &res.objects.files[obj];
                let Some(ri) = file.reloc_section_for(shndx) else {
                    continue;
                };
                let relocs = &file.sections[ri].relocs;
                out.push(format!(
                    "{}: {} relocations via {}: {}",
                    file.name,
                    s.name,
                    file.sections[ri].name,
                    relocs.len()
                ));
                for r in relocs {
                    out.push(reloc_line(info, res, lay, (obj, id), r));
                }
            }
            SecOrigin::Stub(f) => {
                out.push(format!("<internal>: {} relocations via (stub): 1", s.name));
                let slot = RelocDest::FunSlot(f.fun_table_slot());
                let inside = |o: u64| o >= s.addr && o < s.addr + s.size;
                for r in image
                    .relocs
                    .iter()
                    .filter(|r| r.dest == slot && inside(r.offset))
                {
                    out.push(format!(
                        "  {:08x} pointer word: the loader stores mp_fun_table[{}]",
                        r.offset,
                        f.fun_table_slot()
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// One relocation line.
fn reloc_line(
    info: &ArchInfo,
    res: &Resolution,
    lay: &Layout,
    (obj, id): (usize, SecId),
    r: &crate::model::Reloc,
) -> String {
    let file = &res.objects.files[obj];
    let sym = &file.symbols[r.sym as usize];
    let target = res.objects.targets[obj][r.sym as usize];
    let name = match (sym.stype, sym.shndx) {
        (SymType::Section, crate::model::Shndx::Index(i)) => file.sections[i as usize].name.clone(),
        _ => sym.name.clone(),
    };
    let rtype = reloc_type_name(info.machine, r.rtype)
        .map(str::to_string)
        .unwrap_or_else(|| format!("type{}", r.rtype));
    let addend = match r.addend {
        0 => String::new(),
        a if a < 0 => format!("-0x{:x}", a.unsigned_abs()),
        a => format!("+0x{a:x}"),
    };
    let at = lay.sections[id].addr.wrapping_add(r.offset);
    let dest = describe_target(info, res, lay, obj, &rtype, (&sym.name, r.addend), target);
    format!("  {at:08x} {rtype} {name}{addend} -> {dest}")
}

/// What a relocation's symbol stands for after layout, with the address it patches towards.
fn describe_target(
    info: &ArchInfo,
    res: &Resolution,
    lay: &Layout,
    obj: usize,
    rtype: &str,
    (symbol, addend): (&str, i64),
    target: Target,
) -> String {
    let sec_name = |sec: SecId| lay.sections[sec].name.as_str();
    let relaxation = matches!(
        rtype,
        "R_RISCV_RELAX"
            | "R_RISCV_ALIGN"
            | "R_XTENSA_DIFF32"
            | "R_XTENSA_PDIFF32"
            | "R_XTENSA_NDIFF32"
            | "R_XTENSA_ASM_EXPAND"
    );
    if relaxation {
        return "(not patched: relaxation record)".into();
    }
    if let Target::Defined { sec, .. } = target {
        if res.sections.literals.contains(&sec) {
            return literal_slot(lay, &res.objects.files[obj].name, addend);
        }
        if rtype == "R_XTENSA_SLOT0_OP" && sec_name(sec).starts_with(".text") {
            return "(not patched: resolved by the assembler)".into();
        }
    }
    let via_got = match target {
        Target::Defined { .. } => info
            .got_types
            .iter()
            .any(|&t| reloc_type_name(info.machine, t) == Some(rtype)),
        _ => true,
    };
    if let (true, Some(e)) = (via_got, lay.got_entry(symbol)) {
        return format!("GOT {} at {:08x}", e.name, lay.got_addr() + e.offset);
    }
    match target {
        Target::FunTable => "mp_fun_table (loader)".into(),
        Target::QstrTable => "mp_native_qstr_table (loader)".into(),
        Target::ObjTable => "mp_native_obj_table (loader)".into(),
        Target::FunTableSlot(n) => format!("mp_fun_table[{n}] (loader)"),
        Target::Defined { sec, value } => {
            format!(
                "{}+0x{value:x} at {:08x}",
                sec_name(sec),
                lay.sections[sec].addr + value
            )
        }
        Target::Mem(_, Some(stub)) => {
            format!("{} at {:08x}", sec_name(stub), lay.sections[stub].addr)
        }
        Target::Mem(f, None) => format!("mp_fun_table[{}] (loader)", f.fun_table_slot()),
        Target::Extern(a) => format!("--externs address {a:08x}"),
        Target::GotBase => format!("GOT at {:08x}", lay.got_addr()),
        Target::None => "(unresolved)".into(),
    }
}

/// The GOT entry or literal value an Xtensa `l32r` of `.literal`+`offset` now loads.
fn literal_slot(lay: &Layout, object: &str, offset: i64) -> String {
    let slot = lay.literals.as_ref().and_then(|l| {
        l.slots
            .get(&(object.to_string(), offset as u64))
            .map(|s| (l, s))
    });
    match slot {
        Some((_, LitSlot::Got(name))) => match lay.got_entry(name) {
            Some(e) => format!("GOT {name} at {:08x}", lay.got_addr() + e.offset),
            None => format!("GOT {name} (no entry)"),
        },
        Some((l, LitSlot::Value(v))) => {
            let base = lay.lit_sec.map_or(0, |s| lay.sections[s].addr);
            format!("LIT {v:08x} at {:08x}", base + l.value_index[v] as u64 * 4)
        }
        None => format!(".literal+0x{offset:x} (no slot)"),
    }
}

/// Every defined global symbol with its section and address, object by object.
pub fn symbols(res: &Resolution, lay: &Layout) -> Vec<String> {
    let mut out = vec!["symbols:".to_string()];
    for (obj, file) in res.objects.files.iter().enumerate() {
        for (si, s) in file.symbols.iter().enumerate() {
            if !s.is_global() {
                continue;
            }
            if let Target::Defined { sec, value } = res.objects.targets[obj][si] {
                let sec = &lay.sections[sec];
                out.push(format!(
                    "  {:08x} {} {}+0x{value:x} size={} {}",
                    sec.addr + value,
                    s.name,
                    sec.name,
                    s.size,
                    file.name
                ));
            }
        }
    }
    out
}

/// The relocation records the loader applies at import, in `.mpy` order.
pub fn loader_relocs(image: &Image) -> Vec<String> {
    let mut out = vec![format!("loader relocations: {}", image.relocs.len())];
    for r in &image.relocs {
        let dest = match r.dest {
            RelocDest::FunSlot(n) => format!("mp_fun_table[{n}]"),
            d => format!("{d:?}").to_lowercase(),
        };
        let base = format!("{:?}", r.base).to_lowercase();
        out.push(format!("  {base}+{:08x} += {dest}", r.offset));
    }
    out
}
