//! The plain data the passes hand to each other (loaded sections, what each symbol resolves
//! to, the resolution, GOT entries and literal pool, the layout, relocation sites, the image
//! and its `.mpy` relocation records): the vocabulary `arch/` and the passes share.

pub use crate::input::elf::{Bind, InputSymbol, ObjectFile, Reloc, Shndx, SymType};
use std::collections::HashMap;
use std::sync::Arc;

/// Index into the list of loaded objects.
pub type ObjId = usize;
/// Index into [`Sections::all`].
pub type SecId = usize;

/// memset / memcpy / memmove, which the firmware provides through `mp_fun_table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemFunc {
    /// `memset`, fun-table slot 50.
    Memset,
    /// `memmove` (and `memcpy`, which uses it), fun-table slot 51.
    Memmove,
}

impl MemFunc {
    /// The function behind a symbol name, if it is one of the three.
    pub fn from_name(name: &str) -> Option<MemFunc> {
        match name {
            "memset" => Some(MemFunc::Memset),
            "memcpy" | "memmove" => Some(MemFunc::Memmove),
            _ => None,
        }
    }

    /// Index in `mp_fun_table`.
    pub fn fun_table_slot(self) -> u32 {
        match self {
            MemFunc::Memset => 50,
            MemFunc::Memmove => 51,
        }
    }

    /// The name of the stub section mpy_ld.py creates for it.
    pub fn stub_section_name(self) -> &'static str {
        match self {
            MemFunc::Memset => ".internal.memset",
            MemFunc::Memmove => ".internal.memmove",
        }
    }
}

/// Where a loaded section's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecOrigin {
    /// Section `shndx` of object `obj`.
    Object {
        /// The object.
        obj: ObjId,
        /// Its section index.
        shndx: usize,
    },
    /// The global offset table.
    Got,
    /// The Xtensa literal pool.
    Lit,
    /// A pointer-jump stub for memset/memmove.
    Stub(MemFunc),
}

/// The output region a section lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// Machine code and (on most arches) read-only data.
    Text,
    /// Read-only data kept apart (xtensawin).
    Rodata,
    /// Zero-initialised data, allocated by the loader.
    Bss,
}

/// A section taking part in the link.
#[derive(Debug, Clone)]
pub struct LinkSection {
    /// Its name.
    pub name: String,
    /// Where its bytes come from.
    pub origin: SecOrigin,
    /// Size in bytes.
    pub size: u64,
    /// Alignment.
    pub align: u64,
    /// Address within its region, set by layout.
    pub addr: u64,
}

impl LinkSection {
    /// The object it comes from, if any.
    pub fn obj(&self) -> Option<ObjId> {
        match self.origin {
            SecOrigin::Object { obj, .. } => Some(obj),
            _ => None,
        }
    }

    /// The region mpy_ld.py puts a section called `name` in.
    pub fn region(&self, separate_rodata: bool) -> Region {
        region_of(&self.name, separate_rodata)
    }
}

/// Whether a section called `name` is read-only data: `.rodata*`, or RISC-V's small read-only
/// data `.srodata*` (constants gcc puts there, e.g. `.srodata.cst8`), which is linked the same
/// way (mpy_ld.py leaves it out, MicroPython issue 19364).
pub fn is_rodata(name: &str) -> bool {
    name.starts_with(".rodata") || name.starts_with(".srodata")
}

/// The region of a section called `name`.
pub fn region_of(name: &str, separate_rodata: bool) -> Region {
    if separate_rodata && (is_rodata(name) || name.starts_with(".data.rel.ro")) {
        Region::Rodata
    } else if name.starts_with(".bss") {
        Region::Bss
    } else {
        Region::Text
    }
}

/// What a symbol stands for once resolution is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Defined at `value` within a loaded section.
    Defined {
        /// The section.
        sec: SecId,
        /// Offset in it (`st_value`).
        value: u64,
    },
    /// `mp_fun_table` itself.
    FunTable,
    /// `mp_native_qstr_table`.
    QstrTable,
    /// `mp_native_obj_table`.
    ObjTable,
    /// An object reached through a fun-table slot (`mp_type_*`, `mp_stream_*`).
    FunTableSlot(u32),
    /// memset/memcpy/memmove, with its stub section (none on Xtensa).
    Mem(MemFunc, Option<SecId>),
    /// A fixed address from `--externs`.
    Extern(u32),
    /// `_GLOBAL_OFFSET_TABLE_`.
    GotBase,
    /// Not resolved (undefined, weak undefined, or defined in a section that is not loaded).
    None,
}

/// The sections of a link, and the order they are laid out in.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    /// Every section, by id.
    pub all: Vec<LinkSection>,
    /// Output order (mpy_ld.py's `env.sections`).
    pub order: Vec<SecId>,
    /// Xtensa `.literal` sections, in load order.
    pub literals: Vec<SecId>,
}

/// The objects of a link with what their symbols resolve to.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// Loaded objects: command-line objects, then archive members in pull order.
    pub files: Vec<Arc<ObjectFile>>,
    /// Per object, per symbol: the resolution.
    pub targets: Vec<Vec<Target>>,
    /// Per object, per ELF section index: the loaded section, if any.
    pub loaded: Vec<Vec<Option<SecId>>>,
}

/// Destination of an `.mpy` relocation record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelocDest {
    /// The text (and non-separate rodata).
    Text,
    /// rodata / `.data.rel.ro`.
    Rodata,
    /// BSS.
    Bss,
    /// `mp_native_qstr_table`.
    QstrTable,
    /// `mp_native_obj_table`.
    ObjTable,
    /// `mp_fun_table` itself.
    FunTable,
    /// Entry `n` of `mp_fun_table`.
    FunSlot(u32),
}

/// One relocation for the loader: the word at `offset` in `base` gets `dest` added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpyReloc {
    /// The region holding the word.
    pub base: Region,
    /// Byte offset of the word in that region.
    pub offset: u64,
    /// What the loader adds.
    pub dest: RelocDest,
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

/// The largest text (or rodata) region natmod-ld lays out: far beyond what any port can load,
/// and a bound on what a malformed object (a huge alignment, a huge NOBITS `.text`) can make
/// it allocate. Also the largest section alignment accepted.
pub const MAX_REGION: u64 = 64 << 20;

/// One GOT entry.
#[derive(Debug, Clone)]
pub struct GotEntry {
    /// Its key: the symbol name, or `name+0xADDEND` / `section+0xOFFSET` on Xtensa.
    pub name: String,
    /// The name of the symbol behind it.
    pub symbol: String,
    /// What the symbol resolves to.
    pub target: Target,
    /// Initial link address (the existing literal value on Xtensa).
    pub init: u64,
    /// Offset within the GOT, set by layout.
    pub offset: u64,
}

/// A literal-pool slot of an Xtensa `.literal` word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LitSlot {
    /// The word is a pointer: it becomes this GOT entry.
    Got(String),
    /// The word is a constant: it becomes this literal value.
    Value(u32),
}

/// Xtensa's literal pool: deduplicated constants and the slot of every `.literal` word.
#[derive(Debug, Clone, Default)]
pub struct LiteralPool {
    /// Distinct constant values in first-seen order.
    pub values: Vec<u32>,
    /// Value -> index in `values`.
    pub value_index: HashMap<u32, usize>,
    /// (object name, offset within its `.literal` section) -> slot.
    pub slots: HashMap<(String, u64), LitSlot>,
}

/// What GOT collection produces.
#[derive(Debug, Clone, Default)]
pub struct GotPlan {
    /// Entries in first-reference order (sorted later).
    pub entries: Vec<GotEntry>,
    /// The literal pool, on Xtensa.
    pub literals: Option<LiteralPool>,
}

/// The finished layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Sections with addresses (indexes as in the resolution).
    pub sections: Vec<LinkSection>,
    /// Output order.
    pub order: Vec<SecId>,
    /// GOT entries in GOT order.
    pub got: Vec<GotEntry>,
    /// Name -> index in `got`.
    pub got_index: HashMap<String, usize>,
    /// The GOT section.
    pub got_sec: SecId,
    /// The literal pool section (Xtensa).
    pub lit_sec: Option<SecId>,
    /// The literal pool (Xtensa).
    pub literals: Option<LiteralPool>,
    /// The entry trampoline at the start of the text (maybe empty).
    pub trampoline: Vec<u8>,
    /// Address of `mpy_init` in the text.
    pub entry: u64,
    /// Region sizes.
    pub text_size: u64,
    /// rodata region size (separate-rodata arches).
    pub rodata_size: u64,
    /// BSS region size.
    pub bss_size: u64,
    /// Lines mpy_ld.py prints during layout at the default verbosity.
    pub log: Vec<String>,
}

impl Layout {
    /// The GOT section's address in the text.
    pub fn got_addr(&self) -> u64 {
        self.sections[self.got_sec].addr
    }

    /// The GOT entry keyed `name`.
    pub fn got_entry(&self, name: &str) -> Option<&GotEntry> {
        self.got_index.get(name).map(|&i| &self.got[i])
    }
}

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

/// An archive member pulled into the link.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PulledMember {
    /// Archive path.
    pub archive: String,
    /// Member name.
    pub member: String,
    /// The symbol whose lookup pulled it in.
    pub by_symbol: String,
    /// Index (in pull order) of the member whose undefined symbol that was; `None` when an
    /// input object needed it.
    pub needed_by: Option<usize>,
}

/// How each symbol was provided, for the editor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Defined by a loaded object or archive member.
    Object(String),
    /// An `mp_fun_table` slot.
    FunTable(u32),
    /// memset/memcpy/memmove provision (fun-table slot).
    MemProvision(u32),
    /// An `--externs` address.
    Extern(u32),
    /// The qstr, object or function table itself.
    Runtime,
}

/// The result of resolution.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// Objects with per-symbol targets.
    pub objects: Objects,
    /// Loaded sections in output order.
    pub sections: Sections,
    /// Defined global name -> (object, symbol index); the last definition wins.
    pub known: HashMap<String, (ObjId, usize)>,
    /// Undefined global references, in order.
    pub unresolved: Vec<(ObjId, usize)>,
    /// Archive members pulled in, in load order.
    pub pulled: Vec<PulledMember>,
    /// Where each referenced global came from.
    pub providers: Vec<(String, Provider)>,
    /// Lines mpy_ld.py prints on stdout at the default verbosity during these steps.
    pub log: Vec<String>,
}

impl Resolution {
    /// The object of loaded section `id` and the ELF relocations that apply to it (the last
    /// relocation section after it, as the link uses); `None` for the linker's own sections
    /// and for sections without relocations.
    pub fn relocs_of(&self, id: SecId) -> Option<(ObjId, &[crate::input::elf::Reloc])> {
        let SecOrigin::Object { obj, shndx } = self.sections.all[id].origin else {
            return None;
        };
        let file = &self.objects.files[obj];
        let ri = file.reloc_section_for(shndx)?;
        Some((obj, &file.sections[ri].relocs))
    }
}
