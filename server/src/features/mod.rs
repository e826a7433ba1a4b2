//! Editor features over what the server already knows: the MicroPython tree's natmod API
//! ([`knowledge`]), the project's C index (kept live from open documents, [`index`]) and the
//! last build's results ([`Snapshot`]). None of them starts a build; each request reads a
//! [`Ctx`] made for the file it is about.
//!
//! - [`completion`], [`hover`], [`definition`]: the natmod API, qstrs, `mp_fun_table` fields,
//!   ROM externs and project symbols.
//! - [`reachability`] and [`live`]: calls that cannot link, warned about while typing.
//! - [`lens`]: function sizes in the `.mpy` (code lenses and document symbols).
//! - [`abi`]: the `natmod/abi` request and the `natmod/status` notification.
//! - [`run`]: the `natmod.runInMicroPython` command.
//! - [`board`]: `natmod/board…` requests and the `natmod.boardRun`/`natmod.boardDeploy` commands.

pub mod abi;
pub mod board;
pub mod completion;
pub mod definition;
pub mod hover;
pub mod index;
pub mod knowledge;
pub mod lens;
pub mod live;
pub mod reachability;
pub mod run;
pub mod words;

use crate::c::FileIndex;
use crate::rebuild::BuildReport;
use crate::state::{ProjectSlot, ServerState};
use crate::sync::lock;
use crate::workspace::Project;
use knowledge::Knowledge;
use natmod_linker::facts::SymbolFacts;
use natmod_linker::{Externs, LinkFacts};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the last build of a project left for the features.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The project as make evaluated it.
    pub project: Project,
    /// The facts of the newest link that ran (kept across builds that did not link).
    pub facts: Option<Arc<LinkFacts>>,
    /// Whether that link succeeded.
    pub linked: bool,
    /// The build generation it comes from.
    pub generation: u64,
}

impl Snapshot {
    /// The C source (absolute) whose object is `object` (as the linker named it).
    pub fn source_of_object(&self, object: &str) -> Option<PathBuf> {
        let p = &self.project;
        p.compiled_sources()
            .find(|s| p.object_for(s) == object)
            .map(|s| p.abs(s))
    }

    /// The linked symbol `name` defined by the object built from `file` (or, for globals,
    /// by any object).
    pub fn symbol(&self, file: &Path, name: &str) -> Option<&SymbolFacts> {
        let facts = self.facts.as_deref()?;
        let object = self
            .project
            .compiled_sources()
            .find(|s| self.project.abs(s) == file)
            .map(|s| self.project.object_for(s));
        let in_file = facts.symbols.iter().find(|s| {
            s.name == name
                && object
                    .as_deref()
                    .is_some_and(|o| facts.objects.get(s.object).is_some_and(|f| f.name == o))
        });
        in_file.or_else(|| facts.symbol(name).filter(|s| s.global))
    }
}

/// The features' share of the server state.
#[derive(Default)]
pub struct FeatureState {
    /// The newest snapshot per project Makefile.
    snapshots: Mutex<HashMap<PathBuf, Arc<Snapshot>>>,
    /// Live C indexes of project files.
    pub index: index::LiveIndex,
    /// Live (typing-time) diagnostics.
    pub live: live::LiveDiagnostics,
}

impl FeatureState {
    /// The newest snapshot of the project whose Makefile is `makefile`.
    pub fn snapshot(&self, makefile: &Path) -> Option<Arc<Snapshot>> {
        lock(&self.snapshots).get(makefile).cloned()
    }

    /// Records what a build of `slot` produced; returns the new snapshot.
    pub fn record(
        &self,
        slot: &ProjectSlot,
        generation: u64,
        report: &BuildReport,
    ) -> Option<Arc<Snapshot>> {
        let mut snaps = lock(&self.snapshots);
        let prev = snaps.get(&slot.makefile).cloned();
        let project = report
            .project
            .clone()
            .or_else(|| prev.as_ref().map(|p| p.project.clone()))?;
        let (facts, linked) = match &report.facts {
            Some(f) => (Some(Arc::new(f.clone())), report.written.is_some()),
            None => prev
                .as_ref()
                .map(|p| (p.facts.clone(), p.linked))
                .unwrap_or((None, false)),
        };
        let snap = Arc::new(Snapshot {
            project,
            facts,
            linked,
            generation,
        });
        snaps.insert(slot.makefile.clone(), snap.clone());
        Some(snap)
    }
}

/// Everything a request about one file reads.
pub struct Ctx {
    /// The file (absolute).
    pub path: PathBuf,
    /// Its current text (the open document's, else the disk's).
    pub text: String,
    /// Its index.
    pub file: Arc<FileIndex>,
    /// The project's Makefile, if the file is in a known project.
    pub makefile: Option<PathBuf>,
    /// The project's last build.
    pub snap: Option<Arc<Snapshot>>,
    /// The MicroPython tree's natmod knowledge.
    pub mpy: Option<Arc<Knowledge>>,
    /// The project's `MPY_EXTERN_SYM_FILE`, parsed.
    pub externs: Option<Arc<Externs>>,
    /// The other project files' indexes (the file itself included), by path.
    pub project_files: Vec<(PathBuf, Arc<FileIndex>)>,
}

impl Ctx {
    /// The context for `path`: its project (if known), the last build, the MPY_DIR knowledge
    /// (from the project, else from the `mpyDir` setting) and the live indexes.
    pub fn new(state: &ServerState, path: &Path) -> Ctx {
        let text = lock(&state.docs)
            .text(path)
            .or_else(|| crate::text::read_lossy(path))
            .unwrap_or_default();
        let file = state.features.index.file(path, &text);
        let slot = lock(&state.projects)
            .values()
            .filter(|s| path.starts_with(s.dir()))
            .max_by_key(|s| s.dir().components().count())
            .cloned();
        let makefile = slot.as_ref().map(|s| s.makefile.clone());
        let snap = makefile.as_deref().and_then(|m| state.features.snapshot(m));
        let mpy_dir = snap
            .as_ref()
            .map(|s| s.project.mpy_dir.clone())
            .or_else(|| {
                let configured = lock(&state.config).mpy_dir.clone()?;
                let base = slot.as_ref().map(|s| s.dir().to_path_buf());
                Some(match base {
                    Some(b) => b.join(configured),
                    None => PathBuf::from(configured),
                })
            });
        let mpy = mpy_dir
            .filter(|d| d.join("py/dynruntime.h").is_file())
            .map(|d| knowledge::knowledge(&d));
        let externs = snap.as_ref().and_then(|s| {
            let e = s.project.externs.as_ref()?;
            knowledge::externs(&s.project.abs(e))
        });
        let project_files = match &snap {
            Some(s) => state
                .features
                .index
                .project(&s.project, &state.docs, path, &file),
            None => vec![(path.to_path_buf(), file.clone())],
        };
        Ctx {
            path: path.to_path_buf(),
            text,
            file,
            makefile,
            snap,
            mpy,
            externs,
            project_files,
        }
    }

    /// The project's definition of `name`: (file, index) of a function or file-scope
    /// variable, this file first.
    pub fn definition(&self, name: &str) -> Option<(&Path, &FileIndex)> {
        if self.file.definition(name).is_some() {
            return Some((&self.path, &self.file));
        }
        self.project_files
            .iter()
            .find(|(_, f)| f.definition(name).is_some())
            .map(|(p, f)| (p.as_path(), f.as_ref()))
    }

    /// The project macro `name`: (file, its `#define`), this file first.
    pub fn macro_def(&self, name: &str) -> Option<(&Path, &crate::c::Macro)> {
        std::iter::once((self.path.as_path(), self.file.as_ref()))
            .chain(
                self.project_files
                    .iter()
                    .map(|(p, f)| (p.as_path(), f.as_ref())),
            )
            .find_map(|(p, f)| f.macros.iter().find(|m| m.name == name).map(|m| (p, m)))
    }

    /// The current line `line` (0-based) of the text.
    pub fn line(&self, line: u32) -> &str {
        self.text.lines().nth(line as usize).unwrap_or("")
    }
}

/// Handlers the protocol layer delegates to (each synchronous: call on the blocking pool).
pub mod handlers {
    use super::*;
    use serde_json::{json, Value};
    use tower_lsp_server::ls_types::{
        CodeActionOrCommand, CodeLens, CompletionResponse, DocumentSymbolResponse,
        GotoDefinitionResponse, Hover, Position, Range,
    };

    /// `textDocument/completion`.
    pub fn completion(state: &ServerState, path: &Path, pos: Position) -> CompletionResponse {
        CompletionResponse::List(completion::complete(&Ctx::new(state, path), pos))
    }

    /// `textDocument/hover`.
    pub fn hover(state: &ServerState, path: &Path, pos: Position) -> Option<Hover> {
        hover::hover(&Ctx::new(state, path), pos)
    }

    /// `textDocument/definition`.
    pub fn definition(
        state: &ServerState,
        path: &Path,
        pos: Position,
    ) -> Option<GotoDefinitionResponse> {
        definition::definition(&Ctx::new(state, path), pos).map(GotoDefinitionResponse::Scalar)
    }

    /// `textDocument/codeLens`.
    pub fn code_lens(state: &ServerState, path: &Path) -> Vec<CodeLens> {
        lens::code_lenses(&Ctx::new(state, path))
    }

    /// `textDocument/documentSymbol`.
    pub fn document_symbols(state: &ServerState, path: &Path) -> DocumentSymbolResponse {
        DocumentSymbolResponse::Nested(lens::document_symbols(&Ctx::new(state, path)))
    }

    /// `textDocument/codeAction`: the build's fixes and the live diagnostics' fixes.
    pub fn code_actions(
        state: &ServerState,
        path: &Path,
        range: &Range,
    ) -> Vec<CodeActionOrCommand> {
        crate::publish::code_actions(state, path, range)
    }

    /// The snapshot of the project named by `args` (`{"project"|"uri"|"textDocument": ...}`),
    /// else of the only (or first) built project.
    fn snapshot_for(state: &ServerState, args: Option<&Value>) -> Option<Arc<Snapshot>> {
        let uri = args.and_then(|a| {
            a.get("project")
                .or_else(|| a.get("uri"))
                .or_else(|| a.get("textDocument").and_then(|t| t.get("uri")))
                .and_then(Value::as_str)
        });
        if let Some(u) = uri {
            let path = u
                .parse::<tower_lsp_server::ls_types::Uri>()
                .ok()
                .and_then(|u| crate::state::path_of(&u))?;
            let slot = state
                .slots()
                .into_iter()
                .filter(|s| path.starts_with(s.dir()))
                .max_by_key(|s| s.dir().components().count())?;
            return state.features.snapshot(&slot.makefile);
        }
        state
            .slots()
            .iter()
            .find_map(|s| state.features.snapshot(&s.makefile))
    }

    /// `natmod/abi`: the ABI facts of the project named in `params` (or the first one built).
    pub fn abi(state: &ServerState, params: &Value) -> Value {
        match snapshot_for(state, Some(params)) {
            Some(s) => abi::info(&s),
            None => json!(null),
        }
    }

    /// `workspace/executeCommand` `natmod.runInMicroPython`.
    pub fn run_in_micropython(state: &ServerState, args: &[Value]) -> Result<Value, String> {
        if !state.trusted() {
            return Err("natmod-lsp: the workspace is not trusted, so nothing is run".into());
        }
        let snap = snapshot_for(state, args.first())
            .ok_or("natmod.runInMicroPython: no project has been built yet")?;
        run::run(&snap, args)
    }

    /// A `natmod/board…` request or command: `what` is `info`, `check`, `run` or `deploy`.
    /// Code goes to a board only from a trusted workspace, and only when the client asks.
    pub fn board(state: &ServerState, what: &str, params: &Value) -> Result<Value, String> {
        if !state.trusted() {
            return Err(
                "natmod-lsp: the workspace is not trusted, so nothing is sent to a board".into(),
            );
        }
        if what == "info" {
            return board::info(params);
        }
        let snap =
            snapshot_for(state, Some(params)).ok_or("natmod-lsp: no project has been built yet")?;
        match what {
            "check" => board::check(&snap, params),
            "run" => board::run(&snap, params),
            "deploy" => board::deploy(&snap, params),
            other => Err(format!("unknown board operation {other}")),
        }
    }
}

/// Before a build publishes: records its results for the features, parses MPY_DIR's headers
/// (once per tree) and rechecks the project's open documents against them, so the build's
/// publication carries current live diagnostics. Returns the files whose live diagnostics
/// changed.
pub async fn before_publish(
    state: &Arc<ServerState>,
    slot: &ProjectSlot,
    generation: u64,
    report: &BuildReport,
) -> Vec<PathBuf> {
    let Some(snap) = state.features.record(slot, generation, report) else {
        return Vec::new();
    };
    let open: Vec<PathBuf> = lock(&state.docs)
        .paths()
        .into_iter()
        .filter(|p| p.starts_with(slot.dir()))
        .collect();
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        knowledge::knowledge(&snap.project.mpy_dir);
        open.into_iter().filter(|p| live::recheck(&st, p)).collect()
    })
    .await
    .unwrap_or_default()
}

/// After a build published: publishes the live diagnostics [`before_publish`] changed and
/// sends `natmod/status`.
pub async fn after_build(
    state: &Arc<ServerState>,
    slot: &ProjectSlot,
    report: &BuildReport,
    changed: Vec<PathBuf>,
) {
    for p in &changed {
        crate::publish::file(state, p).await;
    }
    if let Some(snap) = state.features.snapshot(&slot.makefile) {
        state
            .client
            .send_notification::<abi::Status>(abi::status(&snap, report))
            .await;
    }
}

/// After an open document changed: rechecks it once typing pauses.
pub fn on_change(state: &Arc<ServerState>, path: &Path) {
    live::schedule(state, path.to_path_buf(), None);
}
