//! The `portabilityArchs` setting in the real server: after a save that builds on x64, the
//! module is built for armv6m and xtensawin in the background; what fails there arrives as
//! warnings at the C lines, the LINK_RUNTIME code action fixes armv6m, and a missing
//! toolchain is one information diagnostic naming its Debian package.
//!
//! Needs (scripts/provision.sh): make, gcc, gcc-arm-none-eabi, gcc-xtensa-lx106 and the
//! newest MicroPython tree.

use natmod_tests::lsp_client::{file_uri, LspClient};
use natmod_tests::lsp_scenario::edited;
use natmod_tests::{copy_module, mpy_dir_newest, natmod_lsp, require_tool, scratch_dir};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn options() -> Value {
    json!({
        "trusted": true,
        "mpyDir": mpy_dir_newest(),
        "debounceMs": 0,
        "portabilityArchs": ["armv6m", "xtensawin"],
        "archMakeVariables": {"xtensawin": {"CROSS": "xtensa-lx106-elf-"}},
    })
}

/// Waits for the background builds of the newest save.
fn wait_portability(lsp: &mut LspClient) -> Value {
    lsp.wait_for(
        "natmod/portabilityFinished",
        Duration::from_secs(120),
        |m| m["method"] == "natmod/portabilityFinished",
    )
}

fn warnings_with<'a>(diags: &'a [Value], needle: &str) -> Vec<&'a Value> {
    diags
        .iter()
        .filter(|d| d["severity"] == 2 && d["message"].as_str().unwrap_or("").contains(needle))
        .collect()
}

fn line_of(path: &Path, marker: &str, nth: usize) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker))
        .nth(nth)
        .map(|(i, _)| i as u64)
        .unwrap()
}

#[test]
fn portability_archs_warn_at_the_c_line_and_link_runtime_fixes_armv6m() {
    for (tool, pkg) in [
        ("make", "make"),
        ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
        ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
        ("xtensa-lx106-elf-gcc", "gcc-xtensa-lx106"),
    ] {
        require_tool(tool, pkg);
    }
    let dir = scratch_dir("lsp_portability", "fixture");
    copy_module("tests/fixtures/portability", &dir);
    let c_file = dir.join("portability.c");
    let makefile = dir.join("Makefile");
    let mut lsp = LspClient::start(&natmod_lsp(), &dir, options());
    lsp.open(&c_file, "c");
    let done = lsp.save_and_build(&c_file, &dir);
    assert_eq!(done["errors"], 0, "x64 links: {done}");
    let finished = wait_portability(&mut lsp);
    assert_eq!(
        finished["params"]["arches"],
        json!([{"arch": "armv6m", "status": "failed"}, {"arch": "xtensawin", "status": "failed"}]),
        "{finished}"
    );
    let diags = lsp.diagnostics_for(&c_file);
    let div = line_of(&c_file, "// PORTABILITY", 0);
    let float = line_of(&c_file, "// PORTABILITY", 1);
    let at = |needle: &str, line: u64| {
        warnings_with(&diags, needle)
            .iter()
            .any(|d| d["range"]["start"]["line"] == line)
    };
    assert!(
        at(
            "does not link for armv6m: undefined symbol `__aeabi_ldivmod`",
            div
        ),
        "{diags:#?}"
    );
    assert!(
        at(
            "does not link for armv6m: undefined symbol `__aeabi_fmul`",
            float
        ),
        "{diags:#?}"
    );
    assert!(
        diags.iter().all(|d| d["severity"] != 1),
        "portability problems are warnings, not errors: {diags:#?}"
    );
    // xtensawin's helpers are named (the linker places Xtensa's literal-pool calls on the
    // Makefile when it cannot find the C line).
    let mut xtensawin = warnings_with(&diags, "does not link for xtensawin");
    let on_makefile = lsp.diagnostics_for(&makefile);
    xtensawin.extend(warnings_with(&on_makefile, "does not link for xtensawin"));
    let text = format!("{xtensawin:?}");
    assert!(
        text.contains("__divdi3") && text.contains("__mulsf3"),
        "{text}"
    );

    // The armv6m warning carries the main build's fix.
    let warning = warnings_with(&diags, "__aeabi_ldivmod")[0].clone();
    let action = lsp.code_action(&c_file, &warning, "LINK_RUNTIME");
    let edit = &action["edit"]["changes"][file_uri(&makefile)][0];
    assert_eq!(edit["newText"], "LINK_RUNTIME = 1\n", "{action}");
    lsp.write(&makefile, &edited(&makefile, &action));
    let done = lsp.save_and_build(&makefile, &dir);
    assert_eq!(done["errors"], 0, "{done}");
    let finished = wait_portability(&mut lsp);
    assert_eq!(
        finished["params"]["arches"][0],
        json!({"arch": "armv6m", "status": "ok"})
    );
    let diags = lsp.diagnostics_for(&c_file);
    assert!(
        warnings_with(&diags, "for armv6m").is_empty(),
        "LINK_RUNTIME = 1 fixed armv6m: {diags:#?}"
    );
    assert_eq!(lsp.shutdown(), Some(0));
}
