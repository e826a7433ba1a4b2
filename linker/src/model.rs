//! The plain data the passes hand to each other: loaded sections, what each symbol resolves
//! to, GOT entries, and the `.mpy` relocation records.

use crate::input::elf::ObjectFile;
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
