//! `Session`: golden outputs through the session API, all errors in one run, caching, atomic
//! writes and link facts.

use natmod_linker::model::Provider;
use natmod_linker::{ErrorKind, LinkFailure, QstrSource, Session, SessionConfig};
use natmod_tests::argv::{argv_of, parse};
use natmod_tests::golden::{self, golden_dir, Entry};
use std::path::{Path, PathBuf};

/// Arches whose goldens the session must reproduce.
const ARCHES: &[&str] = &["x64", "x86", "armv6m", "armv7m", "armv7emsp", "armv7emdp"];

fn read(p: impl AsRef<Path>) -> Vec<u8> {
    let p = p.as_ref();
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn scratch(name: &str) -> PathBuf {
    natmod_tests::scratch_dir("session", name)
}

/// A session over a golden entry's inputs, objects set in argv order.
fn session_for(e: &Entry) -> Option<Session> {
    let dir = golden_dir().join(e["dir"].as_str()?);
    let link = parse(&dir, &argv_of(e))?;
    let mut s = Session::new(link.config);
    for o in &link.objects {
        s.set_object(o, &std::fs::read(dir.join(o)).ok()?);
    }
    Some(s)
}

fn failure(r: Result<natmod_linker::LinkOutput, LinkFailure>) -> LinkFailure {
    match r {
        Ok(_) => panic!("expected the link to fail"),
        Err(f) => f,
    }
}

#[test]
fn session_reproduces_golden_outputs_and_errors() {
    let mut checked = (0, 0);
    for e in golden::entries() {
        let arch = e["arch"].as_str().unwrap();
        if !ARCHES.contains(&arch) || e["step"] != "link" {
            continue;
        }
        if golden::system_inputs_ok(&e).is_err() || e.get("reference_bug").is_some() {
            continue;
        }
        let id = e["id"].as_str().unwrap();
        let dir = golden_dir().join(e["dir"].as_str().unwrap());
        let Some(mut s) = session_for(&e) else {
            continue;
        };
        // Objects that do not exist on disk are a CLI-only failure; skip those entries.
        if s.objects().count() != parse(&dir, &argv_of(&e)).unwrap().objects.len() {
            continue;
        }
        let exp = &e["expected"];
        let prefix = format!("{}/", dir.display());
        match (exp["status"].as_str().unwrap(), s.link()) {
            ("ok", Ok(out)) => {
                if golden::UNFLAGGED_ENTRY_BUGS.contains(&id) {
                    continue;
                }
                let want = read(golden_dir().join(exp["output"].as_str().unwrap()));
                assert!(
                    out.mpy == want,
                    "{id}: session output differs from the golden"
                );
                let stdout =
                    String::from_utf8(read(golden_dir().join(exp["stdout"].as_str().unwrap())))
                        .unwrap();
                let ours: String = out
                    .log
                    .iter()
                    .map(|l| l.replace(&prefix, "") + "\n")
                    .collect();
                assert_eq!(ours, stdout, "{id}: log");
                checked.0 += 1;
            }
            ("error", Err(f)) if exp["error_kind"] == "LinkError" => {
                let first = exp["message_lines"][0].as_str().unwrap();
                let ours = f.errors[0].to_string().replace(&prefix, "");
                assert!(
                    ours.starts_with(first),
                    "{id}: first error `{ours}`, want `{first}`"
                );
                checked.1 += 1;
            }
            ("error", Err(_)) => {}
            (status, r) => {
                if golden::crash_we_link(&e).is_none() {
                    panic!(
                        "{id}: expected {status}, got {:?}",
                        r.map(|o| o.log).map_err(|f| f.errors)
                    );
                }
            }
        }
    }
    assert!(
        checked.0 >= 60 && checked.1 >= 40,
        "too few entries checked: {checked:?}"
    );
}

#[test]
fn all_data_and_undefined_errors_come_in_one_run() {
    let g = golden_dir();
    let data = read(g.join("err_data/x64/err_data.o"));
    let mut s = Session::new(SessionConfig::new("x64", "unused.mpy"));
    s.set_object("a/err_data.o", &data);
    s.set_object("first.o", &read(g.join("err_undefined_multi/x64/first.o")));
    s.set_object("b/err_data.o", &data);
    s.set_object(
        "second.o",
        &read(g.join("err_undefined_multi/x64/second.o")),
    );
    let f = failure(s.link());
    let of = |kind: ErrorKind| -> Vec<(String, String)> {
        f.errors
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| {
                (
                    e.object.clone().unwrap_or_default(),
                    e.symbol.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let data_objects: Vec<String> = of(ErrorKind::DataNonEmpty)
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(data_objects, ["a/err_data.o", "b/err_data.o"]);
    assert_eq!(
        f.errors[0].to_string(),
        "a/err_data.o: .data non-empty (symbol: call_count, 4 bytes)"
    );
    let want: Vec<(String, String)> = [
        ("first.o", "missing_open"),
        ("first.o", "missing_close"),
        ("first.o", "missing_errno"),
        ("second.o", "missing_open"),
        ("second.o", "missing_lseek"),
    ]
    .iter()
    .map(|(o, s)| (o.to_string(), s.to_string()))
    .collect();
    assert_eq!(of(ErrorKind::UndefinedSymbol), want);
    for e in f
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::UndefinedSymbol)
    {
        assert!(!e.sites.is_empty(), "no sites for {e}");
        for site in &e.sites {
            assert_eq!(Some(&site.object), e.object.as_ref());
            assert_eq!(site.section, ".text");
        }
    }
    // mpy_init is defined by first.o and by the second err_data.o too.
    assert_eq!(of(ErrorKind::DuplicateSymbol).len(), 2);
    // Facts gather each undefined symbol's sites across objects.
    let open = f
        .facts
        .undefined
        .iter()
        .find(|u| u.symbol == "missing_open")
        .unwrap();
    let objs: Vec<&str> = open.sites.iter().map(|s| s.object.as_str()).collect();
    assert!(
        objs.contains(&"first.o") && objs.contains(&"second.o"),
        "{objs:?}"
    );
    assert_eq!(f.facts.undefined.len(), 4);
}

#[test]
fn unchanged_inputs_are_not_read_or_parsed_again() {
    let src = golden_dir().join("multiobj/x64");
    let dir = scratch("cache");
    for f in ["config.h", "main.o", "util.o", "tables.o"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let qstrs = dir.join("config.h");
    let mut cfg = SessionConfig::new("x64", dir.join("multiobj.mpy"));
    cfg.qstrs = QstrSource::ConfigH(qstrs.to_string_lossy().into_owned());
    let mut s = Session::new(cfg);
    for o in ["main.o", "util.o", "tables.o"] {
        assert!(s.set_object(o, &read(dir.join(o))));
    }
    let first = s.link().expect("links").mpy;
    let st = s.stats();
    assert_eq!((st.object_parses, st.input_loads), (3, 1));
    assert!(!s.set_object("util.o", &read(dir.join("util.o"))));
    // Rewriting config.h with the same bytes changes its stamp but not its content.
    std::fs::write(&qstrs, read(&qstrs)).unwrap();
    assert_eq!(s.link().expect("links").mpy, first);
    assert_eq!(s.stats().object_parses, 3);
    assert_eq!(s.stats().input_loads, 1);
    // A new qstr changes the module.
    let mut text = read(&qstrs);
    text.extend_from_slice(b"#define MP_QSTR_zz_new (mp_native_qstr_table[99])\n");
    std::fs::write(&qstrs, text).unwrap();
    let second = s.link().expect("links").mpy;
    assert_eq!(s.stats().input_loads, 2);
    assert_ne!(second, first);
    // Removing and re-adding puts an object last, as on a reordered command line.
    s.remove_object("main.o");
    s.set_object("main.o", &read(dir.join("main.o")));
    assert_eq!(
        s.objects().collect::<Vec<_>>(),
        ["util.o", "tables.o", "main.o"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_atomic_writes_only_successful_links() {
    let g = golden_dir();
    let dir = scratch("write");
    let out_path = dir.join("m.mpy");
    let mut s = Session::new(SessionConfig::new("x64", &out_path));
    assert!(s.write_atomic().is_err(), "nothing linked yet");
    s.set_object("minimal.o", &read(g.join("minimal/x64/minimal.o")));
    let out = s.link().expect("links");
    s.write_atomic().expect("writes");
    assert_eq!(read(&out_path), out.mpy);
    s.set_object(
        "err_undefined.o",
        &read(g.join("err_undefined/x64/err_undefined.o")),
    );
    failure(s.link());
    assert!(s.write_atomic().is_err());
    assert_eq!(
        read(&out_path),
        out.mpy,
        "a failed link leaves the old module"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_inputs_are_reported_together_and_recover() {
    let g = golden_dir();
    let mut cfg = SessionConfig::new("x64", "m.mpy");
    cfg.externs = Some("/nonexistent/hw.ld".into());
    let mut s = Session::new(cfg);
    s.set_object("not_elf.o", &read(g.join("err_bad_input/x64/not_elf.o")));
    s.set_object("minimal.o", &read(g.join("minimal/x64/minimal.o")));
    let f = failure(s.link());
    let kinds: Vec<ErrorKind> = f.errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::Io, ErrorKind::BadObject]);
    assert!(f.errors[0].to_string().starts_with("/nonexistent/hw.ld: "));
    assert!(s.remove_object("not_elf.o"));
    assert_eq!(
        failure(s.link()).errors.len(),
        1,
        "the externs error stays until fixed"
    );
}

#[test]
fn facts_place_symbols_and_name_their_providers() {
    let mut s = session_for(
        &golden::entries()
            .into_iter()
            .find(|e| e["id"] == "multiobj/x64/default")
            .unwrap(),
    )
    .unwrap();
    let out = s.link().expect("links");
    let f = &out.facts;
    let init = f.symbol("mpy_init").expect("mpy_init is a fact");
    assert_eq!(f.objects[init.object].name, "main.o");
    assert_eq!(init.offset, Some(out.entry));
    assert_eq!(f.sections[init.section].name, ".text");
    assert_eq!(f.got_entries, Some(out.got_entries));
    let text: u64 = f.objects.iter().map(|o| o.text).sum();
    assert!(text > 0 && text <= out.text_size);
    assert_eq!(f.objects.iter().map(|o| o.bss).sum::<u64>(), out.bss_size);
    let records = f.relocation_records.unwrap();
    assert!(records > 0 && f.objects.iter().map(|o| o.records).sum::<usize>() <= records);
    assert!(f.objects.iter().all(|o| o.relocations > 0));
    let provider = |name: &str| {
        f.resolutions
            .iter()
            .find(|r| r.symbol == name)
            .map(|r| r.provider.clone())
    };
    assert_eq!(
        provider("mp_type_fun_builtin_3"),
        Some(Provider::FunTable(80))
    );
    assert_eq!(
        provider("find_op"),
        Some(Provider::Object("tables.o".into()))
    );
    let json = serde_json::to_value(f).unwrap();
    assert!(json["symbols"].as_array().unwrap().len() >= f.symbols.len());

    // Archive members and memset/memmove provision.
    for (id, sym, check) in [
        ("userlib/x64/default", None, "member"),
        ("memfuncs/x64/default", Some("memcpy"), "mem"),
    ] {
        let e = golden::entries()
            .into_iter()
            .find(|e| e["id"] == id)
            .unwrap();
        let out = session_for(&e).unwrap().link().expect("links");
        match check {
            "member" => {
                let r = out
                    .facts
                    .resolutions
                    .iter()
                    .find(|r| r.member.is_some())
                    .expect("a member");
                let m = r.member.as_ref().unwrap();
                assert!(m.archive.ends_with(".a"));
                assert!(out
                    .facts
                    .objects
                    .iter()
                    .any(|o| o.member.as_ref() == Some(m)));
            }
            _ => {
                let r = out
                    .facts
                    .resolutions
                    .iter()
                    .find(|r| Some(r.symbol.as_str()) == sym);
                assert_eq!(
                    r.map(|r| r.provider.clone()),
                    Some(Provider::MemProvision(51))
                );
            }
        }
    }
}

#[test]
fn archive_and_externs_changes_are_seen() {
    let src = golden_dir().join("userlib/x64");
    let dir = scratch("libs");
    for f in ["config.h", "userlib.o", "libextra.a", "libmore.a"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let mut cfg = SessionConfig::new("x64", dir.join("userlib.mpy"));
    cfg.qstrs = QstrSource::ConfigH(path("config.h"));
    cfg.libs = vec![path("libextra.a"), path("libmore.a")];
    cfg.externs = Some(path("hw.ld"));
    std::fs::write(dir.join("hw.ld"), "unused_rom_fn = 0x40001000;\n").unwrap();
    let mut s = Session::new(cfg);
    s.set_object("userlib.o", &read(dir.join("userlib.o")));
    let first = s.link().expect("links");
    assert!(
        !first.facts.objects.iter().all(|o| o.member.is_none()),
        "members pulled"
    );
    let loads = s.stats().input_loads;
    // Same bytes written again: re-read, not re-parsed.
    std::fs::write(dir.join("libmore.a"), read(dir.join("libmore.a"))).unwrap();
    assert_eq!(s.link().expect("links").mpy, first.mpy);
    assert_eq!(s.stats().input_loads, loads);
    // A missing archive is an error naming it; putting it back heals the session.
    let more = read(dir.join("libmore.a"));
    std::fs::remove_file(dir.join("libmore.a")).unwrap();
    let f = failure(s.link());
    assert_eq!(f.errors.len(), 1);
    assert!(
        f.errors[0].to_string().contains("libmore.a"),
        "{}",
        f.errors[0]
    );
    std::fs::write(dir.join("libmore.a"), &more).unwrap();
    assert_eq!(s.link().expect("links").mpy, first.mpy);
    // An externs edit that breaks the file is seen on the next link.
    std::fs::write(dir.join("hw.ld"), "a = 0x1;\na = 0x2;\n").unwrap();
    let f = failure(s.link());
    assert_eq!(f.errors[0].kind, ErrorKind::BadExterns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn undefined_errors_without_sites_get_them() {
    let g = golden_dir().join("err_undefined_multi/x64");
    let objects = ["first.o", "second.o"]
        .iter()
        .map(|o| {
            let path = g.join(o);
            natmod_linker::ObjectFile::parse(o, &read(path)).map(std::sync::Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let arch = natmod_linker::arch::by_name("x64").unwrap();
    let (res, errors) = natmod_linker::resolve::resolve(arch, objects, &[], None);
    let undefined: Vec<_> = errors
        .iter()
        .filter(|e| e.kind == ErrorKind::UndefinedSymbol)
        .collect();
    assert_eq!(undefined.len(), 5);
    let mut stripped: Vec<_> = undefined
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            e.sites.clear();
            e
        })
        .collect();
    // One more, as relocation errors make them: no object, so every object's sites count.
    stripped.push(
        natmod_linker::LinkError::new(ErrorKind::UndefinedSymbol, "undefined symbol: missing_open")
            .symbol("missing_open"),
    );
    natmod_linker::facts::complete_undefined_sites(&res, &mut stripped);
    for (full, filled) in undefined.iter().zip(&stripped) {
        assert_eq!(full.sites, filled.sites);
    }
    let all: Vec<&str> = stripped[5]
        .sites
        .iter()
        .map(|s| s.object.as_str())
        .collect();
    assert!(
        all.contains(&"first.o") && all.contains(&"second.o"),
        "{all:?}"
    );
}

#[test]
fn sessions_can_move_to_a_worker_thread() {
    fn send<T: Send>() {}
    send::<Session>();
}
