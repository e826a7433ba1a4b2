//! Live diagnostics: [`super::reachability`] run on the open document's text while typing
//! (debounced, never a build), kept apart from the build's diagnostics and published as their
//! union. Every `publishDiagnostics` of a file (build or live) goes through one lock and reads
//! both sets, so neither wipes the other.

use super::reachability;
use super::Ctx;
use crate::diag::Diag;
use crate::lsp_convert::{self, Texts};
use crate::state::{lock, ServerState};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_lsp_server::ls_types::{CodeActionOrCommand, Diagnostic, Range};

/// How long typing must pause before a file is checked.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// One file's live diagnostics.
#[derive(Debug, Clone)]
struct Entry {
    makefile: PathBuf,
    diags: Vec<Diag>,
    lsp: Vec<Diagnostic>,
}

/// The live diagnostics of every file, and what orders their publication.
#[derive(Default)]
pub struct LiveDiagnostics {
    entries: Mutex<HashMap<PathBuf, Entry>>,
    generations: Mutex<HashMap<PathBuf, u64>>,
    /// Held while a file's diagnostics are computed from both sets and sent.
    pub publish: tokio::sync::Mutex<()>,
}

impl LiveDiagnostics {
    fn bump(&self, path: &Path) -> u64 {
        let mut g = lock(&self.generations);
        let e = g.entry(path.to_path_buf()).or_insert(0);
        *e += 1;
        *e
    }

    fn is_newest(&self, path: &Path, generation: u64) -> bool {
        lock(&self.generations).get(path) == Some(&generation)
    }

    /// The live diagnostics of `path` in LSP form.
    pub fn lsp(&self, path: &Path) -> Vec<Diagnostic> {
        lock(&self.entries)
            .get(path)
            .map(|e| e.lsp.clone())
            .unwrap_or_default()
    }
}

/// `build` (a file's build diagnostics) with the file's live diagnostics added, except those
/// a build diagnostic already covers (same range).
pub fn with_live(state: &ServerState, path: &Path, mut build: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let live = state.features.live.lsp(path);
    for d in live {
        if !build.iter().any(|b| b.range == d.range) {
            build.push(d);
        }
    }
    build
}

/// Checks `path` after [`DEBOUNCE`] (or `delay`), unless it changes again meanwhile, and
/// publishes when its live diagnostics changed.
pub fn schedule(state: &Arc<ServerState>, path: PathBuf, delay: Option<Duration>) {
    let generation = state.features.live.bump(&path);
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay.unwrap_or(DEBOUNCE)).await;
        if !state.features.live.is_newest(&path, generation) {
            return;
        }
        let (st, p) = (state.clone(), path.clone());
        let Ok(entry) = tokio::task::spawn_blocking(move || compute(&st, &p)).await else {
            return;
        };
        if !state.features.live.is_newest(&path, generation) {
            return;
        }
        if store(&state, &path, entry) {
            publish(&state, &path).await;
        }
    });
}

/// Stores a file's new live diagnostics; true when they differ from the old ones.
fn store(state: &ServerState, path: &Path, entry: Option<Entry>) -> bool {
    let mut entries = lock(&state.features.live.entries);
    let old = entries.get(path).map(|e| &e.diags);
    let new = entry.as_ref().map(|e| &e.diags);
    let changed = old.filter(|d| !d.is_empty()) != new.filter(|d| !d.is_empty());
    match entry {
        Some(e) => entries.insert(path.to_path_buf(), e),
        None => entries.remove(path),
    };
    changed
}

/// Rechecks `path` now (on the calling thread) and stores the result, cancelling a pending
/// debounced check; true when its live diagnostics changed (the caller publishes).
pub fn recheck(state: &ServerState, path: &Path) -> bool {
    let generation = state.features.live.bump(path);
    let entry = compute(state, path);
    state.features.live.is_newest(path, generation) && store(state, path, entry)
}

/// Forgets the live diagnostics of a closed file and republishes its build diagnostics.
pub async fn close(state: &Arc<ServerState>, path: &Path) {
    state.features.live.bump(path);
    let had = lock(&state.features.live.entries).remove(path).is_some();
    if had {
        publish(state, path).await;
    }
}

fn compute(state: &ServerState, path: &Path) -> Option<Entry> {
    let ctx = Ctx::new(state, path);
    let makefile = ctx.makefile.clone()?;
    let diags = reachability::check(&ctx);
    let mut texts = Texts::default();
    texts.insert(path, ctx.text.clone());
    let lsp = diags
        .iter()
        .map(|d| lsp_convert::diagnostic(d, &mut texts))
        .collect();
    Some(Entry {
        makefile,
        diags,
        lsp,
    })
}

/// Publishes the union of `path`'s build and live diagnostics.
pub async fn publish(state: &ServerState, path: &Path) {
    let _order = state.features.live.publish.lock().await;
    let build: Vec<Diagnostic> = {
        let published = lock(&state.published);
        let mut texts = Texts::default();
        published
            .get(path)
            .map(|(_, ds)| {
                ds.iter()
                    .map(|d| lsp_convert::diagnostic(d, &mut texts))
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = with_live(state, path, build);
    if let Some(uri) = lsp_convert::uri(path) {
        state.client.publish_diagnostics(uri, all, None).await;
    }
}

/// Code actions for the live diagnostics of `path` overlapping `range`.
pub fn code_actions(state: &ServerState, path: &Path, range: &Range) -> Vec<CodeActionOrCommand> {
    let Some(entry) = lock(&state.features.live.entries).get(path).cloned() else {
        return Vec::new();
    };
    let mut texts = Texts::default();
    if let Some(t) = lock(&state.docs).text(path) {
        texts.insert(path, t);
    }
    let mut out = Vec::new();
    for (d, l) in entry.diags.iter().zip(&entry.lsp) {
        if lsp_convert::overlaps(&l.range, range) {
            out.extend(
                lsp_convert::code_actions(d, &entry.makefile, &mut texts)
                    .into_iter()
                    .map(CodeActionOrCommand::CodeAction),
            );
        }
    }
    out
}
