//! The `natmod-lsp` server under load, over stdio with the scripted client: none of these may
//! deadlock or crash it, and each ends in a state the test checks against the files.
//!
//! - 500 natmod projects (and a symlink loop) in one workspace: a fast start, bounded memory,
//!   and only the project a file is opened in builds.
//! - 1000 didChange+didSave pairs across two files of one project: debounced into a few
//!   builds, the final diagnostics match the final files, nothing stale afterwards, and hovers
//!   answered meanwhile.
//! - Interleaved incremental edits (random ranges, non-ASCII text) to five files of three
//!   projects, with saves and pipelined completions and hovers: every request answered, the
//!   server's documents equal the client's, and each project's build matches its files.
//! - A client that never answers `window/workDoneProgress/create`: builds still publish,
//!   hovers are answered at once, the server stops asking, and shuts down cleanly.
//!
//! Needs `make`, `gcc` and the MicroPython v1.23 tree (scripts/provision.sh). Timing bounds
//! are generous (a loaded 2-core machine); the measured figures are printed
//! (`cargo test --release -p natmod-tests --test lsp_load -- --nocapture`).

use natmod_tests::lsp_client::{file_uri, LspClient, TIMEOUT};
use natmod_tests::lsp_scenario::{errors, line_of, message, trusted_options};
use natmod_tests::rng::Rng;
use natmod_tests::{copy_module, mpy_dir, natmod_lsp, repo_root, require_tool, scratch_dir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fresh scratch directory for `test`.
fn scratch(test: &str) -> PathBuf {
    scratch_dir("lsp_load", test)
}

fn tools() {
    require_tool("make", "make");
    require_tool("gcc", "gcc");
}

fn start(root: &Path) -> LspClient {
    tools();
    LspClient::start(&natmod_lsp(), root, trusted_options(&mpy_dir(), 20))
}

/// A `/proc/<pid>/status` figure in kB (`VmRSS`, `VmHWM`).
fn proc_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status:\n{status}"))
}

/// The projects `natmod/buildStatus` lists.
fn projects(lsp: &mut LspClient) -> Vec<Value> {
    let status = lsp.request("natmod/buildStatus", Value::Null);
    status["result"]["projects"]
        .as_array()
        .unwrap_or_else(|| panic!("no projects in {status}"))
        .clone()
}

/// The `natmod/buildFinished` notifications in `lsp.log[from..]`, with their project URIs.
fn builds_since(lsp: &LspClient, from: usize) -> Vec<Value> {
    lsp.log[from..]
        .iter()
        .filter(|m| m["method"] == "natmod/buildFinished")
        .map(|m| m["params"].clone())
        .collect()
}

/// The error diagnostics of `path` as (line, message).
fn error_lines(lsp: &LspClient, path: &Path) -> Vec<(u64, String)> {
    errors(&lsp.diagnostics_for(path))
        .into_iter()
        .map(|d| {
            let line = d["range"]["start"]["line"].as_u64().unwrap();
            (line, message(d).to_string())
        })
        .collect()
}

/// A `textDocument/position` parameter.
fn at(path: &Path, line: u64, character: u64) -> Value {
    json!({"textDocument": {"uri": file_uri(path)},
           "position": {"line": line, "character": character}})
}

/// The answer to a hover (asserting it is no error) and how long it took.
fn timed_hover(lsp: &mut LspClient, path: &Path, line: u64, character: u64) -> Duration {
    let t = Instant::now();
    let r = lsp.request("textDocument/hover", at(path, line, character));
    let took = t.elapsed();
    assert!(
        r.get("error").is_none() && r.get("result").is_some(),
        "hover failed: {r}"
    );
    took
}

#[test]
fn five_hundred_projects_start_fast_and_only_the_opened_one_builds() {
    const N: usize = 500;
    let root = scratch("many");
    let src = repo_root().join("examples/factorial");
    let makefile = std::fs::read_to_string(src.join("Makefile")).unwrap();
    let c_text = std::fs::read_to_string(src.join("factorial.c")).unwrap();
    assert!(makefile.contains("MOD = factorial_nm\n"), "update the test");
    let dirs: Vec<PathBuf> = (0..N)
        .map(|i| {
            let dir = root
                .join(format!("group{}", i / 100))
                .join(format!("team{}", i / 10 % 10))
                .join(format!("proj{i:03}"));
            std::fs::create_dir_all(&dir).unwrap();
            let mf = makefile.replace("MOD = factorial_nm\n", &format!("MOD = load{i:03}\n"));
            std::fs::write(dir.join("Makefile"), mf).unwrap();
            std::fs::write(dir.join("factorial.c"), &c_text).unwrap();
            dir
        })
        .collect();
    // What discovery must not count or loop in: symlink loops, and natmod Makefiles under
    // node_modules, build and hidden directories.
    std::os::unix::fs::symlink(&root, root.join("group0/loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("group1/team0/up")).unwrap();
    std::os::unix::fs::symlink(".", dirs[7].join("self")).unwrap();
    for d in ["node_modules/pkg", "group2/build/gen", ".git/modules/x"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("Makefile"), &makefile).unwrap();
    }

    let t = Instant::now();
    let mut lsp = start(&root);
    let init = t.elapsed();
    // `initialized` runs discovery; poll the status until it lists every project.
    let listed = loop {
        let ps = projects(&mut lsp);
        if ps.len() >= N || t.elapsed() > TIMEOUT {
            break ps;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let discovered = t.elapsed();
    let pid = lsp.pid();
    let (rss, hwm) = (proc_kb(pid, "VmRSS"), proc_kb(pid, "VmHWM"));
    println!(
        "{N} projects: initialize answered in {init:?}, all listed after {discovered:?}; \
         server VmRSS {} MB, VmHWM {} MB",
        rss / 1024,
        hwm / 1024
    );
    let mut got: Vec<PathBuf> = listed
        .iter()
        .map(|p| PathBuf::from(p["makefile"].as_str().unwrap()))
        .collect();
    got.sort();
    let mut want: Vec<PathBuf> = dirs.iter().map(|d| d.join("Makefile")).collect();
    want.sort();
    assert_eq!(got, want, "buildStatus lists exactly the {N} projects");
    assert!(
        listed.iter().all(|p| p["generation"] == 0),
        "nothing is built at start"
    );
    assert!(init < Duration::from_secs(5), "initialize took {init:?}");
    assert!(
        discovered < Duration::from_secs(10),
        "discovery took {discovered:?}"
    );
    assert!(hwm < 300 * 1024, "server peak memory {hwm} kB");

    // Open one project's file, broken: only it builds, and its diagnostics arrive promptly.
    let dir = &dirs[137];
    let c_file = dir.join("factorial.c");
    let bad = c_text.replacen(
        "    mp_obj_t product = mp_obj_new_int(1);",
        "    extern void load_missing(void);\n    load_missing();\n    \
         mp_obj_t product = mp_obj_new_int(1);",
        1,
    );
    assert_ne!(bad, c_text, "update the test");
    std::fs::write(&c_file, &bad).unwrap();
    let mark = lsp.log.len();
    let t = Instant::now();
    lsp.open(&c_file, "c");
    lsp.save(&c_file);
    let want_line = line_of(&bad, "load_missing();");
    lsp.wait_diagnostics(&c_file, "the undefined load_missing", |ds| {
        errors(ds).iter().any(|d| {
            d["range"]["start"]["line"] == want_line && message(d).contains("load_missing")
        })
    });
    let first_diags = t.elapsed();
    let done = lsp.wait_build(dir);
    let built = t.elapsed();
    assert_eq!(done["errors"], 1, "{done}");
    let hover = timed_hover(&mut lsp, &c_file, line_of(&bad, "mp_obj_get_int"), 20);
    let (rss, hwm) = (proc_kb(pid, "VmRSS"), proc_kb(pid, "VmHWM"));
    println!(
        "open+save of one project: diagnostics after {first_diags:?}, its last build after \
         {built:?} ({} ms in the build), hover {hover:?}; VmRSS {} MB, VmHWM {} MB",
        done["elapsedMs"],
        rss / 1024,
        hwm / 1024
    );
    assert!(
        first_diags < Duration::from_secs(30),
        "diagnostics took {first_diags:?}"
    );
    assert!(hover < Duration::from_secs(5), "hover took {hover:?}");
    assert!(hwm < 300 * 1024, "server peak memory {hwm} kB");
    let project = file_uri(dir);
    let others: Vec<Value> = builds_since(&lsp, mark)
        .into_iter()
        .filter(|b| b["project"].as_str() != Some(&project))
        .collect();
    assert!(others.is_empty(), "other projects built: {others:?}");
    let status = projects(&mut lsp);
    assert_eq!(status.len(), N);
    let requested: Vec<&Value> = status.iter().filter(|p| p["generation"] != 0).collect();
    assert_eq!(
        requested.len(),
        1,
        "only the opened project has builds: {requested:?}"
    );
    assert_eq!(
        requested[0]["makefile"].as_str(),
        Some(&*dir.join("Makefile").to_string_lossy())
    );
    let ran: Vec<&PathBuf> = dirs.iter().filter(|d| d.join("build").exists()).collect();
    assert_eq!(ran, vec![dir], "only the opened project ran make/gcc");
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}

/// `text` with a revision comment, and when `missing` is set a function calling the undefined
/// `missing` (a link error on that call's line).
fn revision(text: &str, rev: usize, missing: Option<&str>) -> String {
    let mut t = format!("{text}// revision {rev}\n");
    if let Some(f) = missing {
        t.push_str(&format!(
            "mp_int_t {f}(void);\nmp_int_t {f}_caller(void) {{\n    return {f}();\n}}\n"
        ));
    }
    t
}

#[test]
fn a_thousand_saves_across_two_files_end_in_one_consistent_build() {
    let dir = scratch("thousand");
    copy_module("examples/multifile", &dir);
    let ops = dir.join("ops.c");
    let state = dir.join("state.c");
    let ops_text = std::fs::read_to_string(&ops).unwrap();
    let state_text = std::fs::read_to_string(&state).unwrap();
    let mut lsp = start(&dir);
    lsp.open(&ops, "c");
    lsp.open(&state, "c");
    let done = lsp.wait_build(&dir);
    assert_eq!(done["errors"], 0, "{done}");
    let hover_line = line_of(&ops_text, "static mp_int_t op_add");
    let mark = lsp.log.len();

    // Pair i edits ops.c (even i) or state.c (odd i); ops.c is broken when i % 4 == 2,
    // state.c when i % 4 == 1. The last pairs leave ops.c broken (998) and state.c good (999).
    const SAVES: usize = 1000;
    let mut hovers = Vec::new();
    let t = Instant::now();
    let (mut final_ops, mut final_state) = (String::new(), String::new());
    for i in 0..SAVES {
        if i % 2 == 0 {
            final_ops = revision(&ops_text, i, (i % 4 == 2).then_some("ops_missing"));
            lsp.write(&ops, &final_ops);
            lsp.save(&ops);
        } else {
            final_state = revision(&state_text, i, (i % 4 == 1).then_some("state_missing"));
            lsp.write(&state, &final_state);
            lsp.save(&state);
        }
        if i % 250 == 125 {
            hovers.push(timed_hover(&mut lsp, &ops, hover_line, 17));
        }
    }
    let last_save = Instant::now();
    let sending = last_save - t;
    let done = lsp.wait_build(&dir);
    let settled = last_save.elapsed();
    let hover_after = timed_hover(&mut lsp, &ops, hover_line, 17);
    let published = builds_since(&lsp, mark).len();
    println!(
        "{SAVES} didChange+didSave pairs sent in {sending:?}; last save to final \
         buildFinished {settled:?} ({} ms in that build); {published} builds published; \
         hovers during the burst {hovers:?}, after {hover_after:?}",
        done["elapsedMs"]
    );
    let slowest = hovers.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(10),
        "a hover during the burst took {slowest:?}"
    );
    assert!(
        hover_after < Duration::from_secs(5),
        "hover after: {hover_after:?}"
    );
    assert!(
        published <= 20,
        "{SAVES} saves were not debounced: {published} builds published"
    );
    assert!(
        settled < Duration::from_secs(30),
        "the final build took {settled:?} after the last save"
    );

    // The final build matches the final files: one link error, at ops.c's call.
    assert_eq!(done["errors"], 1, "{done}\n{}", lsp.transcript());
    let want = line_of(&final_ops, "return ops_missing();");
    let final_errors = |lsp: &LspClient| (error_lines(lsp, &ops), error_lines(lsp, &state));
    let (ops_errors, state_errors) = final_errors(&lsp);
    assert!(
        ops_errors.len() == 1 && ops_errors[0].0 == want && ops_errors[0].1.contains("ops_missing"),
        "ops.c: want the ops_missing error at line {want}: {ops_errors:?}"
    );
    assert!(state_errors.is_empty(), "state.c: {state_errors:?}");
    assert!(
        final_state.ends_with("// revision 999\n"),
        "the test ends on a good state.c"
    );
    let module_errors = error_lines(&lsp, &dir.join("module.c"));
    assert!(module_errors.is_empty(), "module.c: {module_errors:?}");

    // Nothing stale afterwards: no later build, and any republication (typing-time checks)
    // carries the same errors.
    let mark = lsp.log.len();
    lsp.try_wait_for(Duration::from_millis(500), |_| false);
    let late = builds_since(&lsp, mark);
    assert!(
        late.is_empty(),
        "a build published after the newest: {late:?}"
    );
    assert_eq!(
        final_errors(&lsp),
        (ops_errors, state_errors),
        "diagnostics changed after the final build"
    );

    // The server's documents are the final texts: ops.c defines the caller, state.c not.
    let names = |lsp: &mut LspClient, p: &Path| -> Vec<String> {
        let r = lsp.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": file_uri(p)}}),
        );
        r["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names(&mut lsp, &ops).contains(&"ops_missing_caller".to_string()));
    assert!(!names(&mut lsp, &state).contains(&"state_missing_caller".to_string()));
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}

/// Up to `max` characters of comment-safe text (no `*` or `/`), some outside the BMP.
fn random_text(rng: &mut Rng, max: usize, newlines: bool) -> String {
    const CHARS: &[char] = &['a', 'z', 'Q', '_', '0', ' ', ';', '{', 'é', '€', '😀', '\n'];
    let n = rng.below(max + 1);
    (0..n)
        .map(|_| CHARS[rng.below(CHARS.len() - usize::from(!newlines))])
        .collect()
}

/// The LSP position (line, UTF-16 column) of byte offset `at` of `text`.
fn lsp_pos(text: &str, at: usize) -> Value {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    json!({"line": before.matches('\n').count(),
           "character": before[line_start..].encode_utf16().count()})
}

/// The byte offset of an LSP position in `text`.
fn offset_of(text: &str, pos: &Value) -> usize {
    let (line, col) = (
        pos["line"].as_u64().unwrap() as usize,
        pos["character"].as_u64().unwrap() as usize,
    );
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= col || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16();
    }
    text.len()
}

const SCRATCH: &str = "/* scratch:\n";

/// An open document as the client holds it.
struct Doc {
    path: PathBuf,
    text: String,
    version: i32,
    /// The (name, kind) of its symbols, as first reported.
    symbols: Vec<(String, u64)>,
}

impl Doc {
    /// Sends an incremental change replacing bytes `a..b` with `new`, and applies it here.
    fn change(&mut self, lsp: &mut LspClient, a: usize, b: usize, new: &str) {
        let range = json!({"start": lsp_pos(&self.text, a), "end": lsp_pos(&self.text, b)});
        self.version += 1;
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": file_uri(&self.path), "version": self.version},
                   "contentChanges": [{"range": range, "text": new}]}),
        );
        self.text.replace_range(a..b, new);
    }

    /// The body of the scratch comment (byte range).
    fn scratch_body(&self) -> (usize, usize) {
        let a = self.text.find(SCRATCH).unwrap() + SCRATCH.len();
        (a, a + self.text[a..].find("*/").unwrap())
    }

    /// Byte offsets of the starts of the lines after the scratch comment.
    fn code_line_starts(&self) -> Vec<usize> {
        let (_, end) = self.scratch_body();
        let from = end + self.text[end..].find('\n').unwrap() + 1;
        std::iter::once(from)
            .chain(
                self.text[from..]
                    .match_indices('\n')
                    .map(|(i, _)| from + i + 1),
            )
            .filter(|&i| i < self.text.len())
            .collect()
    }

    /// One random edit that keeps the C the same program: text replaced inside the scratch
    /// comment, a `/* ... */` put before a line or taken away again, or a blank line added.
    fn random_edit(&mut self, lsp: &mut LspClient, rng: &mut Rng) {
        match rng.below(10) {
            0..=4 => {
                let (a, b) = self.scratch_body();
                let bounds: Vec<usize> =
                    (a..=b).filter(|&i| self.text.is_char_boundary(i)).collect();
                let (x, y) = (
                    bounds[rng.below(bounds.len())],
                    bounds[rng.below(bounds.len())],
                );
                let new = random_text(rng, 12, true);
                self.change(lsp, x.min(y), x.max(y), &new);
            }
            5..=6 => {
                let starts = self.code_line_starts();
                let at = starts[rng.below(starts.len())];
                let new = format!("/*{}*/ ", random_text(rng, 6, false));
                self.change(lsp, at, at, &new);
            }
            7..=8 => {
                let starts = self.code_line_starts();
                let inserted: Vec<(usize, usize)> = starts
                    .iter()
                    .filter(|&&s| self.text[s..].starts_with("/*"))
                    .map(|&s| (s, s + self.text[s..].find("*/ ").unwrap() + 3))
                    .collect();
                if let Some(&(a, b)) = inserted.get(rng.below(inserted.len())) {
                    self.change(lsp, a, b, "");
                }
            }
            _ => {
                let starts = self.code_line_starts();
                let at = starts[rng.below(starts.len())];
                self.change(lsp, at, at, "\n");
            }
        }
    }

    /// The (name, kind, text at its selection range) of each document symbol the server
    /// reports now.
    fn server_symbols(&self, lsp: &mut LspClient) -> Vec<(String, u64, String)> {
        let r = lsp.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": file_uri(&self.path)}}),
        );
        r["result"]
            .as_array()
            .unwrap_or_else(|| panic!("documentSymbol of {}: {r}", self.path.display()))
            .iter()
            .map(|s| {
                let sel = &s["selectionRange"];
                let a = offset_of(&self.text, &sel["start"]);
                let b = offset_of(&self.text, &sel["end"]).max(a);
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["kind"].as_u64().unwrap(),
                    self.text[a..b].to_string(),
                )
            })
            .collect()
    }

    /// Asserts the server's symbols are the first ones and each sits, in the client's text,
    /// exactly where the server says: the server's document is the client's.
    fn check_in_step(&self, lsp: &mut LspClient, when: &str) {
        let got = self.server_symbols(lsp);
        let names: Vec<(String, u64)> = got.iter().map(|(n, k, _)| (n.clone(), *k)).collect();
        assert_eq!(
            names,
            self.symbols,
            "{when}: the symbols of {} changed",
            self.path.display()
        );
        for (name, _, there) in &got {
            assert_eq!(
                there,
                name,
                "{when}: the server's {} differs from the client's (version {}):\n{}",
                self.path.display(),
                self.version,
                self.text
            );
        }
    }
}

#[test]
fn interleaved_edits_to_three_projects_keep_documents_and_builds_in_step() {
    let root = scratch("interleaved");
    let (p1, p2, p3) = (root.join("one"), root.join("two"), root.join("three"));
    copy_module("examples/factorial", &p1);
    copy_module("examples/factorial", &p2);
    copy_module("examples/multifile", &p3);
    let files = [
        p1.join("factorial.c"),
        p2.join("factorial.c"),
        p3.join("module.c"),
        p3.join("ops.c"),
        p3.join("state.c"),
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        std::fs::write(f, format!("{SCRATCH}start\n*/\n{text}")).unwrap();
    }
    let seed = std::env::var("NATMOD_LOAD_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    println!("seed {seed} (set NATMOD_LOAD_SEED to replay another)");
    let mut rng = Rng::new(seed);
    let mut lsp = start(&root);
    let mut docs: Vec<Doc> = files
        .iter()
        .map(|f| {
            lsp.open(f, "c");
            Doc {
                path: f.clone(),
                text: std::fs::read_to_string(f).unwrap(),
                version: 1,
                symbols: Vec::new(),
            }
        })
        .collect();
    for d in &mut docs {
        d.symbols = d
            .server_symbols(&mut lsp)
            .into_iter()
            .map(|(n, k, _)| (n, k))
            .collect();
        assert!(
            d.symbols.iter().any(|(_, k)| *k == 12),
            "no functions in {}: {:?}",
            d.path.display(),
            d.symbols
        );
        d.check_in_step(&mut lsp, "after open");
    }

    const STEPS: usize = 600;
    let t = Instant::now();
    let (mut pending, mut saves, mut checks) = (Vec::new(), 0, 0);
    for step in 0..STEPS {
        let d = &mut docs[rng.below(files.len())];
        d.random_edit(&mut lsp, &mut rng);
        match rng.below(12) {
            0 | 1 => {
                let d = &docs[rng.below(files.len())];
                std::fs::write(&d.path, &d.text).unwrap();
                lsp.save(&d.path);
                saves += 1;
            }
            2..=5 => {
                let d = &docs[rng.below(files.len())];
                let lines: Vec<&str> = d.text.split('\n').collect();
                let line = rng.below(lines.len());
                let col = rng.below(lines[line].encode_utf16().count() + 1);
                let method = ["textDocument/completion", "textDocument/hover"][rng.below(2)];
                let id = lsp.send_request(method, at(&d.path, line as u64, col as u64));
                pending.push((id, method));
            }
            _ => {}
        }
        if step % 50 == 49 {
            let d = &docs[rng.below(files.len())];
            d.check_in_step(&mut lsp, &format!("step {step}"));
            checks += 1;
        }
    }
    for (id, method) in &pending {
        let r = lsp.wait_for(&format!("response to {method} #{id}"), TIMEOUT, |m| {
            m.get("method").is_none() && m["id"] == *id
        });
        assert!(
            r.get("error").is_none() && r.get("result").is_some(),
            "{method} #{id}: {r}"
        );
    }
    let answered = t.elapsed();
    for d in &docs {
        d.check_in_step(&mut lsp, "after the edits");
    }

    // Known final states: one stays good; two gets an undefined call (a link error), three
    // an unused variable in state.c (a -Werror compile error).
    let insert_before = |d: &mut Doc, lsp: &mut LspClient, needle: &str, new: &str| {
        let at = d.text.find(needle).unwrap();
        let at = d.text[..at].rfind('\n').unwrap() + 1;
        d.change(lsp, at, at, new);
    };
    insert_before(
        &mut docs[1],
        &mut lsp,
        "mp_obj_t product = mp_obj_new_int(1);",
        "    extern void two_missing(void);\n    two_missing();\n",
    );
    insert_before(
        &mut docs[4],
        &mut lsp,
        "history_count = 0;",
        "    int unused_three;\n",
    );
    for d in &docs {
        std::fs::write(&d.path, &d.text).unwrap();
        lsp.save(&d.path);
    }
    let built: Vec<Value> = [&p1, &p2, &p3].iter().map(|p| lsp.wait_build(p)).collect();
    println!(
        "{STEPS} edits, {saves} saves, {} pipelined completions/hovers all answered and {checks} \
         document checks in {answered:?}; final builds: {:?} errors",
        pending.len(),
        built.iter().map(|b| &b["errors"]).collect::<Vec<_>>()
    );
    for d in &docs {
        d.check_in_step(&mut lsp, "at the end");
    }
    assert_eq!(built[0]["errors"], 0, "{}", built[0]);
    assert_eq!(error_lines(&lsp, &files[0]), vec![], "project one");
    let two = error_lines(&lsp, &files[1]);
    let want = line_of(&docs[1].text, "two_missing();");
    assert!(
        two.len() == 1 && two[0].0 == want && two[0].1.contains("two_missing"),
        "project two: want the two_missing error at line {want}: {two:?}"
    );
    let three = error_lines(&lsp, &files[4]);
    let want = line_of(&docs[4].text, "int unused_three;");
    assert!(
        !three.is_empty()
            && three
                .iter()
                .all(|(l, m)| *l == want && m.contains("unused")),
        "project three: want the unused variable at state.c line {want}: {three:?}"
    );
    for f in &files[2..4] {
        assert_eq!(error_lines(&lsp, f), vec![], "{}", f.display());
    }
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}

#[test]
fn a_client_that_never_answers_server_requests_still_gets_builds() {
    tools();
    let dir = scratch("unanswering");
    copy_module("examples/factorial", &dir);
    let c_file = dir.join("factorial.c");
    let text = std::fs::read_to_string(&c_file).unwrap();
    let hover_line = line_of(&text, "mp_obj_get_int");
    let mut lsp =
        LspClient::start_unanswering(&natmod_lsp(), &dir, trusted_options(&mpy_dir(), 20));
    let t = Instant::now();
    lsp.open(&c_file, "c");
    let is_create =
        |m: &Value| m["method"] == "window/workDoneProgress/create" && m.get("id").is_some();
    lsp.wait_for("window/workDoneProgress/create", TIMEOUT, is_create);
    // The server is waiting for an answer that never comes; it still answers at once.
    let hover = timed_hover(&mut lsp, &c_file, hover_line, 20);
    let first = lsp.wait_build(&dir);
    let first_took = t.elapsed();
    lsp.wait_for("the progress-off log message", TIMEOUT, |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("workDoneProgress/create")
    });
    let mut later = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        lsp.write(&c_file, &format!("{text}// save {i}\n"));
        let done = lsp.save_and_build(&c_file, &dir);
        let took = t.elapsed();
        let in_build = Duration::from_secs_f64(done["elapsedMs"].as_f64().unwrap() / 1000.0);
        later.push((took, in_build));
    }
    let hover_after = timed_hover(&mut lsp, &c_file, hover_line, 20);
    println!(
        "unanswering client: hover while the create request was pending {hover:?}; first \
         build published {first_took:?} after open ({} ms in the build); later builds \
         (save to published, in the build) {later:?}; hover after {hover_after:?}",
        first["elapsedMs"]
    );
    assert_eq!(first["errors"], 0, "{first}");
    assert!(
        hover < Duration::from_millis(1500),
        "the hover waited on the client: {hover:?}"
    );
    let creates = lsp.log.iter().filter(|m| is_create(m)).count();
    assert_eq!(
        creates, 1,
        "the server kept asking a client that never answers"
    );
    let progress: Vec<&Value> = lsp
        .log
        .iter()
        .filter(|m| m["method"] == "$/progress")
        .collect();
    assert!(
        progress.is_empty(),
        "progress reported on a token the client never created: {progress:?}"
    );
    // Not even the first build waits for the answer that never comes.
    let first_in_build = Duration::from_secs_f64(first["elapsedMs"].as_f64().unwrap() / 1000.0);
    assert!(
        first_took.saturating_sub(first_in_build) < Duration::from_millis(1500),
        "the first build was held up {:?} beyond its own {first_in_build:?}",
        first_took.saturating_sub(first_in_build)
    );
    for (took, in_build) in &later {
        assert!(
            took.saturating_sub(*in_build) < Duration::from_millis(1500),
            "a build was held up {:?} beyond its own {in_build:?}",
            took.saturating_sub(*in_build)
        );
    }
    assert!(hover_after < Duration::from_secs(5), "{hover_after:?}");
    assert!(lsp.is_alive());
    assert_eq!(lsp.shutdown(), Some(0));
}
