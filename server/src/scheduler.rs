//! Builds per project, debounced and cancellable: every request bumps the project's
//! generation; a build waits out the debounce, runs on the blocking pool while it is the
//! newest, and only the newest build publishes. A build never blocks other requests.

use crate::features;
use crate::lsp_convert;
use crate::rebuild::BuildReport;
use crate::state::{ProjectSlot, ServerState};
use crate::sync::lock;
use ls_types::{notification::Notification, MessageType, ProgressToken};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tower_lsp_server::ls_types;

/// The `natmod/buildFinished` notification: sent after a build published its diagnostics.
pub enum BuildFinished {}

impl Notification for BuildFinished {
    type Params = serde_json::Value;
    const METHOD: &'static str = "natmod/buildFinished";
}

/// Requests a build of `slot`; `makefile_changed` forces a new Makefile evaluation.
/// Synchronous up to the spawn, so the request is ordered with the message that caused it.
pub fn request_build(state: &Arc<ServerState>, slot: &Arc<ProjectSlot>, makefile_changed: bool) {
    if makefile_changed {
        slot.stale_makefile.store(true, Ordering::SeqCst);
    }
    let generation = slot.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let debounce = lock(&state.config).debounce;
    tokio::spawn(run_build(state.clone(), slot.clone(), generation, debounce));
}

async fn run_build(
    state: Arc<ServerState>,
    slot: Arc<ProjectSlot>,
    generation: u64,
    debounce: Duration,
) {
    let newest = {
        let slot = slot.clone();
        move || slot.generation.load(Ordering::SeqCst) == generation
    };
    if !debounce.is_zero() {
        // (A zero sleep would still wait for the timer's next millisecond tick.)
        tokio::time::sleep(debounce).await;
    }
    if !newest() {
        return;
    }
    let guard = slot.build.clone().lock_owned().await;
    if !newest() {
        return;
    }
    let config = lock(&state.config).clone();
    let stale = slot.stale_makefile.swap(false, Ordering::SeqCst);
    let cancel = newest.clone();
    let mut task = tokio::task::spawn_blocking(move || {
        let mut build = guard;
        if stale {
            build.invalidate();
        }
        let cancelled = move || !cancel();
        let report = build.run(&config, &cancelled);
        if report.is_err() && stale {
            // Cancelled before the new evaluation was used: the next build must redo it.
            build.invalidate();
        }
        report
    });
    // The build never waits on the client: when it finishes before the client has answered
    // `window/workDoneProgress/create`, it publishes without progress.
    let mut done = None;
    let mut progress = None;
    if let Some(created) = create_progress(&state, progress_token(&slot, generation)) {
        tokio::select! {
            biased;
            r = &mut task => done = Some(r),
            created = created => {
                if let Ok(Some(token)) = created {
                    let name = slot
                        .dir()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let title = format!("natmod: building {name}");
                    progress = Some(state.client.progress(token, title).begin().await);
                }
            }
        }
    }
    let result = match done {
        Some(r) => r,
        None => task.await,
    };
    if let Some(p) = progress {
        p.finish().await;
    }
    let Ok(Ok(report)) = result else {
        return;
    };
    if !newest() {
        return;
    }
    let main_arch = report
        .project
        .as_ref()
        .filter(|_| report.errors() == 0 && report.written.is_some())
        .map(|p| p.arch.clone());
    publish(&state, &slot, generation, report).await;
    if let Some(arch) = main_arch {
        crate::portability::after_build(&state, &slot, generation, arch, stale);
    }
}

/// How long the client may take to answer `window/workDoneProgress/create`.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The progress token of build `generation` of `slot`.
fn progress_token(slot: &ProjectSlot, generation: u64) -> ProgressToken {
    ProgressToken::String(format!(
        "natmod-build-{}-{generation}",
        slot.dir().display()
    ))
}

/// Asks the client, in the background, to create `token` when it shows progress; the task
/// yields the token once created. A client that does not answer within [`PROGRESS_TIMEOUT`]
/// is not asked again this session (said once in the log), so unanswered requests do not
/// pile up.
fn create_progress(
    state: &Arc<ServerState>,
    token: ProgressToken,
) -> Option<tokio::task::JoinHandle<Option<ProgressToken>>> {
    if !state.progress.load(Ordering::SeqCst) {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        let asked = state.client.create_work_done_progress(token.clone());
        match tokio::time::timeout(PROGRESS_TIMEOUT, asked).await {
            Ok(Ok(())) => Some(token),
            Ok(Err(_)) => None,
            Err(_) => {
                if state.progress.swap(false, Ordering::SeqCst) {
                    state
                        .client
                        .log_message(
                            MessageType::WARNING,
                            "natmod-lsp: the client did not answer window/workDoneProgress/create \
                             within 2 s; build progress is off for this session",
                        )
                        .await;
                }
                None
            }
        }
    }))
}

/// Publishes a build's diagnostics (clearing files that no longer have any), shows its
/// messages, and sends `natmod/buildFinished`.
async fn publish(
    state: &Arc<ServerState>,
    slot: &ProjectSlot,
    generation: u64,
    report: BuildReport,
) {
    let live_changed = features::before_publish(state, slot, generation, &report).await;
    crate::publish::build(state, &slot.makefile, &report.diags).await;
    for m in &report.messages {
        state.client.show_message(MessageType::ERROR, m).await;
    }
    for m in &report.log {
        state.client.log_message(MessageType::INFO, m).await;
    }
    slot.finished.store(generation, Ordering::SeqCst);
    let params = json!({
        "project": lsp_convert::uri(slot.dir()).map(|u| u.as_str().to_string()),
        "generation": generation,
        "errors": report.errors(),
        "diagnostics": report.diags.len(),
        "configured": report.configured,
        "compiled": report.compiled,
        "written": report.written.as_ref().map(|w| w.to_string_lossy()),
        "elapsedMs": report.elapsed.as_secs_f64() * 1000.0,
        "gccMs": report.gcc_time.as_secs_f64() * 1000.0,
    });
    features::after_build(state, slot, &report, live_changed).await;
    state
        .client
        .send_notification::<BuildFinished>(params)
        .await;
}
