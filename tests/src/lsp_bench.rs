//! `natmod-bench lsp`: save → diagnostics latency of a real `natmod-lsp` process against the
//! same gcc compile run alone.
//!
//! For examples/factorial (x64, one object), examples/multifile (three objects, one edited) and
//! two fixtures whose own rules make runs before the compile (genheader, staticlib), each in a
//! scratch copy: start `natmod-lsp` (trusted, debounce 0), build once, then N times change
//! the file on disk and send `didSave`, timing until the build's result arrives. Two kinds of
//! save: a comment changed (the build is clean, so nothing is published and the result is
//! `natmod/buildFinished`, which the server sends after its diagnostics), and toggling a call
//! of an undefined function in and out (every save publishes: the link error, then its
//! clearing; timed to that file's `publishDiagnostics`). Each change makes gcc compile.
//!
//! After every save (the server idle) the exact compile command of the edited file, from the
//! `compile_commands.json` the server wrote, runs alone and is timed. Printed: p50/p95 of the
//! latency, of gcc alone, of the overhead paired per save (latency − that save's gcc run) and
//! against gcc's median, of the server's own build time (`elapsedMs`), of its own gcc run
//! (`gccMs`) and of the overhead over that run. The goal is an overhead p95 ≤ 10 ms. Then, for comparison, a full `make` of factorial from a clean tree
//! with v1.23's `mpy_ld.py` (python) and with `natmod-ld`.

use crate::lsp_client::{file_uri, LspClient, TIMEOUT};
use crate::lsp_scenario::trusted_options;
use crate::{copy_module, mpy_dir, natmod_ld, natmod_lsp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The goal for the server's overhead over gcc, at p95.
const GOAL: Duration = Duration::from_millis(10);
/// Saves before timing starts.
const WARMUP: usize = 3;

/// One project to time.
struct Case {
    label: &'static str,
    rel: &'static str,
    /// The file edited and saved.
    file: &'static str,
}

const CASES: &[Case] = &[
    Case {
        label: "factorial (x64, 1 object)",
        rel: "examples/factorial",
        file: "factorial.c",
    },
    Case {
        label: "multifile (x64, 3 objects, ops.c saved)",
        rel: "examples/multifile",
        file: "ops.c",
    },
    // A project rule (a generated header) that make itself runs before every compile.
    Case {
        label: "genheader (x64, a project rule make runs first)",
        rel: "tests/fixtures/real_makefiles/genheader",
        file: "gen.c",
    },
    // A static library a project rule builds through `$(MAKE) -C lib`.
    Case {
        label: "staticlib (x64, a library built by a sub-make)",
        rel: "tests/fixtures/real_makefiles/staticlib",
        file: "uselib.c",
    },
];

/// Appended to the file on "broken" saves: a call the link cannot resolve.
const UNDEFINED_CALL: &str = "\nmp_int_t natmod_bench_missing(mp_int_t x);\n\
                              mp_int_t natmod_bench_use(mp_int_t x);\n\
                              mp_int_t natmod_bench_use(mp_int_t x) {\n\
                              \x20   return natmod_bench_missing(x);\n}\n";

/// Nearest-rank percentile `q` (0..=1) of `v`.
fn pct(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(name: &str, v: &[f64]) {
    println!(
        "    {name:<34} p50 {:>7.2} ms   p95 {:>7.2} ms",
        pct(v, 0.5),
        pct(v, 0.95)
    );
}

/// The compile command of `file` (absolute) in the `compile_commands.json` of `dir`:
/// (directory, argv).
fn compile_command(dir: &Path, file: &Path) -> (PathBuf, Vec<String>) {
    let path = dir.join("compile_commands.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the server wrote no {}: {e}", path.display()));
    let entries: Vec<Value> = serde_json::from_str(&text).expect("compile_commands.json");
    let e = entries
        .iter()
        .find(|e| e["file"].as_str().map(Path::new) == Some(file))
        .unwrap_or_else(|| panic!("no entry for {} in {text}", file.display()));
    let argv = e["arguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .map(|a| a.as_str().expect("argument").to_string())
        .collect();
    (
        PathBuf::from(e["directory"].as_str().expect("directory")),
        argv,
    )
}

/// Runs `cmd` with its output discarded, asserting success; returns the wall time.
fn timed(mut cmd: Command) -> Duration {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let t = Instant::now();
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let d = t.elapsed();
    assert!(st.success(), "{cmd:?} failed");
    d
}

/// Timings of one kind of save.
#[derive(Default)]
struct Samples {
    latency: Vec<f64>,
    gcc: Vec<f64>,
    build: Vec<f64>,
    /// The server's own gcc run of each save (`gccMs`).
    own_gcc: Vec<f64>,
}

impl Samples {
    fn print(&self, what: &str) {
        println!("  {what} ({} saves):", self.latency.len());
        row("save → result", &self.latency);
        row("gcc alone (same command)", &self.gcc);
        let paired: Vec<f64> = self
            .latency
            .iter()
            .zip(&self.gcc)
            .map(|(l, g)| l - g)
            .collect();
        let gcc_median = pct(&self.gcc, 0.5);
        let vs_median: Vec<f64> = self.latency.iter().map(|l| l - gcc_median).collect();
        row("overhead, paired per save", &paired);
        row("overhead, vs gcc median", &vs_median);
        row("server build time (elapsedMs)", &self.build);
        row("server's own gcc run (gccMs)", &self.own_gcc);
        let own: Vec<f64> = self
            .latency
            .iter()
            .zip(&self.own_gcc)
            .map(|(l, g)| l - g)
            .collect();
        row("overhead over its own gcc run", &own);
        // Paired: each save against the gcc run right after it, so load that comes and goes
        // on the machine cancels out; but two gcc runs of the same file differ by a few ms
        // themselves, which the tail of that difference shows. The save's own gcc run (timed
        // by the server around the process) leaves only what the server adds.
        let goal = ms(GOAL);
        let verdict = |p95: f64| if p95 <= goal { "ok" } else { "OVER" };
        let (p95, own95) = (pct(&paired, 0.95), pct(&own, 0.95));
        println!(
            "    overhead p95: paired with a separate gcc run {p95:.2} ms ({}); over the save's \
             own gcc run {own95:.2} ms ({}) (goal ≤ {goal:.0} ms)",
            verdict(p95),
            verdict(own95)
        );
    }
}

/// A running server on a scratch copy of one case, built once.
struct Bench {
    lsp: LspClient,
    dir: PathBuf,
    file: PathBuf,
    original: String,
    generation: u64,
    saves: usize,
}

impl Bench {
    fn start(case: &Case, scratch: &Path) -> Bench {
        let dir = scratch.join(case.rel.replace('/', "_"));
        copy_module(case.rel, &dir);
        let file = dir.join(case.file);
        let original = std::fs::read_to_string(&file).expect("read the edited file");
        // The edited file stays closed in the "editor": only saves reach the server, so the
        // typing-time checks of open documents do not run beside the timed builds.
        let lsp = LspClient::start(&natmod_lsp(), &dir, trusted_options(&mpy_dir(), 0));
        let mut b = Bench {
            lsp,
            dir,
            file,
            original,
            generation: 0,
            saves: 0,
        };
        let first = b.lsp.save_and_build(&b.file, &b.dir);
        assert_eq!(first["errors"], 0, "{first}");
        b.generation = first["generation"].as_u64().expect("generation");
        b
    }

    /// One timed save of `text`: (latency, build params). `publishes` says the save must
    /// publish diagnostics for the file; the latency then ends at that publication.
    fn timed_save(&mut self, text: &str, publishes: bool) -> (Duration, Value) {
        self.lsp.clear_inbox();
        std::fs::write(&self.file, text).expect("write");
        self.generation += 1;
        let (uri, project, g) = (file_uri(&self.file), file_uri(&self.dir), self.generation);
        let t = Instant::now();
        self.lsp.save(&self.file);
        let published = publishes.then(|| {
            self.lsp.wait_for("publishDiagnostics", TIMEOUT, |m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == *uri
            });
            t.elapsed()
        });
        let done = self.lsp.wait_for("natmod/buildFinished", TIMEOUT, |m| {
            m["method"] == "natmod/buildFinished"
                && m["params"]["project"] == *project
                && m["params"]["generation"] == g
        });
        let latency = published.unwrap_or_else(|| t.elapsed());
        (latency, done["params"].clone())
    }

    /// `n` timed saves (after a warm-up); with `toggle`, every other save adds the undefined
    /// call.
    fn run(&mut self, n: usize, toggle: bool) -> Samples {
        let mut out = Samples::default();
        let (cwd, argv) = compile_command(&self.dir, &self.file);
        for i in 0..n + WARMUP {
            self.saves += 1;
            let broken = toggle && i % 2 == 0;
            let mut text = self.original.clone();
            if broken {
                text.push_str(UNDEFINED_CALL);
            }
            text.push_str(&format!("// natmod-bench save {}\n", self.saves));
            let (latency, done) = self.timed_save(&text, toggle);
            let want_errors = if broken { 1 } else { 0 };
            assert_eq!(done["errors"], want_errors, "save {i}: {done}");
            assert_eq!(done["compiled"].as_array().map(Vec::len), Some(1), "{done}");
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]).current_dir(&cwd);
            let gcc = timed(cmd);
            if i >= WARMUP {
                out.latency.push(ms(latency));
                out.gcc.push(ms(gcc));
                out.build
                    .push(done["elapsedMs"].as_f64().unwrap_or(f64::NAN));
                out.own_gcc.push(done["gccMs"].as_f64().unwrap_or(f64::NAN));
            }
        }
        out
    }
}

/// Median wall time of a full `make` from a clean tree of factorial, `runs` times, with
/// `extra` make arguments.
fn full_make(scratch: &Path, runs: usize, extra: &[String]) -> Duration {
    let dir = scratch.join("make_factorial");
    let _ = std::fs::remove_dir_all(&dir);
    copy_module("examples/factorial", &dir);
    let mpy = format!("MPY_DIR={}", mpy_dir().display());
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut clean = Command::new("make");
            clean.current_dir(&dir).arg(&mpy).arg("clean");
            timed(clean);
            let mut make = Command::new("make");
            make.current_dir(&dir)
                .arg(&mpy)
                .args(extra)
                .env_remove("MAKEFLAGS");
            let d = timed(make);
            assert!(dir.join("factorial_nm.mpy").is_file());
            d
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Runs the benchmark; `args` are what follows `lsp` on the command line.
pub fn run(args: &[String]) {
    let mut saves = 50usize;
    let mut make_runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| {
            it.next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("natmod-bench lsp: {what} needs a number"))
        };
        match a.as_str() {
            "--saves" => saves = num("--saves"),
            "--make-runs" => make_runs = num("--make-runs"),
            _ => {
                eprintln!("usage: natmod-bench lsp [--saves N] [--make-runs N]");
                return;
            }
        }
    }
    if cfg!(debug_assertions) {
        println!("(debug build: run with --release for meaningful numbers)");
    }
    let server = natmod_lsp();
    println!(
        "natmod-lsp save → diagnostics latency: {}, debounce 0, {saves} timed saves per row",
        server.display()
    );
    let scratch = crate::scratch_dir("lsp_bench", "cases");
    for case in CASES {
        println!("{}:", case.label);
        let mut b = Bench::start(case, &scratch);
        b.run(saves, false)
            .print("comment changed, clean build (result: natmod/buildFinished)");
        b.run(saves, true).print(
            "undefined call toggled in/out (result: publishDiagnostics, errors then cleared)",
        );
        assert_eq!(b.lsp.shutdown(), Some(0), "the server exits cleanly");
    }
    if make_runs > 0 {
        let reference = full_make(&scratch, make_runs, &[]);
        let ours = full_make(
            &scratch,
            make_runs,
            &[format!("MPY_LD={}", natmod_ld().display())],
        );
        println!(
            "full `make` of factorial (x64) from a clean tree, median of {make_runs}: \
             mpy_ld.py (v1.23, python) {:.0} ms, natmod-ld {:.0} ms",
            ms(reference),
            ms(ours)
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
