//! ELF relocatable objects, parsed once with the `object` crate into plain data.

use crate::error::{LinkError, Result};
use object::elf;
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, SectionTable, Sym, SymbolTable};
use object::Endianness;

/// ELF section types the linker distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionType {
    /// `SHT_PROGBITS`: bytes in the file.
    Progbits,
    /// `SHT_NOBITS`: zero-filled, no bytes in the file.
    Nobits,
    /// `SHT_REL`: relocations with implicit addends.
    Rel,
    /// `SHT_RELA`: relocations with explicit addends.
    Rela,
    /// Anything else.
    Other,
}

/// One relocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    /// Offset within the target section.
    pub offset: u64,
    /// Arch-specific relocation type.
    pub rtype: u32,
    /// Index into the object's symbol table.
    pub sym: u32,
    /// Explicit addend (0 for REL).
    pub addend: i64,
}

/// One section header with its contents.
#[derive(Debug, Clone)]
pub struct InputSection {
    /// Section name.
    pub name: String,
    /// Section type.
    pub stype: SectionType,
    /// `sh_size`.
    pub size: u64,
    /// `sh_addralign`.
    pub align: u64,
    /// `sh_addr` (0 in relocatable objects).
    pub addr: u64,
    /// `sh_info` (the target section of a relocation section).
    pub info: u32,
    /// Contents; zeros of `size` for NOBITS.
    pub data: Vec<u8>,
    /// Relocations, for REL/RELA sections.
    pub relocs: Vec<Reloc>,
}

/// Symbol binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// `STB_LOCAL`.
    Local,
    /// `STB_GLOBAL`.
    Global,
    /// `STB_WEAK`.
    Weak,
    /// Anything else.
    Other,
}

/// Symbol type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymType {
    /// `STT_NOTYPE`.
    NoType,
    /// `STT_OBJECT`.
    Object,
    /// `STT_FUNC`.
    Func,
    /// `STT_SECTION`.
    Section,
    /// `STT_FILE`.
    File,
    /// `STT_TLS`.
    Tls,
    /// Anything else.
    Other,
}

/// Where a symbol is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shndx {
    /// `SHN_UNDEF`.
    Undef,
    /// A section index.
    Index(u32),
    /// `SHN_ABS`, `SHN_COMMON` or another reserved index.
    Special(u16),
}

/// One symbol-table entry.
#[derive(Debug, Clone)]
pub struct InputSymbol {
    /// Name (empty for section symbols).
    pub name: String,
    /// `st_value`.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// Binding.
    pub bind: Bind,
    /// Type.
    pub stype: SymType,
    /// Defining section.
    pub shndx: Shndx,
}

impl InputSymbol {
    /// Global or weak.
    pub fn is_global(&self) -> bool {
        matches!(self.bind, Bind::Global | Bind::Weak)
    }
}

/// A parsed relocatable ELF object.
#[derive(Debug, Clone)]
pub struct ObjectFile {
    /// The name used in messages (the path as given, or `archive:member`).
    pub name: String,
    /// `e_machine`.
    pub machine: u16,
    /// ELFCLASS64.
    pub is_64: bool,
    /// Every section, in section-table order.
    pub sections: Vec<InputSection>,
    /// The `.symtab` entries, in order.
    pub symbols: Vec<InputSymbol>,
}

/// The `EM_*` name of a machine number, as pyelftools spells it.
pub fn machine_name(machine: u16) -> String {
    match machine {
        elf::EM_386 => "EM_386".into(),
        elf::EM_X86_64 => "EM_X86_64".into(),
        elf::EM_ARM => "EM_ARM".into(),
        elf::EM_XTENSA => "EM_XTENSA".into(),
        elf::EM_RISCV => "EM_RISCV".into(),
        elf::EM_AARCH64 => "EM_AARCH64".into(),
        elf::EM_MIPS => "EM_MIPS".into(),
        other => format!("EM_{other}"),
    }
}

impl ObjectFile {
    /// Parses `data` as a relocatable ELF object named `name`.
    pub fn parse(name: &str, data: &[u8]) -> Result<ObjectFile> {
        if data.len() < 16 || &data[..4] != b"\x7fELF" {
            return Err(LinkError::bad_object(name, "no ELF magic number"));
        }
        // The `object` crate reads headers in place and needs them aligned; archive members
        // often are not, so parse from an aligned copy when needed.
        let aligned: Vec<u64>;
        let data = if !(data.as_ptr() as usize).is_multiple_of(8) {
            let mut words = vec![0u64; data.len().div_ceil(8)];
            // SAFETY: `words` has at least `data.len()` bytes; u64 has no invalid bit patterns.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, data.len())
            };
            bytes.copy_from_slice(data);
            aligned = words;
            // SAFETY: as above; the borrow of `aligned` outlives every use of `data` below.
            unsafe { std::slice::from_raw_parts(aligned.as_ptr() as *const u8, data.len()) }
        } else {
            data
        };
        match data[4] {
            1 => parse_generic::<elf::FileHeader32<Endianness>>(name, data),
            2 => parse_generic::<elf::FileHeader64<Endianness>>(name, data),
            c => Err(LinkError::bad_object(
                name,
                format!("unknown ELF class {c}"),
            )),
        }
    }

    /// Index of the relocation section that applies to section `target` (the last one, as
    /// mpy_ld.py keeps the last), provided it comes after `target` in the section table.
    pub fn reloc_section_for(&self, target: usize) -> Option<usize> {
        let mut found = None;
        for (i, s) in self.sections.iter().enumerate().skip(target + 1) {
            if matches!(s.stype, SectionType::Rel | SectionType::Rela) && s.info as usize == target
            {
                found = Some(i);
            }
        }
        found
    }
}

fn bad(name: &str, e: object::read::Error) -> LinkError {
    LinkError::bad_object(name, e)
}

fn parse_generic<Elf: FileHeader<Endian = Endianness>>(
    name: &str,
    data: &[u8],
) -> Result<ObjectFile> {
    let header = Elf::parse(data).map_err(|e| bad(name, e))?;
    let endian = check_header(name, header)?;
    let table = header.sections(endian, data).map_err(|e| bad(name, e))?;
    let mut sections = Vec::with_capacity(table.len());
    for (index, sh) in table.iter().enumerate() {
        sections.push(read_section::<Elf>(name, data, endian, &table, index, sh)?);
    }
    let symbols = read_symbols::<Elf>(name, data, endian, &table, sections.len())?;
    check_reloc_symbols(name, &sections, symbols.len())?;
    Ok(ObjectFile {
        name: name.to_string(),
        machine: header.e_machine(endian),
        is_64: header.is_type_64(),
        sections,
        symbols,
    })
}

/// The header's byte order, once it is checked to be a little-endian relocatable object.
fn check_header<Elf: FileHeader<Endian = Endianness>>(
    name: &str,
    header: &Elf,
) -> Result<Endianness> {
    let endian = header.endian().map_err(|e| bad(name, e))?;
    if endian != Endianness::Little {
        return Err(LinkError::bad_object(
            name,
            "big-endian objects are not supported",
        ));
    }
    if header.e_type(endian) != elf::ET_REL {
        return Err(LinkError::bad_object(
            name,
            "not a relocatable object (ET_REL)",
        ));
    }
    Ok(endian)
}

/// Reads section `index` of the table: its name, type, bytes and relocations.
fn read_section<Elf: FileHeader<Endian = Endianness>>(
    name: &str,
    data: &[u8],
    endian: Endianness,
    table: &SectionTable<'_, Elf>,
    index: usize,
    sh: &Elf::SectionHeader,
) -> Result<InputSection> {
    let sec_name = table
        .section_name(endian, sh)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .map_err(|e| bad(name, e))?;
    let stype = match sh.sh_type(endian) {
        elf::SHT_PROGBITS => SectionType::Progbits,
        elf::SHT_NOBITS => SectionType::Nobits,
        elf::SHT_REL => SectionType::Rel,
        elf::SHT_RELA => SectionType::Rela,
        _ => SectionType::Other,
    };
    let size: u64 = sh.sh_size(endian).into();
    let section_data = match stype {
        SectionType::Progbits => sh
            .data(endian, data)
            .map_err(|_| {
                LinkError::bad_object(
                    name,
                    format!("section {index} ({sec_name}) lies past the end of the file"),
                )
            })?
            .to_vec(),
        SectionType::Nobits => {
            if size > (1 << 30) {
                return Err(LinkError::bad_object(
                    name,
                    format!("section {sec_name} is {size} bytes, too large for a native module"),
                ));
            }
            vec![0; size as usize]
        }
        _ => Vec::new(),
    };
    let relocs = read_relocs::<Elf>(name, data, endian, stype, sh)?;
    Ok(InputSection {
        name: sec_name,
        stype,
        size,
        align: sh.sh_addralign(endian).into(),
        addr: sh.sh_addr(endian).into(),
        info: sh.sh_info(endian),
        data: section_data,
        relocs,
    })
}

/// The records of a REL or RELA section (none for other types).
fn read_relocs<Elf: FileHeader<Endian = Endianness>>(
    name: &str,
    data: &[u8],
    endian: Endianness,
    stype: SectionType,
    sh: &Elf::SectionHeader,
) -> Result<Vec<Reloc>> {
    Ok(match stype {
        SectionType::Rel => {
            let (rels, _) = sh
                .rel(endian, data)
                .map_err(|e| bad(name, e))?
                .unwrap_or((&[], object::SectionIndex(0)));
            rels.iter()
                .map(|r| Reloc {
                    offset: r.r_offset(endian).into(),
                    rtype: r.r_type(endian),
                    sym: r.r_sym(endian),
                    addend: 0,
                })
                .collect()
        }
        SectionType::Rela => {
            let (relas, _) = sh
                .rela(endian, data)
                .map_err(|e| bad(name, e))?
                .unwrap_or((&[], object::SectionIndex(0)));
            relas
                .iter()
                .map(|r| Reloc {
                    offset: r.r_offset(endian).into(),
                    rtype: r.r_type(endian, false),
                    sym: r.r_sym(endian, false),
                    addend: r.r_addend(endian).into(),
                })
                .collect()
        }
        _ => Vec::new(),
    })
}

/// Reads `.symtab`, checking that every symbol's section exists among `n_sections`.
fn read_symbols<Elf: FileHeader<Endian = Endianness>>(
    name: &str,
    data: &[u8],
    endian: Endianness,
    table: &SectionTable<'_, Elf>,
    n_sections: usize,
) -> Result<Vec<InputSymbol>> {
    let symtab = table
        .symbols(endian, data, elf::SHT_SYMTAB)
        .map_err(|e| bad(name, e))?;
    if symtab.is_empty() {
        return Err(LinkError::bad_object(name, "no .symtab section"));
    }
    let mut symbols = Vec::with_capacity(symtab.len());
    for sym in symtab.iter() {
        let sym_name = symtab
            .symbol_name(endian, sym)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .map_err(|e| bad(name, e))?;
        let shndx = symbol_shndx(&symtab, endian, sym, symbols.len());
        if let Shndx::Index(i) = shndx {
            if i as usize >= n_sections {
                return Err(LinkError::bad_object(
                    name,
                    format!("symbol {sym_name:?} names section {i}, which does not exist"),
                ));
            }
        }
        symbols.push(InputSymbol {
            name: sym_name,
            value: sym.st_value(endian).into(),
            size: sym.st_size(endian).into(),
            bind: symbol_bind(sym.st_bind()),
            stype: symbol_type(sym.st_type()),
            shndx,
        });
    }
    Ok(symbols)
}

/// A symbol's binding.
fn symbol_bind(raw: u8) -> Bind {
    match raw {
        elf::STB_LOCAL => Bind::Local,
        elf::STB_GLOBAL => Bind::Global,
        elf::STB_WEAK => Bind::Weak,
        _ => Bind::Other,
    }
}

/// A symbol's type.
fn symbol_type(raw: u8) -> SymType {
    match raw {
        elf::STT_NOTYPE => SymType::NoType,
        elf::STT_OBJECT => SymType::Object,
        elf::STT_FUNC => SymType::Func,
        elf::STT_SECTION => SymType::Section,
        elf::STT_FILE => SymType::File,
        elf::STT_TLS => SymType::Tls,
        _ => SymType::Other,
    }
}

/// Where symbol number `index` is defined (following `SHN_XINDEX` to the extended table).
fn symbol_shndx<Elf: FileHeader<Endian = Endianness>>(
    symtab: &SymbolTable<'_, Elf>,
    endian: Endianness,
    sym: &Elf::Sym,
    index: usize,
) -> Shndx {
    let raw = sym.st_shndx(endian);
    if raw == elf::SHN_UNDEF {
        Shndx::Undef
    } else if raw == elf::SHN_XINDEX {
        match symtab.shndx(endian, object::SymbolIndex(index)) {
            Some(i) => Shndx::Index(i),
            None => Shndx::Special(raw),
        }
    } else if raw >= elf::SHN_LORESERVE {
        Shndx::Special(raw)
    } else {
        Shndx::Index(raw as u32)
    }
}

/// An error when a relocation refers past the end of `.symtab`.
fn check_reloc_symbols(name: &str, sections: &[InputSection], n_symbols: usize) -> Result<()> {
    for (i, s) in sections.iter().enumerate() {
        if let Some(r) = s.relocs.iter().find(|r| r.sym as usize >= n_symbols) {
            return Err(LinkError::bad_object(
                name,
                format!(
                    "relocation in section {i} ({}) refers to symbol {}, but .symtab has {n_symbols}",
                    s.name, r.sym,
                ),
            ));
        }
    }
    Ok(())
}
