//! natmod-lsp with `--gc-sections` in MPY_LD_FLAGS (examples/gcdemo): the in-process link
//! drops what `mpy_init` does not reach (the `.mpy` it writes equals natmod-ld's), hovers say
//! "kept: mpy_init → …" or "removed: unreachable", the size lens marks removed functions, and
//! the hover on `mpy_init` gives the module's size and its largest symbols.
//!
//! Needs `make`, `gcc` and the MicroPython v1.23 tree (scripts/provision.sh).

use natmod_tests::lsp_client::{file_uri, LspClient};
use natmod_tests::{copy_module, mpy_dir, natmod_lsp, require_tool, scratch_dir};
use serde_json::{json, Value};
use std::path::Path;

fn pos_of(text: &str, needle: &str) -> (u32, u32) {
    for (i, l) in text.lines().enumerate() {
        if let Some(c) = l.find(needle) {
            return (i as u32, c as u32 + 1);
        }
    }
    panic!("no {needle:?} in the text");
}

fn hover(lsp: &mut LspClient, path: &Path, needle: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let (line, character) = pos_of(&text, needle);
    let r = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": file_uri(path)},
               "position": {"line": line, "character": character}}),
    );
    r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no hover on {needle}: {r}"))
        .to_string()
}

fn lens_title(lsp: &mut LspClient, path: &Path, needle: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let (line, _) = pos_of(&text, needle);
    let r = lsp.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": file_uri(path)}}),
    );
    let lenses: &Vec<Value> = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    lenses
        .iter()
        .find(|l| l["range"]["start"]["line"] == line)
        .and_then(|l| l["command"]["title"].as_str())
        .unwrap_or_else(|| panic!("no lens on {needle}: {r}"))
        .to_string()
}

#[test]
fn gc_sections_in_mpy_ld_flags_drives_link_hover_and_lens() {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
    let dir = scratch_dir("lsp_gc", "gcdemo");
    copy_module("examples/gcdemo", &dir);
    // The Makefile turns gc on when MPY_LD names natmod-ld; the server links in process.
    let mut lsp = LspClient::start(
        &natmod_lsp(),
        &dir,
        json!({"trusted": true, "mpyDir": mpy_dir().to_string_lossy(), "debounceMs": 20,
               "makeVariables": {"MPY_LD": "natmod-ld"}}),
    );
    let main = dir.join("gcdemo.c");
    let table = dir.join("table.c");
    lsp.open(&main, "c");
    lsp.open(&table, "c");
    lsp.save(&main);
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}\n{}", lsp.transcript());

    let kept = hover(&mut lsp, &table, "weighted_sum(");
    assert!(
        kept.contains("kept: mpy_init → checksum_obj → checksum → weighted_sum"),
        "{kept}"
    );
    let removed = hover(&mut lsp, &table, "unused_crc(");
    assert!(removed.contains("removed: unreachable"), "{removed}");
    let lens = lens_title(&mut lsp, &table, "unused_crc(");
    assert!(lens.starts_with("removed: unreachable"), "{lens}");
    let lens = lens_title(&mut lsp, &table, "weighted_sum(");
    assert!(
        lens.ends_with("bytes (.text.weighted_sum) in the .mpy"),
        "{lens}"
    );

    let init = hover(&mut lsp, &main, "mpy_init(");
    let written = std::fs::metadata(dir.join("gcdemo_nm.mpy")).unwrap().len();
    assert!(
        init.contains(&format!("module: {written} bytes")),
        "the mpy_init hover does not give the written module's size ({written}):\n{init}"
    );
    assert!(
        init.contains("largest symbols:") && init.contains("`checksum`"),
        "{init}"
    );
    assert!(init.contains("--gc-sections removed 3 sections"), "{init}");
    assert_eq!(lsp.shutdown(), Some(0));
}
