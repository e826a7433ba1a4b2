//! Resolve: load the objects' sections and symbols, pull archive members on demand, and decide
//! what every symbol stands for (a section, `mp_fun_table` and its slots, the native qstr/obj
//! tables, memset/memmove provision, or an `--externs` address).

use crate::arch::Arch;
use crate::error::{ErrorKind, LinkError, Site};
use crate::input::archive::Archive;
use crate::input::elf::{Bind, InputSymbol, ObjectFile, SectionType, Shndx, SymType};
use crate::input::externs::Externs;
use crate::model::{
    LinkSection, MemFunc, ObjId, Objects, Resolution, SecId, SecOrigin, Sections, Target,
    MAX_REGION,
};
/// Re-exported where callers found them before they moved to [`crate::model`].
pub use crate::model::{Provider, PulledMember};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Objects and type objects that natmods reach through `mp_fun_table` slots, from slot 73 on.
pub const FUN_TABLE_OBJECTS: &[&str] = &[
    "mp_type_type",
    "mp_type_str",
    "mp_type_list",
    "mp_type_dict",
    "mp_type_fun_builtin_0",
    "mp_type_fun_builtin_1",
    "mp_type_fun_builtin_2",
    "mp_type_fun_builtin_3",
    "mp_type_fun_builtin_var",
    "mp_type_Exception",
    "mp_stream_read_obj",
    "mp_stream_readinto_obj",
    "mp_stream_unbuffered_readline_obj",
    "mp_stream_write_obj",
];

/// The `mp_fun_table` slot of `mp_type_type`; the objects above follow it.
pub const FUN_TABLE_TYPE_OFFSET: u32 = 73;

/// The fun-table slot of an object in [`FUN_TABLE_OBJECTS`].
pub fn fun_table_slot(name: &str) -> Option<u32> {
    FUN_TABLE_OBJECTS
        .iter()
        .position(|n| *n == name)
        .map(|i| FUN_TABLE_TYPE_OFFSET + i as u32)
}

/// How member `i` of `pulled` came in, from the object's need down to the member, e.g.
/// `sqrt -> libm.a:lib_a-w_sqrt.o -> __fdlib_version -> libm.a:lib_a-s_lib_ver.o`.
pub fn pull_chain(pulled: &[PulledMember], mut i: usize) -> String {
    let short = |p: &PulledMember| {
        let a = std::path::Path::new(&p.archive)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        format!("{}:{}", a.unwrap_or_else(|| p.archive.clone()), p.member)
    };
    let mut steps = Vec::new();
    for _ in 0..pulled.len() {
        let p = &pulled[i];
        steps.push(short(p));
        steps.push(p.by_symbol.clone());
        match p.needed_by {
            Some(j) if j < i => i = j,
            _ => break,
        }
    }
    steps.reverse();
    steps.join(" -> ")
}

/// Section-name prefixes that are linked (`.srodata`: see [`crate::model::is_rodata`]).
const LINKED_PREFIXES: &[&str] = &[
    ".literal",
    ".text",
    ".rodata",
    ".srodata",
    ".data.rel.ro",
    ".bss",
];

/// RISC-V small-data sections: writable data gcc places apart for `gp`-relative or absolute
/// access (with `-fno-pic`, or a `-msmall-data-limit` above 0), which no natmod can use.
const SMALL_DATA_PREFIXES: &[&str] = &[".sbss", ".sdata"];

/// Loads one object: checks its machine, picks the sections mpy_ld.py links, refuses `.data`,
/// and records definitions and undefined references. Errors go to `errors`; the object is
/// kept as far as it is usable so that later errors can still be found.
fn load_object(
    arch: &dyn Arch,
    res: &mut Resolution,
    obj: Arc<ObjectFile>,
    refused_names: &mut HashSet<String>,
    errors: &mut Vec<LinkError>,
) {
    if let Some(e) = machine_mismatch(arch.info(), &obj) {
        errors.push(e);
        res.objects
            .targets
            .push(vec![Target::None; obj.symbols.len()]);
        res.objects.loaded.push(vec![None; obj.sections.len()]);
        res.objects.files.push(obj);
        return;
    }
    let obj_id = res.objects.files.len();
    let mut loaded: Vec<Option<SecId>> = vec![None; obj.sections.len()];
    for (idx, s) in obj.sections.iter().enumerate() {
        if !matches!(s.stype, SectionType::Progbits | SectionType::Nobits) || s.size == 0 {
            continue;
        }
        if LINKED_PREFIXES.iter().any(|p| s.name.starts_with(p)) {
            match link_section(res, &obj, obj_id, idx) {
                Ok(id) => loaded[idx] = Some(id),
                Err(e) => errors.push(e),
            }
        } else if SMALL_DATA_PREFIXES.iter().any(|p| s.name.starts_with(p)) {
            errors.push(small_data_error(&obj, idx, refused_names));
        } else if s.name.starts_with(".data") {
            errors.push(data_error(res, &obj, idx, refused_names));
        }
    }
    let targets = define_symbols(res, &obj, obj_id, &loaded, errors);
    res.objects.files.push(obj);
    res.objects.targets.push(targets);
    res.objects.loaded.push(loaded);
}

/// The incompatible-arch error, when `obj` cannot serve the arch. A 32-bit object cannot serve
/// a 64-bit arch (mpy_ld.py asserts later on); the reverse is accepted, as mpy_ld.py accepts it
/// (an ELFCLASS64 RISC-V object as rv32imc).
fn machine_mismatch(info: &crate::arch::ArchInfo, obj: &ObjectFile) -> Option<LinkError> {
    let detail = if obj.machine != info.machine {
        format!(
            "{} is {}, --arch {} needs {}",
            obj.name,
            crate::input::elf::machine_name(obj.machine),
            info.name,
            info.machine_name
        )
    } else if info.word_size == 8 && !obj.is_64 {
        format!(
            "{} is a 32-bit (ELFCLASS32) object, --arch {} needs a 64-bit one",
            obj.name, info.name
        )
    } else {
        return None;
    };
    Some(
        LinkError::new(ErrorKind::IncompatibleArch, "incompatible arch")
            .detail(detail)
            .object(obj.name.clone()),
    )
}

/// Adds section `idx` of `obj` to the link, once its address and alignment are checked.
fn link_section(
    res: &mut Resolution,
    obj: &ObjectFile,
    obj_id: ObjId,
    idx: usize,
) -> Result<SecId, LinkError> {
    let s = &obj.sections[idx];
    if s.addr != 0 {
        return Err(LinkError::new(
            ErrorKind::BadObject,
            format!("{}: section {} has a load address", obj.name, s.name),
        )
        .object(obj.name.clone()));
    }
    let pow2 = s.align == 0 || s.align.is_power_of_two();
    if !pow2 || s.align > MAX_REGION {
        return Err(LinkError::new(
            ErrorKind::BadObject,
            format!(
                "{}: section {} has an alignment of {} bytes",
                obj.name, s.name, s.align
            ),
        )
        .detail(format!(
            "an alignment must be a power of two, at most {MAX_REGION}"
        ))
        .object(obj.name.clone()));
    }
    let id = res.sections.all.len();
    res.sections.all.push(LinkSection {
        name: s.name.clone(),
        origin: SecOrigin::Object {
            obj: obj_id,
            shndx: idx,
        },
        size: s.size,
        align: s.align,
        addr: 0,
    });
    if s.name.starts_with(".literal") {
        res.sections.literals.push(id);
    } else {
        res.sections.order.push(id);
    }
    Ok(id)
}

/// Whether symbol `y` has a name worth showing (not a section symbol).
fn is_named(y: &InputSymbol) -> bool {
    !y.name.is_empty() && y.stype != SymType::Section
}

/// The error for a non-empty RISC-V small-data section; its symbols become refused names.
fn small_data_error(
    obj: &ObjectFile,
    idx: usize,
    refused_names: &mut HashSet<String>,
) -> LinkError {
    let s = &obj.sections[idx];
    let in_section = |y: &&InputSymbol| y.shndx == Shndx::Index(idx as u32);
    let named: Vec<String> = obj
        .symbols
        .iter()
        .filter(in_section)
        .inspect(|y| {
            refused_names.insert(y.name.clone());
        })
        .filter(|y| is_named(y))
        .map(|y| format!("{}, {} bytes", y.name, y.size))
        .collect();
    let mut e = LinkError::new(
        ErrorKind::Unsupported,
        format!(
            "{}: {} non-empty: RISC-V small-data sections are not supported",
            obj.name, s.name
        ),
    )
    .object(obj.name.clone())
    .at(s.name.clone(), 0);
    let symbols = if named.is_empty() {
        String::new()
    } else {
        format!("symbol: {}; ", named.join("; symbol: "))
    };
    e = e.detail(format!(
        "{symbols}gcc puts small globals there for non-PIC code; compile with -fpic \
         (as dynruntime.mk does) or -msmall-data-limit=0"
    ));
    if let Some(first) = obj.symbols.iter().filter(in_section).find(|y| is_named(y)) {
        e = e.symbol(first.name.clone());
    }
    e
}

/// The error for a non-empty `.data` section (with the archive chain that pulled a member in);
/// its symbols become refused names.
fn data_error(
    res: &Resolution,
    obj: &ObjectFile,
    idx: usize,
    refused_names: &mut HashSet<String>,
) -> LinkError {
    let s = &obj.sections[idx];
    let in_section: Vec<&InputSymbol> = obj
        .symbols
        .iter()
        .filter(|y| y.shndx == Shndx::Index(idx as u32))
        .collect();
    for y in &in_section {
        refused_names.insert(y.name.clone());
    }
    let named: Vec<_> = in_section.iter().filter(|y| is_named(y)).collect();
    let mut e = LinkError::new(
        ErrorKind::DataNonEmpty,
        format!("{}: {} non-empty", obj.name, s.name),
    )
    .object(obj.name.clone())
    .at(s.name.clone(), 0);
    let mut detail = Vec::new();
    if let Some(first) = named.first() {
        let list: Vec<String> = named
            .iter()
            .map(|y| format!("{}, {} bytes", y.name, y.size))
            .collect();
        detail.push(format!("symbol: {}", list.join("; symbol: ")));
        e = e.symbol(first.name.clone());
    }
    if let Some(i) = res
        .pulled
        .iter()
        .position(|p| format!("{}:{}", p.archive, p.member) == obj.name)
    {
        detail.push(format!("pulled in by {}", pull_chain(&res.pulled, i)));
    }
    if !detail.is_empty() {
        e = e.detail(detail.join("; "));
    }
    e
}

/// Gives every symbol of `obj` defined in a loaded section its target, records globals in
/// `res.known` and undefined globals in `res.unresolved`; duplicate definitions and symbols
/// outside their section become errors (duplicates after the others, as before).
fn define_symbols(
    res: &mut Resolution,
    obj: &ObjectFile,
    obj_id: ObjId,
    loaded: &[Option<SecId>],
    errors: &mut Vec<LinkError>,
) -> Vec<Target> {
    let mut targets = vec![Target::None; obj.symbols.len()];
    let mut dups = Vec::new();
    for (si, sym) in obj.symbols.iter().enumerate() {
        match sym.shndx {
            Shndx::Index(i) => {
                let Some(sec) = loaded[i as usize] else {
                    continue;
                };
                let size = obj.sections[i as usize].size;
                if sym.value > size {
                    errors.push(outside_section(obj, sym, i as usize, size));
                    continue;
                }
                targets[si] = Target::Defined {
                    sec,
                    value: sym.value,
                };
                if !sym.is_global() {
                    continue;
                }
                if let Some(&prev) = res.known.get(&sym.name) {
                    if !sym.name.starts_with("__x86.get_pc_thunk.") {
                        let at = (si, i as usize);
                        dups.push(duplicate_error(res, obj, obj_id, &targets, prev, at));
                    }
                }
                res.known.insert(sym.name.clone(), (obj_id, si));
            }
            Shndx::Undef if sym.bind == Bind::Global => res.unresolved.push((obj_id, si)),
            _ => {}
        }
    }
    errors.extend(dups);
    targets
}

/// The error for a symbol whose value lies past the end of its section `shndx`.
fn outside_section(obj: &ObjectFile, sym: &InputSymbol, shndx: usize, size: u64) -> LinkError {
    LinkError::new(
        ErrorKind::BadObject,
        format!(
            "{}: symbol {} lies outside its section {}",
            obj.name, sym.name, obj.sections[shndx].name
        ),
    )
    .detail(format!(
        "value 0x{:x}; the section is {size} bytes",
        sym.value
    ))
    .symbol(sym.name.clone())
    .object(obj.name.clone())
}

/// The duplicate-symbol error for symbol `si` of `obj` (in its section `shndx`), first defined at `prev`, which may be
/// in this object (whose `targets` are not yet recorded).
fn duplicate_error(
    res: &Resolution,
    obj: &ObjectFile,
    obj_id: ObjId,
    targets: &[Target],
    (prev_obj, prev_si): (ObjId, usize),
    (si, shndx): (usize, usize),
) -> LinkError {
    let sym = &obj.symbols[si];
    let (prev_name, prev_site) = if prev_obj == obj_id {
        let section = match targets[prev_si] {
            Target::Defined { sec, .. } => res.sections.all[sec].name.clone(),
            _ => String::new(),
        };
        let site = Site {
            object: obj.name.clone(),
            section,
            offset: obj.symbols[prev_si].value,
        };
        (obj.name.clone(), site)
    } else {
        (
            res.objects.files[prev_obj].name.clone(),
            definition_site(&res.objects, &res.sections, (prev_obj, prev_si)),
        )
    };
    LinkError::new(
        ErrorKind::DuplicateSymbol,
        format!("duplicate symbol: {}", sym.name),
    )
    .detail(format!("defined in {} and {}", prev_name, obj.name))
    .symbol(sym.name.clone())
    .object(obj.name.clone())
    .site(prev_site)
    .site(Site {
        object: obj.name.clone(),
        section: obj.sections[shndx].name.clone(),
        offset: sym.value,
    })
}

fn definition_site(objects: &Objects, sections: &Sections, (obj, si): (ObjId, usize)) -> Site {
    let sym = &objects.files[obj].symbols[si];
    let section = match objects.targets.get(obj).and_then(|t| t.get(si)) {
        Some(Target::Defined { sec, .. }) => sections.all[*sec].name.clone(),
        _ => String::new(),
    };
    Site {
        object: objects.files[obj].name.clone(),
        section,
        offset: sym.value,
    }
}

/// Every place in `obj` whose relocation refers to symbol `si`.
pub fn reference_sites(res: &Resolution, obj: ObjId, si: usize) -> Vec<Site> {
    let file = &res.objects.files[obj];
    let mut sites = Vec::new();
    for (ti, target) in file.sections.iter().enumerate() {
        if res.objects.loaded[obj][ti].is_none() {
            continue;
        }
        if let Some(ri) = file.reloc_section_for(ti) {
            for r in &file.sections[ri].relocs {
                if r.sym as usize == si {
                    sites.push(Site {
                        object: file.name.clone(),
                        section: target.name.clone(),
                        offset: r.offset,
                    });
                }
            }
        }
    }
    sites
}

/// What `pull_members` needs to know of each archive member, parsed on demand.
struct MemberInfo {
    defs: Vec<String>,
    undefs: Vec<String>,
    weak: HashSet<String>,
}

fn member_info(obj: &ObjectFile) -> MemberInfo {
    let mut defs = Vec::new();
    let mut undefs = Vec::new();
    let mut weak = HashSet::new();
    let mut seen_def = HashSet::new();
    let mut seen_undef = HashSet::new();
    for s in &obj.symbols {
        if !s.is_global() {
            continue;
        }
        if s.shndx != Shndx::Undef {
            if seen_def.insert(s.name.clone()) {
                defs.push(s.name.clone());
            }
        } else if seen_undef.insert(s.name.clone()) {
            undefs.push(s.name.clone());
        }
        if s.bind == Bind::Weak {
            weak.insert(s.name.clone());
        }
    }
    MemberInfo { defs, undefs, weak }
}

/// Chooses the archive members that provide `wanted` (and, transitively, what they need),
/// with the semantics and canonical order of mpy_ld.py's `ar_util.resolve`. Returns
/// (archive index, member index, symbol that pulled it, index of the member that needed the
/// symbol, parsed member) in pull order.
#[allow(clippy::type_complexity)]
fn pull_members(
    archives: &[Archive],
    wanted: Vec<String>,
    log: &mut Vec<String>,
) -> Result<Vec<(usize, usize, String, Option<usize>, Arc<ObjectFile>)>, LinkError> {
    let mut provided: HashMap<String, ()> = HashMap::new();
    let mut pulled: Vec<(usize, usize, String, Option<usize>, Arc<ObjectFile>)> = Vec::new();
    let mut queue: std::collections::VecDeque<(String, Option<usize>)> =
        wanted.into_iter().map(|w| (w, None)).collect();
    while let Some((symbol, needed_by)) = queue.pop_front() {
        if provided.contains_key(&symbol) {
            continue;
        }
        let Some((ai, mi)) = archives
            .iter()
            .enumerate()
            .find_map(|(ai, a)| a.symbols.get(&symbol).map(|&mi| (ai, mi)))
        else {
            continue;
        };
        if pulled.iter().any(|p| p.0 == ai && p.1 == mi) {
            continue;
        }
        let obj = archives[ai].member_shared(mi)?;
        let info = member_info(&obj);
        for d in &info.defs {
            if provided.contains_key(d) && !d.starts_with("__x86.get_pc_thunk.") {
                if info.weak.contains(d) {
                    continue;
                }
                return Err(LinkError::new(
                    ErrorKind::ArchiveConflict,
                    format!("Multiple definitions for {d}"),
                )
                .detail(format!(
                    "{} defines it again",
                    archives[ai].member_display_name(mi)
                ))
                .symbol(d.clone()));
            }
            provided.insert(d.clone(), ());
        }
        for u in &info.undefs {
            if info.weak.contains(u) {
                log.push(format!("Skippping weak dependency: {u}"));
                continue;
            }
            if !provided.contains_key(u) {
                queue.push_back((u.clone(), Some(pulled.len())));
            }
        }
        pulled.push((ai, mi, symbol, needed_by, obj));
    }
    Ok(pulled)
}

/// Runs resolution over `objects` (command-line order) and `archives` (`-l` order).
pub fn resolve(
    arch: &dyn Arch,
    objects: Vec<Arc<ObjectFile>>,
    archives: &[Archive],
    externs: Option<&Externs>,
) -> (Resolution, Vec<LinkError>) {
    let mut res = Resolution::default();
    let mut errors = Vec::new();
    let mut refused = HashSet::new();
    for obj in objects {
        load_object(arch, &mut res, obj, &mut refused, &mut errors);
    }
    if !archives.is_empty() {
        for a in archives {
            res.log.push(format!("Loading {}", a.path));
        }
        let mut seen = HashSet::new();
        let wanted: Vec<String> = res
            .unresolved
            .iter()
            .map(|&(o, s)| res.objects.files[o].symbols[s].name.clone())
            .filter(|n| seen.insert(n.clone()))
            .collect();
        match pull_members(archives, wanted, &mut res.log) {
            Ok(pulled) => {
                for (ai, mi, by, needed_by, obj) in pulled {
                    res.pulled.push(PulledMember {
                        archive: archives[ai].path.clone(),
                        member: archives[ai].members[mi].name.clone(),
                        by_symbol: by,
                        needed_by,
                    });
                    load_object(arch, &mut res, obj, &mut refused, &mut errors);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    assign_targets(arch, &mut res, externs, &refused, &mut errors);
    (res, errors)
}

/// Decides the target of every undefined reference, creating memset/memmove stubs as needed.
fn assign_targets(
    arch: &dyn Arch,
    res: &mut Resolution,
    externs: Option<&Externs>,
    refused: &HashSet<String>,
    errors: &mut Vec<LinkError>,
) {
    let mut undefined = Vec::new();
    let mut providers: Vec<(String, Provider)> = Vec::new();
    let mut noted = HashSet::new();
    let unresolved = res.unresolved.clone();
    for &(obj, si) in &unresolved {
        let name = res.objects.files[obj].symbols[si].name.clone();
        let (target, provider) = match provided_target(arch, res, externs, &name) {
            Some(found) => found,
            // Defined in a refused .data section: that error is already reported.
            None if refused.contains(&name) => (Target::None, None),
            None => {
                undefined.push(undefined_error(res, externs, obj, si));
                (Target::None, None)
            }
        };
        res.objects.targets[obj][si] = target;
        if let Some(p) = provider {
            if noted.insert(name.clone()) {
                providers.push((name, p));
            }
        }
    }
    res.providers = providers;
    note_externs_also_defined(res, externs);
    errors.extend(undefined);
}

/// What an undefined reference to `name` resolves to, in mpy_ld.py's order of precedence
/// (the GOT base, the runtime tables, a definition, `--externs`, fun-table objects,
/// memset/memmove provision); `None` when nothing provides it.
fn provided_target(
    arch: &dyn Arch,
    res: &mut Resolution,
    externs: Option<&Externs>,
    name: &str,
) -> Option<(Target, Option<Provider>)> {
    Some(match name {
        "_GLOBAL_OFFSET_TABLE_" => (Target::GotBase, None),
        "mp_fun_table" => (Target::FunTable, Some(Provider::Runtime)),
        "mp_native_qstr_table" => (Target::QstrTable, Some(Provider::Runtime)),
        "mp_native_obj_table" => (Target::ObjTable, Some(Provider::Runtime)),
        _ => {
            if let Some(&(dobj, dsi)) = res.known.get(name) {
                (
                    res.objects.targets[dobj][dsi],
                    Some(Provider::Object(res.objects.files[dobj].name.clone())),
                )
            } else if let Some(addr) = externs.and_then(|e| e.get(name)) {
                (Target::Extern(addr), Some(Provider::Extern(addr)))
            } else if let Some(slot) = fun_table_slot(name) {
                (Target::FunTableSlot(slot), Some(Provider::FunTable(slot)))
            } else {
                let f = MemFunc::from_name(name)?;
                let stub = (!arch.info().literal_pool).then(|| mem_stub(arch, res, f));
                (
                    Target::Mem(f, stub),
                    Some(Provider::MemProvision(f.fun_table_slot())),
                )
            }
        }
    })
}

/// The pointer-jump stub section for `f`, created (at index 1 of the output order, where
/// mpy_ld.py puts it) on first use.
fn mem_stub(arch: &dyn Arch, res: &mut Resolution, f: MemFunc) -> SecId {
    let existing = res
        .sections
        .order
        .iter()
        .copied()
        .find(|&id| res.sections.all[id].name == f.stub_section_name());
    existing.unwrap_or_else(|| {
        let (code, _) = arch
            .pointer_jump_stub()
            .expect("stub for non-literal-pool arch");
        let id = res.sections.all.len();
        res.sections.all.push(LinkSection {
            name: f.stub_section_name().to_string(),
            origin: SecOrigin::Stub(f),
            size: code.len() as u64,
            align: arch.info().word_size as u64,
            addr: 0,
        });
        let at = 1.min(res.sections.order.len());
        res.sections.order.insert(at, id);
        id
    })
}

/// The undefined-symbol error for symbol `si` of object `obj`, with every referencing site and
/// a hint when `--externs` has a line for it that its parser skipped.
fn undefined_error(
    res: &Resolution,
    externs: Option<&Externs>,
    obj: ObjId,
    si: usize,
) -> LinkError {
    let file = &res.objects.files[obj];
    let name = &file.symbols[si].name;
    let mut e = LinkError::new(
        ErrorKind::UndefinedSymbol,
        format!("{}: undefined symbol: {}", file.name, name),
    )
    .symbol(name.clone())
    .object(file.name.clone());
    if let Some((x, u)) = externs.and_then(|x| x.unparsed_line(name).map(|u| (x, u))) {
        e = e.detail(format!(
            "{}:{} defines it in a form the externs parser skips: `{}`; write `{} = 0xADDR;`",
            x.path, u.line, u.text, name
        ));
    }
    for s in reference_sites(res, obj, si) {
        e = e.site(s);
    }
    e
}

/// mpy_ld.py's note for each `--externs` symbol that an object also defines.
fn note_externs_also_defined(res: &mut Resolution, externs: Option<&Externs>) {
    let Some(ex) = externs else {
        return;
    };
    for (sym, addr) in &ex.symbols {
        if res.known.contains_key(sym) {
            res.log.push(format!(
                "Symbol {sym} is a fixed-address symbol at {addr:08x} and is also provided from an object file"
            ));
        }
    }
}
