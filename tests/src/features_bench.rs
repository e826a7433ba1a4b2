//! `natmod-bench lsp-features`: completion and hover latency of a real `natmod-lsp` process,
//! measured over the scripted client (request sent to response parsed) on a generated
//! btree-size natmod (14 C files, about 250 functions) after its first build.
//!
//! Prints p50 and p99 per request kind and over all completion and all hover requests; the
//! goal is p99 ≤ 5 ms for both.

use crate::lsp_client::{file_uri, LspClient};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files of the generated module.
pub const FILES: usize = 14;
/// Exported functions per file.
pub const FUNCS: usize = 9;

/// The shared header: every file's functions.
fn header() -> String {
    let mut s = String::from("#include \"py/dynruntime.h\"\n");
    for k in 0..FILES {
        s += &format!("extern mp_int_t state_{k}[16];\nvoid register_{k}(void);\n");
        for j in 0..FUNCS {
            s += &format!("mp_int_t f{k}_{j}(mp_int_t x);\n");
        }
    }
    s
}

/// Generated file `k`: functions calling into other files, Python wrappers, qstrs.
fn source(k: usize) -> String {
    let mut s = String::from("#include \"bench.h\"\n\n");
    s += &format!("mp_int_t state_{k}[16];\n\n");
    for j in 0..FUNCS {
        let (a, b) = ((k + 1) % FILES, (k + j + 3) % FILES);
        s += &format!(
            "// f{k}_{j}: mixes state and calls into other files.\n\
             mp_int_t f{k}_{j}(mp_int_t x) {{\n\
             \x20   x += state_{a}[{j}] + state_{k}[x & 15];\n\
             \x20   if (x > 1000) {{\n\
             \x20       x = f{a}_{c}(x >> 1) ^ f{b}_{e}(x - 3);\n\
             \x20   }}\n\
             \x20   state_{k}[{j}] += x;\n\
             \x20   return x;\n}}\n\n\
             static mp_obj_t py_f{k}_{j}(mp_obj_t x_in) {{\n\
             \x20   mp_int_t x = mp_obj_get_int(x_in);\n\
             \x20   if (x < 0) {{\n\
             \x20       mp_raise_ValueError(MP_ERROR_TEXT(\"negative\"));\n\
             \x20   }}\n\
             \x20   return mp_obj_new_int(f{k}_{j}(x));\n}}\n\
             static MP_DEFINE_CONST_FUN_OBJ_1(py_f{k}_{j}_obj, py_f{k}_{j});\n\n",
            c = (j + 1) % FUNCS,
            e = (j * 3 + 1) % FUNCS,
        );
    }
    s += &format!("void register_{k}(void) {{\n");
    for j in 0..FUNCS {
        s +=
            &format!("    mp_store_global(MP_QSTR_f{k}_{j}, MP_OBJ_FROM_PTR(&py_f{k}_{j}_obj));\n");
    }
    s += "}\n";
    if k == 0 {
        s += "\nmp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {\n\
              \x20   MP_DYNRUNTIME_INIT_ENTRY\n";
        for i in 0..FILES {
            s += &format!("    register_{i}();\n");
        }
        s += "    MP_DYNRUNTIME_INIT_EXIT\n}\n";
    }
    s
}

/// Writes the generated project (Makefile, header, sources) into `dir`.
pub fn write_project(dir: &Path, mpy_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let srcs: Vec<String> = (0..FILES).map(|k| format!("f{k}.c")).collect();
    std::fs::write(
        dir.join("Makefile"),
        format!(
            "MPY_DIR = {}\nMOD = benchmod\nSRC = {}\nARCH = x64\ninclude $(MPY_DIR)/py/dynruntime.mk\n",
            mpy_dir.display(),
            srcs.join(" ")
        ),
    )?;
    std::fs::write(dir.join("bench.h"), header())?;
    for (k, src) in srcs.iter().enumerate() {
        std::fs::write(dir.join(src), source(k))?;
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// (line, UTF-16 column) of the end of the first `needle` in `text` (plus `back` columns
/// back from its end).
fn pos(text: &str, needle: &str, back: usize) -> Option<(u32, u32)> {
    text.lines().enumerate().find_map(|(i, l)| {
        l.find(needle)
            .map(|c| (i as u32, (c + needle.len() - back) as u32))
    })
}

/// Runs the benchmark; `args` are what follows `lsp-features` on the command line.
pub fn run(args: &[String]) {
    let mut runs = 400usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => runs = n,
                None => return eprintln!("natmod-bench lsp-features: --runs needs a number"),
            },
            _ => return eprintln!("usage: natmod-bench lsp-features [--runs N]"),
        }
    }
    if cfg!(debug_assertions) {
        println!("(debug build: run with --release for meaningful numbers)");
    }
    let dir: PathBuf = crate::scratch_dir("features_bench", "project");
    let mpy = crate::mpy_dir();
    if let Err(e) = write_project(&dir, &mpy) {
        return eprintln!("cannot write {}: {e}", dir.display());
    }
    let mut lsp = LspClient::start(
        &crate::natmod_lsp(),
        &dir,
        json!({"trusted": true, "mpyDir": mpy.to_string_lossy(), "debounceMs": 20}),
    );
    let file = dir.join("f7.c");
    lsp.open(&file, "c");
    lsp.save(&file);
    let t = Instant::now();
    let done = lsp.wait_build(&dir);
    println!(
        "btree-size natmod: {FILES} files, {} functions; first build {} ({} errors)",
        FILES * FUNCS * 2 + FILES + 1,
        ms(t.elapsed()),
        done["errors"]
    );
    // An edited document: completions are asked on text that is not on disk.
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let typed = text.replacen(
        "    state_7[0] += x;\n",
        "    state_7[0] += x;\n    mp_obj_new_\n    mp_store_global(MP_QSTR_ap\n    mp_fun_table.nat\n    f3_\n",
        1,
    );
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": file_uri(&file), "version": 2},
               "contentChanges": [{"text": typed}]}),
    );
    type Case<'a> = (&'a str, &'a str, Option<(u32, u32)>);
    let cases: Vec<Case> = vec![
        (
            "completion",
            "api `mp_obj_new_`",
            pos(&typed, "    mp_obj_new_", 0),
        ),
        (
            "completion",
            "qstr `MP_QSTR_ap`",
            pos(&typed, "MP_QSTR_ap", 0),
        ),
        (
            "completion",
            "field `mp_fun_table.nat`",
            pos(&typed, "mp_fun_table.nat", 0),
        ),
        ("completion", "project `f3_`", pos(&typed, "    f3_", 0)),
        (
            "hover",
            "api mp_obj_new_int",
            pos(&typed, "mp_obj_new_int(f7", 4),
        ),
        ("hover", "project f8_1", pos(&typed, "f8_1(", 2)),
        ("hover", "qstr MP_QSTR_f7_0", pos(&typed, "MP_QSTR_f7_0", 2)),
        (
            "hover",
            "call mp_raise_ValueError",
            pos(&typed, "mp_raise_ValueError", 3),
        ),
    ];
    let mut all: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    println!(
        "{:<12} {:<28} {:>10} {:>10} {:>7}",
        "request", "case", "p50", "p99", "items"
    );
    for (kind, label, at) in cases {
        let Some((line, character)) = at else {
            println!("{kind:<12} {label:<28} (position not found)");
            continue;
        };
        let method = format!("textDocument/{kind}");
        let params = json!({"textDocument": {"uri": file_uri(&file)},
                            "position": {"line": line, "character": character}});
        let mut last = Value::Null;
        for _ in 0..runs / 10 + 1 {
            last = lsp.request(&method, params.clone());
        }
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let r = lsp.request(&method, params.clone());
                let d = t.elapsed();
                last = r;
                d
            })
            .collect();
        times.sort();
        let items = last["result"]["items"]
            .as_array()
            .map(|a| a.len().to_string())
            .unwrap_or_else(|| {
                if last["result"].is_null() {
                    "none".into()
                } else {
                    "-".into()
                }
            });
        println!(
            "{kind:<12} {label:<28} {:>10} {:>10} {items:>7}",
            ms(percentile(&times, 50)),
            ms(percentile(&times, 99))
        );
        all.entry(kind).or_default().extend(times);
    }
    for (kind, mut times) in all {
        times.sort();
        let p99 = percentile(&times, 99);
        println!(
            "{kind}: p50 {} p99 {} over {} requests (goal p99 <= 5 ms: {})",
            ms(percentile(&times, 50)),
            ms(p99),
            times.len(),
            if p99 <= Duration::from_millis(5) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    let _ = lsp.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
