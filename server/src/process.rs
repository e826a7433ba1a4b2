//! Running external tools (make, gcc) with a timeout, an output-size cap and cancellation.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Limits for one tool run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Kill the tool after this long.
    pub timeout: Duration,
    /// Keep at most this many bytes of each of stdout and stderr.
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
    /// Captured stdout (cut at the cap).
    pub stdout: Vec<u8>,
    /// Captured stderr (cut at the cap).
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
            RunError::Timeout(p, d) => write!(f, "{p} timed out after {} s", d.as_secs()),
            RunError::Cancelled => f.write_str("cancelled"),
            RunError::Io(e) => f.write_str(e),
        }
    }
}

fn read_capped(mut r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                if n > room {
                    truncated = true;
                }
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (out, truncated)
}

/// How often a running tool is checked for cancellation and its timeout.
const POLL: Duration = Duration::from_millis(10);

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
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::NotFound(program.clone()),
        _ => RunError::Io(format!("cannot run {program}: {e}")),
    })?;
    let cap = limits.max_output;
    let (closed_tx, closed) = mpsc::channel::<()>();
    let reader = |r: Box<dyn Read + Send>| {
        let tx = closed_tx.clone();
        std::thread::spawn(move || {
            let out = read_capped(r, cap);
            let _ = tx.send(());
            out
        })
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
            let _ = child.kill();
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
    let join = |h: Option<std::thread::JoinHandle<(Vec<u8>, bool)>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (stdout, t1) = join(out);
    let (stderr, t2) = join(err);
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
        let c = Command::new("natmod-lsp-no-such-tool");
        assert!(matches!(
            run(c, Limits::default(), &|| false),
            Err(RunError::NotFound(_))
        ));
    }
}
