//! Live diagnostics: [`super::reachability`] run on the open document's text while typing
//! (debounced, never a build). They are stored and published by [`crate::publish`], apart from
//! the build's and as their union.

use super::reachability;
use super::Ctx;
use crate::lsp_convert::{self, Texts};
use crate::publish::{self, Live};
use crate::state::ServerState;
use crate::sync::lock;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long typing must pause before a file is checked.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// The generation of each file's newest live check (a check publishes only while newest).
#[derive(Default)]
pub struct LiveDiagnostics {
    generations: Mutex<HashMap<PathBuf, u64>>,
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
        if state.diagnostics.set_live(&path, entry) {
            publish::file(&state, &path).await;
        }
    });
}

/// Rechecks `path` now (on the calling thread) and stores the result, cancelling a pending
/// debounced check; true when its live diagnostics changed (the caller publishes).
pub fn recheck(state: &ServerState, path: &Path) -> bool {
    let generation = state.features.live.bump(path);
    let entry = compute(state, path);
    state.features.live.is_newest(path, generation) && state.diagnostics.set_live(path, entry)
}

/// Forgets the live diagnostics of a closed file and republishes its build diagnostics.
pub async fn close(state: &Arc<ServerState>, path: &Path) {
    state.features.live.bump(path);
    if state.diagnostics.remove_live(path) {
        publish::file(state, path).await;
    }
}

fn compute(state: &ServerState, path: &Path) -> Option<Live> {
    let ctx = Ctx::new(state, path);
    let makefile = ctx.makefile.clone()?;
    let diags = reachability::check(&ctx);
    let mut texts = Texts::default();
    texts.insert(path, ctx.text.clone());
    let lsp = diags
        .iter()
        .map(|d| lsp_convert::diagnostic(d, &mut texts))
        .collect();
    Some(Live {
        makefile,
        diags,
        lsp,
    })
}
