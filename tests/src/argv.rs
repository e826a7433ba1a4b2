//! A golden entry's `natmod-ld` argv as a [`SessionConfig`] and its objects, for driving a
//! [`natmod_linker::Session`] with the same inputs the command line gets.

use natmod_linker::{Dialect, QstrSource, SessionConfig};
use std::path::Path;

/// A link described by an argv: its session config and object names (as on the command line).
#[derive(Debug, Clone)]
pub struct ArgvLink {
    /// The config, with every file path made absolute under the entry's directory.
    pub config: SessionConfig,
    /// Object names as given; their bytes are at `dir/name`.
    pub objects: Vec<String>,
}

/// Parses a link argv run in `dir`. `None` for `--preprocess`, `--arch-flags` and anything
/// else this helper does not model.
pub fn parse(dir: &Path, argv: &[String]) -> Option<ArgvLink> {
    let abs = |p: &str| dir.join(p).to_string_lossy().into_owned();
    let mut config = SessionConfig::new("x64", "");
    let mut source_name = None;
    let mut output = None;
    let mut objects = Vec::new();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--arch" => config.arch = it.next()?.clone(),
            "--qstrs" => config.qstrs = QstrSource::ConfigH(abs(it.next()?)),
            "-l" | "--libs" => config.libs.push(abs(it.next()?)),
            "-e" | "--externs" => config.externs = Some(abs(it.next()?)),
            "-o" | "--output" => output = Some(it.next()?.clone()),
            "--source-name" => source_name = Some(it.next()?.clone()),
            f if f.ends_with(".o") => objects.push(f.to_string()),
            _ => return None,
        }
    }
    let output = output.or_else(|| {
        objects
            .first()
            .and_then(|o| o.strip_suffix(".o"))
            .map(|s| format!("{s}.mpy"))
    })?;
    config.output = dir.join(&output);
    config.source_name = source_name.unwrap_or_else(|| {
        natmod_linker::session::default_source_name(Path::new(&output), Dialect::Newest)
    });
    Some(ArgvLink { config, objects })
}

/// The entry's argv as strings.
pub fn argv_of(e: &crate::golden::Entry) -> Vec<String> {
    e["argv"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
