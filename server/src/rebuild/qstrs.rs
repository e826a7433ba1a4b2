//! The qstr config.h: what `mpy_ld.py --preprocess` writes, regenerated in process when the
//! set of `MP_QSTR_` names in SRC changes.

use crate::workspace::Project;
use natmod_linker::{qstr, Dialect};

/// Writes `$(CONFIG_H)` when its content would change; returns whether it wrote.
pub fn refresh_config_h(p: &Project, dialect: Dialect) -> std::io::Result<bool> {
    let sources: Vec<Vec<u8>> = p
        .sources
        .iter()
        .map(|s| std::fs::read(p.abs(s)).unwrap_or_default())
        .collect();
    let names = qstr::module_qstrs(sources.iter().map(Vec::as_slice));
    let text = qstr::config_h(&names, dialect);
    let path = p.abs(&p.config_h);
    if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
        // A server killed while writing it left its temporary; the next write would remove
        // it, but none may come while the file is unchanged.
        natmod_linker::output::remove_stale_temps(&path);
        return Ok(false);
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    natmod_linker::output::write_atomic(&path, text.as_bytes())?;
    Ok(true)
}
