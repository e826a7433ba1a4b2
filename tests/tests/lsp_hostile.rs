//! Hostile and broken inputs to the `natmod-lsp` server, end to end over stdio: a Makefile
//! that never finishes evaluating (make and its `$(shell)` children killed at the
//! `makeTimeoutMs` timeout), one that prints hundreds of MiB (output cut at 1 MiB, server
//! memory bounded), an MPY_DIR that exists but is no MicroPython tree, C files tree-sitter and
//! gcc cannot make sense of (garbage, unbalanced braces, binary bytes), a project directory
//! and C text that are not UTF-8 (and `natmod-ld` given such paths), and a source deleted
//! while its build runs. Each case checks the specific diagnostic or message, that the
//! server still answers afterwards, and that a good build works again.
//!
//! Needs `make`, `gcc`, coreutils (`yes`, `seq`, `sleep`), Linux /proc, and the MicroPython
//! v1.23 tree (scripts/provision.sh).

use natmod_tests::lsp_client::{file_uri, LspClient, TIMEOUT};
use natmod_tests::lsp_scenario::{errors, line_of, message, trusted_options};
use natmod_tests::{copy_module, mpy_dir, natmod_ld, natmod_lsp, require_tool};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A fresh copy of examples/factorial at `dir` (removed first).
fn factorial_at(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    copy_module("examples/factorial", dir);
    dir.to_path_buf()
}

/// A fresh copy of examples/factorial in this test's scratch directory.
fn project(test: &str) -> PathBuf {
    factorial_at(&scratch(test))
}

/// A fresh, empty scratch directory `name` for this file's tests.
fn scratch(name: impl AsRef<Path>) -> PathBuf {
    natmod_tests::scratch_dir("lsp_hostile", name)
}

/// Trusted initialization options with the provisioned MPY_DIR.
fn trusted() -> Value {
    trusted_options(&mpy_dir(), 20)
}

fn start(dir: &Path, options: Value) -> LspClient {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    LspClient::start(&natmod_lsp(), dir, options)
}

/// Asserts the server is running and answers a hover on `file` and `natmod/buildStatus`.
fn still_answering(lsp: &mut LspClient, file: &Path) {
    assert!(lsp.is_alive(), "the server died\n{}", lsp.transcript());
    let hover = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": file_uri(file)}, "position": {"line": 0, "character": 0}}),
    );
    assert!(hover.get("result").is_some(), "hover failed: {hover}");
    let status = lsp.request("natmod/buildStatus", Value::Null);
    assert_eq!(status["result"]["trusted"], true, "buildStatus: {status}");
}

/// Opens `path` with its bytes as the editor shows them (invalid UTF-8 replaced).
fn open_lossy(lsp: &mut LspClient, path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": file_uri(path), "languageId": "c", "version": 1,
                                 "text": String::from_utf8_lossy(&bytes)}}),
    );
}

/// How many running processes have `arg` as one of their command-line words (Linux /proc;
/// zombies have no command line and do not count).
fn running_with_arg(arg: &str) -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| c.split(|b| *b == 0).any(|w| w == arg.as_bytes()))
        .count()
}

/// The command lines of the running processes whose working directory is `dir` (make and
/// what it starts run in the project directory).
fn running_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c == dir))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| !c.is_empty())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect()
}

/// A `VmHWM`/`VmRSS`-style field of /proc/PID/status, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The Makefile diagnostic with `code`.
fn with_code(diags: &[Value], code: &str) -> Value {
    diags
        .iter()
        .find(|d| d["code"] == code)
        .unwrap_or_else(|| panic!("no `{code}` diagnostic: {diags:#?}"))
        .clone()
}

/// The Makefile with `line` inserted after `SRC = factorial.c`.
fn makefile_with(makefile: &Path, line: &str) -> String {
    let text = std::fs::read_to_string(makefile).unwrap();
    let out = text.replacen(
        "SRC = factorial.c\n",
        &format!("SRC = factorial.c\n{line}\n"),
        1,
    );
    assert_ne!(out, text, "the factorial Makefile changed; update the test");
    out
}

/// Saves `file` and waits for the build; asserts it is clean and wrote the `.mpy`.
fn good_build(lsp: &mut LspClient, dir: &Path, file: &Path) -> Value {
    let done = lsp.save_and_build(file, dir);
    assert_eq!(
        done["errors"],
        0,
        "{done}\n{:#?}\n{}",
        lsp.diagnostics,
        lsp.transcript()
    );
    let mpy = dir.join("factorial_nm.mpy");
    assert_eq!(
        done["written"].as_str(),
        Some(&*mpy.to_string_lossy()),
        "{done}"
    );
    done
}

#[test]
fn a_makefile_that_never_finishes_times_out_and_make_is_killed() {
    let dir = project("timeout");
    let makefile = dir.join("Makefile");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&makefile).unwrap();
    // A duration no other process uses, to find the sleep in /proc.
    let forever = format!("1000.{}", std::process::id());
    let hanging = makefile_with(&makefile, &format!("SLOW := $(shell sleep {forever})"));
    std::fs::write(&makefile, &hanging).unwrap();
    let mut opts = trusted();
    opts["makeTimeoutMs"] = json!(1000);
    let mut lsp = start(&dir, opts);
    let t = Instant::now();
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    let took = t.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the 1 s makeTimeoutMs was not used: {took:?}"
    );
    assert_eq!(done["errors"], 1, "{done}");
    let d = with_code(&lsp.diagnostics_for(&makefile), "make-timeout");
    assert_eq!(d["range"]["start"]["line"], 0, "{d}");
    assert_eq!(d["severity"], 1, "{d}");
    let msg = message(&d);
    assert!(
        msg.contains("timed out after 1 s") && msg.contains("make") && msg.contains("killed"),
        "{msg}"
    );
    assert!(
        msg.contains("makeTimeoutMs"),
        "says how to allow more: {msg}"
    );
    // make and the shell's sleep were killed, not left behind.
    assert_eq!(
        running_with_arg(&forever),
        0,
        "`sleep {forever}` outlived the timeout"
    );
    assert_eq!(running_in(&dir), Vec::<String>::new(), "make lives on");

    // Another save times out the same way; the message is shown once.
    lsp.save_and_build(&c_file, &dir);
    assert_eq!(running_with_arg(&forever), 0);
    assert_eq!(running_in(&dir), Vec::<String>::new());
    let shown = lsp.messages_containing("timed out");
    assert_eq!(shown, 1, "shown once: {:?}", lsp.messages);
    still_answering(&mut lsp, &c_file);

    lsp.write(&makefile, &good);
    good_build(&mut lsp, &dir, &makefile);
    lsp.wait_clean(&makefile);
    still_answering(&mut lsp, &c_file);
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn a_makefile_printing_hundreds_of_mib_is_cut_at_1_mib_with_bounded_memory() {
    require_tool("yes", "coreutils");
    let dir = project("flood");
    let makefile = dir.join("Makefile");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&makefile).unwrap();
    // 200 MB on make's stdout (through /proc: `$(shell)` captures its own stdout) and 200 MB
    // on its stderr, while the Makefile is read; then 20,000 `$(warning)` lines.
    let flood = makefile_with(
        &makefile,
        "FLOOD1 := $(shell yes stdout-flood | head -c 200000000 > /proc/$$PPID/fd/1)\n\
         FLOOD2 := $(shell yes stderr-flood | head -c 200000000 >&2)\n\
         $(foreach i,$(shell seq 20000),$(warning flood line $(i)))",
    );
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    good_build(&mut lsp, &dir, &c_file);
    let before = proc_status_kib(lsp.pid(), "VmRSS");

    lsp.write(&makefile, &flood);
    let t = Instant::now();
    let done = good_build(&mut lsp, &dir, &makefile);
    let took = t.elapsed();
    // The variables are printed last, and the last half MiB is kept: the build goes on.
    let d = with_code(&lsp.diagnostics_for(&makefile), "make-output-cut");
    assert_eq!(d["severity"], 2, "a warning: {d}");
    assert!(message(&d).contains("more than 1 MiB"), "{d}");
    assert_eq!(done["diagnostics"], 1, "{done}");
    let peak = proc_status_kib(lsp.pid(), "VmHWM");
    println!("flood: built in {took:?}; server RSS before {before} KiB, peak {peak} KiB");
    assert!(
        peak < before + 64 * 1024,
        "the server kept the flood: peak RSS {peak} KiB, {before} KiB before"
    );

    // A real error after the flood is still found (it is in the kept tail) and placed, and
    // the warnings before it give at most 100 diagnostics.
    let failing = flood.replacen(
        "\n# Architecture",
        "\n$(error the real error after the flood)\n# Architecture",
        1,
    );
    lsp.write(&makefile, &failing);
    let done = lsp.save_and_build(&makefile, &dir);
    let diags = lsp.diagnostics_for(&makefile);
    let real = diags
        .iter()
        .find(|d| message(d).contains("the real error after the flood"))
        .unwrap_or_else(|| panic!("the real error is lost: {done}"));
    assert_eq!(
        real["range"]["start"]["line"],
        line_of(&failing, "$(error the real error")
    );
    assert!(diags.len() <= 101, "{} diagnostics", diags.len());
    still_answering(&mut lsp, &c_file);

    lsp.write(&makefile, &good);
    good_build(&mut lsp, &dir, &makefile);
    lsp.wait_clean(&makefile);
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn an_mpy_dir_that_is_no_micropython_tree_is_placed_on_its_line() {
    let dir = project("wrong_mpy_dir");
    let makefile = dir.join("Makefile");
    let c_file = dir.join("factorial.c");
    let text = std::fs::read_to_string(&makefile).unwrap();
    let mpy_line = line_of(&text, "MPY_DIR ?=");
    // An existing directory that is not MicroPython (it even has a py/), and a regular file.
    let not_mpy = scratch("wrong_mpy_dir.not-micropython");
    let _ = std::fs::remove_dir_all(&not_mpy);
    std::fs::create_dir_all(not_mpy.join("py")).unwrap();
    std::fs::write(not_mpy.join("py/runtime.h"), "// not dynruntime.mk\n").unwrap();
    let a_file = scratch("wrong_mpy_dir.file").join("regular-file");
    std::fs::write(&a_file, "not a directory\n").unwrap();

    let mut opts = trusted();
    opts["mpyDir"] = json!(not_mpy.to_string_lossy());
    let mut lsp = start(&dir, opts);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 1, "{done}");
    let d = with_code(&lsp.diagnostics_for(&makefile), "missing-mpy-dir");
    assert_eq!(d["range"]["start"]["line"], mpy_line, "{d}");
    assert!(
        message(&d).contains("is not a MicroPython tree")
            && message(&d).contains("has no py/dynruntime.mk"),
        "{d}"
    );
    assert!(
        lsp.messages
            .iter()
            .any(|m| m.contains("has no py/dynruntime.mk")),
        "{:?}",
        lsp.messages
    );
    still_answering(&mut lsp, &c_file);

    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"natmod": {"mpyDir": a_file.to_string_lossy()}}}),
    );
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 1, "{done}");
    let d = with_code(&lsp.diagnostics_for(&makefile), "missing-mpy-dir");
    assert_eq!(d["range"]["start"]["line"], mpy_line, "{d}");
    assert!(message(&d).contains("is a file"), "{d}");
    still_answering(&mut lsp, &c_file);

    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"natmod": {"mpyDir": mpy_dir().to_string_lossy()}}}),
    );
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    lsp.wait_clean(&makefile);
    assert!(dir.join("factorial_nm.mpy").is_file());
    assert_eq!(lsp.shutdown(), Some(0));
}

/// A header tree-sitter cannot parse: unbalanced braces, half macros, deep nesting, NUL and
/// bytes that are not UTF-8. gcc's first error is on line 2 (the half macro).
fn garbage_header() -> Vec<u8> {
    let mut h = b"// garbage.h: nothing here is C\n#define HALF(x, \n#if\n}}} ]] )) ;;\n".to_vec();
    h.extend_from_slice(b"struct { union { enum { \xff\xfe\x00\x01 \"unterminated\n");
    h.extend_from_slice(b"#define LOOP LOOP LOOP\nLOOP(((((\n");
    h.extend_from_slice(&[b'('; 50_000]);
    h.extend_from_slice(&[b'{'; 50_000]);
    h.extend_from_slice(b"\n\xc3\x28 /* \xe2\x82 */ int int int = = = ;\n#endif #else #elif\n");
    h
}

/// A C file of the same: gcc's first error is on line 2.
fn garbage_c() -> Vec<u8> {
    let mut c = b"// garbage.c\nint f( { return }}} \xff\xff;\n".to_vec();
    c.extend_from_slice(b"#include\n#pragma\nstatic static static x[[[[;\n");
    c.extend_from_slice("if (".repeat(20_000).as_bytes());
    c.extend_from_slice(b"\n\x00\x00\x00 mp_obj_t mp_ \xf0\x9f\x98\n");
    c
}

#[test]
fn c_files_tree_sitter_cannot_parse_still_get_gcc_errors_and_answers() {
    let dir = project("garbage_c");
    let makefile = dir.join("Makefile");
    let c_file = dir.join("factorial.c");
    let header = dir.join("garbage.h");
    let junk = dir.join("garbage.c");
    std::fs::write(&header, garbage_header()).unwrap();
    std::fs::write(&junk, garbage_c()).unwrap();
    let good_c = std::fs::read_to_string(&c_file).unwrap();
    let good_mk = std::fs::read_to_string(&makefile).unwrap();
    let including = good_c.replacen(
        "#include \"py/dynruntime.h\"\n",
        "#include \"py/dynruntime.h\"\n#include \"garbage.h\"\n",
        1,
    );
    std::fs::write(&c_file, &including).unwrap();
    std::fs::write(
        &makefile,
        good_mk.replacen("SRC = factorial.c\n", "SRC = factorial.c garbage.c\n", 1),
    )
    .unwrap();

    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    open_lossy(&mut lsp, &header);
    open_lossy(&mut lsp, &junk);
    let done = lsp.wait_build(&dir);
    // (Indexing garbage.c once took 11 s: each step up the tree searched down from the root.
    // That is guarded by counting, not timing, in server/src/c/tests.rs's
    // indexing_deeply_nested_garbage_takes_linear_work.)
    assert!(done["errors"].as_u64().unwrap() >= 2, "{done}");
    assert_eq!(done["written"], Value::Null, "{done}");
    let first_error_line = |lsp: &LspClient, f: &Path| {
        let diags = lsp.diagnostics_for(f);
        let errs = errors(&diags);
        assert!(
            errs.iter().all(|d| d["source"] == "gcc"),
            "{}: {errs:#?}",
            f.display()
        );
        errs.iter()
            .map(|d| d["range"]["start"]["line"].as_u64().unwrap())
            .min()
            .unwrap_or_else(|| panic!("no gcc error in {}", f.display()))
    };
    assert_eq!(first_error_line(&lsp, &header), 1, "garbage.h's half macro");
    assert_eq!(first_error_line(&lsp, &junk), 1, "garbage.c's second line");

    // Every feature answers on the garbage, wherever it is asked.
    for f in [&header, &junk] {
        let uri = file_uri(f);
        for (line, character) in [(0, 0), (3, 2), (4, 20), (8, 40_000), (10_000, 5)] {
            let pos = json!({"line": line, "character": character});
            for method in ["textDocument/hover", "textDocument/completion"] {
                let r = lsp.request(
                    method,
                    json!({"textDocument": {"uri": uri}, "position": pos}),
                );
                assert!(r.get("error").is_none(), "{method} {pos}: {r}");
            }
        }
        let r = lsp.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        );
        assert!(r["result"].is_array(), "documentSymbol: {r}");
    }
    still_answering(&mut lsp, &header);

    lsp.write(&c_file, &good_c);
    lsp.write(&makefile, &good_mk);
    good_build(&mut lsp, &dir, &makefile);
    lsp.wait_clean(&c_file);
    lsp.wait_clean(&header);
    lsp.wait_clean(&junk);
    assert_eq!(lsp.shutdown(), Some(0));
}

/// The factorial source with a comment and a string that are not UTF-8 (Latin-1 `é`, `\xff`).
fn latin1_factorial(good: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in good.split_inclusive('\n') {
        out.extend_from_slice(line.as_bytes());
        if line.starts_with("#include \"py/dynruntime.h\"") {
            out.extend_from_slice(b"// caf\xe9 cr\xe8me \xff\xfe\n");
            out.extend_from_slice(b"static const char latin1[] = \"na\xefve \xff\";\n");
            out.extend_from_slice(b"const char *latin1_name(void) { return latin1; }\n");
        }
    }
    out
}

#[test]
fn paths_and_c_text_that_are_not_utf8_build_and_are_named_exactly() {
    let name = OsStr::from_bytes(b"caf\xe9-\xff\xfe dir");
    let dir = factorial_at(&scratch(name));
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&c_file).unwrap();
    let latin1 = latin1_factorial(&good);
    std::fs::write(&c_file, &latin1).unwrap();

    let mut lsp = start(&dir, trusted());
    open_lossy(&mut lsp, &c_file);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    let mpy = dir.join("factorial_nm.mpy");
    let bytes = std::fs::read(&mpy).expect("the .mpy is written in the non-UTF-8 directory");
    assert_eq!(&bytes[..3], &[b'M', 6, 2 << 2 | 3], "x64 .mpy v6.3 header");
    assert_eq!(done["written"].as_str(), Some(&*mpy.to_string_lossy()));

    // An error after the Latin-1 lines is published for the file's exact URI, at its line.
    let mut broken = latin1.clone();
    let at = broken
        .windows(7)
        .position(|w| w == b"return ")
        .expect("a return");
    broken.splice(at..at, b"int unused; ".iter().copied());
    std::fs::write(&c_file, &broken).unwrap();
    let done = lsp.save_and_build(&c_file, &dir);
    assert_eq!(done["errors"], 1, "{done}");
    let diags = lsp.diagnostics_for(&c_file);
    let unused = diags
        .iter()
        .find(|d| message(d).contains("unused"))
        .unwrap_or_else(|| panic!("no error for {}: {:#?}", file_uri(&c_file), lsp.diagnostics));
    let line = broken[..at].iter().filter(|b| **b == b'\n').count();
    let column = at - broken[..at].iter().rposition(|b| *b == b'\n').unwrap() - 1 + 4;
    assert_eq!(
        (
            &unused["range"]["start"]["line"],
            &unused["range"]["start"]["character"]
        ),
        (&json!(line), &json!(column)),
        "{unused}"
    );
    still_answering(&mut lsp, &c_file);

    // A Latin-1 file that is not open is read from disk for the features.
    let other = dir.join("latin1.c");
    std::fs::write(&other, &latin1).unwrap();
    let symbols = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": file_uri(&other)}}),
    );
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{symbols}"))
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"factorial") && names.contains(&"latin1_name"),
        "{names:?}"
    );
    std::fs::remove_file(&other).unwrap();

    std::fs::write(&c_file, &latin1).unwrap();
    let done = lsp.save_and_build(&c_file, &dir);
    assert_eq!(done["errors"], 0, "{done}");
    lsp.wait_clean(&c_file);
    assert_eq!(lsp.shutdown(), Some(0));

    // `natmod-lsp check --format json` names the files lossily and does not fail on them.
    let check = Command::new(natmod_lsp())
        .arg("check")
        .arg(&dir)
        .args(["--format", "json", "--mpy-dir"])
        .arg(mpy_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&check.stdout)
        .unwrap_or_else(|e| panic!("check printed no JSON ({e}): {stderr}"));
    assert_eq!(report["written"].as_str(), Some(&*mpy.to_string_lossy()));

    // natmod-ld given an input object and an output path that are not UTF-8.
    let object = dir.join("build/factorial.o");
    assert!(object.is_file());
    let out = dir.join(OsStr::from_bytes(b"out-\xff.mpy"));
    let run = Command::new(natmod_ld())
        .args(["--arch", "x64"])
        .arg("-o")
        .arg(&out)
        .arg(&object)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "natmod-ld takes any path: {stderr}");
    assert_eq!(&std::fs::read(&out).unwrap()[..2], &[b'M', 6]);
    // Without -o the output is named after the first input, byte for byte.
    let odd_object = dir.join(OsStr::from_bytes(b"obj-\xfe.o"));
    std::fs::copy(&object, &odd_object).unwrap();
    let run = Command::new(natmod_ld())
        .args(["--arch", "x64"])
        .arg(&odd_object)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let default_out = dir.join(OsStr::from_bytes(b"obj-\xfe.mpy"));
    assert_eq!(&std::fs::read(&default_out).unwrap()[..2], &[b'M', 6]);
}

/// A stand-in for gcc in `tools`: when `tools/gate` exists it removes it, says it started
/// (`tools/started`) and waits (at most 60 s) until the source is gone, then runs gcc.
fn gated_gcc(tools: &Path, source: &str) {
    let _ = std::fs::remove_dir_all(tools);
    std::fs::create_dir_all(tools).unwrap();
    let t = tools.display();
    let script = format!(
        "#!/bin/sh\n\
         if [ -e '{t}/gate' ]; then\n\
         \x20 rm -f '{t}/gate'; touch '{t}/started'\n\
         \x20 n=0; while [ -e '{source}' ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done\n\
         fi\n\
         exec gcc \"$@\"\n"
    );
    let gcc = tools.join("gated-gcc");
    std::fs::write(&gcc, script).unwrap();
    let mut perm = std::fs::metadata(&gcc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&gcc, perm).unwrap();
}

/// Waits up to [`TIMEOUT`] for `path` to exist.
fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + TIMEOUT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear within {TIMEOUT:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_source_deleted_while_its_build_runs_is_reported_and_recovers() {
    let dir = project("deleted");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&c_file).unwrap();
    let tools = scratch("deleted.tools");
    gated_gcc(&tools, "factorial.c");
    let mut opts = trusted();
    opts["makeVariables"] = json!({"CROSS": format!("{}/gated-", tools.display())});
    let mut lsp = start(&dir, opts);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());

    // The compile starts, then the source goes.
    std::fs::write(tools.join("gate"), "").unwrap();
    let _ = std::fs::remove_file(tools.join("started"));
    lsp.write(&c_file, &good.replace("// n! for", "// n factorial for"));
    lsp.save(&c_file);
    wait_for_file(&tools.join("started"));
    std::fs::remove_file(&c_file).unwrap();
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 1, "{done}");
    assert_eq!(done["written"], Value::Null, "{done}");
    let diags = lsp.diagnostics_for(&c_file);
    let d = errors(&diags)
        .into_iter()
        .find(|d| message(d).contains("No such file"))
        .unwrap_or_else(|| panic!("no `No such file` error: {:#?}", lsp.diagnostics));
    assert!(message(d).contains("factorial.c"), "{d}");
    still_answering(&mut lsp, &c_file);

    // Restored and saved: a good build.
    lsp.write(&c_file, &good);
    good_build(&mut lsp, &dir, &c_file);
    lsp.wait_clean(&c_file);

    // Racing: deleted and restored around saves, with no waiting; the last state wins.
    for i in 0..30 {
        lsp.save(&c_file);
        std::fs::remove_file(&c_file).unwrap();
        if i % 3 == 0 {
            lsp.save(&c_file);
        }
        std::fs::write(&c_file, &good).unwrap();
    }
    good_build(&mut lsp, &dir, &c_file);
    lsp.wait_clean(&c_file);
    still_answering(&mut lsp, &c_file);
    assert_eq!(lsp.shutdown(), Some(0));
}
