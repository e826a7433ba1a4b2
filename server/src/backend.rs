//! The LSP protocol layer: implements `LanguageServer` by delegating to [`crate::state`] and
//! [`crate::scheduler`]. No logic lives here.

use crate::config::Config;
use crate::features::{self, handlers};
use crate::scheduler;
use crate::state::{self, path_of, ServerState};
use crate::sync::lock;
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
        .custom_method("natmod/abi", Backend::abi)
        .custom_method("natmod/boardPorts", Backend::board_ports)
        .custom_method("natmod/boardInfo", Backend::board_info)
        .custom_method("natmod/boardCheck", Backend::board_check)
        .finish()
    }

    /// `natmod/abi`: arch, .mpy version and header flags, MicroPython version of a project.
    async fn abi(&self, params: Value) -> Result<Value> {
        let state = self.state.clone();
        Ok(
            tokio::task::spawn_blocking(move || handlers::abi(&state, &params))
                .await
                .unwrap_or(Value::Null),
        )
    }

    /// `natmod/boardPorts`: serial ports (nothing is sent to any of them).
    async fn board_ports(&self) -> Result<Value> {
        Ok(tokio::task::spawn_blocking(features::board::ports)
            .await
            .unwrap_or(Value::Null))
    }

    /// `natmod/boardInfo` `{port, baud?}`: what the board is.
    async fn board_info(&self, params: Value) -> Result<Value> {
        self.board("info", params).await
    }

    /// `natmod/boardCheck` `{port, baud?, project?}`: whether the module loads on the board.
    async fn board_check(&self, params: Value) -> Result<Value> {
        self.board("check", params).await
    }

    /// Runs a board operation off the async runtime; errors become JSON-RPC errors.
    async fn board(&self, what: &'static str, params: Value) -> Result<Value> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || handlers::board(&state, what, &params))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
            .map_err(tower_lsp_server::jsonrpc::Error::invalid_params)
    }

    /// Runs `f` with the state and the path of `uri`, inline: the features answer in well
    /// under a millisecond, and a hop to the blocking pool costs more than that under load.
    fn on_file<T>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&ServerState, &std::path::Path) -> Option<T>,
    ) -> Option<T> {
        let path = path_of(uri)?;
        f(&self.state, &path)
    }

    /// `natmod/buildStatus`: per project, the newest requested and the last published build.
    async fn build_status(&self) -> Result<Value> {
        let projects: Vec<Value> = self
            .state
            .slots()
            .iter()
            .map(|s| {
                json!({
                    // (A path that is not UTF-8 has no exact JSON string: lossy here.)
                    "makefile": s.makefile.to_string_lossy(),
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
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["_".into(), ".".into(), ">".into()]),
                    ..CompletionOptions::default()
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                document_symbol_provider: Some(OneOf::Left(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![
                        features::run::COMMAND.into(),
                        features::board::RUN_COMMAND.into(),
                        features::board::DEPLOY_COMMAND.into(),
                    ],
                    ..ExecuteCommandOptions::default()
                }),
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
            lock(&self.state.docs).open(p.clone(), doc.version, &doc.text);
            features::on_change(&self.state, &p);
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
            features::on_change(&self.state, &p);
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.on_file_event(&params.text_document.uri, false);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        if let Some(p) = path_of(&params.text_document.uri) {
            lock(&self.state.docs).close(&p);
            features::live::close(&self.state, &p).await;
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
        let actions =
            tokio::task::spawn_blocking(move || handlers::code_actions(&state, &path, &range))
                .await
                .unwrap_or_default();
        Ok((!actions.is_empty()).then_some(actions))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let pos = params.text_document_position;
        let p = pos.position;
        Ok(self.on_file(&pos.text_document.uri, |s, path| {
            Some(handlers::completion(s, path, p))
        }))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let pos = params.text_document_position_params;
        let p = pos.position;
        Ok(self.on_file(&pos.text_document.uri, |s, path| {
            handlers::hover(s, path, p)
        }))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let pos = params.text_document_position_params;
        let p = pos.position;
        Ok(self.on_file(&pos.text_document.uri, |s, path| {
            handlers::definition(s, path, p)
        }))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        Ok(self.on_file(&params.text_document.uri, |s, path| {
            Some(handlers::code_lens(s, path))
        }))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        Ok(self.on_file(&params.text_document.uri, |s, path| {
            Some(handlers::document_symbols(s, path))
        }))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        let board_op = match params.command.as_str() {
            features::board::RUN_COMMAND => Some("run"),
            features::board::DEPLOY_COMMAND => Some("deploy"),
            _ => None,
        };
        if let Some(op) = board_op {
            let args = params.arguments.into_iter().next().unwrap_or(Value::Null);
            return self.board(op, args).await.map(Some);
        }
        if params.command != features::run::COMMAND {
            return Err(tower_lsp_server::jsonrpc::Error::invalid_params(format!(
                "unknown command {}",
                params.command
            )));
        }
        let state = self.state.clone();
        let args = params.arguments;
        let result =
            tokio::task::spawn_blocking(move || handlers::run_in_micropython(&state, &args))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
        match result {
            Ok(v) => {
                let out = v["stdout"].as_str().unwrap_or("").to_string()
                    + v["stderr"].as_str().unwrap_or("");
                let kind = if v["exitCode"] == 0 {
                    MessageType::INFO
                } else {
                    MessageType::ERROR
                };
                let text = if v["timedOut"] == true {
                    "micropython: timed out after 10 s".to_string()
                } else {
                    format!("micropython: {}", out.trim_end())
                };
                self.state.client.show_message(kind, text).await;
                Ok(Some(v))
            }
            Err(e) => {
                self.state
                    .client
                    .show_message(MessageType::ERROR, e.clone())
                    .await;
                Err(tower_lsp_server::jsonrpc::Error::invalid_params(e))
            }
        }
    }
}
