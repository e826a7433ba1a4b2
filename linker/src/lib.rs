//! natmod-linker: links MicroPython native-module objects into `.mpy` files, byte for byte as
//! MicroPython's `tools/mpy_ld.py` does, for every architecture it supports.
//!
//! The pipeline reads top to bottom: [`input`] (load) → [`resolve`] → [`gc`] (the walk from
//! `mpy_init`; with `--gc-sections`, the sweep) → [`layout`] → [`relocate`] → [`mpy`] (write).
//! Per-architecture code lives in [`arch`].

pub mod arch;
pub mod dialect;
pub mod error;
pub mod facts;
pub mod gc;
pub mod hints;
pub mod input;
pub mod layout;
pub mod model;
pub mod mpy;
pub mod mpy_read;
pub mod output;
pub mod qstr;
pub mod relocate;
pub mod resolve;
pub mod session;
pub mod size_report;
mod static_qstrs;
pub mod verbose;

pub use dialect::Dialect;
pub use error::{ErrorKind, LinkError, LinkErrors, Site};
pub use facts::LinkFacts;
pub use input::archive::Archive;
pub use input::elf::ObjectFile;
pub use input::externs::Externs;
pub use session::{QstrSource, Session, SessionConfig};

use std::sync::Arc;

/// Everything about a link except its objects.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// `--arch` name.
    pub arch: String,
    /// Which mpy_ld.py to reproduce.
    pub dialect: Dialect,
    /// Module-local qstrs (from `--qstrs config.h`).
    pub qstrs: Vec<String>,
    /// Name recorded as the module's source file.
    pub source_name: String,
    /// RISC-V extension flags (0 = none).
    pub arch_flags: u64,
    /// `--gc-sections`: drop the sections `mpy_init` does not reach.
    pub gc_sections: bool,
}

/// A finished link.
#[derive(Debug, Clone)]
pub struct LinkOutput {
    /// The `.mpy` bytes.
    pub mpy: Vec<u8>,
    /// What mpy_ld.py prints on stdout at the default verbosity for this link.
    pub log: Vec<String>,
    /// Warnings natmod-ld adds (printed on stderr).
    pub warnings: Vec<String>,
    /// Text size in bytes.
    pub text_size: u64,
    /// Separate rodata size.
    pub rodata_size: u64,
    /// BSS size.
    pub bss_size: u64,
    /// Number of GOT entries.
    pub got_entries: usize,
    /// Offset of `mpy_init` in the text.
    pub entry: u64,
    /// Bytes of the entry jump at the start of the text (with its padding).
    pub entry_jump: u64,
    /// Archive members pulled in.
    pub pulled: Vec<resolve::PulledMember>,
    /// What went where, for editors.
    pub facts: LinkFacts,
}

/// A failed link: the errors, and what was printed before them.
#[derive(Debug, Clone)]
pub struct LinkFailure {
    /// The errors, the one mpy_ld.py would report first at the front.
    pub errors: Vec<LinkError>,
    /// stdout lines printed before the error.
    pub log: Vec<String>,
    /// What the link learned before it failed (undefined symbols with their sites).
    pub facts: LinkFacts,
}

/// Links parsed objects with archives and externs.
pub fn link(
    config: &LinkConfig,
    objects: Vec<Arc<ObjectFile>>,
    archives: &[Archive],
    externs: Option<&Externs>,
) -> Result<LinkOutput, LinkFailure> {
    link_verbose(config, objects, archives, externs, 0)
}

/// [`link`], with the [`verbose`] dumps of `level` (the number of `-v` flags) in the log
/// between mpy_ld.py's default lines; the `.mpy` bytes do not depend on `level`.
pub fn link_verbose(
    config: &LinkConfig,
    objects: Vec<Arc<ObjectFile>>,
    archives: &[Archive],
    externs: Option<&Externs>,
    level: u8,
) -> Result<LinkOutput, LinkFailure> {
    let arch = arch::by_name(&config.arch).map_err(|e| LinkFailure {
        errors: vec![e],
        log: vec![],
        facts: LinkFacts::default(),
    })?;
    let info = arch.info();
    let (mut res, mut errors) = resolve::resolve(arch, objects, archives, externs);
    let mut gc_state = facts::GcState {
        reach: gc::reach(&res),
        swept: None,
    };
    if let (true, Some(reach)) = (config.gc_sections, &gc_state.reach) {
        // Undefined references made only by dropped sections are not errors, as with ld.
        errors.retain(|e| !gc::only_in_dropped(&res, reach, e));
        gc_state.swept = Some(gc::sweep(&mut res, reach));
    }
    let res = res;
    // A warning, not an error: the bytes stay mpy_ld.py's (the golden corpus holds such links),
    // and whether the out-of-table read ever runs is not known at link time.
    let qstr_warning = qstr::check_table_use(&res, &config.qstrs).map(|e| e.to_string());
    let mut log = verbose::with_resolution_log(level, &config.qstrs, &res);
    let fail = |mut errors: Vec<LinkError>, log: &Vec<String>, lay: Option<&model::Layout>| {
        facts::complete_undefined_sites(&res, &mut errors);
        LinkFailure {
            facts: facts::collect(info, &res, lay, None, &errors, &gc_state),
            errors,
            log: log.clone(),
        }
    };
    if !errors.is_empty() {
        return Err(fail(errors, &log, None));
    }
    let plan = arch
        .collect_got(&res)
        .map_err(|e| fail(vec![e], &log, None))?;
    let lay = layout::layout(arch, config.dialect, &res, plan, externs)
        .map_err(|e| fail(vec![e], &log, None))?;
    if config.dialect == Dialect::Newest {
        log.extend(lay.log.iter().cloned());
    }
    let relocated = relocate::relocate(arch, &res, &lay, externs);
    let dump = verbose::Linked {
        info,
        res: &res,
        lay: &lay,
        externs,
    };
    log.extend(dump.after_relocation(level, relocated.as_ref().ok()));
    let image = relocated.map_err(|e| fail(e, &log, Some(&lay)))?;
    log.extend(size_lines(info, &image, lay.got.len()));
    let facts = facts::collect(info, &res, Some(&lay), Some(&image), &[], &gc_state);
    let warnings = externs
        .map(|e| e.warnings.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(qstr_warning)
        .collect();
    let mpy = write_mpy(config, info, &image);
    Ok(output(mpy, log, warnings, (&res, &lay, &image), facts))
}

/// The `.mpy` bytes of a relocated image.
fn write_mpy(config: &LinkConfig, info: &arch::ArchInfo, image: &model::Image) -> Vec<u8> {
    mpy::build(&mpy::MpyContents {
        mpy_arch: info.mpy_arch,
        arch_flags: config.arch_flags,
        source_name: &config.source_name,
        qstrs: &config.qstrs,
        text: &image.text,
        rodata: &image.rodata,
        bss_size: image.bss_size,
        relocs: &image.relocs,
        word_size: info.word_size,
    })
}

/// A finished link's output, its facts completed with the module's sizes.
fn output(
    mpy: Vec<u8>,
    log: Vec<String>,
    warnings: Vec<String>,
    (res, lay, image): (&model::Resolution, &model::Layout, &model::Image),
    mut facts: LinkFacts,
) -> LinkOutput {
    facts.module = Some(facts::ModuleSizes {
        mpy: mpy.len() as u64,
        text: image.text.len() as u64,
        rodata: image.rodata.len() as u64,
        bss: image.bss_size,
    });
    LinkOutput {
        mpy,
        log,
        warnings,
        text_size: image.text.len() as u64,
        rodata_size: image.rodata.len() as u64,
        bss_size: image.bss_size,
        got_entries: lay.got.len(),
        entry: lay.entry,
        entry_jump: lay.trampoline.len() as u64,
        pulled: res.pulled.clone(),
        facts,
    }
}

/// The lines mpy_ld.py prints after a link at the default verbosity.
fn size_lines(info: &arch::ArchInfo, image: &model::Image, got_entries: usize) -> Vec<String> {
    let mut log = vec![
        format!("arch:         {}", info.machine_name),
        format!("text size:    {}", image.text.len()),
    ];
    if !image.rodata.is_empty() {
        log.push(format!("rodata size:  {}", image.rodata.len()));
    }
    log.push(format!("bss size:     {}", image.bss_size));
    log.push(format!("GOT entries:  {got_entries}"));
    log
}

/// Reads and parses object files by path (named as given; lossily when not UTF-8).
pub fn load_objects<P: AsRef<std::path::Path>>(
    paths: &[P],
) -> Result<Vec<Arc<ObjectFile>>, LinkError> {
    paths
        .iter()
        .map(|p| {
            let name = p.as_ref().to_string_lossy();
            let data = std::fs::read(p).map_err(|e| LinkError::io(&name, &e))?;
            ObjectFile::parse(&name, &data).map(Arc::new)
        })
        .collect()
}
