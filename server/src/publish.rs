//! Publishing diagnostics: the one store of every file's build diagnostics (the editor build's
//! and the portability arches') and live diagnostics (typing-time checks), the one place that
//! sends `publishDiagnostics` (each file gets the union of both sets, so neither wipes the
//! other; one lock orders every publication), and code actions answered from the same store.

use crate::diag::Diag;
use crate::lsp_convert::{self, Texts};
use crate::state::ServerState;
use crate::sync::lock;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tower_lsp_server::ls_types::{CodeActionOrCommand, Diagnostic, Range};

/// One file's live diagnostics, with their LSP form (converted against the open document).
#[derive(Debug, Clone)]
pub struct Live {
    /// The project's Makefile (for code actions that edit it).
    pub makefile: PathBuf,
    /// The diagnostics.
    pub diags: Vec<Diag>,
    /// The same, in LSP form.
    pub lsp: Vec<Diagnostic>,
}

/// One file's build diagnostics, with the Makefile of the project that built them.
#[derive(Debug, Clone)]
struct Built {
    makefile: PathBuf,
    diags: Vec<Diag>,
}

/// The diagnostics of every file, and what orders their publication.
#[derive(Default)]
pub struct Store {
    build: Mutex<HashMap<PathBuf, Built>>,
    live: Mutex<HashMap<PathBuf, Live>>,
    /// Per project Makefile, the files its last build published diagnostics for.
    projects: Mutex<HashMap<PathBuf, BTreeSet<PathBuf>>>,
    /// Held while a file's diagnostics are computed from both sets and sent.
    order: tokio::sync::Mutex<()>,
}

impl Store {
    /// Stores a file's new live diagnostics; true when they differ from the old ones.
    pub fn set_live(&self, path: &Path, live: Option<Live>) -> bool {
        let mut all = lock(&self.live);
        let old = all.get(path).map(|e| &e.diags);
        let new = live.as_ref().map(|e| &e.diags);
        let changed = old.filter(|d| !d.is_empty()) != new.filter(|d| !d.is_empty());
        match live {
            Some(e) => all.insert(path.to_path_buf(), e),
            None => all.remove(path),
        };
        changed
    }

    /// Forgets a file's live diagnostics; true when it had some.
    pub fn remove_live(&self, path: &Path) -> bool {
        lock(&self.live).remove(path).is_some()
    }

    /// Replaces the build diagnostics of project `makefile` with `diags`; returns every file
    /// to publish (those with diagnostics now, and those that had some before).
    fn replace_build(&self, makefile: &Path, diags: &[Diag]) -> Vec<PathBuf> {
        let by_file = by_file(diags);
        let now: BTreeSet<PathBuf> = by_file.keys().cloned().collect();
        let before = lock(&self.projects).insert(makefile.to_path_buf(), now.clone());
        let gone: Vec<PathBuf> = before
            .unwrap_or_default()
            .difference(&now)
            .cloned()
            .collect();
        let mut build = lock(&self.build);
        for f in &gone {
            build.remove(f);
        }
        for (f, diags) in by_file {
            let makefile = makefile.to_path_buf();
            build.insert(f, Built { makefile, diags });
        }
        gone.into_iter().chain(now).collect()
    }

    /// Adds `diags` to the build diagnostics of project `makefile`; returns the files changed.
    fn add_build(&self, makefile: &Path, diags: &[Diag]) -> Vec<PathBuf> {
        let by_file = by_file(diags);
        let mut build = lock(&self.build);
        let mut projects = lock(&self.projects);
        let files = projects.entry(makefile.to_path_buf()).or_default();
        for (f, ds) in &by_file {
            let entry = build.entry(f.clone()).or_insert_with(|| Built {
                makefile: makefile.to_path_buf(),
                diags: Vec::new(),
            });
            entry.diags.extend(ds.iter().cloned());
            files.insert(f.clone());
        }
        by_file.into_keys().collect()
    }

    /// The LSP diagnostics of `path`: the build's, with the live ones added except those a
    /// build diagnostic already covers (same range).
    fn lsp(&self, path: &Path, texts: &mut Texts) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = lock(&self.build)
            .get(path)
            .map(|b| {
                b.diags
                    .iter()
                    .map(|d| lsp_convert::diagnostic(d, texts))
                    .collect()
            })
            .unwrap_or_default();
        let live = lock(&self.live).get(path).map(|e| e.lsp.clone());
        for d in live.unwrap_or_default() {
            if !out.iter().any(|b| b.range == d.range) {
                out.push(d);
            }
        }
        out
    }
}

/// `diags` grouped by file.
fn by_file(diags: &[Diag]) -> BTreeMap<PathBuf, Vec<Diag>> {
    let mut out: BTreeMap<PathBuf, Vec<Diag>> = BTreeMap::new();
    for d in diags {
        out.entry(d.path().to_path_buf())
            .or_default()
            .push(d.clone());
    }
    out
}

/// Sends the union of each file's build and live diagnostics (the caller holds the order).
async fn send(state: &ServerState, files: &[PathBuf]) {
    let mut texts = Texts::default();
    let batches: Vec<_> = files
        .iter()
        .filter_map(|f| Some((lsp_convert::uri(f)?, state.diagnostics.lsp(f, &mut texts))))
        .collect();
    for (uri, diags) in batches {
        state.client.publish_diagnostics(uri, diags, None).await;
    }
}

/// Publishes a build of project `makefile`: its diagnostics replace the project's last ones
/// (files that no longer have any are cleared).
pub async fn build(state: &ServerState, makefile: &Path, diags: &[Diag]) {
    let _order = state.diagnostics.order.lock().await;
    let files = state.diagnostics.replace_build(makefile, diags);
    send(state, &files).await;
}

/// Adds diagnostics to what project `makefile`'s build published (the portability arches'),
/// unless `current` says, once publication may start, that they are out of date.
pub async fn add_to_build(
    state: &ServerState,
    makefile: &Path,
    diags: &[Diag],
    current: impl Fn() -> bool,
) {
    let _order = state.diagnostics.order.lock().await;
    if !current() {
        return;
    }
    let files = state.diagnostics.add_build(makefile, diags);
    send(state, &files).await;
}

/// Publishes `path` again (after its live diagnostics changed).
pub async fn file(state: &ServerState, path: &Path) {
    let _order = state.diagnostics.order.lock().await;
    send(state, &[path.to_path_buf()]).await;
}

/// Code actions for the diagnostics (build, then live) of `path` overlapping `range`.
pub fn code_actions(state: &ServerState, path: &Path, range: &Range) -> Vec<CodeActionOrCommand> {
    let store = &state.diagnostics;
    let built = lock(&store.build).get(path).cloned();
    let live = lock(&store.live).get(path).cloned();
    let mut out = Vec::new();
    if let Some(b) = built {
        let mut texts = Texts::default();
        for d in &b.diags {
            if lsp_convert::overlaps(&texts.range(&d.span), range) {
                out.extend(actions(d, &b.makefile, &mut texts));
            }
        }
    }
    if let Some(l) = live {
        let mut texts = Texts::default();
        if let Some(t) = lock(&state.docs).text(path) {
            texts.insert(path, t);
        }
        for (d, lsp) in l.diags.iter().zip(&l.lsp) {
            if lsp_convert::overlaps(&lsp.range, range) {
                out.extend(actions(d, &l.makefile, &mut texts));
            }
        }
    }
    out
}

fn actions(d: &Diag, makefile: &Path, texts: &mut Texts) -> Vec<CodeActionOrCommand> {
    lsp_convert::code_actions(d, makefile, texts)
        .into_iter()
        .map(CodeActionOrCommand::CodeAction)
        .collect()
}
