//! Relocate: fill the GOT and literal pool, apply every relocation to the laid-out bytes, and
//! collect the relocation records the loader applies at import time.

use crate::arch::{Arch, RelocCx};
use crate::error::{ErrorKind, LinkError, Result};
use crate::layout::got_section_name;
use crate::model::{
    dest_of_section, Image, Layout, MemFunc, MpyReloc, Region, RelocDest, RelocSite, Resolution,
    SecOrigin, Target,
};
use crate::Externs;

fn fill_region(layout: &Layout, res: &Resolution, arch: &dyn Arch) -> Image {
    let info = arch.info();
    let mut image = Image {
        text: Vec::with_capacity(layout.text_size as usize),
        rodata: Vec::with_capacity(layout.rodata_size as usize),
        bss_size: layout.bss_size,
        relocs: Vec::new(),
    };
    image.text.extend_from_slice(&layout.trampoline);
    for &id in &layout.order {
        let s = &layout.sections[id];
        let buf = match s.region(info.separate_rodata) {
            Region::Text => &mut image.text,
            Region::Rodata => &mut image.rodata,
            Region::Bss => continue,
        };
        buf.resize(s.addr as usize, 0);
        match s.origin {
            SecOrigin::Object { obj, shndx } => {
                buf.extend_from_slice(&res.objects.files[obj].sections[shndx].data)
            }
            SecOrigin::Stub(_) => {
                buf.extend_from_slice(&arch.pointer_jump_stub().map(|s| s.0).unwrap_or_default())
            }
            SecOrigin::Got | SecOrigin::Lit => buf.resize((s.addr + s.size) as usize, 0),
        }
    }
    image
}

/// Writes the GOT's link addresses and the loader records for its entries.
fn populate_got(cx: &mut RelocCx, externs: Option<&Externs>) -> Result<()> {
    let word = cx.arch.info().word_size;
    let got_addr = cx.layout.got_addr();
    let mut records = Vec::new();
    for e in &cx.layout.got {
        let sec_name = got_section_name(e, &cx.layout.sections, externs).ok_or_else(|| {
            LinkError::new(
                ErrorKind::UndefinedSymbol,
                format!("undefined symbol: {}", e.symbol),
            )
            .detail("it is referenced through the GOT but defined nowhere")
            .symbol(e.symbol.clone())
        })?;
        let link_addr: u64 = if let Some(addr) = externs.and_then(|x| x.get(&e.symbol)) {
            (addr as u64).wrapping_add(e.init)
        } else if MemFunc::from_name(&e.symbol).is_some() {
            0
        } else {
            match e.target {
                Target::Defined { sec, value } => {
                    e.init.wrapping_add(cx.layout.sections[sec].addr + value)
                }
                _ => e.init,
            }
        };
        let o = (got_addr + e.offset) as usize;
        cx.image.text[o..o + word].copy_from_slice(&link_addr.to_le_bytes()[..word]);

        let dest = match e.name.as_str() {
            "mp_native_qstr_table" => Some(RelocDest::QstrTable),
            "mp_native_obj_table" => Some(RelocDest::ObjTable),
            "mp_fun_table" => Some(RelocDest::FunTable),
            n if n.starts_with("mp_fun_table+0x") => {
                let off = u64::from_str_radix(&n["mp_fun_table+0x".len()..], 16).unwrap_or(0);
                Some(RelocDest::FunSlot((off / word as u64) as u32))
            }
            _ if sec_name == ".external.mp_fun_table" => match e.target {
                Target::FunTableSlot(slot) => Some(RelocDest::FunSlot(slot)),
                _ => None,
            },
            _ if sec_name == ".external.fixed_addr" => continue,
            // `mp_native_qstr_table+N` / `mp_native_obj_table+N` (Xtensa literals): the word
            // holds N (GotEntry.init) and the loader adds the table's address to it
            // (`mp_native_relocate` does `*addr_to_adjust += dest` for kinds 6 and 7 too).
            _ if e.target == Target::QstrTable => Some(RelocDest::QstrTable),
            _ if e.target == Target::ObjTable => Some(RelocDest::ObjTable),
            _ if sec_name.starts_with(".external.mem") => {
                Some(RelocDest::FunSlot(if sec_name.contains("memset") {
                    MemFunc::Memset.fun_table_slot()
                } else {
                    MemFunc::Memmove.fun_table_slot()
                }))
            }
            _ => dest_of_section(&sec_name).filter(|_| !sec_name.starts_with(".internal")),
        };
        let Some(dest) = dest else {
            return Err(LinkError::new(
                ErrorKind::Unsupported,
                format!("cannot relocate GOT entry {} (in {sec_name})", e.name),
            )
            .detail(
                if sec_name == ".external.qstr_table" || sec_name == ".external.obj_table" {
                    "a table entry with an offset cannot be expressed as a loader relocation"
                        .to_string()
                } else {
                    "its target is not in text, rodata or bss".to_string()
                },
            )
            .symbol(e.symbol.clone()));
        };
        records.push(MpyReloc {
            base: Region::Text,
            offset: got_addr + e.offset,
            dest,
        });
    }
    cx.image.relocs.extend(records);
    if let (Some(lit), Some(sec)) = (&cx.layout.literals, cx.layout.lit_sec) {
        let base = cx.layout.sections[sec].addr as usize;
        for (i, v) in lit.values.iter().enumerate() {
            let o = base + i * word;
            cx.image.text[o..o + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    Ok(())
}

/// Produces the relocated image.
pub fn relocate(
    arch: &dyn Arch,
    res: &Resolution,
    layout: &Layout,
    externs: Option<&Externs>,
) -> Result<Image, Vec<LinkError>> {
    let mut image = fill_region(layout, res, arch);
    let mut cx = RelocCx {
        arch,
        res,
        layout,
        image: &mut image,
        hi20: Default::default(),
    };
    populate_got(&mut cx, externs).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    for &id in &layout.order {
        let s = &layout.sections[id];
        match s.origin {
            SecOrigin::Object { obj, shndx } => {
                let file = &res.objects.files[obj];
                let Some(ri) = file.reloc_section_for(shndx) else {
                    continue;
                };
                let is_text = s.name.starts_with(".text") || s.name.starts_with(".rodata");
                let is_data = s.name.starts_with(".data.rel.ro");
                for r in &file.sections[ri].relocs {
                    let site = RelocSite {
                        obj,
                        sec: id,
                        reloc: *r,
                        // Wraps only for an offset outside the section, refused just below.
                        offset: s.addr.wrapping_add(r.offset),
                    };
                    let out = if let Err(e) = cx.check_width(&site, 0) {
                        Err(e)
                    } else if is_text {
                        arch.relocate(&mut cx, &site)
                    } else if is_data {
                        if arch.info().abs_types.contains(&r.rtype) {
                            cx.data_word(&site)
                        } else {
                            Err(cx.error_at(
                                &site,
                                ErrorKind::UnsupportedRelocation,
                                format!(
                                    "{}: unsupported relocation type {} in {}",
                                    file.name, r.rtype, s.name
                                ),
                            ))
                        }
                    } else {
                        Err(cx.error_at(
                            &site,
                            ErrorKind::Unsupported,
                            format!("{}: relocations in {} are not supported", file.name, s.name),
                        ))
                    };
                    if let Err(e) = out {
                        if !errors.contains(&e) {
                            errors.push(e);
                        }
                    }
                }
            }
            SecOrigin::Stub(f) => {
                let (_, ptr) = arch.pointer_jump_stub().unwrap_or_default();
                cx.image.relocs.push(MpyReloc {
                    base: Region::Text,
                    offset: s.addr + ptr,
                    dest: RelocDest::FunSlot(f.fun_table_slot()),
                });
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(image)
    } else {
        Err(errors)
    }
}
