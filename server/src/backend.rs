//! The LSP protocol layer: implements `LanguageServer` by delegating to [`crate::state`] and
//! [`crate::scheduler`]. No logic lives here.

use crate::config::Config;
use crate::scheduler;
use crate::state::{self, lock, path_of, ServerState};
use ls_types::*;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::{ls_types, Client, LanguageServer, LspService};

/// The language server.
pub struct Backend {
    state: Arc<ServerState>,
}

impl Backend {
    /// The service to serve over a transport.
    pub fn service() -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
        LspService::build(|client: Client| Backend {
            state: Arc::new(ServerState::new(client)),
        })
        .custom_method("natmod/buildStatus", Backend::build_status)
        .finish()
    }

    /// `natmod/buildStatus`: per project, the newest requested and the last published build.
    async fn build_status(&self) -> Result<Value> {
        let projects: Vec<Value> = self
            .state
            .slots()
            .iter()
            .map(|s| {
                json!({
                    "makefile": s.makefile,
                    "generation": s.generation.load(Ordering::SeqCst),
                    "finished": s.finished.load(Ordering::SeqCst),
                })
            })
            .collect();
        Ok(json!({ "trusted": self.state.trusted(), "projects": projects }))
    }

    /// Builds the project of `uri` after a save (or a first open); says once when untrusted.
    fn on_file_event(&self, uri: &Uri, first_open: bool) {
        let Some(path) = path_of(uri) else {
            return;
        };
        if !self.state.trusted() {
            if self.state.first_untrusted_notice() {
                let client = self.state.client.clone();
                tokio::spawn(async move {
                    client
                        .show_message(
                            MessageType::WARNING,
                            "natmod-lsp: the workspace is not trusted, so nothing is built \
                             (no make, no gcc). Trust it, or pass initializationOptions \
                             {\"trusted\": true}.",
                        )
                        .await
                });
            }
            return;
        }
        let Some(slot) = self.state.project_for(&path) else {
            return;
        };
        if first_open {
            if slot.generation.load(Ordering::SeqCst) == 0 {
                scheduler::request_build(&self.state, &slot, false);
            }
        } else if state::affects_build(&path, &slot) {
            scheduler::request_build(&self.state, &slot, path == slot.makefile);
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        *lock(&self.state.config) =
            Config::from_init_options(params.initialization_options.as_ref());
        let progress = params
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        self.state.progress.store(progress, Ordering::SeqCst);
        let mut roots: Vec<_> = params
            .workspace_folders
            .unwrap_or_default()
            .iter()
            .filter_map(|f| path_of(&f.uri))
            .collect();
        #[allow(deprecated)]
        if roots.is_empty() {
            roots.extend(params.root_uri.as_ref().and_then(path_of));
        }
        *lock(&self.state.roots) = roots;
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..CodeActionOptions::default()
                    },
                )),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "natmod-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.state.trusted() {
            let state = self.state.clone();
            let _ = tokio::task::spawn_blocking(move || state.discover()).await;
        } else if self.state.first_untrusted_notice() {
            self.state
                .client
                .show_message(
                    MessageType::WARNING,
                    "natmod-lsp: the workspace is not trusted, so nothing is built (no make, no \
                     gcc). Trust it, or pass initializationOptions {\"trusted\": true}.",
                )
                .await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        if let Some(p) = path_of(&doc.uri) {
            lock(&self.state.docs).open(p, doc.version, &doc.text);
        }
        self.on_file_event(&doc.uri, true);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        if let Some(p) = path_of(&params.text_document.uri) {
            lock(&self.state.docs).change(
                &p,
                params.text_document.version,
                &params.content_changes,
            );
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.on_file_event(&params.text_document.uri, false);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        if let Some(p) = path_of(&params.text_document.uri) {
            lock(&self.state.docs).close(&p);
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let changed = lock(&self.state.config).apply_settings(&params.settings);
        if changed && self.state.trusted() {
            for slot in self.state.slots() {
                if slot.generation.load(Ordering::SeqCst) > 0 {
                    scheduler::request_build(&self.state, &slot, true);
                } else {
                    slot.stale_makefile.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let Some(path) = path_of(&params.text_document.uri) else {
            return Ok(None);
        };
        let state = self.state.clone();
        let range = params.range;
        let actions = tokio::task::spawn_blocking(move || state.code_actions(&path, &range))
            .await
            .unwrap_or_default();
        Ok((!actions.is_empty()).then_some(actions))
    }
}
