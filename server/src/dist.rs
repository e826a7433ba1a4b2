//! Release artifacts of a matrix (`check --dist DIR`): one `.mpy` per arch in
//! `DIR/ARCH_MPYVERSION/MOD.mpy` (the layout mip's `{MPY_ARCH}_{MPY_VERSION}` URL templates
//! address), a mip `package.json` per arch and one for all arches (entries tagged with the
//! board's `sys.implementation._mpy`), and `build-report.json` (arch, .mpy version, sizes,
//! toolchain versions, sha256). Every file is written atomically.

use crate::matrix::{ArchResult, ArchStatus};
use crate::workspace::toolchain::tool_version;
use natmod_linker::mpy::read_header;
use natmod_linker::output::write_atomic;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct DistReport {
    /// The dist directory.
    pub dir: PathBuf,
    /// Files written.
    pub files: usize,
}

/// The name of the build report in a dist directory.
pub const REPORT: &str = "build-report.json";

fn pretty(v: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s.into_bytes()
}

/// Writes the artifacts of every built arch of `results` into `dir` (arches the MicroPython
/// tree does not know are left out). Fails when an arch did not build or nothing built.
pub fn write(dir: &Path, results: &[ArchResult]) -> Result<DistReport, String> {
    if let Some(r) = results
        .iter()
        .find(|r| !matches!(r.status, ArchStatus::Ok | ArchStatus::Unsupported))
    {
        return Err(format!("{} did not build", r.arch));
    }
    let built: Vec<&ArchResult> = results
        .iter()
        .filter(|r| r.status == ArchStatus::Ok)
        .collect();
    let first = built.first().ok_or("no arch built")?;
    let project = first.project.as_ref().ok_or("no evaluated project")?;
    let module = project.module.clone();
    let file_name = format!("{module}.mpy");
    let mut files = 0;
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    let mut urls = Vec::new();
    let mut arches = Vec::new();
    for r in built {
        let (Some(mpy), Some(p)) = (&r.mpy, &r.project) else {
            return Err(format!("{}: no .mpy was written", r.arch));
        };
        let bytes = std::fs::read(mpy).map_err(|e| format!("{}: {e}", mpy.display()))?;
        let header =
            read_header(&bytes).ok_or_else(|| format!("{} is not a .mpy file", mpy.display()))?;
        let mpy_version = format!("{}.{}", header.version, header.sub_version);
        let sub = format!("{}_{mpy_version}", r.arch);
        let target = dir.join(&sub).join(&file_name);
        std::fs::create_dir_all(target.parent().unwrap_or(dir))
            .map_err(|e| format!("{}: {e}", dir.join(&sub).display()))?;
        write_atomic(&target, &bytes).map_err(|e| format!("{}: {e}", target.display()))?;
        let arch_package = json!({ "urls": [[file_name, file_name]] });
        let arch_json = dir.join(&sub).join("package.json");
        write_atomic(&arch_json, &pretty(&arch_package))
            .map_err(|e| format!("{}: {e}", arch_json.display()))?;
        files += 2;
        let rel = format!("{sub}/{file_name}");
        urls.push(json!([file_name, rel, header.mpy_tag()]));
        let compiler = versions
            .entry(p.cc.clone())
            .or_insert_with(|| tool_version(&p.cc).unwrap_or_else(|e| format!("({e})")))
            .clone();
        arches.push(json!({
            "arch": r.arch,
            "file": rel,
            "mpy_version": mpy_version,
            "mpy_tag": header.mpy_tag(),
            "arch_flags": header.arch_flags,
            "sizes": r.sizes,
            "sha256": format!("{:x}", Sha256::digest(&bytes)),
            "compiler": p.cc,
            "compiler_version": compiler,
            "link_runtime": p.link_runtime,
        }));
    }
    let package = json!({ "urls": urls });
    write_atomic(&dir.join("package.json"), &pretty(&package))
        .map_err(|e| format!("{}: {e}", dir.join("package.json").display()))?;
    let report = json!({
        "module": module,
        "mpy_dir": project.mpy_dir.to_string_lossy(),
        "micropython": natmod_linker::dialect::read_version(&project.mpy_dir).map(|v| v.to_string()),
        "linker": format!("natmod-ld {}", env!("CARGO_PKG_VERSION")),
        "arches": arches,
    });
    write_atomic(&dir.join(REPORT), &pretty(&report))
        .map_err(|e| format!("{}: {e}", dir.join(REPORT).display()))?;
    Ok(DistReport {
        dir: dir.to_path_buf(),
        files: files + 2,
    })
}
