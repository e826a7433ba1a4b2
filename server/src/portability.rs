//! The `portabilityArchs` setting: after each successful build of a project, build it in the
//! background for every listed arch (one at a time, after the main build, stopped by the next
//! save), each with its own compile cache, and publish what fails there as warnings at the C
//! line (`does not link for armv6m: ...`) with the main build's code actions. A missing
//! toolchain or an arch MPY_DIR lacks is one information diagnostic on the Makefile.

use crate::diag::Diag;
use crate::diag::Severity;
use crate::lsp_convert;
use crate::matrix::{self, ArchBuild, ArchResult, ArchStatus};
use crate::state::{ProjectSlot, ServerState};
use crate::sync::lock;
use ls_types::notification::Notification;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tower_lsp_server::ls_types;

/// The `natmod/portabilityFinished` notification: the background arches of a build published.
pub enum PortabilityFinished {}

impl Notification for PortabilityFinished {
    type Params = serde_json::Value;
    const METHOD: &'static str = "natmod/portabilityFinished";
}

/// The portability builds of one project, per arch (kept between saves: a compile cache each).
#[derive(Default)]
pub struct Portability {
    builds: BTreeMap<String, ArchBuild>,
}

/// The warnings and notes one arch's result gives.
pub fn diagnostics(r: &ArchResult, makefile: &std::path::Path) -> Vec<Diag> {
    match r.status {
        ArchStatus::Ok => Vec::new(),
        ArchStatus::MissingToolchain | ArchStatus::Unsupported => r
            .errors()
            .take(1)
            .map(|d| {
                let mut d = d.clone();
                d.severity = Severity::Information;
                d.message = format!("portability check for {}: {}", r.arch, d.message);
                d.span.path = makefile.to_path_buf();
                d
            })
            .collect(),
        ArchStatus::Failed => r
            .errors()
            .map(|d| {
                let mut d = d.clone();
                let what = if d.source == "natmod-ld" {
                    "link"
                } else {
                    "build"
                };
                d.severity = Severity::Warning;
                d.message = format!("does not {what} for {}: {}", r.arch, d.message);
                d
            })
            .collect(),
    }
}

/// Starts the background builds after build `generation` of `slot` succeeded for `main_arch`
/// (`stale`: the Makefile was evaluated anew).
pub fn after_build(
    state: &Arc<ServerState>,
    slot: &Arc<ProjectSlot>,
    generation: u64,
    main_arch: String,
    stale: bool,
) {
    let config = lock(&state.config).clone();
    let arches: Vec<String> = config
        .portability_archs
        .iter()
        .filter(|a| **a != main_arch && matrix::parse_arches(a).is_ok())
        .cloned()
        .collect();
    if arches.is_empty() {
        return;
    }
    let (state, slot) = (state.clone(), slot.clone());
    tokio::spawn(async move {
        let newest = {
            let slot = slot.clone();
            move || slot.generation.load(Ordering::SeqCst) == generation
        };
        let guard = slot.portability.clone().lock_owned().await;
        if !newest() {
            return;
        }
        let makefile = slot.makefile.clone();
        let workspace = slot.workspace.clone();
        let cancel = newest.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut p = guard;
            let mut builds: Vec<ArchBuild> = arches
                .iter()
                .map(|a| {
                    p.builds
                        .remove(a)
                        .unwrap_or_else(|| ArchBuild::new(makefile.clone(), workspace.clone(), a))
                })
                .collect();
            if stale {
                builds.iter_mut().for_each(ArchBuild::invalidate);
            }
            // One at a time: the main build of the next save must not wait for cores.
            let results = matrix::run_all(&mut builds, &config, 1, &move || !cancel());
            for b in builds {
                p.builds.insert(b.arch().to_string(), b);
            }
            results
        });
        let Ok(Ok(results)) = task.await else {
            return;
        };
        if !newest() {
            return;
        }
        publish(&state, &slot, generation, &results).await;
    });
}

/// Adds the portability diagnostics to what the build published for each file.
async fn publish(
    state: &Arc<ServerState>,
    slot: &ProjectSlot,
    generation: u64,
    results: &[ArchResult],
) {
    let diags: Vec<Diag> = results
        .iter()
        .flat_map(|r| diagnostics(r, &slot.makefile))
        .collect();
    let current = || slot.generation.load(Ordering::SeqCst) == generation;
    crate::publish::add_to_build(state, &slot.makefile, &diags, current).await;
    let params = json!({
        "project": lsp_convert::uri(slot.dir()).map(|u| u.as_str().to_string()),
        "generation": generation,
        "arches": results.iter().map(|r| json!({"arch": r.arch, "status": r.status})).collect::<Vec<_>>(),
    });
    state
        .client
        .send_notification::<PortabilityFinished>(params)
        .await;
}
