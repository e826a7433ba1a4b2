//! The golden-corpus harness: runs `natmod-ld` on every manifest entry of some arches and
//! compares with what the newest `mpy_ld.py` produced (see ../shared/golden/README.md).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One manifest entry, as JSON.
pub type Entry = Value;

/// The parsed manifest's entries.
pub fn entries() -> Vec<Entry> {
    let path = crate::shared_dir().join("data/golden/manifest.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("manifest.json is JSON");
    v["entries"].as_array().expect("entries").clone()
}

/// An entry's natmod-ld command line.
pub fn argv(e: &Entry) -> Vec<String> {
    e["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// The golden data directory.
pub fn golden_dir() -> PathBuf {
    crate::shared_dir().join("data/golden")
}

fn sha256_file(p: &Path) -> Option<String> {
    let data = std::fs::read(p).ok()?;
    Some(format!("{:x}", Sha256::digest(&data)))
}

/// Copies a golden entry's directory (without `expected/`) to `dst`.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        if e.file_name() == "expected" {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(e.file_name()));
        } else {
            std::fs::copy(&p, dst.join(e.file_name())).unwrap();
        }
    }
}

/// What natmod-ld did for one entry.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
    /// The output file, if written.
    pub output: Option<Vec<u8>>,
    /// Files left in the scratch dir that were not there before (besides the output).
    pub leftovers: Vec<String>,
}

/// Runs natmod-ld on an entry in a scratch copy of its directory.
pub fn run_entry(e: &Entry, scratch_root: &Path) -> Run {
    let id = e["id"].as_str().unwrap();
    let dir = golden_dir().join(e["dir"].as_str().unwrap());
    let work = scratch_root.join(id.replace('/', "__"));
    let _ = std::fs::remove_dir_all(&work);
    copy_dir(&dir, &work);
    let before: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|x| x.unwrap().file_name())
        .collect();
    let argv: Vec<String> = argv(e);
    let out = Command::new(crate::natmod_ld())
        .args(&argv)
        .current_dir(&work)
        .env_remove("MPY_DIR")
        .env_remove("MAKEFLAGS")
        .output()
        .expect("run natmod-ld");
    let out_name = output_name(&argv);
    let out_path = work.join(&out_name);
    let output = std::fs::read(&out_path).ok();
    let leftovers = std::fs::read_dir(&work)
        .unwrap()
        .map(|x| x.unwrap().file_name())
        .filter(|n| !before.contains(n) && n.to_string_lossy() != out_name)
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        output,
        leftovers,
    }
}

/// The output path an argv names (`-o`, else derived from the first input).
pub fn output_name(argv: &[String]) -> String {
    if let Some(i) = argv.iter().position(|a| a == "-o" || a == "--output") {
        return argv[i + 1].clone();
    }
    let files: Vec<&String> = argv
        .iter()
        .filter(|a| a.ends_with(".o") || a.ends_with(".c"))
        .collect();
    let f = files[0];
    if argv.iter().any(|a| a == "--preprocess") {
        format!("{}config.h", &f[..f.len() - 1])
    } else {
        format!("{}mpy", &f[..f.len() - 1])
    }
}

/// Entries whose reference run crashed but that a correct linker links: the reason.
pub fn crash_we_link(e: &Entry) -> Option<&'static str> {
    let id = e["id"].as_str().unwrap();
    let case = e["case"].as_str().unwrap();
    let arch = e["arch"].as_str().unwrap();
    if !arch.starts_with("xtensa") {
        return None;
    }
    match case {
        "minimal" | "entry_second_obj" => Some(
            "mpy_ld.py sizes the Xtensa entry jump before the GOT and literal pool are placed in front \
             of the text, then asserts when the final jump is longer; natmod-ld sizes it on the real layout",
        ),
        "xtensa_qstr_addend" => Some(
            "mpy_ld.py cannot represent a literal holding mp_native_qstr_table+N; natmod-ld gives each \
             (symbol, addend) its own slot",
        ),
        _ => {
            let _ = id;
            None
        }
    }
}

/// The words an error for a crashed-reference entry must mention.
pub fn crash_expectation(e: &Entry) -> Vec<String> {
    let case = e["case"].as_str().unwrap();
    let variant = e["variant"].as_str().unwrap();
    let argv: Vec<String> = argv(e);
    let after = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .map(|i| argv[i + 1].clone())
    };
    match case {
        "err_bad_input" if variant == "not_an_archive" => vec![after("-l").unwrap()],
        "err_bad_input" => vec![argv.last().unwrap().clone()],
        "archflags" if variant == "flags_on_x64" => vec!["does not support extra flags".into()],
        "archflags" => vec![after("--arch-flags").unwrap()],
        "err_externs_dup" => vec!["dup_first".into()],
        "err_externs_direct" => vec!["fixed relocation to external symbol".into()],
        "err_wrong_arch" => vec!["incompatible arch".into()],
        _ => vec![format!("<no expectation for {case}/{variant}>")],
    }
}

/// Entries the manifest does not flag, where the reference has the entry-in-a-later-object bug
/// all the same: `mpy_init` sits at a non-zero offset of a later object's text, and the
/// reference jumps to that offset counted from the start of the text, into another function.
pub const UNFLAGGED_ENTRY_BUGS: &[&str] = &[
    "multiobj/x64/reordered",
    "multiobj/x86/reordered",
    "multiobj/armv6m/reordered",
    "multiobj/armv7m/reordered",
    "multiobj/armv7emsp/reordered",
    "multiobj/armv7emdp/reordered",
    "multiobj/rv32imc/reordered",
    "multiobj/rv64imc/reordered",
];

/// Entries the manifest does not flag where the reference breaks RISC-V stores: its
/// `R_RISCV_PCREL_LO12_S`/`LO12_S` patch masks the instruction with the immediate fields
/// (`0xFE000F80`) instead of their complement, so the store loses its opcode and registers.
pub const UNFLAGGED_STORE_BUGS: &[&str] =
    &["asm_relocs/rv32imc/default", "asm_relocs/rv64imc/default"];

/// Proves a store-patch correction: the modules differ only in 32-bit words that are S-type
/// stores (opcode 0x23) in ours and that same word with everything but the
/// immediate fields cleared in the reference's.
pub fn store_patch_check(ours: &[u8], reference: &[u8]) -> Result<String, String> {
    if ours.len() != reference.len() {
        return Err(format!(
            "store check: sizes differ ({} vs {})",
            ours.len(),
            reference.len()
        ));
    }
    let word = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let mut covered = vec![false; ours.len()];
    let mut fixed = Vec::new();
    for i in 0..ours.len().saturating_sub(3) {
        let (o, r) = (word(ours, i), word(reference, i));
        if o != r && o & 0x7F == 0x23 && r == o & 0xFE00_0F80 {
            covered[i..i + 4].iter_mut().for_each(|c| *c = true);
            fixed.push(format!("byte {i}: ours {o:#010x}, reference {r:#010x}"));
        }
    }
    match (0..ours.len()).find(|&i| ours[i] != reference[i] && !covered[i]) {
        Some(i) => Err(format!("store check: unexplained difference at byte {i}")),
        None if fixed.is_empty() => Err("store check: no store differs".into()),
        None => Ok(format!(
            "the reference's LO12_S patch wipes the store's opcode and registers ({})",
            fixed.join("; ")
        )),
    }
}

/// Proves an entry-jump correction: links the entry in-process to learn where `mpy_init`
/// really is, then decodes both modules' first instruction. Ours must jump to `mpy_init`;
/// the reference's must not.
pub fn entry_jump_check(e: &Entry, ours: &[u8], reference: &[u8]) -> Result<String, String> {
    let arch = e["arch"].as_str().unwrap();
    let entry = entry_address(e)?;
    let ours_t = crate::mpyfile::entry_target(arch, &crate::mpyfile::parse(ours).text);
    let ref_t = crate::mpyfile::entry_target(arch, &crate::mpyfile::parse(reference).text);
    match (ours_t, ref_t) {
        (Some(o), Some(r)) if o == entry && r != entry => Ok(format!(
            "mpy_init is at text offset {entry}: our entry jump goes there, the reference's goes to {r}"
        )),
        (Some(o), Some(r)) => Err(format!("entry jump check failed: mpy_init at {entry}, ours -> {o}, reference -> {r}")),
        _ => Ok("differs from the reference (no decoder for this arch's jumps; proven by the micropython run test on x64)".into()),
    }
}

/// The text offset of `mpy_init` when natmod-linker links the entry.
fn entry_address(e: &Entry) -> Result<u64, String> {
    let dir = golden_dir().join(e["dir"].as_str().unwrap());
    let argv: Vec<String> = argv(e);
    let arch = argv[argv.iter().position(|a| a == "--arch").unwrap() + 1].clone();
    let objs: Vec<String> = argv
        .iter()
        .filter(|a| a.ends_with(".o"))
        .map(|a| dir.join(a).to_string_lossy().into_owned())
        .collect();
    let objects = natmod_linker::load_objects(&objs).map_err(|e| e.to_string())?;
    let config = natmod_linker::LinkConfig {
        arch,
        dialect: natmod_linker::Dialect::Newest,
        qstrs: vec![],
        source_name: "x".into(),
        arch_flags: 0,
        gc_sections: false,
    };
    let out =
        natmod_linker::link(&config, objects, &[], None).map_err(|f| format!("{:?}", f.errors))?;
    Ok(out.entry)
}

/// Entries the manifest does not flag where the reference's Xtensa entry jump misses
/// `mpy_init`: it re-encodes the jump to `mpy_init + gap - 8` (gap = the text alignment), right
/// only for a 4-byte gap; with a 16-byte gap it lands 12 bytes into `mpy_init`.
pub const UNFLAGGED_XTENSA_JUMP_BUGS: &[&str] = &[
    "trampoline_align16/xtensa/default",
    "trampoline_align16/xtensawin/default",
];

/// Entries the manifest does not flag where the reference drops the addend of an Xtensa
/// literal `symbol+N` (e.g. `big_buffer+0x3e7` for `big_buffer[999]`): its GOT word gets the
/// bare symbol's address, so the code reaches the wrong element. natmod-ld keeps the addend.
pub const UNFLAGGED_XTENSA_ADDEND_BUGS: &[&str] = &[
    "bss/xtensa/default",
    "bss/xtensawin/default",
    "memfuncs/xtensa/default",
    "memfuncs/xtensawin/default",
    "rodata/xtensa/default",
    "rodata/xtensawin/default",
];

/// The `--arch` and object paths of a link entry.
fn entry_arch_objects(e: &Entry) -> (String, Vec<String>) {
    let dir = golden_dir().join(e["dir"].as_str().unwrap());
    let argv = argv(e);
    let arch = argv[argv.iter().position(|a| *a == "--arch").unwrap() + 1].to_string();
    let objs = argv
        .iter()
        .filter(|a| a.ends_with(".o"))
        .map(|a| dir.join(a).to_string_lossy().into_owned())
        .collect();
    (arch, objs)
}

/// Proves an Xtensa addend correction: lays the entry out in-process to find the GOT words of
/// `symbol+N` entries; the modules must be the same size and differ only in those words, where
/// ours must be the reference's plus N.
pub fn xtensa_addend_check(e: &Entry, ours: &[u8], reference: &[u8]) -> Result<String, String> {
    let (arch, objs) = entry_arch_objects(e);
    let arch = natmod_linker::arch::by_name(&arch).map_err(|e| e.to_string())?;
    let objects = natmod_linker::load_objects(&objs).map_err(|e| e.to_string())?;
    let (res, errors) = natmod_linker::resolve::resolve(arch, objects, &[], None);
    if !errors.is_empty() {
        return Err(format!("addend check: {errors:?}"));
    }
    let plan = arch.collect_got(&res).map_err(|e| e.to_string())?;
    let lay = natmod_linker::layout::layout(arch, natmod_linker::Dialect::Newest, &res, plan, None)
        .map_err(|e| e.to_string())?;
    let words: Vec<(usize, u32, &str)> = lay
        .got
        .iter()
        .filter(|g| !g.symbol.is_empty() && g.name != g.symbol && g.init != 0)
        .map(|g| {
            (
                (lay.got_addr() + g.offset) as usize,
                g.init as u32,
                g.name.as_str(),
            )
        })
        .collect();
    let (ot, rt) = (
        crate::mpyfile::parse(ours).text,
        crate::mpyfile::parse(reference).text,
    );
    let diff = |a: &[u8], b: &[u8]| a.iter().zip(b).filter(|(x, y)| x != y).count();
    if ours.len() != reference.len()
        || ot.len() != rt.len()
        || diff(ours, reference) != diff(&ot, &rt)
    {
        return Err("addend check: the modules differ outside the text".into());
    }
    let word = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let mut covered = vec![false; ot.len()];
    let mut fixed = Vec::new();
    for &(at, n, name) in &words {
        if word(&ot, at) != word(&rt, at).wrapping_add(n) {
            return Err(format!(
                "addend check: GOT word {name} at {at}: ours {:#x}, reference {:#x}",
                word(&ot, at),
                word(&rt, at)
            ));
        }
        covered[at..at + 4].iter_mut().for_each(|c| *c = true);
        fixed.push(name);
    }
    match (0..ot.len()).find(|&i| ot[i] != rt[i] && !covered[i]) {
        Some(i) => Err(format!("addend check: unexplained difference at text byte {i}")),
        None if fixed.is_empty() => Err("addend check: no literal with an addend".into()),
        None => Ok(format!(
            "the reference drops the addend of the Xtensa literals {}; ours hold symbol + addend, all else identical",
            fixed.join(", ")
        )),
    }
}

/// Proves that our module's entry jump lands on `mpy_init` (for entries the reference cannot
/// link, so there is nothing to compare with).
pub fn entry_lands_check(e: &Entry, ours: &[u8]) -> Result<(), String> {
    let arch = e["arch"].as_str().unwrap();
    let entry = entry_address(e)?;
    match crate::mpyfile::entry_target(arch, &crate::mpyfile::parse(ours).text) {
        Some(t) if t == entry => Ok(()),
        Some(t) => Err(format!("entry jump goes to {t}, mpy_init is at {entry}")),
        None => Ok(()),
    }
}

/// Outcome of checking one entry.
#[derive(Debug)]
pub enum Verdict {
    /// Byte-identical output (and stdout) or the same error.
    Identical,
    /// A `reference_bug` entry where natmod-ld is right instead; the string says how.
    CorrectedReferenceBug(String),
    /// A reference crash that natmod-ld links correctly.
    LinkedWhereReferenceCrashed(&'static str),
    /// A mismatch.
    Failed(String),
}

/// Checks every toolchain archive the entry depends on is the one the goldens were made with.
pub fn system_inputs_ok(e: &Entry) -> Result<(), String> {
    for s in e["system_inputs"].as_array().unwrap() {
        let p = Path::new(s["path"].as_str().unwrap());
        let want = s["sha256"].as_str().unwrap();
        match sha256_file(p) {
            Some(h) if h == want => {}
            Some(_) => {
                return Err(format!(
                    "{} differs from the toolchain the goldens were made with",
                    p.display()
                ))
            }
            None => {
                return Err(format!(
                    "{} is missing (install the toolchain: scripts/provision.sh)",
                    p.display()
                ))
            }
        }
    }
    Ok(())
}

/// Runs and judges one entry.
pub fn check(e: &Entry, scratch: &Path) -> Verdict {
    if let Err(m) = system_inputs_ok(e) {
        return Verdict::Failed(m);
    }
    let run = run_entry(e, scratch);
    let exp = &e["expected"];
    let status = exp["status"].as_str().unwrap();
    let ctx = || {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            run.code, run.stdout, run.stderr
        )
    };
    if !run.leftovers.is_empty() {
        return Verdict::Failed(format!("left files behind: {:?}", run.leftovers));
    }
    let bug = e.get("reference_bug").and_then(|b| b.as_str());
    if status == "ok" {
        let want = std::fs::read(golden_dir().join(exp["output"].as_str().unwrap())).unwrap();
        if let Some(bug) = bug {
            let case = e["case"].as_str().unwrap();
            return match case {
                "entry_second_obj" => match &run.output {
                    Some(o) if run.code == 0 && *o != want => match entry_jump_check(e, o, &want) {
                        Ok(how) => Verdict::CorrectedReferenceBug(how),
                        Err(why) => Verdict::Failed(why),
                    },
                    _ => Verdict::Failed(format!("expected a corrected module ({bug})\n{}", ctx())),
                },
                "err_static_bss" => {
                    if run.code == 1
                        && run.output.is_none()
                        && run
                            .stdout
                            .contains("fixed relocation to bss (bss variables can't be static)")
                    {
                        Verdict::CorrectedReferenceBug(
                            "refuses static BSS reached at link time".into(),
                        )
                    } else {
                        Verdict::Failed(format!("expected the static-BSS error ({bug})\n{}", ctx()))
                    }
                }
                _ => Verdict::Failed(format!("no check for reference_bug case {case}")),
            };
        }
        let Some(out) = &run.output else {
            return Verdict::Failed(format!("no output\n{}", ctx()));
        };
        if run.code != 0 {
            return Verdict::Failed(format!("non-zero exit\n{}", ctx()));
        }
        if UNFLAGGED_XTENSA_JUMP_BUGS.contains(&e["id"].as_str().unwrap()) {
            return match entry_jump_check(e, out, &want) {
                Ok(how) => Verdict::CorrectedReferenceBug(format!(
                    "not flagged in the manifest, but {how}"
                )),
                Err(why) => Verdict::Failed(why),
            };
        }
        if UNFLAGGED_XTENSA_ADDEND_BUGS.contains(&e["id"].as_str().unwrap()) {
            return match xtensa_addend_check(e, out, &want) {
                Ok(how) => Verdict::CorrectedReferenceBug(format!(
                    "not flagged in the manifest, but {how}"
                )),
                Err(why) => Verdict::Failed(why),
            };
        }
        if UNFLAGGED_ENTRY_BUGS.contains(&e["id"].as_str().unwrap()) {
            return match entry_jump_check(e, out, &want) {
                Ok(how) => Verdict::CorrectedReferenceBug(format!(
                    "not flagged in the manifest, but {how}"
                )),
                Err(why) => Verdict::Failed(why),
            };
        }
        if UNFLAGGED_STORE_BUGS.contains(&e["id"].as_str().unwrap()) {
            return match store_patch_check(out, &want) {
                Ok(how) => Verdict::CorrectedReferenceBug(format!(
                    "not flagged in the manifest, but {how}"
                )),
                Err(why) => Verdict::Failed(why),
            };
        }
        if *out != want {
            let first = out
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(out.len().min(want.len()));
            return Verdict::Failed(format!(
                "output differs at byte {first} (ours {} bytes, reference {} bytes)\n{}",
                out.len(),
                want.len(),
                ctx()
            ));
        }
        let want_stdout =
            std::fs::read_to_string(golden_dir().join(exp["stdout"].as_str().unwrap())).unwrap();
        if run.stdout != want_stdout {
            return Verdict::Failed(format!(
                "stdout differs; reference:\n{want_stdout}\nours:\n{}",
                run.stdout
            ));
        }
        return Verdict::Identical;
    }
    let kind = exp["error_kind"].as_str().unwrap_or("");
    if kind == "exception" {
        if let Some(why) = crash_we_link(e) {
            return match &run.output {
                Some(o) if run.code == 0 => match entry_lands_check(e, o) {
                    Ok(()) => Verdict::LinkedWhereReferenceCrashed(why),
                    Err(bad) => Verdict::Failed(format!("{bad} ({why})")),
                },
                _ => Verdict::Failed(format!("expected a correct link ({why})\n{}", ctx())),
            };
        }
    }
    if run.code != 1 || run.output.is_some() {
        return Verdict::Failed(format!(
            "expected failure with exit 1 and no output\n{}",
            ctx()
        ));
    }
    if !run.stdout.lines().any(|l| l.starts_with("LinkError: ")) {
        return Verdict::Failed(format!("no `LinkError:` line\n{}", ctx()));
    }
    if kind == "LinkError" {
        let lines: Vec<&str> = exp["message_lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let ours: Vec<&str> = run.stdout.lines().collect();
        let first = ours
            .iter()
            .position(|l| l.starts_with("LinkError: "))
            .unwrap();
        let our_msgs: Vec<String> = ours[first..]
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l.trim_start_matches("LinkError: ").to_string()
                } else {
                    l.to_string()
                }
            })
            .collect();
        if !our_msgs[0].starts_with(lines[0]) {
            return Verdict::Failed(format!(
                "first line differs: want `LinkError: {}`\n{}",
                lines[0],
                ctx()
            ));
        }
        for l in &lines {
            if !our_msgs.iter().any(|m| m.starts_with(l)) {
                return Verdict::Failed(format!("missing error line `{l}`\n{}", ctx()));
            }
        }
        return Verdict::Identical;
    }
    for word in crash_expectation(e) {
        if !run.stdout.contains(&word) {
            return Verdict::Failed(format!("the error should name `{word}`\n{}", ctx()));
        }
    }
    Verdict::Identical
}

/// Runs every entry for `arches`, prints one line per problem and the summary line
/// `golden: N/N identical (arches)`, and panics on any failure.
pub fn run_arches(arches: &[&str]) {
    let scratch = crate::scratch_dir("golden", arches.join("-"));
    let all: Vec<Entry> = entries()
        .into_iter()
        .filter(|e| arches.contains(&e["arch"].as_str().unwrap()))
        .collect();
    assert!(!all.is_empty(), "no golden entries for {arches:?}");
    let mut identical = 0;
    let mut corrected = Vec::new();
    let mut failures = Vec::new();
    for e in &all {
        let id = e["id"].as_str().unwrap().to_string();
        match check(e, &scratch) {
            Verdict::Identical => identical += 1,
            Verdict::CorrectedReferenceBug(how) => {
                corrected.push(format!("{id}: reference_bug, {how}"))
            }
            Verdict::LinkedWhereReferenceCrashed(why) => {
                corrected.push(format!("{id}: reference crashed; {why}"))
            }
            Verdict::Failed(why) => failures.push(format!("{id}: {why}")),
        }
    }
    for c in &corrected {
        println!("corrected: {c}");
    }
    for f in &failures {
        println!("FAILED {f}\n");
    }
    let compared = all.len() - corrected.len();
    println!(
        "golden: {identical}/{compared} identical ({}); {} entries where the reference is wrong, handled correctly",
        arches.join(", "),
        corrected.len()
    );
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        failures.is_empty(),
        "{} golden entries failed",
        failures.len()
    );
}
