//! The server's state and what each LSP message does to it. Handlers here are synchronous
//! (document state is updated before anything awaits); builds go to [`crate::scheduler`].

use crate::config::Config;
use crate::rebuild::ProjectBuild;
use crate::sync::lock;
use crate::text::Documents;
use crate::workspace::discover;
use ls_types::Uri;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower_lsp_server::{ls_types, Client};

/// One natmod project: its build state and the counters that make builds debounced and
/// cancellable (a build runs only while its generation is the newest).
pub struct ProjectSlot {
    /// The Makefile (absolute).
    pub makefile: PathBuf,
    /// Bumped by every build request; a build stops when it is no longer the newest.
    pub generation: AtomicU64,
    /// The generation of the last build that published.
    pub finished: AtomicU64,
    /// Set when the Makefile must be evaluated again before the next build.
    pub stale_makefile: AtomicBool,
    /// The build state; held for the whole of a build, so builds of a project never overlap.
    pub build: Arc<tokio::sync::Mutex<ProjectBuild>>,
    /// The workspace folders its builds may write in.
    pub workspace: Vec<PathBuf>,
    /// The background builds of the `portabilityArchs` setting.
    pub portability: Arc<tokio::sync::Mutex<crate::portability::Portability>>,
}

impl ProjectSlot {
    fn new(makefile: PathBuf, workspace: Vec<PathBuf>) -> ProjectSlot {
        ProjectSlot {
            build: Arc::new(tokio::sync::Mutex::new(ProjectBuild::new(
                makefile.clone(),
                workspace.clone(),
            ))),
            workspace,
            portability: Arc::default(),
            makefile,
            generation: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            stale_makefile: AtomicBool::new(false),
        }
    }

    /// The project directory.
    pub fn dir(&self) -> &Path {
        self.makefile.parent().unwrap_or(Path::new("/"))
    }
}

/// Everything the server knows.
pub struct ServerState {
    /// The connection to the client.
    pub client: Client,
    /// Settings.
    pub config: Mutex<Config>,
    /// Workspace folders.
    pub roots: Mutex<Vec<PathBuf>>,
    /// Open documents.
    pub docs: Mutex<Documents>,
    /// Projects by Makefile.
    pub projects: Mutex<BTreeMap<PathBuf, Arc<ProjectSlot>>>,
    /// The diagnostics of every file (build and live), as published.
    pub diagnostics: crate::publish::Store,
    /// Whether the client shows `$/progress`.
    pub progress: AtomicBool,
    /// Whether the "not trusted" message was shown.
    pub told_untrusted: AtomicBool,
    /// Completion, hover, live diagnostics and the rest: their caches and last build results.
    pub features: crate::features::FeatureState,
}

/// The file path of a `file:` URI, byte for byte (see [`crate::file_uri`]).
pub fn path_of(uri: &Uri) -> Option<PathBuf> {
    crate::file_uri::to_path(uri)
}

/// Whether saving `path` can change a build of the project in `dir`.
pub fn affects_build(path: &Path, slot: &ProjectSlot) -> bool {
    if path == slot.makefile {
        return true;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "c" | "h" | "S" | "s" | "ld" | "mk" | "py")
}

impl ServerState {
    /// A fresh state for `client`.
    pub fn new(client: Client) -> ServerState {
        ServerState {
            client,
            config: Mutex::new(Config::default()),
            roots: Mutex::new(Vec::new()),
            docs: Mutex::new(Documents::default()),
            projects: Mutex::new(BTreeMap::new()),
            diagnostics: crate::publish::Store::default(),
            progress: AtomicBool::new(false),
            told_untrusted: AtomicBool::new(false),
            features: crate::features::FeatureState::default(),
        }
    }

    /// Whether builds may run.
    pub fn trusted(&self) -> bool {
        lock(&self.config).trusted
    }

    /// The slot for the project Makefile `makefile`, made on first use.
    pub fn slot(&self, makefile: &Path) -> Arc<ProjectSlot> {
        let workspace = lock(&self.roots).clone();
        lock(&self.projects)
            .entry(makefile.to_path_buf())
            .or_insert_with(|| Arc::new(ProjectSlot::new(makefile.to_path_buf(), workspace)))
            .clone()
    }

    /// The project holding `file`: a known project directory above it, else one found on disk.
    pub fn project_for(&self, file: &Path) -> Option<Arc<ProjectSlot>> {
        let known = lock(&self.projects)
            .values()
            .filter(|s| file.starts_with(s.dir()))
            .max_by_key(|s| s.dir().components().count())
            .cloned();
        if known.is_some() {
            return known;
        }
        discover::project_for_file(file).map(|mf| self.slot(&mf))
    }

    /// Registers every natmod project under the workspace folders.
    pub fn discover(&self) {
        let roots = lock(&self.roots).clone();
        for r in roots {
            for mf in discover::find_projects(&r) {
                self.slot(&mf);
            }
        }
    }

    /// Every known project.
    pub fn slots(&self) -> Vec<Arc<ProjectSlot>> {
        lock(&self.projects).values().cloned().collect()
    }

    /// Marks the "not trusted" message as shown; true the first time.
    pub fn first_untrusted_notice(&self) -> bool {
        !self.told_untrusted.swap(true, Ordering::SeqCst)
    }
}
