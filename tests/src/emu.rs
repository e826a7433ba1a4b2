//! Emulated MicroPython boards for tests: the QEMU firmwares `scripts/emulated-tests.sh
//! --build-only` writes to `target/emu/firmware/<BOARD>/firmware.elf`, started with their
//! UART on a pty (the command line of `scripts/emu-board.sh --command`), and bare ptys
//! with nothing behind them.

use crate::{repo_root, require_tool};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running emulated board; QEMU is killed when it is dropped.
pub struct EmuBoard {
    child: Child,
    /// The pty the board's UART is on.
    pub pty: String,
}

impl EmuBoard {
    /// Kills QEMU now (the board dies as if unplugged).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for EmuBoard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The firmware of `board`; panics naming the command that builds it when it is missing.
pub fn firmware(board: &str) -> PathBuf {
    let fw = repo_root()
        .join("target/emu/firmware")
        .join(board)
        .join("firmware.elf");
    assert!(
        fw.is_file(),
        "missing {}: build the emulated boards with `bash scripts/emulated-tests.sh --build-only`",
        fw.display()
    );
    fw
}

/// QEMU's command line for `board`, as `scripts/emu-board.sh --command` prints it (the
/// arguments of the firmware's own `ports/qemu/Makefile`, the UART on a pty).
fn qemu_command(board: &str, fw: &std::path::Path) -> Vec<String> {
    let script = repo_root().join("scripts/emu-board.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--command", board])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} --command {board} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        line.ends_with(&*fw.to_string_lossy())
            && !fw.to_string_lossy().contains(char::is_whitespace),
        "unexpected command line for {board} (or a firmware path with spaces): {line}"
    );
    line.split_whitespace().map(str::to_string).collect()
}

/// Starts `board` in QEMU with its UART on a new pty.
pub fn start(board: &str) -> EmuBoard {
    let fw = firmware(board);
    let argv = qemu_command(board, &fw);
    let qemu = require_tool(
        &argv[0],
        "qemu-system-arm and qemu-system-misc 8 or newer, from bookworm-backports \
         (bash scripts/emulated-tests.sh --build-only installs them)",
    );
    let mut child = Command::new(qemu)
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start QEMU for {board}: {e}"));
    // QEMU names the pty on stdout: "char device redirected to /dev/pts/N (label serial0)".
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("/dev/pts/") {
                let pty: String = line[i..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let _ = tx.send(pty);
            }
        }
    });
    let pty = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("QEMU for {board} named no pty within 10 s"));
    EmuBoard { child, pty }
}

/// A pty pair with nothing behind it: the slave's path, and the master, kept open (a closed
/// master would make the slave fail to open instead of staying silent).
pub fn bare_pty() -> (String, std::fs::File) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors; name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    let path = std::fs::read_link(format!("/proc/self/fd/{slave}"))
        .expect("the slave pty's path")
        .to_string_lossy()
        .into_owned();
    // SAFETY: both descriptors are ours; the slave is reopened by path by the tool under test.
    unsafe { libc::close(slave) };
    // SAFETY: master is an open descriptor we own from here on.
    let master = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(master) };
    (path, master)
}
