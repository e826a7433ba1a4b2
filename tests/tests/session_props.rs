//! Property: whatever sequence of `set_object` / `remove_object` / `link` a session sees, each
//! link gives exactly what a fresh `natmod_linker::link` over the current objects gives (the
//! same bytes, log and facts, or the same errors). Sequences come from a seeded xorshift
//! generator over the golden inputs of a few cases per arch.

use natmod_linker::input::archive::load_lib;
use natmod_linker::{
    qstr, Externs, LinkConfig, LinkError, LinkFailure, LinkOutput, ObjectFile, QstrSource, Session,
    SessionConfig,
};
use natmod_tests::argv::{argv_of, parse};
use natmod_tests::golden::{entries, golden_dir, Entry};
use natmod_tests::rng::Rng;
use std::sync::Arc;

/// Arches the property runs on: every arch natmod-ld supports.
const ARCHES: &[&str] = natmod_linker::arch::ARCH_NAMES;

/// Cases whose `default` entry gives a session config (qstrs, `-l`, `--externs`) and the home
/// objects a sequence edits.
const CONFIG_CASES: &[&str] = &[
    "multiobj",
    "qstrs",
    "userlib",
    "externs",
    "entry_second_obj",
];

/// Cases whose objects are the "broken edits" a sequence may swap in.
const EXTRA_CASES: &[&str] = &[
    "err_undefined_multi",
    "err_duplicate",
    "err_data",
    "err_static_bss",
    "err_bad_input",
    "memfuncs",
    "bss",
    "rodata",
    "minimal",
];

const SEEDS: u64 = 3;
const STEPS: usize = 120;

fn default_entry(all: &[Entry], case: &str, arch: &str) -> Option<Entry> {
    let id = format!("{case}/{arch}/default");
    all.iter().find(|e| e["id"] == id.as_str()).cloned()
}

/// Every object file of an entry, as (name, bytes).
fn objects_of(e: &Entry) -> Vec<(String, Vec<u8>)> {
    let dir = golden_dir().join(e["dir"].as_str().unwrap());
    argv_of(e)
        .into_iter()
        .filter(|a| a.ends_with(".o"))
        .filter_map(|a| std::fs::read(dir.join(&a)).ok().map(|b| (a, b)))
        .collect()
}

/// What `natmod-ld` does from scratch: read and parse every input, then link. Input errors
/// are gathered in the session's order (qstrs, externs, objects, libs).
fn fresh(cfg: &SessionConfig, objects: &[(String, Vec<u8>)]) -> Result<LinkOutput, LinkFailure> {
    let mut errors: Vec<LinkError> = Vec::new();
    let qstrs = match &cfg.qstrs {
        QstrSource::None => Vec::new(),
        QstrSource::List(l) => l.clone(),
        QstrSource::ConfigH(p) => match std::fs::read(p) {
            Ok(d) => qstr::read_config_h(&d),
            Err(e) => {
                errors.push(LinkError::io(p, &e));
                Vec::new()
            }
        },
    };
    let externs = cfg
        .externs
        .as_deref()
        .and_then(|p| Externs::load(p).map_err(|e| errors.push(e)).ok());
    let parsed: Vec<Arc<ObjectFile>> = objects
        .iter()
        .filter_map(|(n, b)| {
            ObjectFile::parse(n, b)
                .map(Arc::new)
                .map_err(|e| errors.push(e))
                .ok()
        })
        .collect();
    let mut archives = Vec::new();
    for l in &cfg.libs {
        match load_lib(l) {
            Ok(a) => archives.extend(a),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(LinkFailure {
            errors,
            log: Vec::new(),
            facts: Default::default(),
        });
    }
    let config = LinkConfig {
        arch: cfg.arch.clone(),
        dialect: cfg.dialect,
        qstrs,
        source_name: cfg.source_name.clone(),
        arch_flags: cfg.arch_flags,
        gc_sections: cfg.gc_sections,
    };
    natmod_linker::link(&config, parsed, &archives, externs.as_ref())
}

fn same(
    a: &Result<LinkOutput, LinkFailure>,
    b: &Result<LinkOutput, LinkFailure>,
) -> Result<bool, String> {
    match (a, b) {
        (Ok(x), Ok(y)) => {
            if x.mpy != y.mpy {
                return Err("different bytes".into());
            }
            if (&x.log, &x.warnings, &x.facts) != (&y.log, &y.warnings, &y.facts) {
                return Err("same bytes, different log, warnings or facts".into());
            }
            Ok(true)
        }
        (Err(x), Err(y)) => {
            if x.errors != y.errors {
                return Err(format!("different errors:\n{:?}\n{:?}", x.errors, y.errors));
            }
            if (&x.log, &x.facts) != (&y.log, &y.facts) {
                return Err("same errors, different log or facts".into());
            }
            Ok(false)
        }
        (x, y) => Err(format!(
            "one linked, one failed: {:?} vs {:?}",
            x.as_ref().err(),
            y.as_ref().err()
        )),
    }
}

/// Runs one seeded sequence; returns (successful links, failed links).
fn run_sequence(
    cfg: &SessionConfig,
    home: &[(String, Vec<u8>)],
    extras: &[Vec<u8>],
    seed: u64,
) -> (usize, usize) {
    let mut rng = Rng::new(seed);
    let mut s = Session::new(cfg.clone());
    let mut model: Vec<(String, Vec<u8>)> = Vec::new();
    let mut history: Vec<String> = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    let extra_names = ["extra1.o", "extra2.o"];
    for step in 0..STEPS {
        let h = &home[rng.below(home.len())];
        let (name, bytes): (String, Vec<u8>) = match rng.below(10) {
            0..=3 => h.clone(),
            4 => (h.0.clone(), extras[rng.below(extras.len())].clone()),
            5 | 6 => (h.0.clone(), Vec::new()),
            7 => (
                extra_names[rng.below(2)].to_string(),
                extras[rng.below(extras.len())].clone(),
            ),
            _ => (extra_names[rng.below(2)].to_string(), Vec::new()),
        };
        if bytes.is_empty() {
            history.push(format!("remove {name}"));
            let was = model.iter().any(|m| m.0 == name);
            model.retain(|m| m.0 != name);
            assert_eq!(
                s.remove_object(&name),
                was,
                "seed {seed} step {step}: remove {name}"
            );
        } else {
            history.push(format!("set {name} ({} bytes)", bytes.len()));
            let changed = match model.iter_mut().find(|m| m.0 == name) {
                Some(m) if m.1 == bytes => false,
                Some(m) => {
                    m.1 = bytes.clone();
                    true
                }
                None => {
                    model.push((name.clone(), bytes.clone()));
                    true
                }
            };
            assert_eq!(
                s.set_object(&name, &bytes),
                changed,
                "seed {seed} step {step}: set {name}"
            );
        }
        let order: Vec<&str> = model.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(
            s.objects().collect::<Vec<_>>(),
            order,
            "seed {seed} step {step}: order"
        );
        if rng.below(3) == 0 && step + 1 != STEPS {
            continue;
        }
        history.push("link".into());
        let ours = s.link();
        let want = fresh(cfg, &model);
        match same(&ours, &want) {
            Ok(true) => {
                ok += 1;
                assert_eq!(s.last_mpy(), Some(&want.as_ref().unwrap().mpy[..]));
            }
            Ok(false) => {
                failed += 1;
                assert!(s.last_mpy().is_none());
            }
            Err(why) => panic!(
                "{} seed {seed} step {step}: {why}\nobjects: {order:?}\nhistory:\n  {}",
                cfg.arch,
                history.join("\n  ")
            ),
        }
    }
    (ok, failed)
}

#[test]
fn session_links_equal_fresh_links() {
    let all = entries();
    for &arch in ARCHES {
        let mut extras: Vec<Vec<u8>> = Vec::new();
        for case in CONFIG_CASES.iter().chain(EXTRA_CASES) {
            let Some(e) = default_entry(&all, case, arch) else {
                continue;
            };
            for (_, b) in objects_of(&e) {
                if !extras.contains(&b) {
                    extras.push(b);
                }
            }
        }
        for case in ["not_elf", "truncated_half"] {
            let p = golden_dir().join(format!("err_bad_input/{arch}/{case}.o"));
            extras.extend(std::fs::read(p).ok().filter(|b| !b.is_empty()));
        }
        assert!(extras.len() >= 10, "{arch}: too few objects in the pool");
        let (mut ok, mut failed) = (0, 0);
        for case in CONFIG_CASES {
            let e = default_entry(&all, case, arch)
                .unwrap_or_else(|| panic!("no {case}/{arch}/default"));
            let dir = golden_dir().join(e["dir"].as_str().unwrap());
            let link = parse(&dir, &argv_of(&e)).expect("a link argv");
            let home = objects_of(&e);
            for seed in 0..SEEDS {
                let (o, f) = run_sequence(&link.config, &home, &extras, seed + 1);
                ok += o;
                failed += f;
            }
        }
        assert!(
            ok >= 20 && failed >= 20,
            "{arch}: {ok} links, {failed} failures: too one-sided"
        );
    }
}
