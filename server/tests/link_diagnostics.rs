//! Link errors placed at C lines: small C files are compiled with the real toolchains, linked
//! with natmod-linker's `Session` (what the server runs on save), and the `LinkError`s it
//! returns are placed with `rebuild::place::place`. Each test checks exact lines and messages.
//!
//! Needs `gcc`; the Arm, RISC-V tests need `arm-none-eabi-gcc` and `riscv64-unknown-elf-gcc`
//! with picolibc (scripts/provision.sh installs them). The sources include the golden corpus's
//! stand-in `natmod.h` (../shared/golden/src/include).

use natmod_linker::facts::LinkFacts;
use natmod_linker::{Dialect, ErrorKind, Externs, LinkError, Session, SessionConfig};
use natmod_lsp::c::ProjectIndex;
use natmod_lsp::diag::{Diag, Fix};
use natmod_lsp::rebuild::place::{place, place_link_errors, PlaceContext};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("natmod-lsp-linkdiag-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn golden_include() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/src/include");
    assert!(
        p.join("natmod.h").is_file(),
        "missing {} (the golden corpus's natmod.h; see README.md)",
        p.display()
    );
    p
}

/// The compiler and flags `py/dynruntime.mk` uses for `arch`.
fn toolchain(arch: &str) -> (&'static str, Vec<&'static str>) {
    let common = vec![
        "-std=c99",
        "-Os",
        "-fpic",
        "-fno-common",
        "-U_FORTIFY_SOURCE",
    ];
    let (cc, extra): (&str, &[&str]) = match arch {
        "x64" => ("gcc", &["-fno-stack-protector"]),
        "armv6m" => ("arm-none-eabi-gcc", &["-mthumb", "-mcpu=cortex-m0"]),
        "rv32imc" => (
            "riscv64-unknown-elf-gcc",
            &[
                "-march=rv32imac",
                "-mabi=ilp32",
                "-mno-relax",
                "--specs=picolibc.specs",
            ],
        ),
        _ => panic!("no toolchain for {arch} in this test"),
    };
    (
        cc,
        common.into_iter().chain(extra.iter().copied()).collect(),
    )
}

/// A linked (failed) test module.
struct Case {
    scratch: Scratch,
    objects: Vec<(String, PathBuf)>,
    index: ProjectIndex,
    errors: Vec<LinkError>,
    facts: LinkFacts,
}

impl Case {
    fn src(&self, name: &str) -> PathBuf {
        self.scratch.0.join(name)
    }

    fn makefile(&self) -> PathBuf {
        self.scratch.0.join("Makefile")
    }

    fn place_with(&self, makefile_text: Option<&str>, rom: Option<&Externs>) -> Vec<Diag> {
        let makefile = self.makefile();
        place(
            &self.errors,
            &PlaceContext {
                facts: Some(&self.facts),
                objects: &self.objects,
                index: &self.index,
                makefile: &makefile,
                makefile_text,
                rom_symbols: rom,
            },
        )
    }

    fn place(&self) -> Vec<Diag> {
        self.place_with(None, None)
    }
}

/// Compiles `files` (name, C text) for `arch`, links the objects in order with a `Session`,
/// and indexes the sources; `extra` sources are indexed but not linked.
fn link_case(name: &str, arch: &str, dialect: Dialect, files: &[(&str, &str)]) -> Case {
    link_case_with(name, arch, dialect, files, &[])
}

fn link_case_with(
    name: &str,
    arch: &str,
    dialect: Dialect,
    files: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Case {
    let scratch = Scratch::new(name);
    let dir = scratch.0.clone();
    // config.h as `--preprocess` writes it: every MP_QSTR_ used becomes a table entry.
    let mut config = String::from("#include <stdint.h>\n");
    let mut qstrs: Vec<String> = Vec::new();
    for (_, text) in files {
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if let Some(q) = w.strip_prefix("MP_QSTR_") {
                if !qstrs.iter().any(|x| x == q) {
                    qstrs.push(q.to_string());
                }
            }
        }
    }
    for (i, q) in qstrs.iter().enumerate() {
        config.push_str(&format!(
            "#define MP_QSTR_{q} (mp_native_qstr_table[{}])\n",
            i + 1
        ));
    }
    config.push_str("extern const uint16_t mp_native_qstr_table[];\n");
    config.push_str("extern const uintptr_t mp_native_obj_table[];\n");
    std::fs::write(dir.join("config.h"), config).unwrap();
    let (cc, flags) = toolchain(arch);
    let include = golden_include();
    let mut config_s = SessionConfig::new(arch, dir.join("out.mpy"));
    config_s.dialect = dialect;
    config_s.qstrs = natmod_linker::QstrSource::List(qstrs);
    let mut session = Session::new(config_s);
    let mut objects = Vec::new();
    let mut index = ProjectIndex::new();
    for (file, text) in files {
        let src = dir.join(file);
        std::fs::write(&src, text).unwrap();
        let obj = file.replace(".c", ".o");
        let out = Command::new(cc)
            .args(&flags)
            .arg("-I")
            .arg(&include)
            .arg("-I")
            .arg(&dir)
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(dir.join(&obj))
            .output()
            .unwrap_or_else(|e| {
                panic!("{cc} is missing ({e}; install the toolchains: scripts/provision.sh)")
            });
        assert!(
            out.status.success(),
            "{cc} {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(dir.join(&obj)).unwrap();
        session.set_object(&obj, &bytes);
        objects.push((obj, src.clone()));
        index.update(&src, text);
    }
    for (file, text) in extra {
        let src = dir.join(file);
        std::fs::write(&src, text).unwrap();
        index.update(&src, text);
    }
    let failure = match session.link() {
        Ok(_) => panic!("{name}: the link succeeded"),
        Err(f) => f,
    };
    Case {
        scratch,
        objects,
        index,
        errors: failure.errors,
        facts: failure.facts,
    }
}

/// `(file name, line, message)` of each diagnostic, for compact assertions.
fn summary(diags: &[Diag]) -> Vec<(String, u32, String)> {
    diags
        .iter()
        .map(|d| {
            (
                d.span
                    .path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                d.span.start.line,
                d.message.clone(),
            )
        })
        .collect()
}

fn kinds(errors: &[LinkError]) -> Vec<ErrorKind> {
    errors.iter().map(|e| e.kind).collect()
}

const UNDEFINED_A: &str = r#"#include "natmod.h"
#include <stdio.h>

static obj_t show(obj_t x) {
    printf("x = %d\n", (int)rt_get_int(x));
    return rt_none();
}
const struct builtin_fun show_obj = {&mp_type_fun_builtin_1, (const void *)show};

int twice(int n) {
    printf("twice %d\n", n);
    return 2 * n;
}

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_show, (obj_t)&show_obj);
    MODULE_INIT_END();
}
"#;

const UNDEFINED_B: &str = r#"#include "natmod.h"
#include <stdio.h>
int twice(int n);

int hello(void) {
    printf("hello\n");
    return twice(printf("%d", 3));
}
"#;

#[test]
fn undefined_symbol_marks_every_use_in_every_referencing_file() {
    let c = link_case(
        "undefined",
        "x64",
        Dialect::Newest,
        &[("a.c", UNDEFINED_A), ("b.c", UNDEFINED_B)],
    );
    assert_eq!(
        kinds(&c.errors),
        [
            ErrorKind::UndefinedSymbol,
            ErrorKind::UndefinedSymbol,
            ErrorKind::UndefinedSymbol
        ]
    );
    let reason = "not defined in the module and not in mp_fun_table, so a native module cannot use it; use mp_printf(&mp_plat_print, ...) instead";
    let printf = format!("undefined symbol `printf`: {reason}");
    assert_eq!(
        summary(&c.place()),
        [
            ("a.c".into(), 4, printf.clone()),
            ("a.c".into(), 10, printf.clone()),
            // gcc turns printf("hello\n") into puts("hello"): placed at the printf.
            (
                "b.c".into(),
                5,
                format!("undefined symbol `puts` (the compiler turned this `printf` into `puts`): {reason}")
            ),
            ("b.c".into(), 5, printf.clone()),
            ("b.c".into(), 6, printf),
        ]
    );
    let d = c.place();
    assert_eq!((d[0].span.start.col, d[0].span.end.col), (4, 10));
    assert!(d
        .iter()
        .all(|d| d.code == "undefined-symbol" && d.fixes.is_empty()));
}

const LINK_RUNTIME_C: &str = r#"#include "natmod.h"

static obj_t big_div(obj_t a_in, obj_t b_in) {
    unsigned __int128 a = (unsigned __int128)rt_get_int(a_in) << 64;
    unsigned __int128 b = (unsigned __int128)rt_get_int(b_in);
    return rt_int((intptr_t)(a / b));
}
const struct builtin_fun big_div_obj = {&mp_type_fun_builtin_2, (const void *)big_div};

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_big_div, (obj_t)&big_div_obj);
    MODULE_INIT_END();
}
"#;

#[test]
fn runtime_helper_goes_to_the_division_with_the_link_runtime_fix() {
    let mut c = link_case(
        "runtime",
        "x64",
        Dialect::Newest,
        &[("div.c", LINK_RUNTIME_C)],
    );
    assert_eq!(kinds(&c.errors), [ErrorKind::UndefinedSymbol]);
    assert_eq!(c.errors[0].symbol.as_deref(), Some("__udivti3"));
    // Without natmod-ld's --hint-libs annotation: the plain reason, at the division.
    assert_eq!(
        summary(&c.place()),
        [(
            "div.c".into(),
            5,
            "undefined symbol `__udivti3` (the compiler calls it for this division): not defined in the module and not in mp_fun_table, so a native module cannot use it".into()
        )]
    );
    // With it (what the server does with the runtime archives): LINK_RUNTIME = 1.
    let runtime = natmod_linker::hints::runtime_archives("x64").expect("x64 runtime archives");
    natmod_linker::hints::annotate_undefined(&mut c.errors, &runtime);
    let detail = c.errors[0].detail.clone().unwrap_or_default();
    let provider = detail
        .strip_prefix("provided by ")
        .and_then(|d| d.strip_suffix("; set LINK_RUNTIME = 1"))
        .unwrap_or_else(|| panic!("detail: {detail}"));
    assert_eq!(c.errors[0].runtime_provider.as_deref(), Some(provider));
    assert!(provider.starts_with("libgcc.a:"), "{provider}");
    let d = c.place();
    assert_eq!(
        summary(&d),
        [(
            "div.c".into(),
            5,
            format!("undefined symbol `__udivti3` (the compiler calls it for this division): provided by {provider} (the toolchain runtime), not by mp_fun_table; set LINK_RUNTIME = 1 in the Makefile")
        )]
    );
    assert_eq!((d[0].span.start.col, d[0].span.end.col), (29, 34));
    assert_eq!(d[0].fixes, [Fix::AddLinkRuntime]);
}

#[test]
fn rom_symbol_suggests_the_externs_file() {
    let c = link_case(
        "rom",
        "x64",
        Dialect::Newest,
        &[(
            "rom.c",
            r#"#include "natmod.h"
int SPIRead(uint32_t addr, void *dst, uint32_t size);

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    uint32_t word;
    MODULE_INIT_BEGIN(self);
    SPIRead(0x1000, &word, 4);
    rt_store_global(MP_QSTR_word, rt_int(word));
    MODULE_INIT_END();
}
"#,
        )],
    );
    let rom = Externs::parse(
        "boards/rom.ld",
        "PROVIDE ( Cache_Read_Enable = 0x40004678 );\nPROVIDE ( SPIRead = 0x40004b1c );\n",
    )
    .expect("externs");
    let d = c.place_with(None, Some(&rom));
    assert_eq!(
        summary(&d),
        [(
            "rom.c".into(),
            6,
            "undefined symbol `SPIRead`: not in mp_fun_table, but the chip's ROM has it (rom.ld); set MPY_EXTERN_SYM_FILE = boards/rom.ld in the Makefile".into()
        )]
    );
    assert_eq!(d[0].fixes, [Fix::SetExternFile]);
    assert_eq!(d[0].related.len(), 1);
    assert_eq!(d[0].related[0].0.path, Path::new("boards/rom.ld"));
    assert_eq!(d[0].related[0].0.start.line, 1);
}

#[test]
fn undefined_symbol_defined_static_elsewhere_or_outside_src() {
    let c = link_case_with(
        "static_elsewhere",
        "x64",
        Dialect::Newest,
        &[
            (
                "main.c",
                r#"#include "natmod.h"
int helper(int x);
int unlinked(int x);

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_v, rt_int(helper(1) + unlinked(2)));
    MODULE_INIT_END();
}
"#,
            ),
            (
                "helper.c",
                "static int helper(int x) { return x + 1; }\nint use_helper(void) { return helper(2); }\n",
            ),
        ],
        &[("extra.c", "int unlinked(int x) { return x; }\n")],
    );
    let d = c.place();
    assert_eq!(
        summary(&d),
        [
            (
                "main.c".into(),
                6,
                "undefined symbol `helper`: defined `static` in helper.c, so other files cannot use it; drop `static` there".into()
            ),
            (
                "main.c".into(),
                6,
                "undefined symbol `unlinked`: defined in extra.c, which is not in the Makefile's SRC; add it there".into()
            ),
        ]
    );
    let helper = c.src("helper.c");
    match &d[0].fixes[..] {
        [Fix::DropStatic { span }] => {
            assert_eq!(span.path, helper);
            assert_eq!((span.start.line, span.start.col, span.end.col), (0, 0, 6));
        }
        other => panic!("fixes: {other:?}"),
    }
    assert_eq!(d[0].related[0].0.path, helper);
    assert_eq!(d[1].related[0].0.path, c.src("extra.c"));
}

const DATA_C: &str = r#"#include "natmod.h"

int scale = 3;
int counter = 5;
const char *names[2] = {"a", "b"};
static int limit = 9;
int zeroed = 0;
static const int fixed = 4;

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    static int calls = 2;
    MODULE_INIT_BEGIN(self);
    counter++;
    calls++;
    zeroed += limit-- * fixed;
    rt_store_global(MP_QSTR_n, rt_int(calls * scale + (intptr_t)names[n_args & 1][0]));
    MODULE_INIT_END();
}
"#;

#[test]
fn data_marks_each_initialised_writable_variable() {
    let c = link_case("data", "x64", Dialect::Newest, &[("data.c", DATA_C)]);
    assert_eq!(
        kinds(&c.errors),
        [ErrorKind::DataNonEmpty, ErrorKind::DataNonEmpty]
    );
    let d = c.place();
    assert_eq!(
        summary(&d),
        [
            ("data.c".into(), 5, "`limit` is an initialised writable global (4 bytes in .data): native modules cannot have .data; it is written (in `mpy_init`), so drop the initializer and `static` (static BSS is refused too), and set it at run time, e.g. in mpy_init".into()),
            ("data.c".into(), 10, "`calls` is an initialised writable static local (4 bytes in .data): native modules cannot have .data; it is written (in `mpy_init`), so move it to file scope, without `static` or an initializer, and set it at run time, e.g. in mpy_init".into()),
            ("data.c".into(), 3, "`counter` is an initialised writable global (4 bytes in .data): native modules cannot have .data; it is written (in `mpy_init`), so drop the initializer and set it at run time, e.g. in mpy_init".into()),
            ("data.c".into(), 2, "`scale` is an initialised writable global (4 bytes in .data): native modules cannot have .data; make it `const`".into()),
            ("data.c".into(), 4, "`names` is an initialised writable global (16 bytes in .data.rel.local): native modules cannot have .data.rel.local; make it `const` (for a pointer, `* const`: the pointer itself must be const)".into()),
        ]
    );
    let src = c.src("data.c");
    assert_eq!((d[3].span.start.col, d[3].span.end.col), (4, 9));
    assert_eq!(
        d[3].fixes,
        [Fix::MakeConst {
            span: natmod_lsp::diag::Span {
                path: src.clone(),
                start: natmod_lsp::diag::Pos { line: 2, col: 0 },
                end: natmod_lsp::diag::Pos { line: 2, col: 14 },
            }
        }]
    );
    assert!(d[0].fixes.is_empty() && d[2].fixes.is_empty());
    assert!(d.iter().all(|d| d.code == "data-non-empty"));
}

const STATIC_BSS_C: &str = r#"#include "natmod.h"

static uint32_t hidden_count;
static uint32_t other_count;
static uint8_t unused_buf[8];

static obj_t bump(obj_t by) {
    hidden_count += (uint32_t)rt_get_int(by);
    return rt_int((intptr_t)hidden_count);
}
const struct builtin_fun bump_obj = {&mp_type_fun_builtin_1, (const void *)bump};

static obj_t tick(void) {
    static uint32_t ticks;
    ticks += 2;
    other_count++;
    return rt_int((intptr_t)(ticks + other_count));
}
const struct builtin_fun tick_obj = {&mp_type_fun_builtin_0, (const void *)tick};

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    unused_buf[n_args & 7] = 1;
    rt_store_global(MP_QSTR_bump, (obj_t)&bump_obj);
    rt_store_global(MP_QSTR_tick, (obj_t)&tick_obj);
    MODULE_INIT_END();
}
"#;

#[test]
fn static_bss_marks_the_static_declaration_with_drop_static() {
    let c = link_case(
        "static_bss",
        "x64",
        Dialect::Newest,
        &[("sb.c", STATIC_BSS_C)],
    );
    assert!(kinds(&c.errors).iter().all(|k| *k == ErrorKind::StaticBss));
    assert!(c.errors.iter().all(|e| e.symbol.as_deref() == Some(".bss")));
    let d = c.place();
    let tail = "the loader places BSS apart from the code, which cannot reach a static one (fixed relocation to bss)";
    assert_eq!(
        summary(&d),
        [
            ("sb.c".into(), 2, format!("`hidden_count` is a `static` BSS variable (used in `bump`): {tail}; drop `static`")),
            ("sb.c".into(), 3, format!("`other_count` is a `static` BSS variable (used in `tick`): {tail}; drop `static`")),
            ("sb.c".into(), 13, format!("`ticks` is a `static` BSS variable (used in `tick`): {tail}; move it out of `tick` to file scope, without `static`")),
        ]
    );
    match &d[0].fixes[..] {
        [Fix::DropStatic { span }] => {
            assert_eq!(span.path, c.src("sb.c"));
            assert_eq!((span.start.line, span.start.col, span.end.col), (2, 0, 6));
        }
        other => panic!("fixes: {other:?}"),
    }
    assert!(d[2].fixes.is_empty());
}

#[test]
fn duplicate_symbol_marks_both_definitions_with_related_information() {
    let one = r#"#include "natmod.h"
int shared_table[8];

int shared_helper(int x) {
    return shared_table[x & 7] + 1;
}

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_value, rt_int(shared_helper(2)));
    MODULE_INIT_END();
}
"#;
    let two = "int shared_table[8];\n\nint shared_helper(int x) {\n    return shared_table[(x + 1) & 7] * 2;\n}\n";
    let c = link_case(
        "duplicate",
        "x64",
        Dialect::Newest,
        &[("one.c", one), ("two.c", two)],
    );
    let d = c.place();
    let msg = |s: &str| {
        format!("duplicate symbol `{s}`: defined in both one.c and two.c; make one `static` or rename it")
    };
    assert_eq!(
        summary(&d),
        [
            ("one.c".into(), 3, msg("shared_helper")),
            ("two.c".into(), 2, msg("shared_helper")),
            ("one.c".into(), 1, msg("shared_table")),
            ("two.c".into(), 0, msg("shared_table")),
        ]
    );
    assert_eq!(d[0].related.len(), 1);
    assert_eq!(d[0].related[0].0.path, c.src("two.c"));
    assert_eq!(d[0].related[0].0.start.line, 2);
    assert_eq!(d[0].related[0].1, "the other definition of `shared_helper`");
    assert_eq!(d[1].related[0].0.path, c.src("one.c"));
    assert_eq!(d[1].related[0].0.start.line, 3);
}

#[test]
fn missing_mpy_init_goes_to_the_src_line_or_the_static_definition() {
    let c = link_case(
        "missing_init",
        "x64",
        Dialect::Newest,
        &[("noinit.c", "int add(int a, int b) { return a + b; }\n")],
    );
    assert_eq!(kinds(&c.errors), [ErrorKind::MissingEntry]);
    let message = "no `mpy_init` in the module's sources: every native module needs a global `mpy_init` entry point (unknown symbol: mpy_init)";
    let mk = "MPY_DIR ?= ../mpy\nMOD = noinit\n\nSRC = noinit.c\nARCH ?= x64\n";
    let d = c.place_with(Some(mk), None);
    assert_eq!(summary(&d), [("Makefile".into(), 3, message.into())]);
    assert_eq!((d[0].span.start.col, d[0].span.end.col), (0, 14));
    // Without the Makefile's text: the first line of the first source.
    assert_eq!(
        summary(&c.place()),
        [("noinit.c".into(), 0, message.into())]
    );
    // Through the convenience entry point, which reads the Makefile.
    std::fs::write(c.makefile(), mk).unwrap();
    let d2 = place_link_errors(
        &c.errors,
        Some(&c.facts),
        &c.objects,
        &c.index,
        &c.makefile(),
    );
    assert_eq!(d2, d);

    let c = link_case(
        "static_init",
        "x64",
        Dialect::Newest,
        &[(
            "st.c",
            "#include <stddef.h>\n\nstatic void *mpy_init(void *self, size_t n_args, size_t n_kw, void **args) {\n    return args[n_args + n_kw];\n}\nvoid *keep(void) { return (void *)mpy_init; }\n",
        )],
    );
    let d = c.place_with(Some(mk), None);
    assert_eq!(
        summary(&d),
        [(
            "st.c".into(),
            2,
            "`mpy_init` is `static`: the module's entry point must be global; drop `static`".into()
        )]
    );
    assert!(
        matches!(&d[0].fixes[..], [Fix::DropStatic { span }] if span.start.col == 0 && span.end.col == 6)
    );
}

#[test]
fn entry_jump_out_of_range_goes_to_mpy_init() {
    // v1.23 writes a 2-byte Thumb-1 branch: mpy_init must start within 2 KiB of the text.
    let c = link_case(
        "jump",
        "armv6m",
        Dialect::V1_23,
        &[(
            "far.c",
            r#"#include "natmod.h"

void padding(void) {
    __asm__ volatile(".space 4096");
}

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    padding();
    MODULE_INIT_END();
}
"#,
        )],
    );
    assert_eq!(kinds(&c.errors), [ErrorKind::JumpTooFar]);
    let d = c.place();
    assert_eq!(
        summary(&d),
        [("far.c".into(), 6, "entry jump out of range for armv6m: `mpy_init` starts too far into the text for the entry jump; define it earlier (its file first in SRC, near the top of that file)".into())]
    );
    assert_eq!(d[0].code, "jump-too-far");
}

#[test]
fn unsupported_relocation_goes_to_the_uses_in_the_function_holding_the_offset() {
    let c = link_case(
        "tls",
        "rv32imc",
        Dialect::Newest,
        &[(
            "tls.c",
            r#"#include "natmod.h"

__thread int tls_counter;

__attribute__((noinline)) static int bump(int by) {
    tls_counter += by;
    return tls_counter;
}

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_counter, rt_int(bump((int)n_args)));
    MODULE_INIT_END();
}
"#,
        )],
    );
    assert!(kinds(&c.errors)
        .iter()
        .all(|k| *k == ErrorKind::UnsupportedTls));
    assert!(c.errors.len() > 1);
    let msg = "tls.o: RISC-V TP-relative relocation: tls_counter (in `bump`): native modules have no thread-local storage";
    let d = c.place();
    assert_eq!(
        summary(&d),
        [
            ("tls.c".into(), 5, msg.into()),
            ("tls.c".into(), 6, msg.into())
        ]
    );
    assert!(d.iter().all(|d| d.code == "unsupported-relocation"));
}

#[test]
fn fixed_relocation_to_an_external_symbol_goes_to_its_use() {
    let c = link_case(
        "fixed_external",
        "x64",
        Dialect::Newest,
        &[(
            "hidden.c",
            r#"#include "natmod.h"

extern const struct obj_type mp_type_list __attribute__((visibility("hidden")));

static obj_t list_type(void) {
    return (obj_t)&mp_type_list;
}
const struct builtin_fun list_type_obj = {&mp_type_fun_builtin_0, (const void *)list_type};

obj_t mpy_init(struct init_self *self, size_t n_args, size_t n_kw, obj_t *args) {
    MODULE_INIT_BEGIN(self);
    rt_store_global(MP_QSTR_list_type, (obj_t)&list_type_obj);
    MODULE_INIT_END();
}
"#,
        )],
    );
    assert_eq!(kinds(&c.errors), [ErrorKind::FixedExternal]);
    let d = c.place();
    assert_eq!(
        summary(&d),
        [("hidden.c".into(), 5, "hidden.o: fixed relocation to external symbol: mp_type_list (in `list_type`): mp_type_list is outside the module and must be reached through the GOT, not by a direct call or PC-relative reference".into())]
    );
    assert_eq!((d[0].span.start.col, d[0].span.end.col), (19, 31));
    assert_eq!(d[0].code, "fixed-external");
    // Without link facts the offset cannot be mapped to a function: the Makefile, in full.
    let index = &c.index;
    let d = place(
        &c.errors,
        &PlaceContext {
            facts: None,
            objects: &c.objects,
            index,
            makefile: &c.makefile(),
            makefile_text: None,
            rom_symbols: None,
        },
    );
    assert_eq!(
        summary(&d),
        [("Makefile".into(), 0, c.errors[0].to_string())]
    );
}

#[test]
fn static_bss_without_facts_suspects_every_static_bss_variable_used_nowhere_else() {
    let c = link_case(
        "static_bss_nofacts",
        "x64",
        Dialect::Newest,
        &[("sb.c", STATIC_BSS_C)],
    );
    let makefile = c.makefile();
    let d = place(
        &c.errors,
        &PlaceContext {
            facts: None,
            objects: &c.objects,
            index: &c.index,
            makefile: &makefile,
            makefile_text: None,
            rom_symbols: None,
        },
    );
    let lines: Vec<u32> = d.iter().map(|d| d.span.start.line).collect();
    assert_eq!(lines, [2, 3, 4, 13]);
    assert!(d.iter().all(|d| d.code == "static-bss"));
}

#[test]
fn what_cannot_be_placed_goes_to_the_makefile_line_the_user_acts_on_in_full() {
    let errors = vec![
        LinkError::bad_object("build/x.o", "truncated header"),
        LinkError::new(
            ErrorKind::UndefinedSymbol,
            "libm.a:sin.o: undefined symbol: __errno",
        )
        .symbol("__errno")
        .object("libm.a:sin.o"),
        LinkError::new(ErrorKind::DataNonEmpty, "gone.o: .data non-empty")
            .object("gone.o")
            .detail("symbol: nowhere, 4 bytes"),
    ];
    let index = ProjectIndex::new();
    let mk = Path::new("/p/Makefile");
    // No C line to point at: the line that brings the runtime in (LINK_RUNTIME, else
    // MPY_LD_FLAGS), else SRC's, else the first.
    for (text, line) in [
        ("MOD = x\nSRC = x.c\n", 1),
        ("MOD = x\nSRC = x.c\nMPY_LD_FLAGS += -l libm.a\n", 2),
        (
            "MOD = x\nMPY_LD_FLAGS += -l libm.a\nSRC = x.c\nLINK_RUNTIME = 1\n",
            3,
        ),
        ("# no assignments at all\n", 0),
    ] {
        let d = place(
            &errors,
            &PlaceContext {
                facts: None,
                objects: &[],
                index: &index,
                makefile: mk,
                makefile_text: Some(text),
                rom_symbols: None,
            },
        );
        assert_eq!(
            summary(&d),
            [
                (
                    "Makefile".into(),
                    line,
                    "build/x.o: not a valid ELF object: truncated header".into()
                ),
                (
                    "Makefile".into(),
                    line,
                    "libm.a:sin.o: undefined symbol: __errno".into()
                ),
                (
                    "Makefile".into(),
                    line,
                    "gone.o: .data non-empty (symbol: nowhere, 4 bytes)".into()
                ),
            ]
        );
        let whole_line = text.lines().nth(line as usize).unwrap().len() as u32;
        assert_eq!((d[0].span.start.col, d[0].span.end.col), (0, whole_line));
        assert_eq!(
            d.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
            ["link-error", "undefined-symbol", "data-non-empty"]
        );
    }
}

/// The provisioned MicroPython v1.23 tree, as the tests crate finds it.
fn mpy_dir() -> PathBuf {
    let dir = std::env::var_os("NATMOD_TEST_MPY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mpy-dir/micropython")
        });
    assert!(
        dir.join("py/dynruntime.mk").is_file(),
        "missing MicroPython tree at {} (run scripts/provision-mpy-dir.sh, or set NATMOD_TEST_MPY_DIR)",
        dir.display()
    );
    dir
}

/// `(file name, 0-based line)` of every `BROKEN:` marker in the example's sources and Makefile.
fn broken_markers(dir: &Path, files: &[&str]) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for f in files.iter().copied().chain(["Makefile"]) {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.contains("// BROKEN:") || line.contains("# BROKEN:") {
                out.push((f.to_string(), i as u32));
            }
        }
    }
    out.sort();
    out
}

/// Compiles examples/broken/`name` as dynruntime.mk does for x64 (into a scratch dir), links it
/// with a `Session` (runtime hints added, as the server does) and places the errors.
fn place_broken_example(name: &str, files: &[&str]) -> (Vec<Diag>, PathBuf) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/broken")
        .join(name);
    let mpy = mpy_dir();
    let scratch = Scratch::new(&format!("example-{name}"));
    let texts: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(example.join(f)).unwrap())
        .collect();
    let qstrs = natmod_linker::qstr::module_qstrs(texts.iter().map(|t| t.as_slice()));
    let config = scratch.0.join("config.h");
    std::fs::write(
        &config,
        natmod_linker::qstr::config_h(&qstrs, Dialect::V1_23),
    )
    .unwrap();
    let mut cfg = SessionConfig::new("x64", scratch.0.join("out.mpy"));
    cfg.dialect = Dialect::V1_23;
    cfg.qstrs = natmod_linker::QstrSource::List(qstrs);
    let mut session = Session::new(cfg);
    let mut objects = Vec::new();
    let mut index = ProjectIndex::new();
    for (f, text) in files.iter().zip(&texts) {
        let obj = format!("build/{}", f.replace(".c", ".o"));
        let out_path = scratch.0.join(f.replace(".c", ".o"));
        let out = Command::new("gcc")
            .current_dir(&example)
            .args(["-I.", "-I"])
            .arg(&mpy)
            .args([
                "-std=c99",
                "-Os",
                "-Wall",
                "-Werror",
                "-DNDEBUG",
                "-DNO_QSTR",
                "-DMICROPY_ENABLE_DYNRUNTIME",
            ])
            .arg(format!("-DMP_CONFIGFILE=<{}>", config.display()))
            .args([
                "-fpic",
                "-fno-common",
                "-U_FORTIFY_SOURCE",
                "-fno-stack-protector",
                "-c",
                f,
                "-o",
            ])
            .arg(&out_path)
            .output()
            .expect("gcc is missing (install the toolchains: scripts/provision.sh)");
        assert!(
            out.status.success(),
            "gcc {name}/{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        session.set_object(&obj, &std::fs::read(&out_path).unwrap());
        let src = example.join(f);
        index.update(&src, &String::from_utf8_lossy(text));
        objects.push((obj, src));
    }
    let mut failure = match session.link() {
        Ok(_) => panic!("examples/broken/{name} linked"),
        Err(f) => f,
    };
    let runtime = natmod_linker::hints::runtime_archives("x64").expect("x64 runtime archives");
    natmod_linker::hints::annotate_undefined(&mut failure.errors, &runtime);
    let makefile = example.join("Makefile");
    let mk_text = std::fs::read_to_string(&makefile).unwrap();
    let d = place(
        &failure.errors,
        &PlaceContext {
            facts: Some(&failure.facts),
            objects: &objects,
            index: &index,
            makefile: &makefile,
            makefile_text: Some(&mk_text),
            rom_symbols: None,
        },
    );
    (d, example)
}

#[test]
fn bundled_broken_examples_are_placed_on_their_broken_lines() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "undefined",
            &["undefined.c"],
            "undefined-symbol",
            "`printf`",
        ),
        (
            "link_runtime",
            &["link_runtime.c"],
            "undefined-symbol",
            "`__udivti3`",
        ),
        ("data", &["data.c"], "data-non-empty", "`weights`"),
        ("static_bss", &["static_bss.c"], "static-bss", "`total`"),
        (
            "duplicate",
            &["main.c", "helpers.c"],
            "duplicate-symbol",
            "`scaled`",
        ),
        (
            "missing_init",
            &["missing_init.c"],
            "missing-mpy-init",
            "`mpy_init`",
        ),
    ];
    for (name, files, code, symbol) in cases {
        let (d, dir) = place_broken_example(name, files);
        let mut at: Vec<(String, u32)> = summary(&d).into_iter().map(|(f, l, _)| (f, l)).collect();
        at.sort();
        assert_eq!(at, broken_markers(&dir, files), "{name}: {d:#?}");
        for diag in &d {
            assert_eq!(diag.code, *code, "{name}");
            assert!(diag.message.contains(symbol), "{name}: {}", diag.message);
        }
        let fixes: Vec<&Fix> = d.iter().flat_map(|d| &d.fixes).collect();
        match *name {
            "link_runtime" => assert_eq!(fixes, [&Fix::AddLinkRuntime]),
            "data" => assert!(matches!(fixes[..], [Fix::MakeConst { .. }])),
            "static_bss" => assert!(matches!(fixes[..], [Fix::DropStatic { .. }])),
            _ => assert!(fixes.is_empty(), "{name}: {fixes:?}"),
        }
    }
}
