//! Property: for random link inputs, `--gc-sections` output equals a fresh link (without gc) of
//! the same objects with the dropped sections taken out by binutils' `objcopy -R`, on all 10
//! arches. Inputs are random C modules (a call graph over functions in two objects, const
//! tables, global BSS, string literals, memset calls) from a seeded generator, compiled with
//! the arch's cross gcc and `-ffunction-sections -fdata-sections`.

use natmod_linker::{link, Dialect, LinkConfig, LinkOutput, ObjectFile};
use natmod_tests::rng::Rng;
use natmod_tests::{describe_output, require_tool, scratch_dir};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const SEEDS: u64 = 6;

/// The compiler, its flags (dynruntime.mk's for the arch), objcopy, and the Debian package.
fn toolchain(arch: &str) -> (String, Vec<&'static str>, String, &'static str) {
    let tc = natmod_linker::arch::toolchain_for(arch).expect("known arch");
    let (cc, flags) = (tc.cc, tc.multilib_flags);
    // gcc -m32 needs gcc-multilib, which conflicts with the i686 cross compiler we install.
    let (cc, mut flags) = if arch == "x86" {
        ("i686-linux-gnu-gcc", vec![])
    } else {
        (cc, flags.to_vec())
    };
    if arch.starts_with("rv") {
        flags.push("-mno-relax");
    }
    let package = match cc {
        "gcc" => "gcc",
        "i686-linux-gnu-gcc" => "gcc-i686-linux-gnu",
        "arm-none-eabi-gcc" => "gcc-arm-none-eabi",
        "xtensa-lx106-elf-gcc" => "gcc-xtensa-lx106",
        _ => "gcc-riscv64-unknown-elf",
    };
    let objcopy = format!("{}objcopy", cc.strip_suffix("gcc").unwrap_or(""));
    (cc.to_string(), flags, objcopy, package)
}

/// A random module in two files: `a.c` (with `mpy_init`) and `b.c`.
fn random_module(rng: &mut Rng) -> [String; 2] {
    let n = 4 + rng.below(8);
    let mut decls = String::new();
    let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    for name in &names {
        writeln!(decls, "int {name}(int x);").unwrap();
    }
    writeln!(decls, "extern int counter_a, counter_b;").unwrap();
    let mut files = [
        format!("{decls}int counter_a;\n"),
        format!("{decls}int counter_b;\n"),
    ];
    for (i, name) in names.iter().enumerate() {
        let file = rng.below(2);
        let mut body = String::new();
        writeln!(body, "    int r = x * {};", i + 3).unwrap();
        for _ in 0..rng.below(3) {
            let callee = &names[rng.below(n)];
            writeln!(body, "    if (x > {}) r += {callee}(x - 1);", rng.below(5)).unwrap();
        }
        match rng.below(5) {
            0 => {
                writeln!(
                    files[file],
                    "static const int table_{i}[8] = {{{i}, 1, 2, 3, 4, 5, 6, {}}};",
                    rng.below(100)
                )
                .unwrap();
                writeln!(body, "    r += table_{i}[x & 7];").unwrap();
            }
            1 => {
                let c = if file == 0 { "counter_a" } else { "counter_b" };
                writeln!(body, "    {c} += r;").unwrap();
            }
            2 => writeln!(body, "    r += \"s{i}xyz\"[x & 3];").unwrap(),
            3 => {
                writeln!(files[file], "char buf_{i}[16];").unwrap();
                writeln!(body, "    __builtin_memset(buf_{i}, x, sizeof buf_{i});").unwrap();
            }
            _ => {}
        }
        writeln!(files[file], "int {name}(int x) {{\n{body}    return r;\n}}").unwrap();
    }
    let mut init = String::from("void *mpy_init(void *self, int n_args) {\n    int r = 0;\n");
    for _ in 0..1 + rng.below(2) {
        writeln!(init, "    r += {}(n_args);", names[rng.below(n)]).unwrap();
    }
    init.push_str("    return (void *)(long)r;\n}\n");
    files[0].push_str(&init);
    files
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed\n{}",
        describe_output(&out)
    );
}

fn parse(paths: &[PathBuf]) -> Vec<Arc<ObjectFile>> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            Arc::new(ObjectFile::parse(&p.to_string_lossy(), &bytes).expect("parse object"))
        })
        .collect()
}

fn link_objects(arch: &str, objects: Vec<Arc<ObjectFile>>, gc: bool) -> LinkOutput {
    let config = LinkConfig {
        arch: arch.into(),
        dialect: Dialect::Newest,
        qstrs: vec![],
        source_name: "m.mpy".into(),
        arch_flags: 0,
        gc_sections: gc,
    };
    link(&config, objects, &[], None)
        .unwrap_or_else(|f| panic!("{arch}: link failed: {:?}", f.errors))
}

/// One seed on one arch: returns (sections dropped, bytes saved).
fn check(arch: &str, seed: u64, dir: &Path) -> (usize, usize) {
    let (cc, flags, objcopy, package) = toolchain(arch);
    require_tool(&cc, package);
    require_tool(&objcopy, package);
    let mut rng = Rng::new(seed * 7919 + arch.len() as u64);
    let sources = random_module(&mut rng);
    let mut objects = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let c = dir.join(format!("{i}.c"));
        let o = dir.join(format!("{i}.o"));
        std::fs::write(&c, src).unwrap();
        run(
            Command::new(&cc)
                .args(&flags)
                .args(natmod_tests::cflags::DYNRUNTIME_CFLAGS)
                .arg("-ffreestanding")
                .args([
                    "-fno-stack-protector",
                    "-ffunction-sections",
                    "-fdata-sections",
                ])
                // No .eh_frame: its relocations would keep objcopy from removing sections.
                .args(["-fno-asynchronous-unwind-tables", "-fno-unwind-tables"])
                .args(["-w", "-c", "-o"])
                .arg(&o)
                .arg(&c),
            &format!("{cc} {}", c.display()),
        );
        objects.push(o);
    }
    let gc = link_objects(arch, parse(&objects), true);
    // Take the dropped sections out with objcopy, then link what is left without gc.
    let mut stripped = Vec::new();
    let mut names = Vec::new();
    for (oi, o) in objects.iter().enumerate() {
        let name = o.to_string_lossy();
        let of_this = |x: &Option<usize>| x.is_some_and(|x| gc.facts.objects[x].name == name);
        if !gc
            .facts
            .sections
            .iter()
            .any(|s| !s.removed && of_this(&s.object))
        {
            continue; // Nothing kept: the object leaves the link.
        }
        // --strip-unneeded: undefined symbols only the dropped code named go too (natmod-ld,
        // like mpy_ld.py, resolves every undefined symbol of the symbol table).
        let mut cmd = Command::new(&objcopy);
        cmd.arg("--strip-unneeded");
        // Xtensa's property tables (never linked) name every section; they go first.
        cmd.args(["--wildcard", "-R", ".xt.*"]);
        for s in &gc.facts.sections {
            if s.removed && of_this(&s.object) {
                cmd.arg("-R").arg(&s.name);
            }
        }
        let out = dir.join(format!("{oi}.kept.o"));
        run(cmd.arg(o).arg(&out), &format!("{objcopy} {name}"));
        stripped.push(out);
        names.push(name.into_owned());
    }
    let mut fresh = parse(&stripped);
    // Same names as the originals, as in the gc link.
    for (f, name) in fresh.iter_mut().zip(names) {
        Arc::make_mut(f).name = name;
    }
    let plain = link_objects(arch, fresh, false);
    let all = link_objects(arch, parse(&objects), false);
    let sources_hint = || format!("sources in {}", dir.display());
    assert!(
        gc.mpy == plain.mpy,
        "{arch} seed {seed}: --gc-sections ({} bytes) differs from a link of the kept sections ({} bytes); {}",
        gc.mpy.len(),
        plain.mpy.len(),
        sources_hint()
    );
    assert!(
        gc.mpy.len() <= all.mpy.len(),
        "{arch} seed {seed}: --gc-sections grew the module; {}",
        sources_hint()
    );
    let dropped = gc.facts.sections.iter().filter(|s| s.removed).count();
    (dropped, all.mpy.len() - gc.mpy.len())
}

#[test]
fn gc_output_equals_a_link_of_the_kept_sections() {
    let mut total_dropped = 0;
    for arch in natmod_linker::arch::ARCH_NAMES {
        let mut line = format!("{arch:>10}:");
        for seed in 0..SEEDS {
            let dir = scratch_dir("gc_props", format!("{arch}_{seed}"));
            let (dropped, saved) = check(arch, seed, &dir);
            total_dropped += dropped;
            write!(line, " {dropped} sections/{saved} B").unwrap();
        }
        println!("{line}");
    }
    assert!(
        total_dropped > 0,
        "no random module had an unreachable section: the property was never exercised"
    );
}
