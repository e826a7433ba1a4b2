//! MicroPython's raw REPL over a serial port: Ctrl-C/Ctrl-A to enter, raw-paste mode where the
//! board offers it (else the plain `OK` framing), output and errors framed by `\x04`, Ctrl-C on
//! timeout, Ctrl-D soft reset and Ctrl-B to leave.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// What the board prints after Ctrl-A.
const RAW_BANNER: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";
/// The tail of the banner, as an old firmware repeats it when it does not know raw paste.
const RAW_BANNER_TAIL: &[u8] = b"w REPL; CTRL-B to exit\r\n>";
/// Plain raw-mode writes go in chunks of this size with a pause, as the REPL buffer is small.
const PLAIN_CHUNK: usize = 256;
/// How long the board has to answer Ctrl-A with the raw REPL banner.
pub const ENTER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long any later protocol step may take (a soft reset, the board taking code): longer,
/// as a busy board or an emulator on a loaded machine answers slowly.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why talking to the board failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplError {
    /// The port could not be opened or configured.
    Open(String),
    /// Nothing answered like a MicroPython REPL.
    NotMicroPython(String),
    /// The board stopped answering, or the port closed (a board unplugged or reset, an emulator
    /// killed).
    Lost(String),
    /// The code ran longer than the timeout (it was interrupted with Ctrl-C).
    Timeout(String),
    /// The board answered something the protocol does not allow.
    Protocol(String),
}

impl std::fmt::Display for ReplError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplError::Open(m)
            | ReplError::NotMicroPython(m)
            | ReplError::Lost(m)
            | ReplError::Timeout(m)
            | ReplError::Protocol(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ReplError {}

/// The result of one `exec`: what the code printed and the traceback it raised, if any.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Everything printed to stdout (`\r\n` as the board sends it).
    pub stdout: Vec<u8>,
    /// The exception the code raised (empty when none).
    pub stderr: Vec<u8>,
}

/// A byte stream to the board: a serial port in use, anything `Read + Write` in tests.
pub trait Channel: Read + Write + Send {}
impl<T: Read + Write + Send> Channel for T {}

/// A board in raw REPL mode.
pub struct RawRepl {
    port: Box<dyn Channel>,
    name: String,
    pending: Vec<u8>,
    /// `None` until tried; then whether the board speaks raw paste.
    raw_paste: Option<bool>,
}

/// Shows the end of what the board sent, for error messages.
fn tail(b: &[u8]) -> String {
    let start = b.len().saturating_sub(80);
    format!("{:?}", String::from_utf8_lossy(&b[start..]))
}

impl RawRepl {
    /// Opens `port` at `baud` (a pty works as well as a USB serial port).
    pub fn open(port: &str, baud: u32) -> Result<RawRepl, ReplError> {
        let p = serialport::new(port, baud)
            .timeout(Duration::from_millis(20))
            .open_native()
            .map_err(|e| ReplError::Open(format!("cannot open {port}: {e}")))?;
        Ok(RawRepl::over(Box::new(p), port))
    }

    /// Talks over an already open channel; `name` names it in messages.
    pub fn over(port: Box<dyn Channel>, name: &str) -> RawRepl {
        RawRepl {
            port,
            name: name.to_string(),
            pending: Vec::new(),
            raw_paste: None,
        }
    }

    /// Whether the board took code in raw-paste mode (`None` before the first `exec`).
    pub fn raw_paste(&self) -> Option<bool> {
        self.raw_paste
    }

    fn write(&mut self, b: &[u8]) -> Result<(), ReplError> {
        self.port
            .write_all(b)
            .and_then(|_| self.port.flush())
            .map_err(|e| self.lost(&format!("writing failed: {e}")))
    }

    fn lost(&self, what: &str) -> ReplError {
        ReplError::Lost(format!(
            "the board on {} stopped answering ({what}): was it unplugged, reset or its emulator stopped?",
            self.name
        ))
    }

    /// Reads what is available into `pending` (waiting at most the port's short timeout).
    fn fill(&mut self) -> Result<usize, ReplError> {
        let mut buf = [0u8; 4096];
        match self.port.read(&mut buf) {
            Ok(0) => Err(self.lost("the port closed")),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(self.lost(&format!("reading failed: {e}"))),
        }
    }

    /// Drops whatever the board has sent and sends for `quiet`.
    fn drain(&mut self, quiet: Duration) -> Result<(), ReplError> {
        let end = Instant::now() + quiet;
        while Instant::now() < end {
            self.fill()?;
        }
        self.pending.clear();
        Ok(())
    }

    /// Reads until `pat` arrives, returning everything before it (the pattern is consumed);
    /// `each` sees the bytes as they come (except a partial pattern at the end).
    fn read_until(
        &mut self,
        pat: &[u8],
        deadline: Instant,
        what: &str,
        each: &mut dyn FnMut(&[u8]),
    ) -> Result<Vec<u8>, ReplError> {
        let mut shown = 0;
        loop {
            if let Some(i) = find(&self.pending, pat) {
                each(&self.pending[shown..i]);
                let out = self.pending[..i].to_vec();
                self.pending.drain(..i + pat.len());
                return Ok(out);
            }
            let safe = self.pending.len().saturating_sub(pat.len() - 1);
            if safe > shown {
                each(&self.pending[shown..safe]);
                shown = safe;
            }
            if Instant::now() >= deadline {
                return Err(ReplError::Timeout(format!(
                    "no {what} from the board on {} in time; it sent {}",
                    self.name,
                    tail(&self.pending)
                )));
            }
            self.fill()?;
        }
    }

    /// Interrupts whatever runs (Ctrl-C twice) and enters the raw REPL; with `soft_reset` the
    /// board also soft-resets (Ctrl-D), so the code starts from a clean heap.
    pub fn enter(&mut self, soft_reset: bool) -> Result<(), ReplError> {
        self.write(b"\r\x03")?;
        std::thread::sleep(Duration::from_millis(50));
        self.write(b"\x03")?;
        self.drain(Duration::from_millis(100))?;
        self.write(b"\r\x01")?;
        let deadline = Instant::now() + ENTER_TIMEOUT;
        self.read_until(RAW_BANNER, deadline, "raw REPL banner", &mut |_| {})
            .map_err(|e| match e {
                ReplError::Timeout(_) => ReplError::NotMicroPython(format!(
                    "nothing on {} answered like a MicroPython REPL: no raw REPL banner within {} s of Ctrl-C, Ctrl-A (got {}). Is it the right port and baud rate, and is the board running MicroPython?",
                    self.name,
                    ENTER_TIMEOUT.as_secs(),
                    tail(&self.pending)
                )),
                e => e,
            })?;
        if soft_reset {
            self.soft_reset()?;
        }
        Ok(())
    }

    /// Soft-resets the board from the raw REPL (Ctrl-D), freeing everything the code allocated.
    pub fn soft_reset(&mut self) -> Result<(), ReplError> {
        self.write(b"\x04")?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        self.read_until(b"soft reboot\r\n", deadline, "soft reboot", &mut |_| {})?;
        self.read_until(RAW_BANNER, deadline, "raw REPL banner", &mut |_| {})?;
        Ok(())
    }

    /// Leaves the raw REPL (Ctrl-B) for the friendly one.
    pub fn exit(&mut self) -> Result<(), ReplError> {
        self.write(b"\r\x02")
    }

    /// Sends `code` (raw paste when the board offers it) and waits until the board has taken
    /// all of it.
    fn send(&mut self, code: &[u8]) -> Result<(), ReplError> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        if self.raw_paste != Some(false) {
            self.write(b"\x05A\x01")?;
            while self.pending.len() < 2 {
                if Instant::now() >= deadline {
                    return Err(ReplError::Protocol(format!(
                        "no answer to the raw-paste request from {}",
                        self.name
                    )));
                }
                self.fill()?;
            }
            match &self.pending[..2] {
                b"R\x01" => {
                    self.pending.drain(..2);
                    self.raw_paste = Some(true);
                    return self.paste(code, deadline);
                }
                b"R\x00" => {
                    self.pending.drain(..2);
                    self.raw_paste = Some(false);
                }
                _ => {
                    // A firmware that predates raw paste echoes the request and repeats its banner.
                    self.read_until(RAW_BANNER_TAIL, deadline, "raw REPL prompt", &mut |_| {})?;
                    self.raw_paste = Some(false);
                }
            }
        }
        for chunk in code.chunks(PLAIN_CHUNK) {
            self.write(chunk)?;
            std::thread::sleep(Duration::from_millis(10));
        }
        self.write(b"\x04")?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.pending.len() < 2 {
            if Instant::now() >= deadline {
                return Err(ReplError::Protocol(format!(
                    "{} did not acknowledge the code (no OK)",
                    self.name
                )));
            }
            self.fill()?;
        }
        if &self.pending[..2] != b"OK" {
            return Err(ReplError::Protocol(format!(
                "{} answered {} instead of OK",
                self.name,
                tail(&self.pending)
            )));
        }
        self.pending.drain(..2);
        Ok(())
    }

    /// Raw-paste transfer: the board grants a window of bytes at a time (`\x01` adds one
    /// window; `\x04` means it stops taking input, e.g. on a syntax error).
    fn paste(&mut self, code: &[u8], deadline: Instant) -> Result<(), ReplError> {
        while self.pending.len() < 2 {
            if Instant::now() >= deadline {
                return Err(ReplError::Protocol("no raw-paste window size".into()));
            }
            self.fill()?;
        }
        let window = usize::from(u16::from_le_bytes([self.pending[0], self.pending[1]]));
        self.pending.drain(..2);
        if window == 0 {
            return Err(ReplError::Protocol("raw-paste window of 0 bytes".into()));
        }
        let mut remain = window;
        let mut i = 0;
        let mut stall = Instant::now() + STEP_TIMEOUT;
        while i < code.len() {
            if remain == 0 || !self.pending.is_empty() {
                if self.pending.is_empty() {
                    if Instant::now() >= stall {
                        return Err(self.lost("no raw-paste flow control"));
                    }
                    self.fill()?;
                    continue;
                }
                match self.pending.remove(0) {
                    0x01 => {
                        remain += window;
                        stall = Instant::now() + STEP_TIMEOUT;
                    }
                    0x04 => {
                        // The board ended the transfer early; acknowledge and read its answer.
                        self.write(b"\x04")?;
                        return Ok(());
                    }
                    b => {
                        return Err(ReplError::Protocol(format!(
                            "unexpected byte {b:#04x} during raw paste"
                        )))
                    }
                }
                continue;
            }
            let n = remain.min(code.len() - i);
            self.write(&code[i..i + n])?;
            remain -= n;
            i += n;
        }
        self.write(b"\x04")?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        self.read_until(b"\x04", deadline, "end of raw paste", &mut |_| {})?;
        Ok(())
    }

    /// Runs `code` in the raw REPL, passing its output to `on_output` as it arrives. After
    /// `timeout` the code is interrupted with Ctrl-C and the result is [`ReplError::Timeout`].
    pub fn exec(
        &mut self,
        code: &[u8],
        timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput, ReplError> {
        self.send(code)?;
        let deadline = Instant::now() + timeout;
        let stdout = match self.read_until(b"\x04", deadline, "end of output", on_output) {
            Ok(o) => o,
            Err(ReplError::Timeout(_)) => {
                self.write(b"\x03")?;
                let grace = Instant::now() + ENTER_TIMEOUT;
                let stopped = self
                    .read_until(b"\x04", grace, "end of output", &mut |_| {})
                    .and_then(|_| self.read_until(b"\x04", grace, "end of errors", &mut |_| {}))
                    .and_then(|_| self.read_until(b">", grace, "raw REPL prompt", &mut |_| {}))
                    .is_ok();
                let secs = timeout.as_secs_f64();
                return Err(ReplError::Timeout(if stopped {
                    format!(
                        "the code ran longer than {secs} s on {} and was interrupted (Ctrl-C)",
                        self.name
                    )
                } else {
                    format!(
                        "the code ran longer than {secs} s on {} and did not stop on Ctrl-C (its firmware may not read Ctrl-C while code runs): reset the board",
                        self.name
                    )
                }));
            }
            Err(e) => return Err(e),
        };
        let deadline = Instant::now() + STEP_TIMEOUT;
        let stderr = self.read_until(b"\x04", deadline, "end of errors", &mut |_| {})?;
        self.read_until(b">", deadline, "raw REPL prompt", &mut |_| {})?;
        Ok(ExecOutput { stdout, stderr })
    }

    /// Runs `code` and returns its stdout, turning a traceback into an error.
    pub fn eval(&mut self, code: &str, timeout: Duration) -> Result<String, ReplError> {
        let out = self.exec(code.as_bytes(), timeout, &mut |_| {})?;
        if !out.stderr.is_empty() {
            return Err(ReplError::Protocol(format!(
                "the board raised: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
    }
}

/// Where `pat` first occurs in `hay`.
fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}
