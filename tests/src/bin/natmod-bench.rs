//! natmod-bench: whole-process link timings of `natmod-ld` against `mpy_ld.py`, side by side.
//!
//! usage: natmod-bench [--mpy-ld PATH/TO/mpy_ld.py] [--runs N] [--arch A]... [--cold-runtime]
//!        natmod-bench session [--runs N]   (in-process Session relinks: see `session_bench`)
//!        natmod-bench lsp [--saves N] [--make-runs N]   (save → diagnostics: `lsp_bench`)
//!        natmod-bench lsp-features [--runs N]   (completion/hover latency: `features_bench`)
//!        natmod-bench matrix [--runs N]   (10-arch matrix vs a make loop: `matrix_bench`)
//!
//! For every golden link entry of the chosen arches (default x86, x64) that the reference
//! linked successfully, it runs natmod-ld N times and, with `--mpy-ld`, `python3 mpy_ld.py` N
//! times with the same argv in a scratch copy of the entry, and prints the median wall time
//! per process and the ratio. With `--cold-runtime` it times only the `-l` (LINK_RUNTIME)
//! entries and deletes mpy_ld.py's `.mpy_ld_cache-ARCH` before every reference run.

use natmod_tests::golden::{entries, golden_dir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_runs(
    runs: usize,
    dir: &Path,
    mut make: impl FnMut() -> Command,
    before: impl Fn(),
) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        before();
        let mut cmd = make();
        cmd.current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let t = Instant::now();
        let st = cmd.status().expect("spawn");
        times.push(t.elapsed());
        assert!(st.success(), "{cmd:?} failed in {}", dir.display());
    }
    median(times)
}

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("session") {
        natmod_tests::session_bench::run(&all[1..]);
        return;
    }
    if all.first().map(String::as_str) == Some("lsp") {
        natmod_tests::lsp_bench::run(&all[1..]);
        return;
    }
    if all.first().map(String::as_str) == Some("matrix") {
        natmod_tests::matrix_bench::run(&all[1..]);
        return;
    }
    if all.first().map(String::as_str) == Some("lsp-features") {
        natmod_tests::features_bench::run(&all[1..]);
        return;
    }
    let mut args = std::env::args().skip(1);
    let mut mpy_ld: Option<PathBuf> = None;
    let mut runs = 15usize;
    let mut arches: Vec<String> = Vec::new();
    let mut cold_runtime = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mpy-ld" => mpy_ld = Some(PathBuf::from(args.next().expect("--mpy-ld PATH"))),
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--arch" => arches.push(args.next().expect("--arch A")),
            "--cold-runtime" => cold_runtime = true,
            "-h" | "--help" => {
                println!(
                    "usage: natmod-bench [--mpy-ld PATH] [--runs N] [--arch A]... [--cold-runtime]\n       natmod-bench session [--runs N]\n       natmod-bench lsp [--saves N] [--make-runs N]"
                );
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    if arches.is_empty() {
        arches = vec!["x86".into(), "x64".into()];
    }
    let ld = natmod_tests::natmod_ld();
    let scratch = natmod_tests::scratch_dir("natmod-bench", "links");
    let mut ours_all = Vec::new();
    let mut ref_all = Vec::new();
    println!(
        "{:<40} {:>12} {:>12} {:>8}",
        "entry", "natmod-ld", "mpy_ld.py", "ratio"
    );
    for e in entries() {
        let arch = e["arch"].as_str().unwrap();
        if !arches.iter().any(|a| a == arch)
            || e["step"] != "link"
            || e["expected"]["status"] != "ok"
            || e.get("reference_bug").is_some()
        {
            continue;
        }
        let argv: Vec<String> = natmod_tests::golden::argv(&e);
        let uses_libs = argv.iter().any(|a| a == "-l");
        if cold_runtime != uses_libs {
            continue;
        }
        let id = e["id"].as_str().unwrap();
        let dir = scratch.join(id.replace('/', "__"));
        natmod_tests::golden::copy_dir(&golden_dir().join(e["dir"].as_str().unwrap()), &dir);
        let ours = time_runs(
            runs,
            &dir,
            || {
                let mut c = Command::new(&ld);
                c.args(&argv);
                c
            },
            || {},
        );
        ours_all.push(ours);
        let theirs = mpy_ld.as_ref().map(|p| {
            let cache = dir.join(format!(".mpy_ld_cache-{arch}"));
            time_runs(
                runs,
                &dir,
                || {
                    let mut c = Command::new("python3");
                    c.arg(p).args(&argv).env("PYTHONHASHSEED", "0");
                    c
                },
                || {
                    let _ = std::fs::remove_dir_all(&cache);
                },
            )
        });
        match theirs {
            Some(t) => {
                ref_all.push(t);
                println!(
                    "{id:<40} {:>10.2}ms {:>10.2}ms {:>7.0}x",
                    ours.as_secs_f64() * 1e3,
                    t.as_secs_f64() * 1e3,
                    t.as_secs_f64() / ours.as_secs_f64()
                );
            }
            None => println!("{id:<40} {:>10.2}ms", ours.as_secs_f64() * 1e3),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if ours_all.is_empty() {
        println!("no entries matched");
        return;
    }
    let o = median(ours_all);
    match ref_all.is_empty() {
        false => {
            let r = median(ref_all);
            println!(
                "median per whole-process link: natmod-ld {:.2} ms, mpy_ld.py {:.2} ms, ratio {:.0}x{}",
                o.as_secs_f64() * 1e3,
                r.as_secs_f64() * 1e3,
                r.as_secs_f64() / o.as_secs_f64(),
                if cold_runtime { " (cold LINK_RUNTIME, reference cache deleted each run)" } else { "" }
            );
        }
        true => println!(
            "median per whole-process link: natmod-ld {:.2} ms (no --mpy-ld given)",
            o.as_secs_f64() * 1e3
        ),
    }
}
