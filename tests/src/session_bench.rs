//! `natmod-bench session`: in-process timings of [`natmod_linker::Session`], the path the
//! language server takes on every save.
//!
//! Prints medians of: relinking after one object changed (`set_object` with new bytes, which
//! re-parses that object, then `link`), relinking with nothing changed, and a cold session
//! (`Session::new`, every `set_object`, first `link`), for a features-size module (golden
//! multiobj/x64, 3 objects) and a btree-size one (14 objects, about 1000 relocations, generated
//! C compiled with gcc into a temporary directory).

use crate::argv::{argv_of, parse};
use crate::golden::{entries, golden_dir};
use natmod_linker::{Dialect, QstrSource, Session, SessionConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Files of the btree-size module.
const SYNTH_OBJECTS: usize = 14;
/// Functions per generated file.
const SYNTH_FUNCS: usize = 9;

/// A module to time: config, objects in link order, and a second version of one object.
struct Module {
    label: &'static str,
    config: SessionConfig,
    objects: Vec<(String, Vec<u8>)>,
    changed: usize,
    variant: Vec<u8>,
    goal: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..runs.div_ceil(10) {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn session(m: &Module) -> Session {
    let mut s = Session::new(m.config.clone());
    for (n, b) in &m.objects {
        s.set_object(n, b);
    }
    s
}

fn bench(m: &Module, runs: usize) {
    let mut s = session(m);
    let out = s
        .link()
        .unwrap_or_else(|f| panic!("{}: {:?}", m.label, f.errors));
    let relocs: usize = out.facts.objects.iter().map(|o| o.relocations).sum();
    println!(
        "{}: {} objects, {relocs} relocations, {} GOT entries, {}-byte .mpy",
        m.label,
        m.objects.len(),
        out.got_entries,
        out.mpy.len()
    );
    let name = m.objects[m.changed].0.clone();
    let versions = [m.objects[m.changed].1.clone(), m.variant.clone()];
    let mut i = 0;
    let changed = time(runs, || {
        i += 1;
        s.set_object(&name, &versions[i % 2]);
        assert!(s.link().is_ok());
    });
    let unchanged = time(runs, || assert!(s.link().is_ok()));
    let cold = time(runs / 4 + 1, || assert!(session(m).link().is_ok()));
    let verdict = if changed <= m.goal { "ok" } else { "OVER" };
    println!(
        "  relink, one object changed  {:>10}   (goal ≤ {}: {verdict})",
        us(changed),
        us(m.goal)
    );
    println!("  relink, nothing changed     {:>10}", us(unchanged));
    println!("  cold session + first link   {:>10}", us(cold));
}

fn features_module() -> Option<Module> {
    let e = entries()
        .into_iter()
        .find(|e| e["id"] == "multiobj/x64/default")?;
    let dir = golden_dir().join(e["dir"].as_str()?);
    let link = parse(&dir, &argv_of(&e))?;
    let objects: Vec<(String, Vec<u8>)> = link
        .objects
        .iter()
        .map(|o| Some((o.clone(), std::fs::read(dir.join(o)).ok()?)))
        .collect::<Option<_>>()?;
    // A rebuilt util.o: same code, one more byte at the end of the file.
    let mut variant = objects[1].1.clone();
    variant.push(0);
    Some(Module {
        label: "features-size (golden multiobj/x64)",
        config: link.config,
        objects,
        changed: 1,
        variant,
        goal: Duration::from_micros(100),
    })
}

/// C source of generated file `k`: functions calling into other files, GOT-reached BSS in
/// other files, a pointer table in `.data.rel.ro`, strings, qstrs and runtime calls.
fn synth_source(k: usize) -> String {
    let n = SYNTH_OBJECTS;
    let mut s = String::from("#include \"natmod.h\"\n");
    for i in 0..n {
        s += &format!("extern uint32_t state_{i}[16];\n");
        for j in 0..SYNTH_FUNCS {
            s += &format!("int f{i}_{j}(int x);\n");
        }
    }
    s += &format!("uint32_t state_{k}[16];\n");
    s += &format!(
        "static const char *const names_{k}[4] = {{\"{k}a\", \"{k}b\", \"{k}c\", \"{k}d\"}};\n"
    );
    for j in 0..SYNTH_FUNCS {
        s += &format!(
            "int f{k}_{j}(int x) {{\n\
             #ifdef VARIANT\n    x += VARIANT;\n#endif\n\
             \x20   x += state_{a}[{j}] + state_{b}[x & 15];\n\
             \x20   x ^= f{a}_{c}(x >> 1);\n\
             \x20   x += f{d}_{e}(x + 1);\n\
             \x20   x += names_{k}[x & 3][0];\n\
             \x20   rt_store_global(MP_QSTR_f{k}_{j}, rt_int(x));\n\
             \x20   state_{k}[{j}] += x;\n\
             \x20   return x;\n}}\n",
            a = (k + 1) % n,
            b = (k + j + 2) % n,
            c = (j + 1) % SYNTH_FUNCS,
            d = (k + j + 3) % n,
            e = (j * 3 + 1) % SYNTH_FUNCS,
        );
    }
    if k == 0 {
        s += "obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {\n\
              \x20   MODULE_INIT_BEGIN(self);\n\
              \x20   rt_store_global(MP_QSTR_f0_0, rt_int(f0_0(1)));\n\
              \x20   MODULE_INIT_END();\n}\n";
    }
    s
}

fn gcc(dir: &Path, src: &str, out: &str, extra: &[&str]) -> Result<Vec<u8>, String> {
    let include = crate::shared_dir().join("golden/src/include");
    let st = Command::new("gcc")
        .args(crate::cflags::DYNRUNTIME_CFLAGS)
        .args(["-fno-stack-protector", "-c"])
        .arg(format!("-I{}", include.display()))
        .arg(format!("-I{}", dir.display()))
        .args(extra)
        .args([src, "-o", out])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("gcc: {e}"))?;
    if !st.success() {
        return Err(format!("gcc failed on {src}"));
    }
    std::fs::read(dir.join(out)).map_err(|e| e.to_string())
}

fn btree_module(dir: &Path) -> Result<Module, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut qstrs: Vec<String> = (0..SYNTH_OBJECTS)
        .flat_map(|k| (0..SYNTH_FUNCS).map(move |j| format!("f{k}_{j}")))
        .collect();
    qstrs.sort();
    let config_h = dir.join("config.h");
    std::fs::write(
        &config_h,
        natmod_linker::qstr::config_h(&qstrs, Dialect::Newest),
    )
    .map_err(|e| e.to_string())?;
    let mut objects = Vec::new();
    for k in 0..SYNTH_OBJECTS {
        let src = format!("f{k}.c");
        std::fs::write(dir.join(&src), synth_source(k)).map_err(|e| e.to_string())?;
        objects.push((format!("f{k}.o"), gcc(dir, &src, &format!("f{k}.o"), &[])?));
    }
    let changed = SYNTH_OBJECTS / 2;
    let variant = gcc(dir, &format!("f{changed}.c"), "variant.o", &["-DVARIANT=7"])?;
    let mut config = SessionConfig::new("x64", dir.join("btree.mpy"));
    config.qstrs = QstrSource::ConfigH(config_h.to_string_lossy().into_owned());
    Ok(Module {
        label: "btree-size (generated, x64)",
        config,
        objects,
        changed,
        variant,
        goal: Duration::from_millis(1),
    })
}

/// Runs the session benchmark; `args` are what follows `session` on the command line.
pub fn run(args: &[String]) {
    let mut runs = 2001usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => runs = n,
                None => return eprintln!("natmod-bench session: --runs needs a number"),
            },
            _ => return eprintln!("usage: natmod-bench session [--runs N]"),
        }
    }
    if cfg!(debug_assertions) {
        println!("(debug build: run with --release for meaningful numbers)");
    }
    match features_module() {
        Some(m) => bench(&m, runs),
        None => println!("features-size: golden multiobj/x64 not found"),
    }
    let dir: PathBuf = crate::scratch_dir("session_bench", "btree");
    match btree_module(&dir) {
        Ok(m) => bench(&m, runs / 4 + 1),
        Err(why) => println!("btree-size: skipped ({why})"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
