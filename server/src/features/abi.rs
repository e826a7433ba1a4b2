//! ABI facts of a project: the arch, the `.mpy` version (6.3) and header flags (read from the
//! written `.mpy`, else what natmod-ld would write), and the MicroPython version of MPY_DIR.
//! Answered by the `natmod/abi` request and sent as `natmod/status` after every build.

use super::Snapshot;
use crate::lsp_convert;
use crate::rebuild::BuildReport;
use natmod_linker::mpy::{MPY_ARCH_FLAGS, MPY_SUB_VERSION, MPY_VERSION, MP_SMALL_INT_BITS};
use serde_json::{json, Value};
use tower_lsp_server::ls_types::notification::Notification;

/// The `natmod/status` notification: a project's ABI facts and last build outcome.
pub enum Status {}

impl Notification for Status {
    type Params = Value;
    const METHOD: &'static str = "natmod/status";
}

/// The ABI facts of a snapshot's project.
pub fn info(snap: &Snapshot) -> Value {
    let p = &snap.project;
    let arch = natmod_linker::arch::by_name(&p.arch).ok().map(|a| a.info());
    let mpy_path = p.output_mpy();
    let header = std::fs::read(&mpy_path)
        .ok()
        .filter(|b| b.len() >= 4 && b[0] == b'M');
    let (version, flags, small_int_bits, arch_flags, from_file) = match &header {
        Some(b) => {
            let af = if b[2] & MPY_ARCH_FLAGS != 0 {
                natmod_linker::mpy_read::read_uint(&b[4..]).unwrap_or(0)
            } else {
                0
            };
            (format!("{}.{}", b[1], b[2] & 3), b[2], b[3], af, true)
        }
        None => {
            let code = arch.map(|a| a.mpy_arch).unwrap_or(0);
            let mut flags = (code << 2) | MPY_SUB_VERSION;
            if p.arch_flags != 0 {
                flags |= MPY_ARCH_FLAGS;
            }
            (
                format!("{MPY_VERSION}.{MPY_SUB_VERSION}"),
                flags,
                MP_SMALL_INT_BITS,
                p.arch_flags,
                false,
            )
        }
    };
    let micropython = natmod_linker::dialect::read_version(&p.mpy_dir).map(|v| v.to_string());
    json!({
        "project": lsp_convert::uri(&p.dir).map(|u| u.as_str().to_string()),
        "module": p.module,
        "arch": p.arch,
        "archCode": (flags >> 2) & 0x0f,
        "wordSize": arch.map(|a| a.word_size),
        "mpyVersion": version,
        "headerFlags": format!("{flags:#04x}"),
        "archFlags": arch_flags,
        "smallIntBits": small_int_bits,
        "micropython": micropython,
        "mpyDir": p.mpy_dir,
        "mpyFile": from_file.then(|| mpy_path.to_string_lossy().into_owned()),
        "linkRuntime": p.link_runtime,
        "externs": p.externs,
    })
}

/// The `natmod/status` params after a build: [`info`] plus the build's outcome.
pub fn status(snap: &Snapshot, report: &BuildReport) -> Value {
    let mut v = info(snap);
    if let Some(o) = v.as_object_mut() {
        o.insert("generation".into(), json!(snap.generation));
        o.insert("errors".into(), json!(report.errors()));
        o.insert("linked".into(), json!(report.written.is_some()));
        let sizes = snap.facts.as_deref().map(|f| {
            let sum = |g: fn(&natmod_linker::facts::ObjectFacts) -> u64| {
                f.objects.iter().map(g).sum::<u64>()
            };
            json!({"text": sum(|o| o.text), "rodata": sum(|o| o.rodata), "bss": sum(|o| o.bss)})
        });
        o.insert("sizes".into(), json!(sizes));
    }
    v
}
