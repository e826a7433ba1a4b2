//! An incremental link session: what the language server calls on every save.
//!
//! A [`Session`] keeps every input parsed. Objects are handed in as bytes keyed by path and
//! parsed only when their content hash changes; the qstr config.h, the `--externs` file and
//! the `-l` archives are read when the session is made and read again only when their size,
//! mtime or inode changes (and parsed again only when their content hash differs then).
//! [`Session::link`] then redoes only resolve → layout → relocate → write, through the same
//! [`crate::link`] that `natmod-ld` runs, so the bytes equal a fresh `natmod-ld` run.
//!
//! Objects link in the order of their first [`Session::set_object`]: setting an object again
//! keeps its place, and removing it and setting it again puts it last. (The server adds
//! objects in the Makefile's SRC order, which is `natmod-ld`'s command-line order.)

mod tracked;

use crate::error::{ErrorKind, LinkError};
use crate::input::archive::{load_lib_with, Archive};
use crate::{arch, output, qstr, Dialect, Externs, LinkConfig, LinkFacts, LinkFailure};
use crate::{LinkOutput, ObjectFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;
pub use tracked::content_hash;
use tracked::Tracked;

/// Where the module-local qstrs come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum QstrSource {
    /// No `--qstrs`.
    #[default]
    None,
    /// A config.h written by `--preprocess`, watched for changes.
    ConfigH(String),
    /// An already parsed list, in config.h order.
    List(Vec<String>),
}

/// Everything about a link except its objects: `natmod-ld`'s command line, parsed.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `--arch` name.
    pub arch: String,
    /// Which mpy_ld.py to reproduce.
    pub dialect: Dialect,
    /// `--qstrs`.
    pub qstrs: QstrSource,
    /// `-l` inputs (archives or GROUP scripts), in order.
    pub libs: Vec<String>,
    /// `--externs` linkerscript.
    pub externs: Option<String>,
    /// `-o`: where [`Session::write_atomic`] writes.
    pub output: PathBuf,
    /// Name recorded as the module's source file.
    pub source_name: String,
    /// `--arch-flags` value (RISC-V; 0 = none).
    pub arch_flags: u64,
    /// `--gc-sections`.
    pub gc_sections: bool,
}

impl SessionConfig {
    /// A config with `natmod-ld`'s defaults: newest dialect, no qstrs, libs or externs, and the
    /// source name it derives from `output`.
    pub fn new(arch: &str, output: impl Into<PathBuf>) -> SessionConfig {
        let output = output.into();
        SessionConfig {
            arch: arch.to_string(),
            dialect: Dialect::Newest,
            qstrs: QstrSource::None,
            libs: Vec::new(),
            externs: None,
            source_name: default_source_name(&output, Dialect::Newest),
            output,
            arch_flags: 0,
            gc_sections: false,
        }
    }
}

/// The source name `natmod-ld` records without `--source-name`: the output's file name (the
/// output path as given, for v1.23).
pub fn default_source_name(output: &Path, dialect: Dialect) -> String {
    match dialect {
        Dialect::V1_23 => output.to_string_lossy().into_owned(),
        Dialect::Newest => output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// Counters of the work a session did, to check that it reuses what it can.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Objects parsed.
    pub object_parses: usize,
    /// config.h, externs and `-l` inputs (re)loaded.
    pub input_loads: usize,
    /// Links run.
    pub links: usize,
}

/// A watched input file and what parsing it gave.
struct Watched<T> {
    file: Tracked,
    value: Result<T, LinkError>,
}

impl<T> Watched<T> {
    fn load(path: &str, parse: impl Fn(&str, Vec<u8>) -> Result<T, LinkError>) -> Self {
        let (file, data) = Tracked::read(path);
        let value = data
            .map_err(|e| LinkError::io(path, &e))
            .and_then(|d| parse(path, d));
        Watched { file, value }
    }

    /// Re-parses when the content changed; true if it did.
    fn refresh(&mut self, parse: impl Fn(&str, Vec<u8>) -> Result<T, LinkError>) -> bool {
        let Some(data) = self.file.poll() else {
            return false;
        };
        let path = &self.file.path;
        self.value = data
            .map_err(|e| LinkError::io(path, &e))
            .and_then(|d| parse(path, d));
        true
    }
}

fn parse_externs(path: &str, data: Vec<u8>) -> Result<Externs, LinkError> {
    Externs::parse(path, &String::from_utf8_lossy(&data))
}

fn parse_qstrs(_: &str, data: Vec<u8>) -> Result<Vec<String>, LinkError> {
    Ok(qstr::read_config_h(&data))
}

/// The `-l` inputs: every file read for them, and the archives they gave.
#[derive(Default)]
struct Libs {
    files: Vec<Tracked>,
    archives: Vec<Archive>,
    errors: Vec<LinkError>,
}

impl Libs {
    fn load(paths: &[String]) -> Libs {
        let mut libs = Libs::default();
        for p in paths {
            let mut read = |f: &str| {
                let (t, data) = Tracked::read(f);
                libs.files.push(t);
                data.map_err(|e| LinkError::io(f, &e))
            };
            match load_lib_with(p, &mut read) {
                Ok(a) => libs.archives.extend(a),
                Err(e) => libs.errors.push(e),
            }
        }
        libs
    }

    /// Whether any file read for the libs changed content (checks them all, so each
    /// remembers its newest stamp).
    fn changed(&mut self) -> bool {
        let mut changed = false;
        for f in &mut self.files {
            changed |= f.poll().is_some();
        }
        changed
    }
}

/// One object: its content hash and what parsing gave.
struct ObjectSlot {
    path: String,
    hash: u64,
    parsed: Result<Arc<ObjectFile>, LinkError>,
}

/// Parsed inputs kept between links; see the module documentation.
pub struct Session {
    config: SessionConfig,
    link_config: LinkConfig,
    qstrs: Option<Watched<Vec<String>>>,
    externs: Option<Watched<Externs>>,
    libs: Libs,
    objects: Vec<ObjectSlot>,
    last_mpy: Option<Vec<u8>>,
    stats: SessionStats,
}

impl Session {
    /// Makes a session, reading the qstr config.h, externs and `-l` inputs now. Problems with
    /// them are kept and reported by [`Session::link`] until they are fixed.
    pub fn new(config: SessionConfig) -> Session {
        let mut stats = SessionStats::default();
        let qstrs = match &config.qstrs {
            QstrSource::ConfigH(p) => {
                stats.input_loads += 1;
                Some(Watched::load(p, parse_qstrs))
            }
            _ => None,
        };
        let externs = config.externs.as_deref().map(|p| {
            stats.input_loads += 1;
            Watched::load(p, parse_externs)
        });
        stats.input_loads += config.libs.len();
        let libs = Libs::load(&config.libs);
        let link_config = LinkConfig {
            arch: config.arch.clone(),
            dialect: config.dialect,
            qstrs: match (&config.qstrs, &qstrs) {
                (QstrSource::List(l), _) => l.clone(),
                (_, Some(Watched { value: Ok(l), .. })) => l.clone(),
                _ => Vec::new(),
            },
            source_name: config.source_name.clone(),
            arch_flags: config.arch_flags,
            gc_sections: config.gc_sections,
        };
        Session {
            config,
            link_config,
            qstrs,
            externs,
            libs,
            objects: Vec::new(),
            last_mpy: None,
            stats,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Work done so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The objects' paths in link order.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        self.objects.iter().map(|o| o.path.as_str())
    }

    /// Adds or replaces the object at `path` (its name in messages); parses it only if its
    /// content changed. Returns whether it changed. A parse error is reported by `link`.
    pub fn set_object(&mut self, path: &str, bytes: &[u8]) -> bool {
        let hash = content_hash(bytes);
        if let Some(o) = self.objects.iter().find(|o| o.path == path) {
            if o.hash == hash {
                return false;
            }
        }
        self.stats.object_parses += 1;
        let parsed = ObjectFile::parse(path, bytes).map(Arc::new);
        match self.objects.iter_mut().find(|o| o.path == path) {
            Some(o) => {
                o.hash = hash;
                o.parsed = parsed;
            }
            None => self.objects.push(ObjectSlot {
                path: path.to_string(),
                hash,
                parsed,
            }),
        }
        true
    }

    /// Removes the object at `path`; returns whether it was there.
    pub fn remove_object(&mut self, path: &str) -> bool {
        let before = self.objects.len();
        self.objects.retain(|o| o.path != path);
        self.objects.len() != before
    }

    /// Re-reads inputs whose files changed.
    fn refresh_inputs(&mut self) {
        if let Some(q) = &mut self.qstrs {
            if q.refresh(parse_qstrs) {
                self.stats.input_loads += 1;
                self.link_config.qstrs = q.value.as_ref().cloned().unwrap_or_default();
            }
        }
        if let Some(x) = &mut self.externs {
            if x.refresh(parse_externs) {
                self.stats.input_loads += 1;
            }
        }
        if self.libs.changed() {
            self.stats.input_loads += self.config.libs.len();
            self.libs = Libs::load(&self.config.libs);
        }
    }

    /// Problems with the inputs, in the order `natmod-ld` meets them (arch, qstrs, externs,
    /// objects, libs); all of them, not just the first.
    fn input_errors(&self) -> Vec<LinkError> {
        let mut errors = Vec::new();
        match arch::by_name(&self.config.arch) {
            Err(e) => errors.push(e),
            Ok(a) if self.config.arch_flags != 0 && !a.info().accepts_arch_flags => {
                errors.push(LinkError::new(
                    ErrorKind::BadArguments,
                    format!(
                        "Architecture \"{}\" does not support extra flags",
                        self.config.arch
                    ),
                ))
            }
            Ok(_) => {}
        }
        if let Some(Watched { value: Err(e), .. }) = &self.qstrs {
            errors.push(e.clone());
        }
        if let Some(Watched { value: Err(e), .. }) = &self.externs {
            errors.push(e.clone());
        }
        for o in &self.objects {
            if let Err(e) = &o.parsed {
                errors.push(e.clone());
            }
        }
        errors.extend(self.libs.errors.iter().cloned());
        errors
    }

    /// Links the current objects (re-reading only inputs whose files changed). The output is
    /// what a fresh `natmod-ld` run on the same inputs writes; it is kept for
    /// [`Session::write_atomic`].
    pub fn link(&mut self) -> Result<LinkOutput, LinkFailure> {
        self.refresh_inputs();
        self.stats.links += 1;
        self.last_mpy = None;
        let errors = self.input_errors();
        if !errors.is_empty() {
            return Err(LinkFailure {
                errors,
                log: Vec::new(),
                facts: LinkFacts::default(),
            });
        }
        let objects: Vec<Arc<ObjectFile>> = self
            .objects
            .iter()
            .filter_map(|o| o.parsed.as_ref().ok().cloned())
            .collect();
        let externs = self.externs.as_ref().and_then(|x| x.value.as_ref().ok());
        let out = crate::link(&self.link_config, objects, &self.libs.archives, externs)?;
        self.last_mpy = Some(out.mpy.clone());
        Ok(out)
    }

    /// The `.mpy` bytes of the last link, if it succeeded.
    pub fn last_mpy(&self) -> Option<&[u8]> {
        self.last_mpy.as_deref()
    }

    /// Writes the last link's `.mpy` to the configured output path, atomically. Fails if the
    /// last link failed (the old file is then left alone, as `natmod-ld` leaves it).
    pub fn write_atomic(&self) -> Result<(), LinkError> {
        let path = self.config.output.to_string_lossy();
        let Some(mpy) = &self.last_mpy else {
            return Err(LinkError::new(
                ErrorKind::BadArguments,
                format!("{path}: nothing to write: the last link failed or none ran"),
            ));
        };
        output::write_atomic(&self.config.output, mpy).map_err(|e| LinkError::io(&path, &e))
    }
}
