//! Compiling a project's sources with the exact compiler and CFLAGS make uses, into the
//! objects make would write, with gcc's JSON diagnostics. Sources whose inputs are unchanged
//! since their last successful compile are skipped (and keep that compile's warnings); what
//! counts as an input is in [`super::deps`].

use super::{deps, gcc_diag};
use crate::diag::Severity;
use crate::diag::{line_span, Diag};
use crate::process::{self, Limits, RunError};
use crate::workspace::Project;
use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

/// What one source's compile gave.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The source, as in SRC.
    pub source: String,
    /// Whether the object is up to date and usable.
    pub ok: bool,
    /// Whether gcc ran (false: skipped as unchanged).
    pub ran: bool,
    /// gcc's diagnostics.
    pub diags: Vec<Diag>,
    /// How long gcc itself ran (zero when skipped).
    pub gcc_time: Duration,
}

/// Per-source memory of the last successful compile: input stamp and its diagnostics.
#[derive(Debug, Default)]
pub struct CompileCache {
    done: HashMap<String, (u64, Vec<Diag>)>,
    foreign: deps::ForeignHashes,
    /// Whether the compiler rejected `-fdiagnostics-format=json` (then text is parsed).
    pub no_json: bool,
}

impl CompileCache {
    /// Forgets everything (a new Makefile evaluation).
    pub fn clear(&mut self) {
        self.done.clear();
    }
}

/// One compile: what it gave and whether gcc rejected the JSON option.
type Outcome = Result<(Compiled, bool), RunError>;

/// Compiles every C/assembler source that changed; `Err` only when cancelled.
pub fn compile_all(
    p: &Project,
    cache: &mut CompileCache,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Compiled>, RunError> {
    let snap = deps::Snapshot::take(p);
    let mut results: Vec<Option<Compiled>> = Vec::new();
    let mut todo = Vec::new();
    for src in p.compiled_sources() {
        let src_hash = std::fs::read(p.abs(src))
            .ok()
            .map(|b| natmod_linker::session::content_hash(&b));
        let st = src_hash.map(|h| {
            let known = deps::read_deps(p, src);
            deps::stamp(p, src, h, known.as_ref(), &snap, &mut cache.foreign)
        });
        match (st, cache.done.get(src)) {
            (Some(s), Some((old, diags))) if s == *old && p.abs(&p.object_for(src)).is_file() => {
                results.push(Some(Compiled {
                    source: src.to_string(),
                    ok: true,
                    ran: false,
                    diags: diags.clone(),
                    gcc_time: Duration::ZERO,
                }));
            }
            _ => {
                todo.push((results.len(), src.to_string(), src_hash));
                results.push(None);
            }
        }
    }
    // (available_parallelism reads cgroup files: not worth it for the usual one source.)
    let threads = match todo.len() {
        0 | 1 => 1,
        n => std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(2)
            .min(n),
    };
    let no_json = cache.no_json;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<(usize, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((slot, src, _)) = todo.get(i) else {
                            break;
                        };
                        mine.push((*slot, compile_one(p, src, no_json, cancelled)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (slot, r) in outcomes {
        let (c, json_rejected) = r?;
        cache.no_json |= json_rejected;
        // Stamped with the dependencies gcc just wrote, the source as it was before the
        // compile and the local headers of the snapshot taken before it.
        let src_hash = todo.iter().find(|t| t.0 == slot).and_then(|t| t.2);
        let st = src_hash.map(|h| {
            let known = deps::read_deps(p, &c.source);
            deps::stamp(p, &c.source, h, known.as_ref(), &snap, &mut cache.foreign)
        });
        match (c.ok, st) {
            (true, Some(s)) => {
                cache.done.insert(c.source.clone(), (s, c.diags.clone()));
            }
            _ => {
                cache.done.remove(&c.source);
            }
        }
        results[slot] = Some(c);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Compiles one source; the flag says whether gcc rejected the JSON option.
fn compile_one(p: &Project, src: &str, no_json: bool, cancelled: &dyn Fn() -> bool) -> Outcome {
    let obj = p.abs(&p.object_for(src));
    if let Some(parent) = obj.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    // make's own command (its compiler, flags, `-o OBJ -c SRC`), with diagnostics options.
    let argv = p.compile_args(src);
    let cc = argv.first().cloned().unwrap_or_else(|| p.cc.clone());
    let run = |json: bool| {
        let mut cmd = Command::new(&cc);
        cmd.current_dir(&p.dir);
        if json {
            cmd.arg("-fdiagnostics-format=json");
        }
        // -MMD: gcc lists the headers it read in $(BUILD)/x.d, for the next build's skip.
        cmd.arg("-MMD").args(argv.iter().skip(1));
        let limits = Limits {
            timeout: Duration::from_secs(120),
            max_output: 4 << 20,
        };
        process::run(cmd, limits, cancelled)
    };
    let mut json_rejected = false;
    let started = std::time::Instant::now();
    let mut out = run(!no_json);
    if let Ok(o) = &out {
        let err = String::from_utf8_lossy(&o.stderr);
        if !no_json && !o.success && err.contains("-fdiagnostics-format") {
            json_rejected = true;
            out = run(false);
        }
    }
    let gcc_time = started.elapsed();
    let src_path = p.abs(src);
    let out = match out {
        Ok(o) => o,
        Err(RunError::Cancelled) => return Err(RunError::Cancelled),
        Err(e) => {
            let text = std::fs::read_to_string(&src_path).unwrap_or_default();
            let d = Diag::new(
                "natmod-lsp",
                line_span(&src_path, &text, 0),
                Severity::Error,
                "compiler-failed",
                format!("{cc}: {e}"),
            );
            let c = Compiled {
                source: src.into(),
                ok: false,
                ran: true,
                diags: vec![d],
                gcc_time,
            };
            return Ok((c, json_rejected));
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut diags = gcc_diag::parse(&stderr, &p.dir, &src_path);
    if !out.success && !diags.iter().any(Diag::is_error) {
        let text = std::fs::read_to_string(&src_path).unwrap_or_default();
        let msg = stderr.trim();
        diags.push(Diag::new(
            "gcc",
            line_span(&src_path, &text, 0),
            Severity::Error,
            "compile-failed",
            if msg.is_empty() {
                format!("{cc} failed compiling {src}")
            } else {
                msg.chars().take(2000).collect()
            },
        ));
    }
    if !out.success {
        let _ = std::fs::remove_file(&obj);
    }
    let c = Compiled {
        source: src.into(),
        ok: out.success,
        ran: true,
        diags,
        gcc_time,
    };
    Ok((c, json_rejected))
}

/// The `compile_commands.json` text for the project (what make runs, for clangd and others).
pub fn compile_commands(p: &Project) -> String {
    let entries: Vec<serde_json::Value> = p
        .compiled_sources()
        .map(|src| {
            // (JSON strings are UTF-8: a path that is not is written lossily.)
            serde_json::json!({
                "directory": p.dir.to_string_lossy(),
                "arguments": p.compile_args(src),
                "file": p.abs(src).to_string_lossy(),
                "output": p.abs(&p.object_for(src)).to_string_lossy(),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// Writes `compile_commands.json` in the project directory when its content changed.
pub fn write_compile_commands(p: &Project) -> std::io::Result<()> {
    let path = p.dir.join("compile_commands.json");
    let text = compile_commands(p);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        // As for config.h: remove a killed server's temporary even when nothing is written.
        natmod_linker::output::remove_stale_temps(&path);
        return Ok(());
    }
    natmod_linker::output::write_atomic(&path, text.as_bytes())
}
