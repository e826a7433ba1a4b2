//! `natmod-bench matrix`: the 10-arch portability matrix of examples/factorial and
//! examples/multifile, built from clean against the newest MicroPython tree, timed side by
//! side: a shell loop of `make ARCH=...` with the tree's own `mpy_ld.py` (the CI-matrix way),
//! and one `natmod-lsp check --arch all` (parallel on the machine's cores, in-process links).
//! Prints the median of each and the ratio.

use crate::{copy_module, describe_output, mpy_dir_newest, natmod_lsp, scratch_dir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Every arch, in mpy_ld.py's order.
const ARCHES: &str = "x86 x64 armv6m armv7m armv7emsp armv7emdp xtensa xtensawin rv32imc rv64imc";

/// Debian has no xtensa-esp32-elf-gcc: both sides build xtensawin with the lx106 compiler.
const XTENSAWIN_CROSS: &str = "xtensa-lx106-elf-";

const EXAMPLES: [&str; 2] = ["examples/factorial", "examples/multifile"];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Fresh copies of the examples (no build products) under `target/tmp/matrix_bench/NAME`.
fn fresh(name: &str) -> Vec<std::path::PathBuf> {
    EXAMPLES
        .iter()
        .map(|rel| {
            let dir = scratch_dir("matrix_bench", format!("{name}-{}", rel.replace('/', "_")));
            copy_module(rel, &dir);
            dir
        })
        .collect()
}

fn run_ok(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed\n{}",
        describe_output(&out)
    );
}

/// The reference: `for a in ARCHES; do make ARCH=$a; done` in each example, with mpy_ld.py.
/// mpy_ld.py crashes linking factorial for xtensa (GCC 12 puts `mp_native_qstr_table+N` in a
/// literal; natmod-ld links it): such a build counts with its time, and the arches are named.
fn reference(dirs: &[std::path::PathBuf], tree: &Path) -> (Duration, Vec<String>) {
    let script = format!(
        "for a in {ARCHES}; do \
           if [ $a = xtensawin ]; then c=CROSS={XTENSAWIN_CROSS}; else c=; fi; \
           make -s ARCH=$a MPY_DIR={} $c >/dev/null 2>&1 || echo $a; rm -f *.mpy; done",
        tree.display()
    );
    let mut failed = Vec::new();
    let t = Instant::now();
    for d in dirs {
        let out = Command::new("sh")
            .args(["-c", &script])
            .current_dir(d)
            .env_remove("MAKEFLAGS")
            .output()
            .unwrap_or_else(|e| panic!("make loop in {}: {e}", d.display()));
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        failed.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(|a| format!("{name}:{a}")),
        );
    }
    (t.elapsed(), failed)
}

/// Ours: `natmod-lsp check --arch all` in each example.
fn ours(dirs: &[std::path::PathBuf], tree: &Path) -> Duration {
    let lsp = natmod_lsp();
    let t = Instant::now();
    for d in dirs {
        let mut c = Command::new(&lsp);
        c.arg("check")
            .arg(d)
            .args(["--arch", "all", "--mpy-dir"])
            .arg(tree)
            .args(["--var", &format!("xtensawin:CROSS={XTENSAWIN_CROSS}")])
            .env_remove("MAKEFLAGS");
        run_ok(c, &format!("natmod-lsp check --arch all {}", d.display()));
    }
    t.elapsed()
}

/// Runs the bench (`--runs N`, default 3).
pub fn run(args: &[String]) {
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
        .max(1);
    let tree = mpy_dir_newest();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "matrix: 10 arches x {} examples against {}, {runs} runs, {cores} cores",
        EXAMPLES.len(),
        tree.display()
    );
    let (mut theirs, mut mine) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // Alternate which side goes first, so neither always gets the warmer caches.
        let (a, b) = (fresh("make"), fresh("lsp"));
        let failed = if i % 2 == 0 {
            let (t, f) = reference(&a, &tree);
            theirs.push(t);
            mine.push(ours(&b, &tree));
            f
        } else {
            mine.push(ours(&b, &tree));
            let (t, f) = reference(&a, &tree);
            theirs.push(t);
            f
        };
        if !failed.is_empty() {
            println!(
                "  mpy_ld.py failed (counted with its time): {}",
                failed.join(" ")
            );
        }
        println!(
            "  run {}: make loop + mpy_ld.py {:.2} s, natmod-lsp check --arch all {:.2} s",
            i + 1,
            theirs[i].as_secs_f64(),
            mine[i].as_secs_f64()
        );
    }
    let (t, m) = (median(theirs), median(mine));
    println!(
        "matrix: make loop with mpy_ld.py {:.2} s, natmod-lsp check --arch all {:.2} s: {:.1}x faster (medians)",
        t.as_secs_f64(),
        m.as_secs_f64(),
        t.as_secs_f64() / m.as_secs_f64()
    );
}
