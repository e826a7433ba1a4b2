//! What an arch's relocation code may read and patch: the resolution, the layout and the image
//! being built, with helpers for the checks and errors every arch shares.

use super::Arch;
use crate::error::{ErrorKind, LinkError, Result};
use crate::model::{
    dest_of_section, Image, InputSymbol, Layout, MpyReloc, Region, RelocDest, RelocSite,
    Resolution, SecId, Shndx, SymType, Target,
};

/// What relocation code may read and patch.
pub struct RelocCx<'a> {
    /// The arch.
    pub arch: &'a dyn Arch,
    /// Resolution results.
    pub res: &'a Resolution,
    /// Layout results.
    pub layout: &'a Layout,
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
        if let Shndx::Index(i) = s.shndx {
            return res.objects.files[site.obj].sections[i as usize]
                .name
                .clone();
        }
    }
    s.name.clone()
}
