//! The toolchain runtime archives `LINK_RUNTIME = 1` would link (libgcc, libm or libc), asked
//! of each arch's compiler once per process, with their symbol index; the link's hints and the
//! live checks both read them from here.

use crate::sync::lock;
use natmod_linker::Archive;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Symbol → `archive:member` for a list of archives.
pub type SymbolIndex = HashMap<String, String>;

/// One arch's runtime archives and their index.
#[derive(Debug, Default)]
pub struct Runtime {
    /// The archives, in link order; empty when the compiler is missing.
    pub archives: Vec<Archive>,
    /// Their symbols.
    pub symbols: Arc<SymbolIndex>,
}

/// The runtime of `arch`, looked up on first use.
pub fn runtime(arch: &str) -> Arc<Runtime> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Runtime>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = lock(cache).get(arch) {
        return r.clone();
    }
    let archives = natmod_linker::hints::runtime_archives(arch).unwrap_or_default();
    let symbols = Arc::new(index(&archives));
    let r = Arc::new(Runtime { archives, symbols });
    lock(cache).entry(arch.to_string()).or_insert(r).clone()
}

/// The symbol index of `archives` (the first archive defining a symbol wins).
pub fn index(archives: &[Archive]) -> SymbolIndex {
    let mut out = SymbolIndex::new();
    for a in archives {
        let file = Path::new(&a.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| a.path.clone());
        for (sym, &m) in &a.symbols {
            let member = a.members.get(m).map(|m| m.name.as_str()).unwrap_or("?");
            out.entry(sym.clone())
                .or_insert_with(|| format!("{file}:{member}"));
        }
    }
    out
}
