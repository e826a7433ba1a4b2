//! `--size-report`: where a module's bytes go, per object, archive member, section and symbol,
//! with totals that add up to the `.mpy` file.
//!
//! The `.mpy` holds the text and the separate rodata; everything else in it (header, qstr
//! table, relocation records) is `metadata`. The text is the entry jump, the object sections,
//! the linker's own sections (GOT, Xtensa literal pool, memset/memmove stubs) and alignment
//! padding. BSS costs RAM at import but no file bytes.

use crate::facts::LinkFacts;
use crate::model::Region;
use crate::LinkOutput;
use serde::Serialize;

/// Bytes per region of one object, archive member or section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sizes {
    /// In the text.
    pub text: u64,
    /// In the separate rodata (xtensawin).
    pub rodata: u64,
    /// In BSS (RAM only).
    pub bss: u64,
}

impl Sizes {
    fn add(&mut self, region: Region, n: u64) {
        match region {
            Region::Text => self.text += n,
            Region::Rodata => self.rodata += n,
            Region::Bss => self.bss += n,
        }
    }

    /// Bytes in the `.mpy` (text and rodata).
    pub fn file(&self) -> u64 {
        self.text + self.rodata
    }
}

/// One named row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Object, `archive:member`, `object:section` or symbol name.
    pub name: String,
    /// Its bytes.
    #[serde(flatten)]
    pub sizes: Sizes,
}

/// One symbol (function or data) in the module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolRow {
    /// The symbol.
    pub name: String,
    /// `object:section` holding it.
    pub place: String,
    /// Its region.
    pub region: Region,
    /// `st_size`.
    pub size: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeReport {
    /// Size of the `.mpy` file: `text + rodata + metadata`.
    pub mpy: u64,
    /// Text bytes (loaded into executable RAM).
    pub text: u64,
    /// Separate rodata bytes.
    pub rodata: u64,
    /// BSS bytes (RAM allocated at import, not in the file).
    pub bss: u64,
    /// Header, qstr table and relocation records.
    pub metadata: u64,
    /// The entry jump at the start of the text.
    pub entry_jump: u64,
    /// GOT, literal pool and memset/memmove stubs.
    pub linker: Sizes,
    /// Alignment gaps between sections.
    pub padding: Sizes,
    /// Per object (archive members included), in link order.
    pub objects: Vec<Row>,
    /// Per archive member pulled in, in pull order.
    pub members: Vec<Row>,
    /// Per linked section, in output order of their objects.
    pub sections: Vec<Row>,
    /// Every sized symbol in the module, largest first.
    pub symbols: Vec<SymbolRow>,
    /// Sections `--gc-sections` dropped.
    pub removed: Vec<Row>,
}

/// The report of a finished link.
pub fn size_report(out: &LinkOutput) -> SizeReport {
    let f: &LinkFacts = &out.facts;
    let mut linker = Sizes::default();
    let mut objects: Vec<Sizes> = vec![Sizes::default(); f.objects.len()];
    let mut sections = Vec::new();
    let mut removed = Vec::new();
    for (id, s) in f.sections.iter().enumerate() {
        let mut sizes = Sizes::default();
        sizes.add(s.region, s.size);
        let row = Row {
            name: f.section_place(id),
            sizes,
        };
        if s.removed {
            removed.push(row);
            continue;
        }
        match s.object {
            Some(o) => {
                objects[o].add(s.region, s.size);
                sections.push(row);
            }
            None => linker.add(s.region, s.size),
        }
    }
    let used = objects.iter().fold(linker.clone(), |mut acc, o| {
        acc.text += o.text;
        acc.rodata += o.rodata;
        acc.bss += o.bss;
        acc
    });
    let padding = Sizes {
        text: out.text_size.saturating_sub(used.text + out.entry_jump),
        rodata: out.rodata_size.saturating_sub(used.rodata),
        bss: out.bss_size.saturating_sub(used.bss),
    };
    let rows: Vec<Row> = f
        .objects
        .iter()
        .zip(objects)
        .map(|(o, sizes)| Row {
            name: o.name.clone(),
            sizes,
        })
        .collect();
    let members = f
        .objects
        .iter()
        .zip(&rows)
        .filter(|(o, _)| o.member.is_some())
        .map(|(_, r)| r.clone())
        .collect();
    let mut symbols: Vec<SymbolRow> = f
        .symbols
        .iter()
        .filter(|s| !s.removed && s.size > 0)
        .map(|s| SymbolRow {
            name: s.name.clone(),
            place: f.section_place(s.section),
            region: s.region,
            size: s.size,
        })
        .collect();
    symbols.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let mpy = out.mpy.len() as u64;
    SizeReport {
        mpy,
        text: out.text_size,
        rodata: out.rodata_size,
        bss: out.bss_size,
        metadata: mpy.saturating_sub(out.text_size + out.rodata_size),
        entry_jump: out.entry_jump,
        linker,
        padding,
        objects: rows,
        members,
        sections,
        symbols,
        removed,
    }
}

fn table(out: &mut String, title: &str, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    out.push_str(&format!(
        "{title}:\n  {:>8} {:>8} {:>8}  name\n",
        "text", "rodata", "bss"
    ));
    for r in rows {
        let s = &r.sizes;
        out.push_str(&format!(
            "  {:>8} {:>8} {:>8}  {}\n",
            s.text, s.rodata, s.bss, r.name
        ));
    }
}

/// The report as text; `top` limits the symbol list.
pub fn render_text(r: &SizeReport, top: usize) -> String {
    let mut out = format!(
        "module: {} bytes = text {} + rodata {} + metadata {} (header, qstrs, relocations); bss {} bytes of RAM\n",
        r.mpy, r.text, r.rodata, r.metadata, r.bss
    );
    out.push_str(&format!(
        "text:   entry jump {}, linker (GOT, literals, stubs) {}, alignment {}, objects {}\n",
        r.entry_jump,
        r.linker.text,
        r.padding.text,
        r.objects.iter().map(|o| o.sizes.text).sum::<u64>()
    ));
    table(&mut out, "objects", &r.objects);
    table(&mut out, "archive members", &r.members);
    table(&mut out, "sections", &r.sections);
    if !r.symbols.is_empty() {
        out.push_str(&format!(
            "symbols (largest {} of {}):\n",
            top.min(r.symbols.len()),
            r.symbols.len()
        ));
        for s in r.symbols.iter().take(top) {
            out.push_str(&format!("  {:>8}  {}  ({})\n", s.size, s.name, s.place));
        }
    }
    if !r.removed.is_empty() {
        let bytes: u64 = r.removed.iter().map(|s| s.sizes.file()).sum();
        out.push_str(&format!(
            "removed by --gc-sections: {} sections, {} bytes\n",
            r.removed.len(),
            bytes
        ));
    }
    out
}
