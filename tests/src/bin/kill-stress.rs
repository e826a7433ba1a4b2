//! kill-stress: crash safety of natmod-ld's output under SIGKILL.
//!
//! Each trial puts an old complete `.mpy` at a golden link's output path, starts `natmod-ld`
//! on that link, kills it with SIGKILL after a random delay between 0 and the typical link
//! time, and checks that the output path holds either the old complete file or the new one
//! (byte for byte), and that temporaries do not pile up: a killed writer leaves at most one
//! `.NAME.PID.N.tmp`, and the next run that gets as far as writing removes it.
//!
//!     cargo run --release -p natmod-tests --bin kill-stress -- [--trials N] [--seed S]
//!         [--case GOLDEN-ID] [--dir DIR]
//!
//! Exits 1 on any violation. `tests/tests/kill_stress.rs` runs a CI-sized batch of it.

use natmod_tests::golden::{copy_dir, entries, golden_dir};
use natmod_tests::{natmod_ld, repo_root};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of killed runs.
    pub trials: usize,
    /// Seed of the delay generator.
    pub seed: u64,
    /// Golden manifest id of the link (an `ok` link without system inputs).
    pub case: String,
    /// Scratch directory (created; its previous contents are removed).
    pub dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            trials: 1000,
            seed: 0x5eed,
            case: "qstrs/xtensawin/default".into(),
            dir: repo_root()
                .join("target/kill-stress")
                .join(std::process::id().to_string()),
        }
    }
}

/// What the trials saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Trials run.
    pub trials: usize,
    /// Median wall time of an unkilled `natmod-ld` run (the delay bound).
    pub link_time: Duration,
    /// Killed before the rename: the old file was still in place.
    pub killed_old_kept: usize,
    /// Of those, killed between creating the temporary and the rename (it was left behind).
    pub killed_in_write: usize,
    /// Killed after the rename: the new file was in place.
    pub killed_new_written: usize,
    /// The process had exited (status 0) before the kill.
    pub exited_before_kill: usize,
    /// Most temporaries seen in the directory after any trial.
    pub max_temps: usize,
    /// Stale temporaries removed by a later run.
    pub stale_removed: usize,
    /// Broken invariants, one line each.
    pub violations: Vec<String>,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Names of natmod-ld's temporaries for `name` in `dir` (`.NAME.PID.N.tmp`).
pub fn temps(dir: &Path, name: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| natmod_linker::output::temp_owner(f, name).is_some())
        .collect();
    v.sort();
    v
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

/// Runs the trials.
pub fn run(opts: &Options) -> Report {
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
    times.sort();
    let mut r = Report {
        link_time: times[times.len() / 2],
        ..Report::default()
    };
    let bound = r.link_time.as_nanos().max(1) as u64;

    let mut rng = Rng(opts.seed);
    for trial in 0..opts.trials {
        std::fs::write(&out, &old).unwrap();
        let before = temps(&work, &out_name);
        let delay = Duration::from_nanos(rng.next() % bound);
        let mut child = link_command(&work, &argv).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; a no-op once the child has been reaped
        let status = child.wait().unwrap();
        let killed = status.signal() == Some(9);
        let after = temps(&work, &out_name);
        r.max_temps = r.max_temps.max(after.len());
        r.stale_removed += before.iter().filter(|t| !after.contains(t)).count();
        let got = std::fs::read(&out).unwrap_or_default();
        let what = if got == old {
            "old"
        } else if got == new {
            "new"
        } else {
            "neither"
        };
        let new_temps: Vec<_> = after.iter().filter(|t| !before.contains(t)).collect();
        match (killed, what) {
            (true, "old") => {
                r.killed_old_kept += 1;
                r.killed_in_write += usize::from(!new_temps.is_empty());
            }
            (true, "new") => r.killed_new_written += 1,
            (false, "new") if status.success() => r.exited_before_kill += 1,
            _ => r.violations.push(format!(
                "trial {trial}: status {status}, output is {what} ({} bytes), delay {delay:?}",
                got.len()
            )),
        }
        if after.len() > 1 || new_temps.len() > usize::from(killed) {
            r.violations.push(format!(
                "trial {trial}: temporaries pile up: {after:?} (before: {before:?})"
            ));
        }
        r.trials += 1;
    }

    // A last, unkilled run writes the new file and removes any stale temporary.
    std::fs::write(&out, &old).unwrap();
    let before = temps(&work, &out_name);
    let st = link_command(&work, &argv).status().unwrap();
    let left = temps(&work, &out_name);
    r.stale_removed += before.iter().filter(|t| !left.contains(t)).count();
    if !st.success() || std::fs::read(&out).unwrap() != new {
        r.violations
            .push("final unkilled run did not write the new file".into());
    }
    if !left.is_empty() {
        r.violations
            .push(format!("final unkilled run left temporaries: {left:?}"));
    }
    if r.violations.is_empty() {
        let _ = std::fs::remove_dir_all(&work);
    }
    r
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--trials" => o.trials = value()?.parse().map_err(|e| format!("--trials: {e}"))?,
            "--seed" => o.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--case" => o.case = value()?,
            "--dir" => o.dir = PathBuf::from(value()?),
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
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
    println!(
        "kill-stress: {} trials of {} (seed {}) in {:.1?}; typical link {:?}",
        r.trials,
        opts.case,
        opts.seed,
        t.elapsed(),
        r.link_time
    );
    println!(
        "  killed, old file kept:   {} ({} of them mid-write, leaving a temporary)",
        r.killed_old_kept, r.killed_in_write
    );
    println!("  killed, new file in place: {}", r.killed_new_written);
    println!("  exited before the kill:  {}", r.exited_before_kill);
    println!(
        "  temporaries: at most {} at a time; {} stale ones removed by later runs",
        r.max_temps, r.stale_removed
    );
    for v in &r.violations {
        println!("VIOLATION: {v}");
    }
    if r.violations.is_empty() {
        println!("  ok: the output was always the old or the new complete file");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
