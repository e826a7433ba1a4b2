//! Relocate: fill the GOT and literal pool, apply every relocation to the laid-out bytes, and
//! collect the relocation records the loader applies at import time.

use crate::arch::Arch;
use crate::error::{ErrorKind, LinkError, Result};
use crate::input::elf::{InputSymbol, Reloc, SymType};
use crate::layout::{got_section_name, Layout};
use crate::model::{MemFunc, MpyReloc, ObjId, Region, RelocDest, SecId, SecOrigin, Target};
use crate::resolve::Resolution;
use crate::Externs;

/// The laid-out image: region bytes and loader relocations.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// Text bytes (trampoline, code, GOT, and rodata unless kept apart).
    pub text: Vec<u8>,
    /// Separate rodata bytes (xtensawin).
    pub rodata: Vec<u8>,
    /// BSS size.
    pub bss_size: u64,
    /// Loader relocations, in mpy_ld.py's order.
    pub relocs: Vec<MpyReloc>,
}

/// One relocation to apply: which object, section and record.
#[derive(Debug, Clone, Copy)]
pub struct RelocSite {
    /// The object holding the relocation.
    pub obj: ObjId,
    /// The section being patched.
    pub sec: SecId,
    /// The record.
    pub reloc: Reloc,
    /// Absolute offset of the patched bytes in the section's region.
    pub offset: u64,
}

/// What relocation code may read and patch.
pub struct RelocCx<'a> {
    /// The arch.
    pub arch: &'a dyn Arch,
    /// Resolution results.
    pub res: &'a Resolution,
    /// Layout results.
    pub layout: &'a Layout,
    /// Fixed-address symbols.
    pub externs: Option<&'a Externs>,
    /// The image being patched.
    pub image: &'a mut Image,
    /// Computed values of RISC-V HI20-type relocations, keyed by (section, offset), for their
    /// LO12 partners.
    pub hi20: std::collections::HashMap<(SecId, u64), i64>,
}

impl RelocCx<'_> {
    /// The symbol a relocation refers to.
    pub fn symbol(&self, site: &RelocSite) -> &InputSymbol {
        &self.res.objects.files[site.obj].symbols[site.reloc.sym as usize]
    }

    /// What that symbol resolves to.
    pub fn target(&self, site: &RelocSite) -> Target {
        self.res.objects.targets[site.obj][site.reloc.sym as usize]
    }

    /// The object's name.
    pub fn object_name(&self, site: &RelocSite) -> &str {
        &self.res.objects.files[site.obj].name
    }

    /// The patched section's name.
    pub fn section_name(&self, site: &RelocSite) -> &str {
        &self.layout.sections[site.sec].name
    }

    /// The bytes of the region holding the patched section, once it is checked that the
    /// `width` bytes the relocation patches lie inside that section.
    pub fn bytes(&mut self, site: &RelocSite, width: u64) -> Result<&mut Vec<u8>> {
        self.check_width(site, width)?;
        Ok(
            match self.layout.sections[site.sec].region(self.arch.info().separate_rodata) {
                Region::Rodata => &mut self.image.rodata,
                _ => &mut self.image.text,
            },
        )
    }

    /// An error unless the `width` bytes at the relocation's offset lie inside its section
    /// (a malformed object can put them anywhere).
    pub fn check_width(&self, site: &RelocSite, width: u64) -> Result<()> {
        let size = self.layout.sections[site.sec].size;
        match site.reloc.offset.checked_add(width) {
            Some(end) if end <= size => Ok(()),
            _ => Err(self
                .error_at(
                    site,
                    ErrorKind::BadObject,
                    format!(
                        "{}: relocation at {}+0x{:x} lies outside its section",
                        self.object_name(site),
                        self.section_name(site),
                        site.reloc.offset
                    ),
                )
                .detail(format!(
                    "type {}, {width} bytes at offset 0x{:x}; {} is {size} bytes",
                    site.reloc.rtype,
                    site.reloc.offset,
                    self.section_name(site)
                ))),
        }
    }

    /// Address of the GOT in the text.
    pub fn got_addr(&self) -> u64 {
        self.layout.got_addr()
    }

    /// Offset of the GOT entry for the relocation's symbol.
    pub fn got_offset(&self, site: &RelocSite) -> Result<u64> {
        let name = &self.symbol(site).name;
        self.layout
            .got_entry(name)
            .map(|e| e.offset)
            .ok_or_else(|| {
                self.error_at(
                    site,
                    ErrorKind::Unsupported,
                    format!("no GOT entry for {name}"),
                )
            })
    }

    /// An error located at a relocation site.
    pub fn error_at(
        &self,
        site: &RelocSite,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> LinkError {
        let sym = self.symbol(site);
        LinkError::new(kind, message)
            .object(self.object_name(site).to_string())
            .at(self.section_name(site).to_string(), site.reloc.offset)
            .symbol(symbol_display(sym, self.res, site))
    }

    /// The relocation's symbol as a defined location `(section, address)`, or an error saying
    /// why it is not one.
    pub fn defined(&self, site: &RelocSite) -> Result<(SecId, u64)> {
        match self.target(site) {
            Target::Defined { sec, value } => Ok((sec, self.layout.sections[sec].addr + value)),
            Target::Mem(_, Some(sec)) => Ok((sec, self.layout.sections[sec].addr)),
            Target::None => {
                let s = self.symbol(site);
                Err(self.error_at(
                    site,
                    ErrorKind::UndefinedSymbol,
                    format!("{}: undefined symbol: {}", self.object_name(site), s.name),
                ))
            }
            _ => {
                let s = self.symbol(site);
                Err(self
                    .error_at(
                        site,
                        ErrorKind::FixedExternal,
                        format!("{}: fixed relocation to external symbol: {}", self.object_name(site), s.name),
                    )
                    .detail(format!(
                        "{} is outside the module and must be reached through the GOT, not by a direct call or PC-relative reference",
                        s.name
                    )))
            }
        }
    }

    /// mpy_ld.py's "standard relocation to a fixed location": the target must sit in this
    /// image's text (or rodata, where rodata is not separate). Returns its address.
    pub fn fixed_target(&self, site: &RelocSite) -> Result<u64> {
        let (sec, addr) = self.defined(site)?;
        let name = &self.layout.sections[sec].name;
        if self.arch.info().separate_rodata && crate::model::is_rodata(name) {
            return Err(self.error_at(
                site,
                ErrorKind::FixedRodata,
                "fixed relocation to rodata with rodata referenced via GOT",
            ));
        }
        if name.starts_with(".bss") {
            return Err(self.static_bss(site, sec));
        }
        Ok(addr)
    }

    /// The static-BSS error for a link-time reference from code into BSS.
    pub fn static_bss(&self, site: &RelocSite, bss_sec: SecId) -> LinkError {
        let s = self.symbol(site);
        let def_obj = self.layout.sections[bss_sec]
            .obj()
            .map(|o| self.res.objects.files[o].name.clone());
        let file = def_obj.unwrap_or_else(|| self.object_name(site).to_string());
        let sym = symbol_display(s, self.res, site);
        self.error_at(
            site,
            ErrorKind::StaticBss,
            format!("{file}: fixed relocation to bss (bss variables can't be static)"),
        )
        .detail(format!(
            "symbol: {sym}, referenced from {}+0x{:x}; the loader places BSS apart from the code, so drop `static`",
            self.section_name(site),
            site.reloc.offset
        ))
    }

    /// Applies an absolute word relocation (mpy_ld.py's `do_relocation_data`): the word gets the
    /// target's link address and the loader gets a record to rebase it.
    pub fn data_word(&mut self, site: &RelocSite) -> Result<()> {
        let word = self.arch.info().word_size;
        let separate = self.arch.info().separate_rodata;
        let target = self.target(site);
        let addend = site.reloc.addend;
        let (dest, value): (RelocDest, Option<i64>) = match target {
            Target::Defined { sec, value } => {
                let s = &self.layout.sections[sec];
                let addr = (s.addr as i64 + value as i64).wrapping_add(addend);
                (
                    dest_of_section(&s.name).ok_or_else(|| self.unsupported_target(site))?,
                    Some(addr),
                )
            }
            Target::Mem(_, Some(sec)) => (
                RelocDest::Text,
                Some((self.layout.sections[sec].addr as i64).wrapping_add(addend)),
            ),
            Target::FunTableSlot(slot) if addend == 0 => (RelocDest::FunSlot(slot), None),
            _ => return Err(self.unsupported_target(site)),
        };
        if !site.offset.is_multiple_of(word as u64) {
            return Err(self.error_at(
                site,
                ErrorKind::Unsupported,
                "unaligned pointer relocation",
            ));
        }
        self.check_width(site, word as u64)?;
        let off = site.offset as usize;
        let bytes = if separate {
            &mut self.image.rodata
        } else {
            &mut self.image.text
        };
        if let Some(v) = value {
            if word == 4 {
                let old = i32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
                bytes[off..off + 4]
                    .copy_from_slice(&(old as i64).wrapping_add(v).to_le_bytes()[..4]);
            } else {
                let old = i64::from_le_bytes(bytes[off..off + 8].try_into().unwrap());
                bytes[off..off + 8].copy_from_slice(&old.wrapping_add(v).to_le_bytes());
            }
        }
        let base = if separate {
            Region::Rodata
        } else {
            Region::Text
        };
        self.image.relocs.push(MpyReloc {
            base,
            offset: site.offset,
            dest,
        });
        Ok(())
    }

    /// The error for a relocation type the arch does not handle here.
    pub fn unsupported_reloc(&self, site: &RelocSite) -> LinkError {
        LinkError::unsupported_reloc(
            self.object_name(site),
            self.section_name(site),
            site.reloc.offset,
            site.reloc.rtype,
            self.arch.info().name,
        )
        .symbol(self.symbol(site).name.clone())
    }

    fn unsupported_target(&self, site: &RelocSite) -> LinkError {
        let s = self.symbol(site);
        let what = match self.target(site) {
            Target::Extern(_) => "a fixed-address --externs symbol",
            Target::FunTable | Target::QstrTable | Target::ObjTable => "a runtime table",
            Target::FunTableSlot(_) => "an mp_fun_table object with an offset",
            Target::None => "an undefined symbol",
            _ => "this kind of symbol",
        };
        self.error_at(
            site,
            ErrorKind::Unsupported,
            format!(
                "{}: pointer in data to {what}: {}",
                self.object_name(site),
                symbol_display(s, self.res, site)
            ),
        )
    }
}

/// A readable name for a relocation's symbol: its name, or its section's for section symbols.
fn symbol_display(s: &InputSymbol, res: &Resolution, site: &RelocSite) -> String {
    if s.stype == SymType::Section || s.name.is_empty() {
        if let crate::input::elf::Shndx::Index(i) = s.shndx {
            return res.objects.files[site.obj].sections[i as usize]
                .name
                .clone();
        }
    }
    s.name.clone()
}

/// The loader destination for a pointer into a section called `name`.
pub fn dest_of_section(name: &str) -> Option<RelocDest> {
    if name.starts_with(".text") || name.starts_with(".internal") {
        Some(RelocDest::Text)
    } else if crate::model::is_rodata(name) || name.starts_with(".data.rel.ro") {
        Some(RelocDest::Rodata)
    } else if name.starts_with(".bss") {
        Some(RelocDest::Bss)
    } else {
        None
    }
}

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
fn populate_got(cx: &mut RelocCx) -> Result<()> {
    let word = cx.arch.info().word_size;
    let got_addr = cx.layout.got_addr();
    let mut records = Vec::new();
    for e in &cx.layout.got {
        let sec_name = got_section_name(e, &cx.layout.sections, cx.externs).ok_or_else(|| {
            LinkError::new(
                ErrorKind::UndefinedSymbol,
                format!("undefined symbol: {}", e.symbol),
            )
            .detail("it is referenced through the GOT but defined nowhere")
            .symbol(e.symbol.clone())
        })?;
        let link_addr: u64 = if let Some(addr) = cx.externs.and_then(|x| x.get(&e.symbol)) {
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
        externs,
        image: &mut image,
        hi20: Default::default(),
    };
    populate_got(&mut cx).map_err(|e| vec![e])?;
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
