//! `natmod-lsp board` against emulated MicroPython boards (QEMU MPS2_AN385: Cortex-M3, and
//! VIRT_RV32: rv32imc with Zba and Zcmp, built from the newest MicroPython snapshot): board
//! info, the compatibility check (each refusal also confirmed by the board's own loader),
//! running the bundled factorial example from RAM, the time from the command to the first
//! output, a run past its timeout stopped by Ctrl-C (the board answers afterwards), deploying
//! to a RAM filesystem mounted on the board first (the QEMU firmwares have no writable
//! filesystem: a plain deploy is a clear error) and importing from it, a board killed
//! mid-transfer and a port with nothing behind it.
//!
//! Needs the firmwares (`bash scripts/emulated-tests.sh --build-only`), QEMU >= 8
//! (bookworm-backports), make, arm-none-eabi-gcc and riscv64-unknown-elf-gcc.

use natmod_tests::emu::{bare_pty, start, EmuBoard};
use natmod_tests::{
    copy_module, describe_output, mpy_dir_newest, natmod_ld, natmod_lsp, require_tool, scratch_dir,
};
use natmod_tests::{make_command, run_make};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const FACTORIAL_20: &str = "2432902008176640000";

/// Builds examples/factorial for `arch` against the newest MicroPython with natmod-ld, in a
/// scratch directory of its own per `test` (tests run in parallel).
fn factorial(test: &str, arch: &str, extra: &[&str]) -> PathBuf {
    require_tool("make", "make");
    match arch {
        a if a.starts_with("arm") => require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
        _ => require_tool("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf"),
    };
    let dir = scratch_dir(test, format!("factorial_{arch}{}", extra.join("_")));
    copy_module("examples/factorial", &dir);
    let mut make = make_command(&dir);
    make.arg(format!("MPY_DIR={}", mpy_dir_newest().display()))
        .arg(format!("ARCH={arch}"))
        .arg(format!("MPY_LD={}", natmod_ld().display()))
        .args(extra);
    run_make(make);
    dir.join("factorial_nm.mpy")
}

/// A copy of `mpy` with its bytes changed by `patch`, same file name in a new directory.
fn patched(mpy: &Path, name: &str, patch: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let mut b = std::fs::read(mpy).unwrap();
    patch(&mut b);
    let dir = scratch_dir("board_patched", name);
    let p = dir.join("factorial_nm.mpy");
    std::fs::write(&p, b).unwrap();
    p
}

/// Starts `natmod-lsp board ARGS` with stdout and stderr piped; returns it and when it started
/// (the binary is built on first use, before the clock starts).
fn spawn_board(args: &[&str]) -> (Child, Instant) {
    let bin = natmod_lsp();
    let t = Instant::now();
    let child = Command::new(bin)
        .arg("board")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, t)
}

/// Runs `natmod-lsp board ARGS`, killing it if it runs longer than `limit`.
fn board(args: &[&str], limit: Duration) -> (Output, Duration) {
    let (mut child, t) = spawn_board(args);
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "natmod-lsp board {args:?} hung (killed after {limit:?})\n{}",
                describe_output(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), t.elapsed())
}

/// The arguments of `board run` of `code` with the module `mpy` on the board at `pty`.
fn run_code<'a>(pty: &'a str, mpy: &'a Path, code: &'a str) -> Vec<&'a str> {
    let mpy = mpy.to_str().expect("a UTF-8 scratch path");
    vec!["run", "--port", pty, "--mpy", mpy, "-c", code]
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e})\n{}", describe_output(out)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `out` exited with `code` and its stderr says `needle`.
fn assert_fails(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", describe_output(out));
    assert!(stderr(out).contains(needle), "{}", describe_output(out));
}

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn info_reports_arch_and_mpy_version_of_armv7m_and_rv32imc_boards() {
    for (name, arch, sys_mpy, flags, accepts) in [
        (
            "MPS2_AN385",
            "armv7em",
            Some(6918),
            "none",
            vec!["armv6m", "armv7m", "armv7em"],
        ),
        ("VIRT_RV32", "rv32imc", None, "zba,zcmp", vec!["rv32imc"]),
    ] {
        let b = start(name);
        let (out, _) = board(&["info", "--port", &b.pty, "--format", "json"], LIMIT);
        assert!(out.status.success(), "{name}\n{}", describe_output(&out));
        let v = json(&out);
        assert_eq!(v["arch"], arch, "{name}: {v}");
        assert_eq!(v["mpyVersion"], "6.3", "{name}: {v}");
        assert_eq!(v["archFlags"], flags, "{name}: {v}");
        assert_eq!(v["accepts"], serde_json::json!(accepts), "{name}: {v}");
        assert_eq!(v["platform"], "qemu");
        assert_eq!(v["native"], true);
        assert!(v["memFree"].as_u64().unwrap() > 50_000, "{v}");
        if let Some(m) = sys_mpy {
            assert_eq!(v["sysMpy"], m, "{name}: {v}");
        }
        let (text, _) = board(&["info", "--port", &b.pty], LIMIT);
        let first = String::from_utf8_lossy(&text.stdout)
            .lines()
            .next()
            .map(str::to_string);
        assert_eq!(first.as_deref(), Some(&*format!("qemu · {arch} · mpy 6.3")));
    }
}

#[test]
fn run_prints_factorial_on_both_boards() {
    for (name, arch) in [
        ("MPS2_AN385", "armv7m"),
        ("MPS2_AN385", "armv6m"),
        ("VIRT_RV32", "rv32imc"),
    ] {
        let mpy = factorial("board_run", arch, &[]);
        let b = start(name);
        let (out, took) = board(
            &run_code(
                &b.pty,
                &mpy,
                "print(factorial_nm.factorial(20))\nprint(factorial_nm.fib(90))",
            ),
            LIMIT,
        );
        assert!(
            out.status.success(),
            "{name} {arch}\n{}",
            describe_output(&out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{FACTORIAL_20}\n2880067194370816120\n"),
            "{name} {arch}"
        );
        // A script, with JSON: the output and the time to the first output byte.
        let script = mpy.with_file_name("main.py");
        std::fs::write(
            &script,
            "import factorial_nm\nprint(factorial_nm.factorial(20))\n",
        )
        .unwrap();
        let (out, _) = board(
            &[
                "run",
                "--port",
                &b.pty,
                "--mpy",
                mpy.to_str().unwrap(),
                "--format",
                "json",
                script.to_str().unwrap(),
            ],
            LIMIT,
        );
        let v = json(&out);
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["run"]["output"], format!("{FACTORIAL_20}\n"), "{v}");
        println!(
            "{name} {arch}: command to first output {} ms (whole text run {} ms)",
            v["run"]["firstOutputMs"],
            took.as_millis()
        );
        // A traceback is reported, with exit status 1.
        let (out, _) = board(
            &[
                "run",
                "--port",
                &b.pty,
                "--mpy",
                mpy.to_str().unwrap(),
                "-c",
                "factorial_nm.factorial(-1)",
            ],
            LIMIT,
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
        assert!(
            stderr(&out).contains("ValueError: factorial() not defined"),
            "{}",
            describe_output(&out)
        );
    }
}

/// `check` refuses the module naming the fix, and the board's own loader (run --no-check)
/// refuses it too, with `loader_says`.
fn assert_refused(b: &EmuBoard, mpy: &Path, kind: &str, fix: &str, loader_says: &str) {
    let m = mpy.to_str().unwrap();
    let (out, _) = board(
        &["check", "--port", &b.pty, "--mpy", m, "--format", "json"],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let v = json(&out);
    assert_eq!(v["ok"], false, "{v}");
    let mm = &v["check"]["mismatches"][0];
    assert_eq!(mm["kind"], kind, "{v}");
    assert!(mm["fix"].as_str().unwrap().contains(fix), "{v}");
    let (text, _) = board(&["check", "--port", &b.pty, "--mpy", m], LIMIT);
    let said = stderr(&text);
    let fix_line = said.lines().find(|l| l.trim_start().starts_with("fix: "));
    assert!(
        fix_line.is_some_and(|l| l.contains(fix)),
        "{}",
        describe_output(&text)
    );
    let (raw, _) = board(
        &[
            "run",
            "--port",
            &b.pty,
            "--mpy",
            m,
            "--no-check",
            "-c",
            "print(1)",
        ],
        LIMIT,
    );
    assert_eq!(raw.status.code(), Some(1), "{}", describe_output(&raw));
    assert!(
        stderr(&raw).contains(&format!("ValueError: {loader_says}")),
        "the board's loader should refuse it too\n{}",
        describe_output(&raw)
    );
}

#[test]
fn check_catches_other_arch_wrong_arch_flags_and_other_mpy_version() {
    let rv = start("VIRT_RV32");
    let arm = factorial("board_check", "armv7m", &[]);
    assert_refused(
        &rv,
        &arm,
        "arch",
        "ARCH = rv32imc",
        "incompatible .mpy arch",
    );

    // Built with ARCH_FLAGS=zba it loads; a header claiming an extension the board lacks
    // (bit 2, after zba and zcmp) does not.
    let zba = factorial("board_check", "rv32imc", &["ARCH_FLAGS=zba"]);
    let bytes = std::fs::read(&zba).unwrap();
    assert_eq!(
        (bytes[2] & 0x40, bytes[4]),
        (0x40, 1),
        "zba flags in the header"
    );
    let (ok, _) = board(
        &["check", "--port", &rv.pty, "--mpy", zba.to_str().unwrap()],
        LIMIT,
    );
    assert!(ok.status.success(), "{}", describe_output(&ok));
    let bad_flags = patched(&zba, "flags", |b| b[4] = 0x05);
    assert_refused(
        &rv,
        &bad_flags,
        "archFlags",
        "ARCH_FLAGS = zba",
        "incompatible .mpy file",
    );

    // Sub-version 2 (.mpy 6.2) on a 6.3 board.
    let rv_mpy = factorial("board_check", "rv32imc", &[]);
    let old = patched(&rv_mpy, "version", |b| b[2] = (b[2] & !3) | 2);
    assert_refused(
        &rv,
        &old,
        "version",
        "MPY_DIR of .mpy version 6.3",
        "incompatible .mpy file",
    );
    drop(rv);

    // The Cortex-M3 board takes armv6m and armv7m (checked by run above) but not armv7emsp.
    let an385 = start("MPS2_AN385");
    let sp = factorial("board_check", "armv7emsp", &[]);
    assert_refused(
        &an385,
        &sp,
        "arch",
        "ARCH = armv7m",
        "incompatible .mpy arch",
    );
}

#[test]
fn a_board_killed_mid_transfer_is_a_clear_error() {
    // A real header with 100 KB after it: enough to take many chunks.
    let mpy = factorial("board_killed", "armv7m", &[]);
    let big = patched(&mpy, "big", |b| {
        b.extend(std::iter::repeat_n(0x5a, 100_000))
    });
    let mut b = start("MPS2_AN385");
    let (mut child, t) = spawn_board(&[
        "run",
        "-v",
        "--port",
        &b.pty,
        "--mpy",
        big.to_str().unwrap(),
        "-c",
        "print(1)",
    ]);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref().map_while(Result::ok) {
        seen.push(line.clone());
        if line.contains("sent 4096/") {
            break;
        }
        assert!(t.elapsed() < LIMIT, "no transfer progress: {seen:?}");
    }
    assert!(
        seen.iter().any(|l| l.contains("sent 4096/")),
        "no transfer: {seen:?}"
    );
    b.kill();
    let killed = Instant::now();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let after = killed.elapsed();
    let all = rest.join("\n");
    assert_eq!(status.code(), Some(2), "{all}");
    assert!(all.contains("stopped answering"), "{all}");
    assert!(after < Duration::from_secs(5), "took {after:?} to notice");
    assert!(!all.contains("panicked"), "{all}");
    println!(
        "killed board noticed {} ms after the kill: {}",
        after.as_millis(),
        rest.last().unwrap()
    );
}

#[test]
fn a_port_with_nothing_behind_it_is_a_clear_error_within_seconds() {
    let (pty, _master) = bare_pty();
    let (out, took) = board(&["info", "--port", &pty], Duration::from_secs(15));
    assert_fails(&out, 2, "answered like a MicroPython REPL");
    // The raw REPL banner has 3 s to come; the rest is slack for a loaded machine (measured
    // 3.2 s on a quiet one, 4.6 s at load average 22 on 2 cores).
    assert!(took < Duration::from_secs(10), "took {took:?}");
    println!("bare pty: clear error after {} ms", took.as_millis());
    let (out, _) = board(&["info", "--port", "/dev/does-not-exist"], LIMIT);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot open /dev/does-not-exist"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn a_run_past_its_timeout_returns_and_deploy_without_a_filesystem_says_so() {
    let mpy = factorial("board_timeout", "armv7m", &[]);
    let m = mpy.to_str().unwrap();
    let b = start("MPS2_AN385");
    let (out, took) = board(
        &[
            "run",
            "--port",
            &b.pty,
            "--mpy",
            m,
            "--timeout",
            "1",
            "-c",
            "print('go')\nwhile True: pass",
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "go\n");
    // The emulated firmware reads Ctrl-C while code runs (scripts/emu-firmware/ctrl_c_hook.h);
    // without it the message is "did not stop on Ctrl-C" and the board answers nothing more.
    assert!(
        stderr(&out).contains("ran longer than 1 s")
            && stderr(&out).contains("was interrupted (Ctrl-C)"),
        "(a firmware built before the Ctrl-C hook? rebuild it with \
         `bash scripts/emulated-tests.sh --build-only`)\n{}",
        describe_output(&out)
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
    println!(
        "run past a 1 s timeout: clear error after {} ms",
        took.as_millis()
    );
    // Ctrl-C stopped the loop: the same board answers a second command.
    let (out, took) = board(&["info", "--port", &b.pty], LIMIT);
    assert!(out.status.success(), "{}", describe_output(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("qemu · armv7em · mpy 6.3\n"),
        "{}",
        describe_output(&out)
    );
    assert!(
        took < Duration::from_secs(8),
        "info after the timeout took {took:?}"
    );
    // The QEMU firmware has no writable filesystem.
    let (out, _) = board(&["deploy", "--port", &b.pty, "--mpy", m], LIMIT);
    assert_fails(&out, 2, "cannot write /lib/factorial_nm.mpy on the board");
}

/// A writable filesystem in the board's RAM (the QEMU firmwares have none), mounted at `/ram`:
/// files are bytearrays in a dict, with what `deploy` and `import` use (mkdir, open, write,
/// rename, stat, listdir); it extends the read-only classes of `run`'s RAM filesystem
/// ([`natmod_lsp::board::ramfs::FS_CLASSES`], sent first).
const RAM_VFS: &str = "class RamFile(_NmFile):
    def write(s, d):
        s.b.extend(d)
        return len(d)
    def read(s):
        s.o = len(s.b)
        return bytes(s.b)
    def close(s):
        pass
class RamFs(_NmFs):
    def __init__(s):
        s.files = {}
    def mkdir(s, p):
        raise OSError(17)
    def ilistdir(s, p):
        return iter([(n, 0x8000, 0, len(b)) for n, b in s.files.items()])
    def rename(s, a, b):
        s.files[b.lstrip('/')] = s.files.pop(a.lstrip('/'))
    def stat(s, p):
        p = p.lstrip('/')
        if p == '':
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if p not in s.files:
            raise OSError(2)
        return (0x8000, 0, 0, 0, 0, 0, len(s.files[p]), 0, 0, 0)
    def open(s, p, mode):
        p = p.lstrip('/')
        if 'w' in mode:
            s.files[p] = bytearray()
        elif p not in s.files:
            raise OSError(2)
        return RamFile(s.files[p])
vfs.mount(RamFs(), '/ram')
";

/// Runs `code` on the board in the raw REPL without a soft reset (what it sets up stays) and
/// returns what it printed.
fn on_board(pty: &str, code: &str) -> String {
    use ::natmod_lsp::board::repl::RawRepl;
    let mut r = RawRepl::open(pty, 115_200).unwrap_or_else(|e| panic!("open {pty}: {e}"));
    r.enter(false)
        .unwrap_or_else(|e| panic!("raw REPL on {pty}: {e}"));
    let out = r
        .eval(code, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("on the board: {e}\n{code}"));
    r.exit().unwrap();
    out.replace('\r', "")
}

/// Mounts [`RAM_VFS`] at `/ram` on the board.
fn mount_ram_vfs(pty: &str) {
    on_board(
        pty,
        &format!("{}{RAM_VFS}", ::natmod_lsp::board::ramfs::FS_CLASSES),
    );
}

#[test]
fn deploy_writes_the_module_to_a_ram_filesystem_and_it_imports_from_there() {
    let mpy = factorial("board_deploy", "armv7m", &[]);
    let m = mpy.to_str().unwrap();
    let bytes = std::fs::read(&mpy).unwrap();
    let sum: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    let b = start("MPS2_AN385");
    mount_ram_vfs(&b.pty);
    let deploy = |extra: &[&str]| {
        let mut args = vec!["deploy", "--port", &b.pty, "--mpy", m, "--dir", "/ram"];
        args.extend_from_slice(extra);
        board(&args, LIMIT).0
    };
    let (out, took) = {
        let t = Instant::now();
        (deploy(&["--no-reset"]), t.elapsed())
    };
    assert!(out.status.success(), "{}", describe_output(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{m}: {} bytes written to /ram/factorial_nm.mpy\n",
            bytes.len()
        )
    );
    println!("deploy of {} bytes: {} ms", bytes.len(), took.as_millis());
    // Only the module is there (the temporary name was renamed), byte for byte, and it imports.
    let said = on_board(
        &b.pty,
        "import os, sys\nprint(os.listdir('/ram'))\nd = open('/ram/factorial_nm.mpy', 'rb').read()\n\
         print(len(d), sum(d))\nsys.path.insert(0, '/ram')\nimport factorial_nm\n\
         print(factorial_nm.factorial(20))",
    );
    assert_eq!(
        said,
        format!(
            "['factorial_nm.mpy']\n{} {sum}\n{FACTORIAL_20}\n",
            bytes.len()
        )
    );
    // Without --no-reset the soft reset unmounts the RAM filesystem first: a clear error.
    let out = deploy(&[]);
    assert_fails(&out, 2, "cannot write /ram/factorial_nm.mpy on the board");
}

/// Runs `natmod-lsp board run` and returns the time from the spawn to the first byte on stdout,
/// and the whole output.
fn time_to_first_output(args: &[&str]) -> (Duration, String) {
    use std::io::Read;
    let (mut child, t) = spawn_board(args);
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    let n = stdout.read(&mut first).unwrap();
    let took = t.elapsed();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(n == 1 && out.status.success(), "{}", describe_output(&out));
    let mut all = first.to_vec();
    all.extend(rest);
    (took, String::from_utf8_lossy(&all).into_owned())
}

#[test]
fn command_to_first_output_of_run_on_armv7m_and_rv32imc_boards() {
    const RUNS: usize = 5;
    for (name, arch) in [("MPS2_AN385", "armv7m"), ("VIRT_RV32", "rv32imc")] {
        let mpy = factorial("board_first_output", arch, &[]);
        let b = start(name);
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let (took, out) = time_to_first_output(&run_code(
                    &b.pty,
                    &mpy,
                    "print(factorial_nm.factorial(20))",
                ));
                assert_eq!(out, format!("{FACTORIAL_20}\n"));
                took
            })
            .collect();
        times.sort();
        let median = times[RUNS / 2];
        println!(
            "{name} {arch}: command to first output, median of {RUNS}: {} ms (all: {:?} ms)",
            median.as_millis(),
            times.iter().map(Duration::as_millis).collect::<Vec<_>>()
        );
        // Loose bound for a loaded 2-core machine; the numbers above are the measurement.
        assert!(
            median < Duration::from_secs(10),
            "{name}: median {median:?}"
        );
    }
}

#[test]
fn lsp_board_requests_and_commands_on_the_armv7m_board() {
    use natmod_tests::lsp_client::{file_uri, LspClient};
    require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi");
    let dir = scratch_dir("board_lsp", "factorial");
    copy_module("examples/factorial", &dir);
    let b = start("MPS2_AN385");
    // Untrusted: no code goes to the board.
    let mut lsp = LspClient::start(&natmod_lsp(), &dir, serde_json::json!({"trusted": false}));
    let r = lsp.request("natmod/boardInfo", serde_json::json!({"port": b.pty}));
    assert!(
        r["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not trusted")),
        "{r}"
    );
    assert_eq!(lsp.shutdown(), Some(0));

    let opts = serde_json::json!({"trusted": true, "arch": "armv7m",
        "mpyDir": mpy_dir_newest().to_string_lossy(), "debounceMs": 20});
    let mut lsp = LspClient::start(&natmod_lsp(), &dir, opts);
    lsp.open(&dir.join("factorial.c"), "c");
    let built = lsp.wait_build(&dir);
    assert!(dir.join("factorial_nm.mpy").is_file(), "not built: {built}");

    let ports = lsp.request("natmod/boardPorts", Value::Null);
    assert!(ports["result"].is_array(), "{ports}");
    let info = lsp.request("natmod/boardInfo", serde_json::json!({"port": b.pty}));
    assert_eq!(
        info["result"]["summary"], "qemu · armv7em · mpy 6.3",
        "{info}"
    );
    let check = lsp.request(
        "natmod/boardCheck",
        serde_json::json!({"port": b.pty, "project": file_uri(&dir)}),
    );
    assert_eq!(check["result"]["ok"], true, "{check}");
    assert_eq!(check["result"]["check"]["arch"], "armv7m", "{check}");
    let run = lsp.request(
        "workspace/executeCommand",
        serde_json::json!({"command": "natmod.boardRun", "arguments": [{"port": b.pty,
            "project": file_uri(&dir), "code": "print(factorial_nm.factorial(20))"}]}),
    );
    assert_eq!(
        run["result"]["run"]["output"],
        format!("{FACTORIAL_20}\n"),
        "{run}"
    );
    let deploy = lsp.request(
        "workspace/executeCommand",
        serde_json::json!({"command": "natmod.boardDeploy", "arguments": [{"port": b.pty}]}),
    );
    assert!(
        deploy["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot write /lib")),
        "{deploy}"
    );
    // With a RAM filesystem mounted by hand, noReset keeps it and the deploy lands there.
    mount_ram_vfs(&b.pty);
    let deploy = lsp.request(
        "workspace/executeCommand",
        serde_json::json!({"command": "natmod.boardDeploy",
            "arguments": [{"port": b.pty, "dir": "/ram", "noReset": true}]}),
    );
    assert_eq!(
        deploy["result"]["path"], "/ram/factorial_nm.mpy",
        "{deploy}"
    );
    let size = std::fs::metadata(dir.join("factorial_nm.mpy"))
        .unwrap()
        .len();
    assert_eq!(
        on_board(
            &b.pty,
            "import os\nprint(os.stat('/ram/factorial_nm.mpy')[6])"
        ),
        format!("{size}\n")
    );
    assert_eq!(lsp.shutdown(), Some(0));
}
