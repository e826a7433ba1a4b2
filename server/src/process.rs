//! Running external tools (make, gcc) with a timeout, an output-size cap and cancellation.
//!
//! Each tool runs in a process group of its own, and the whole group is killed when the tool
//! times out, is cancelled or exits: a `$(shell sleep 1000)` under make dies with make, and
//! nothing it left behind keeps the output pipes (and so this module) waiting.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits for one tool run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Kill the tool after this long.
    pub timeout: Duration,
    /// Keep at most this many bytes of each of stdout and stderr (the first and last halves).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(60),
            max_output: 4 << 20,
        }
    }
}

/// What a finished tool printed.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Exit code, if it exited normally.
    pub code: Option<i32>,
    /// Captured stdout (its middle cut out when over the cap).
    pub stdout: Vec<u8>,
    /// Captured stderr (its middle cut out when over the cap).
    pub stderr: Vec<u8>,
    /// Whether some output was dropped because of the cap.
    pub truncated: bool,
}

/// Why a tool did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The program is not installed (not on PATH).
    NotFound(String),
    /// It ran longer than the timeout and was killed.
    Timeout(String, Duration),
    /// A newer build superseded this one; the tool was killed.
    Cancelled,
    /// Starting or waiting failed otherwise.
    Io(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NotFound(p) => write!(f, "{p}: command not found"),
            RunError::Timeout(p, d) => {
                write!(f, "{p} timed out after {} s and was killed", secs(*d))
            }
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Io(e) => f.write_str(e),
        }
    }
}

/// `d` in seconds for messages: `20`, `1.5`.
pub fn secs(d: Duration) -> String {
    format!("{}", (d.as_millis() as f64 / 100.0).round() / 10.0)
}

/// One stream's output under a cap: its first half and its last half are kept (gcc's first
/// errors come first, make's fatal error last); the middle of a longer stream is dropped.
struct Capped {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    cap: usize,
    total: usize,
}

impl Capped {
    fn new(cap: usize) -> Capped {
        Capped {
            head: Vec::new(),
            tail: VecDeque::new(),
            cap,
            total: 0,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.total += data.len();
        let room = (self.cap - self.cap / 2).saturating_sub(self.head.len());
        let (head, rest) = data.split_at(room.min(data.len()));
        self.head.extend_from_slice(head);
        let tail_cap = self.cap / 2;
        let rest = &rest[rest.len().saturating_sub(tail_cap)..];
        let drop = (self.tail.len() + rest.len()).saturating_sub(tail_cap);
        self.tail.drain(..drop);
        self.tail.extend(rest);
    }

    /// The kept bytes and whether any were dropped.
    fn take(&mut self) -> (Vec<u8>, bool) {
        let mut out = std::mem::take(&mut self.head);
        out.extend(self.tail.drain(..));
        (out, self.total > self.cap)
    }
}

/// Makes `cmd` start a process group of its own (see [`kill_group`]).
fn own_group(cmd: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
}

/// Kills every process in the group `child` leads (the child itself, if still running).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        extern "C" {
            fn kill(pid: i32, sig: i32) -> i32;
        }
        const SIGKILL: i32 = 9;
        if let Ok(pgid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) takes two integers and touches no memory of this process.
            unsafe { kill(-pgid, SIGKILL) };
        }
    }
    let _ = child.kill();
}

/// How often a running tool is checked for cancellation and its timeout.
const POLL: Duration = Duration::from_millis(10);

/// How long output is still read after the tool's group was killed: only a process that
/// left the group (`setsid`) can hold the pipes open that long, and it is not waited for.
const DRAIN: Duration = Duration::from_secs(1);

/// Runs `cmd` to completion (stdin closed), polling `cancelled` while it runs.
///
/// The tool's exit is noticed when its stdout and stderr close (the reader threads say so
/// at once), not at the next poll: a compile is not made to wait out a sleep.
pub fn run(
    mut cmd: Command,
    limits: Limits,
    cancelled: &dyn Fn() -> bool,
) -> Result<RunOutput, RunError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    if cancelled() {
        return Err(RunError::Cancelled);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    own_group(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound(program.clone()),
        _ => RunError::Io(format!("cannot run {program}: {e}")),
    })?;
    let cap = limits.max_output;
    let (closed_tx, closed) = mpsc::channel::<()>();
    let reader = |mut r: Box<dyn Read + Send>| {
        let kept = Arc::new(Mutex::new(Capped::new(cap)));
        let (into, tx) = (kept.clone(), closed_tx.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => crate::sync::lock(&into).push(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        kept
    };
    let out = child.stdout.take().map(|s| reader(Box::new(s)));
    let err = child.stderr.take().map(|s| reader(Box::new(s)));
    drop(closed_tx);
    let start = Instant::now();
    // Until both pipes close, wait on them (woken at once) for at most POLL; after that the
    // exit is imminent, so poll quickly, backing off in case the tool lives on without them.
    let mut open = usize::from(out.is_some()) + usize::from(err.is_some());
    let mut backoff = Duration::from_micros(50);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(RunError::Io(format!("waiting for {program}: {e}"))),
        }
        let stop = if cancelled() {
            Some(RunError::Cancelled)
        } else if start.elapsed() > limits.timeout {
            Some(RunError::Timeout(program.clone(), limits.timeout))
        } else {
            None
        };
        if let Some(e) = stop {
            kill_group(&mut child);
            let _ = child.wait();
            break Err(e);
        }
        if open > 0 {
            match closed.recv_timeout(POLL) {
                Ok(()) => open -= 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
            }
        } else {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(POLL);
        }
    };
    // What the tool left running in its group would hold the pipes open: it goes too.
    if open > 0 {
        kill_group(&mut child);
    }
    let drained = Instant::now() + DRAIN;
    while open > 0 {
        match closed.recv_timeout(drained.saturating_duration_since(Instant::now())) {
            Ok(()) => open -= 1,
            Err(_) => break,
        }
    }
    let take =
        |k: Option<Arc<Mutex<Capped>>>| k.map(|k| crate::sync::lock(&k).take()).unwrap_or_default();
    let (stdout, t1) = take(out);
    let (stderr, t2) = take(err);
    let status = status?;
    Ok(RunOutput {
        success: status.success(),
        code: status.code(),
        stdout,
        stderr,
        truncated: t1 || t2,
    })
}

/// Looks `program` up on PATH (or checks it directly when it names a path).
pub fn find_program(program: &str) -> Option<std::path::PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_caps_and_times_out() {
        let mut c = Command::new("sh");
        c.args(["-c", "printf hello; printf oops >&2; exit 3"]);
        let o = run(c, Limits::default(), &|| false).unwrap();
        assert_eq!((o.success, o.code), (false, Some(3)));
        assert_eq!(
            (&o.stdout[..], &o.stderr[..]),
            (&b"hello"[..], &b"oops"[..])
        );

        let mut c = Command::new("sh");
        c.args(["-c", "yes | head -c 100000"]);
        let lim = Limits {
            max_output: 10,
            ..Limits::default()
        };
        let o = run(c, lim, &|| false).unwrap();
        assert!(o.truncated && o.stdout.len() == 10);

        let mut c = Command::new("sleep");
        c.arg("5");
        let lim = Limits {
            timeout: Duration::from_millis(50),
            ..Limits::default()
        };
        assert!(matches!(run(c, lim, &|| false), Err(RunError::Timeout(..))));
        let mut c = Command::new("sleep");
        c.arg("5");
        assert_eq!(
            run(c, Limits::default(), &|| true).unwrap_err(),
            RunError::Cancelled
        );
        // A tool that closes its output and lives on is still waited for.
        let mut c = Command::new("sh");
        c.args(["-c", "exec >/dev/null 2>&1; sleep 0.3; exit 4"]);
        let t = Instant::now();
        let o = run(c, Limits::default(), &|| false).unwrap();
        assert_eq!(o.code, Some(4));
        assert!(t.elapsed() >= Duration::from_millis(300));
        // A stream over the cap keeps its first and last halves.
        let mut c = Command::new("sh");
        c.args(["-c", "printf start; yes | head -c 100000; printf end"]);
        let lim = Limits {
            max_output: 10,
            ..Limits::default()
        };
        let o = run(c, lim, &|| false).unwrap();
        assert!(o.truncated);
        assert_eq!(&o.stdout[..], b"starty\nend");
        let c = Command::new("natmod-lsp-no-such-tool");
        assert!(matches!(
            run(c, Limits::default(), &|| false),
            Err(RunError::NotFound(_))
        ));
    }

    #[test]
    fn kills_what_the_tool_started_with_it() {
        // make's `$(shell ...)` children hold the output pipes: they die with the tool.
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 31.4159 & sleep 31.4159; echo never"]);
        let lim = Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let t = Instant::now();
        assert!(matches!(run(c, lim, &|| false), Err(RunError::Timeout(..))));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        // And a tool that exits leaving a child behind does not leave it running either.
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 31.4159 & echo started"]);
        let t = Instant::now();
        let o = run(c, Limits::default(), &|| false).unwrap();
        assert_eq!(o.stdout, b"started\n");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(running("31.4159"), 0, "a sleep was left running");
    }

    /// How many processes have `arg` in their command line (Linux /proc).
    fn running(arg: &str) -> usize {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return 0;
        };
        rd.flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .filter(|c| c.split(|b| *b == 0).any(|w| w == arg.as_bytes()))
            .count()
    }
}
