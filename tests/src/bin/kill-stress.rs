//! kill-stress: crash safety of natmod-ld's and natmod-lsp's `.mpy` output under SIGKILL.
//!
//! Linker mode (the default): each trial puts an old complete `.mpy` at a golden link's output
//! path, starts `natmod-ld` on that link, kills it with SIGKILL after a random delay between 0
//! and the typical link time.
//!
//! Server mode (`--server`): each trial puts the old version of a scratch copy of
//! `examples/factorial` in place (its C source and both `.mpy` files the server writes,
//! `build/factorial_nm.native.mpy` then `factorial_nm.mpy`), starts `natmod-lsp` over stdio,
//! saves the other version of the C file, and kills the server with SIGKILL after a random
//! delay between 0 and the typical save-to-`natmod/buildFinished` time. The server is stopped
//! (SIGSTOP) an instant before the SIGKILL so that the tools it was running (make, gcc), which
//! outlive it, can be listed; they are waited for before the directory is checked, so the next
//! trial's compile does not race an orphaned one.
//!
//! Both modes then check that every output path holds either the old complete file or the new
//! one (byte for byte; the server's two files in write order), and that temporaries do not
//! pile up: a killed writer leaves at most one `.NAME.PID.N.tmp` per output, and the next run
//! that gets as far as writing it removes it.
//!
//!     cargo run --release -p natmod-tests --bin kill-stress -- [--server] [--trials N]
//!         [--seed S] [--case GOLDEN-ID] [--dir DIR]
//!
//! Exits 1 on any violation. `tests/tests/kill_stress.rs` runs CI-sized batches of both modes.

use natmod_tests::golden::{copy_dir, entries, golden_dir};
use natmod_tests::lsp_client::{LspClient, TIMEOUT};
use natmod_tests::lsp_scenario::trusted_options;
use natmod_tests::rng::Rng;
use natmod_tests::{copy_module, mpy_dir, natmod_ld, natmod_lsp, require_tool, scratch_dir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Which writer is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `natmod-ld` on a golden link.
    #[default]
    Linker,
    /// `natmod-lsp` building `examples/factorial` after a save.
    Server,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which writer is killed.
    pub mode: Mode,
    /// Number of killed runs.
    pub trials: usize,
    /// Seed of the delay generator.
    pub seed: u64,
    /// Golden manifest id of the link (an `ok` link without system inputs; linker mode).
    pub case: String,
    /// Scratch directory (created; its previous contents are removed).
    pub dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Linker,
            trials: 1000,
            seed: 0x5eed,
            case: "qstrs/xtensawin/default".into(),
            dir: scratch_dir("kill-stress", std::process::id().to_string()),
        }
    }
}

/// What the trials saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Trials run.
    pub trials: usize,
    /// Median wall time of an unkilled run (the delay bound): a `natmod-ld` link, or a
    /// server's save-to-`natmod/buildFinished`.
    pub typical: Duration,
    /// Killed before the (first) rename: every output was still the old file.
    pub killed_old_kept: usize,
    /// Of those, killed between creating an output's temporary and its rename (it was left).
    pub killed_in_write: usize,
    /// Killed between the server's two renames: `.native.mpy` new, `.mpy` still old.
    pub killed_between: usize,
    /// Killed after the (last) rename: every output was the new file.
    pub killed_new_written: usize,
    /// The run had finished before the kill (natmod-ld exited 0; the server had published the
    /// build with `natmod/buildFinished`).
    pub exited_before_kill: usize,
    /// Most temporaries of one output seen in a directory after any trial.
    pub max_temps: usize,
    /// Temporaries (of any output, `.mpy` or not) that killed runs left behind.
    pub temps_left: usize,
    /// Stale temporaries removed by a later run.
    pub stale_removed: usize,
    /// Trials in which tools the killed server had started (make, gcc) outlived it.
    pub outlived: usize,
    /// The names of those tools.
    pub outlived_tools: BTreeSet<String>,
    /// Longest wait for them to finish after the kill.
    pub outlived_wait: Duration,
    /// Trials after which the compiled object (`build/factorial.o`) was neither the old nor
    /// the new compile: left cut short or removed by a killed compile (not an output violation:
    /// the next server compiles it again). `None` when compiles are not reproducible, so
    /// this cannot be told.
    pub objects_unusable: Option<usize>,
    /// Broken invariants, one line each.
    pub violations: Vec<String>,
}

/// The median of `times`.
fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The output path a temporary `.NAME.PID.N.tmp` (any NAME) of `dir` belongs to.
fn temp_owner_path(dir: &Path, file_name: &str) -> Option<PathBuf> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let name = rest.rsplitn(3, '.').nth(2)?;
    natmod_linker::output::temp_owner(file_name, name)?;
    Some(dir.join(name))
}

/// Every writer temporary (`.NAME.PID.N.tmp`, any NAME) in `dirs`, sorted.
pub fn all_temps(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|t| owner_of(t).is_some())
        .collect();
    v.sort();
    v
}

/// The output path `temp` belongs to, if it is a writer temporary.
fn owner_of(temp: &Path) -> Option<PathBuf> {
    let dir = temp.parent().unwrap_or(Path::new("."));
    temp_owner_path(dir, &temp.file_name()?.to_string_lossy())
}

/// An output path and its two complete versions.
struct Output<'a> {
    path: PathBuf,
    old: &'a [u8],
    new: &'a [u8],
}

/// What an output path holds after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Old,
    New,
    /// Neither complete file: its length, or `None` when the path is missing.
    Neither(Option<usize>),
}

impl Output<'_> {
    fn held(&self) -> Held {
        match std::fs::read(&self.path) {
            Ok(b) if b == self.old => Held::Old,
            Ok(b) if b == self.new => Held::New,
            Ok(b) => Held::Neither(Some(b.len())),
            Err(_) => Held::Neither(None),
        }
    }
}

/// How a killed run ended.
struct Ending {
    /// It died of the SIGKILL.
    killed: bool,
    /// It had done its work before the kill.
    finished: bool,
    /// Exit status and delay, for violation lines.
    detail: String,
}

/// Checks and counts one trial: `outputs` in the order the run writes them, the temporaries
/// in their directories before and after it.
fn account(
    r: &mut Report,
    trial: usize,
    outputs: &[Output],
    end: Ending,
    before: &[PathBuf],
    after: &[PathBuf],
) {
    r.trials += 1;
    let held: Vec<Held> = outputs.iter().map(Output::held).collect();
    let new_temps: Vec<&PathBuf> = after.iter().filter(|t| !before.contains(t)).collect();
    r.temps_left += new_temps.len();
    r.stale_removed += before.iter().filter(|t| !after.contains(t)).count();
    let n_new = held.iter().take_while(|h| **h == Held::New).count();
    let complete = held[n_new..].iter().all(|h| *h == Held::Old);
    let what = || {
        outputs
            .iter()
            .zip(&held)
            .map(|(o, h)| format!("{} is {h:?}", o.path.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !complete {
        r.violations.push(format!(
            "trial {trial}: {}: not the old or new complete files in write order: {}",
            end.detail,
            what()
        ));
    } else if end.finished {
        if n_new == held.len() {
            r.exited_before_kill += 1;
        } else {
            r.violations.push(format!(
                "trial {trial}: {}: finished, yet {}",
                end.detail,
                what()
            ));
        }
    } else if !end.killed {
        r.violations.push(format!(
            "trial {trial}: {}: neither killed nor finished; {}",
            end.detail,
            what()
        ));
    } else if n_new == 0 {
        r.killed_old_kept += 1;
        let of_output = |t: &Path| {
            outputs
                .iter()
                .any(|o| owner_of(t).as_ref() == Some(&o.path))
        };
        r.killed_in_write += usize::from(new_temps.iter().any(|t| of_output(t)));
    } else if n_new == held.len() {
        r.killed_new_written += 1;
    } else {
        r.killed_between += 1;
    }
    let mut per_output: BTreeMap<Option<PathBuf>, usize> = BTreeMap::new();
    for t in after {
        *per_output.entry(owner_of(t)).or_default() += 1;
    }
    let most = per_output.values().copied().max().unwrap_or(0);
    r.max_temps = r.max_temps.max(most);
    if most > 1 || (end.finished && !new_temps.is_empty()) {
        r.violations.push(format!(
            "trial {trial}: temporaries pile up: {after:?} (before: {before:?})"
        ));
    }
}

/// Checks the last, unkilled run: it wrote every new file and removed every stale temporary.
fn account_final(
    r: &mut Report,
    outputs: &[Output],
    ran: Result<(), String>,
    before: &[PathBuf],
    after: &[PathBuf],
) {
    r.stale_removed += before.iter().filter(|t| !after.contains(t)).count();
    if let Err(e) = ran {
        r.violations.push(format!("final unkilled run failed: {e}"));
    }
    for o in outputs {
        if o.held() != Held::New {
            r.violations.push(format!(
                "final unkilled run did not write the new {}",
                o.path.display()
            ));
        }
    }
    if !after.is_empty() {
        r.violations
            .push(format!("final unkilled run left temporaries: {after:?}"));
    }
}

/// Runs the trials of `opts.mode`.
pub fn run(opts: &Options) -> Report {
    match opts.mode {
        Mode::Linker => run_linker(opts),
        Mode::Server => run_server(opts),
    }
}

fn link_command(work: &Path, argv: &[String]) -> Command {
    let mut c = Command::new(natmod_ld());
    c.args(argv)
        .current_dir(work)
        .env_remove("MPY_DIR")
        .env_remove("MAKEFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn run_linker(opts: &Options) -> Report {
    let entry = entries()
        .into_iter()
        .find(|e| e["id"] == opts.case.as_str())
        .unwrap_or_else(|| panic!("no golden entry {}", opts.case));
    assert_eq!(
        entry["expected"]["status"], "ok",
        "{} must be an ok link",
        opts.case
    );
    let argv: Vec<String> = natmod_tests::golden::argv(&entry);
    let out_name = argv[argv.iter().position(|a| a == "-o").expect("-o") + 1].clone();
    let new = std::fs::read(golden_dir().join(entry["expected"]["output"].as_str().unwrap()))
        .expect("golden expected output");

    let _ = std::fs::remove_dir_all(&opts.dir);
    let work = opts.dir.clone();
    copy_dir(&golden_dir().join(entry["dir"].as_str().unwrap()), &work);
    let out = work.join(&out_name);
    let dirs = [out.parent().unwrap().to_path_buf()];

    // The old complete file: the same link with another source name.
    let mut old_argv = argv.clone();
    old_argv.splice(
        0..0,
        ["--source-name".to_string(), "old_module.py".to_string()],
    );
    let st = link_command(&work, &old_argv).status().unwrap();
    assert!(st.success(), "old link failed");
    let old = std::fs::read(&out).unwrap();
    assert_ne!(old, new, "old and new outputs must differ");
    let outputs = [Output {
        path: out.clone(),
        old: &old,
        new: &new,
    }];

    // Typical link time: the median of unkilled runs, which must write the new file.
    let mut times = Vec::new();
    for _ in 0..15 {
        std::fs::write(&out, &old).unwrap();
        let t = Instant::now();
        let st = link_command(&work, &argv).status().unwrap();
        times.push(t.elapsed());
        assert!(st.success(), "unkilled link failed");
        assert_eq!(std::fs::read(&out).unwrap(), new, "unkilled link output");
    }
    let mut r = Report {
        typical: median(times),
        ..Report::default()
    };

    let mut rng = Rng::new(opts.seed);
    for trial in 0..opts.trials {
        std::fs::write(&out, &old).unwrap();
        let before = all_temps(&dirs);
        let delay = rng.delay(r.typical);
        let mut child = link_command(&work, &argv).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; a no-op once the child has been reaped
        let status = child.wait().unwrap();
        let killed = status.signal() == Some(9);
        let end = Ending {
            killed,
            finished: !killed && status.success(),
            detail: format!("status {status}, delay {delay:?}"),
        };
        let after = all_temps(&dirs);
        account(&mut r, trial, &outputs, end, &before, &after);
    }

    // A last, unkilled run writes the new file and removes any stale temporary.
    std::fs::write(&out, &old).unwrap();
    let before = all_temps(&dirs);
    let st = link_command(&work, &argv).status().unwrap();
    let ran = if st.success() {
        Ok(())
    } else {
        Err(format!("natmod-ld: {st}"))
    };
    account_final(&mut r, &outputs, ran, &before, &all_temps(&dirs));
    if r.violations.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    r
}

/// Processes as `/proc` shows them, and signals (Linux).
mod procs {
    use std::time::{Duration, Instant};

    /// SIGSTOP's number on Linux (x86, Arm, RISC-V).
    const SIGSTOP: i32 = 19;

    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }

    /// One process, as identified by its PID and start time (PIDs are reused).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Proc {
        /// Process id.
        pub pid: u32,
        /// Start time, in clock ticks after boot.
        pub start: u64,
        /// Command name.
        pub comm: String,
    }

    /// `(comm, state, ppid, start time)` from `/proc/PID/stat`.
    fn stat(pid: u32) -> Option<(String, char, u32, u64)> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (open, close) = (s.find('(')?, s.rfind(')')?);
        let rest: Vec<&str> = s.get(close + 2..)?.split_whitespace().collect();
        Some((
            s[open + 1..close].to_string(),
            rest.first()?.chars().next()?,
            rest.get(1)?.parse().ok()?,
            rest.get(19)?.parse().ok()?,
        ))
    }

    impl Proc {
        /// Whether it still runs (not exited, not a zombie, its PID not reused).
        pub fn running(&self) -> bool {
            stat(self.pid).is_some_and(|(_, state, _, start)| {
                start == self.start && !matches!(state, 'Z' | 'X' | 'x')
            })
        }
    }

    /// Every process below `pid`.
    pub fn descendants(pid: u32) -> Vec<Proc> {
        let all: Vec<(Proc, u32)> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|p| {
                let (comm, _, ppid, start) = stat(p)?;
                Some((
                    Proc {
                        pid: p,
                        start,
                        comm,
                    },
                    ppid,
                ))
            })
            .collect();
        let mut out: Vec<Proc> = Vec::new();
        let mut parents = vec![pid];
        while let Some(parent) = parents.pop() {
            for (p, ppid) in &all {
                if *ppid == parent && !out.contains(p) {
                    out.push(p.clone());
                    parents.push(p.pid);
                }
            }
        }
        out
    }

    /// Stops `pid` (SIGSTOP) and waits until every thread of it is stopped, so that no fork
    /// is under way; false if that did not happen within `timeout`.
    pub fn stop(pid: u32, timeout: Duration) -> bool {
        // SAFETY: kill(2) takes plain integers; `pid` is an unreaped child of ours, so it
        // names that process and no other.
        if unsafe { kill(pid as i32, SIGSTOP) } != 0 {
            return false;
        }
        let deadline = Instant::now() + timeout;
        let stopped = || {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                return true;
            };
            tasks.flatten().all(|t| {
                let state = std::fs::read_to_string(t.path().join("stat")).ok();
                match state.as_deref().and_then(|s| s.rsplit_once(") ")) {
                    Some((_, rest)) => rest.starts_with(['T', 't', 'Z', 'X']),
                    None => true, // exited
                }
            })
        };
        while !stopped() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        true
    }
}

/// The second version of the factorial example: one more function, so its qstrs, config.h,
/// object and `.mpy` files all differ from the first.
fn second_version(c: &str) -> String {
    let v = c
        .replacen(
            "// Module entry point",
            "// Added by kill-stress: the module's second version.\n\
             static mp_obj_t answer(void) {\n    return mp_obj_new_int(42);\n}\n\
             static MP_DEFINE_CONST_FUN_OBJ_0(answer_obj, answer);\n\n// Module entry point",
            1,
        )
        .replacen(
            "    MP_DYNRUNTIME_INIT_EXIT",
            "    mp_store_global(MP_QSTR_answer, MP_OBJ_FROM_PTR(&answer_obj));\n\n    \
             MP_DYNRUNTIME_INIT_EXIT",
            1,
        );
    assert!(
        v.contains("answer_obj, answer") && v.contains("MP_QSTR_answer"),
        "examples/factorial/factorial.c changed; update kill-stress's second_version"
    );
    v
}

/// A scratch copy of `examples/factorial` and how to run `natmod-lsp` on it.
struct Project {
    bin: PathBuf,
    options: Value,
    dir: PathBuf,
    c_file: PathBuf,
    /// The two versions of the C file.
    sources: [String; 2],
    /// The `.mpy` files the server writes, in the order it writes them.
    paths: [PathBuf; 2],
}

impl Project {
    /// Starts a server, writes version `v` of the C file and says it was saved; returns the
    /// client and when the save was sent.
    fn start_and_save(&self, v: usize) -> (LspClient, Instant) {
        let mut lsp = LspClient::start(&self.bin, &self.dir, self.options.clone());
        lsp.write(&self.c_file, &self.sources[v]);
        lsp.save(&self.c_file);
        (lsp, Instant::now())
    }

    /// An unkilled build of version `v`: the save-to-`natmod/buildFinished` time.
    fn build(&self, v: usize) -> Result<Duration, String> {
        let (mut lsp, t) = self.start_and_save(v);
        let done = lsp.try_wait_for(TIMEOUT, finished_build);
        let took = t.elapsed();
        let Some(done) = done else {
            return Err(format!("no natmod/buildFinished\n{}", lsp.transcript()));
        };
        if done["params"]["errors"] != 0 {
            return Err(format!("the build failed: {done}\n{}", lsp.transcript()));
        }
        match lsp.shutdown() {
            Some(0) => Ok(took),
            code => Err(format!("the server exited with {code:?} after shutdown")),
        }
    }

    /// What an output path holds, read whole.
    fn read(&self) -> [Vec<u8>; 2] {
        self.paths
            .clone()
            .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
    }
}

/// Whether `m` is the server's `natmod/buildFinished`.
fn finished_build(m: &Value) -> bool {
    m["method"] == "natmod/buildFinished"
}

fn run_server(opts: &Options) -> Report {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    let _ = std::fs::remove_dir_all(&opts.dir);
    let dir = opts.dir.join("factorial");
    copy_module("examples/factorial", &dir);
    let dir = dir.canonicalize().unwrap();
    let c_file = dir.join("factorial.c");
    let first = std::fs::read_to_string(&c_file).unwrap();
    let build_dir = dir.join("build");
    let p = Project {
        bin: natmod_lsp(),
        options: trusted_options(&mpy_dir(), 0),
        sources: [first.clone(), second_version(&first)],
        paths: [
            build_dir.join("factorial_nm.native.mpy"),
            dir.join("factorial_nm.mpy"),
        ],
        dir: dir.clone(),
        c_file,
    };
    let object = build_dir.join("factorial.o");

    // The complete files of each version, from unkilled builds.
    let mut files: Vec<[Vec<u8>; 2]> = Vec::new();
    let mut objects: Vec<Vec<u8>> = Vec::new();
    for v in 0..2 {
        p.build(v)
            .unwrap_or_else(|e| panic!("unkilled build of version {v}: {e}"));
        files.push(p.read());
        objects.push(std::fs::read(&object).expect("the object was compiled"));
    }
    for (path, (a, b)) in p.paths.iter().zip(files[0].iter().zip(&files[1])) {
        assert_ne!(a, b, "both versions give the same {}", path.display());
    }
    // Puts version `v` in place, as a finished build of it leaves it.
    let reset = |v: usize| {
        std::fs::write(&p.c_file, &p.sources[v]).unwrap();
        for (path, bytes) in p.paths.iter().zip(&files[v]) {
            std::fs::write(path, bytes).unwrap();
        }
    };
    let outputs = |old: usize| -> Vec<Output> {
        (0..2)
            .map(|i| Output {
                path: p.paths[i].clone(),
                old: &files[old][i],
                new: &files[1 - old][i],
            })
            .collect()
    };

    // Typical save-to-build time: the median of unkilled builds (alternating versions), each
    // of which must write exactly the files of its version.
    let mut times = Vec::new();
    let mut objects_reproducible = true;
    for i in 0..11 {
        let new = i % 2;
        reset(1 - new);
        let took = p
            .build(new)
            .unwrap_or_else(|e| panic!("unkilled build: {e}"));
        times.push(took);
        assert!(
            p.read() == files[new],
            "an unkilled build of version {new} wrote other .mpy files than the first one"
        );
        objects_reproducible &= std::fs::read(&object).ok().as_ref() == Some(&objects[new]);
    }
    let mut r = Report {
        typical: median(times),
        objects_unusable: objects_reproducible.then_some(0),
        ..Report::default()
    };

    let dirs = [dir.clone(), build_dir.clone()];
    let mut rng = Rng::new(opts.seed);
    for trial in 0..opts.trials {
        let old = trial % 2;
        reset(old);
        let before = all_temps(&dirs);
        let delay = rng.delay(r.typical);
        let (mut lsp, saved) = p.start_and_save(1 - old);
        std::thread::sleep(delay.saturating_sub(saved.elapsed()));
        let stopped = procs::stop(lsp.pid(), Duration::from_secs(10));
        let tools = procs::descendants(lsp.pid());
        let status: ExitStatus = lsp.kill();
        let killed_at = Instant::now();
        let mut running: Vec<&procs::Proc> = tools.iter().filter(|t| t.running()).collect();
        if !running.is_empty() {
            r.outlived += 1;
            r.outlived_tools
                .extend(running.iter().map(|t| t.comm.clone()));
        }
        while !running.is_empty() {
            if killed_at.elapsed() > TIMEOUT {
                r.violations.push(format!(
                    "trial {trial}: tools still running {TIMEOUT:?} after the kill: {running:?}"
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            running.retain(|t| t.running());
        }
        r.outlived_wait = r.outlived_wait.max(killed_at.elapsed());
        if !stopped {
            r.violations
                .push(format!("trial {trial}: the server did not stop on SIGSTOP"));
        }
        // Everything the server wrote before it died is in the pipe.
        let finished = lsp
            .try_wait_for(Duration::from_secs(10), finished_build)
            .is_some();
        drop(lsp);
        let end = Ending {
            killed: status.signal() == Some(9),
            finished,
            detail: format!("status {status}, delay {delay:?}"),
        };
        let after = all_temps(&dirs);
        account(&mut r, trial, &outputs(old), end, &before, &after);
        if let Some(n) = &mut r.objects_unusable {
            *n += usize::from(!objects.contains(&std::fs::read(&object).unwrap_or_default()));
        }
    }

    // A last, unkilled build writes the new files and removes any stale temporary.
    reset(0);
    let before = all_temps(&dirs);
    let ran = p.build(1);
    account_final(
        &mut r,
        &outputs(0),
        ran.map(drop),
        &before,
        &all_temps(&dirs),
    );
    if r.violations.is_empty() {
        let _ = std::fs::remove_dir_all(&opts.dir);
    }
    r
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--server" => o.mode = Mode::Server,
            "--trials" => o.trials = value()?.parse().map_err(|e| format!("--trials: {e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--case" => o.case = value()?,
            "--dir" => o.dir = PathBuf::from(value()?),
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
}

/// Prints the report of `opts`'s trials, which took `elapsed`.
fn print_report(opts: &Options, r: &Report, elapsed: Duration) {
    let (what, typical, files, run) = match opts.mode {
        Mode::Linker => (opts.case.as_str(), "link", "file", "exited"),
        Mode::Server => (
            "natmod-lsp building examples/factorial",
            "save-to-build",
            "files",
            "build published",
        ),
    };
    println!(
        "kill-stress: {} trials of {what} (seed {}) in {elapsed:.1?}; typical {typical} {:?}",
        r.trials, opts.seed, r.typical
    );
    println!(
        "  killed, old {files} kept:   {} ({} of them mid-write, leaving a temporary)",
        r.killed_old_kept, r.killed_in_write
    );
    if opts.mode == Mode::Server {
        println!(
            "  killed between the two renames (.native.mpy new, .mpy old): {}",
            r.killed_between
        );
    }
    println!("  killed, new {files} in place: {}", r.killed_new_written);
    println!("  {run} before the kill:  {}", r.exited_before_kill);
    println!(
        "  temporaries: at most {} per output at a time; {} left by kills; {} stale ones \
         removed by later runs",
        r.max_temps, r.temps_left, r.stale_removed
    );
    if opts.mode == Mode::Server {
        println!(
            "  tools outlived the server in {} trials ({}); waited at most {:?} for them",
            r.outlived,
            r.outlived_tools
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            r.outlived_wait
        );
        match r.objects_unusable {
            Some(n) => println!(
                "  build/factorial.o neither the old nor the new compile after {n} trials \
                 (recompiled by the next server)"
            ),
            None => println!("  build/factorial.o: compiles are not reproducible, not checked"),
        }
    }
    for v in &r.violations {
        println!("VIOLATION: {v}");
    }
    if r.violations.is_empty() {
        println!("  ok: every output was always the old or the new complete file");
    }
}

#[allow(dead_code)]
fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kill-stress: {e}");
            return ExitCode::from(2);
        }
    };
    let t = Instant::now();
    let r = run(&opts);
    print_report(&opts, &r, t.elapsed());
    if r.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
