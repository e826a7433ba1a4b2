//! Tests of the C index on samples and on garbage.

use super::*;
use std::path::Path;

/// Garbage nested `depth` deep, the shapes tree-sitter recovers from worst (the lsp_hostile
/// test's garbage.c and garbage.h, scaled).
fn nested_garbage(depth: usize) -> String {
    let mut c = String::from("int f( { return }}} ;\n#define LOOP LOOP LOOP\nLOOP(((((\n");
    c += &"if (".repeat(depth);
    c += "\n";
    c += &"(".repeat(depth);
    c += &"{".repeat(depth);
    c += "\n mp_obj_t mp_ x[[[[;\n";
    c += &"a(b(".repeat(depth);
    c
}

#[test]
fn indexing_deeply_nested_garbage_takes_linear_work() {
    // Counted, not timed: steps up the tree per node stay bounded as the nesting doubles
    // (the quadratic walk this guards against took 11 s on the 20,000-deep garbage).
    let (_, n1, s1) = FileIndex::parse_counting(&nested_garbage(5_000));
    let (_, n2, s2) = FileIndex::parse_counting(&nested_garbage(10_000));
    assert!(n2 > n1 * 3 / 2, "the input must grow: {n1} -> {n2} nodes");
    for (n, s) in [(n1, s1), (n2, s2)] {
        assert!(s <= 8 * n as u64, "{s} steps up the tree for {n} nodes");
    }
    let per_node = |s: u64, n: usize| s as f64 / n as f64;
    assert!(
        per_node(s2, n2) <= per_node(s1, n1) * 1.25 + 0.5,
        "steps per node grew with the nesting: {s1}/{n1} -> {s2}/{n2}"
    );
}

const SAMPLE: &str = r#"#include "py/dynruntime.h"
static int hidden;
const int k = 3, *p;
int x = 5;
extern int ext;
static const char *const names[] = {"a"};
const char *greetings[2] = {"a", "b"};
int zero = 0;
int proto(int a);
int *(*fp)(void);
static mp_obj_t factorial(mp_obj_t n_in) {
    static int cnt = 1;
    int local = proto(3) + x / 2;
    hidden++;
    names2[1] = 0;
    return mp_obj_new_int(MP_QSTR_foo + local + s.field + *(&k));
}
static MP_DEFINE_CONST_FUN_OBJ_1(factorial_obj, factorial);
MP_DEFINE_CONST_FUN_OBJ_1(pub_obj, factorial);
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_factorial, MP_OBJ_FROM_PTR(&factorial_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
unsigned hexed = 0x0F, hexzero = 0x0u;
"#;

fn var<'a>(ix: &'a FileIndex, name: &str) -> &'a Variable {
    ix.variables
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no variable {name}: {:#?}", ix.variables))
}

#[test]
fn functions_with_ranges_and_static() {
    let ix = FileIndex::parse(SAMPLE);
    let names: Vec<_> = ix.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["factorial", "mpy_init"]);
    let f = ix.function("factorial").unwrap();
    assert!(f.is_static);
    assert_eq!(f.name_range.start, Pos { line: 10, col: 16 });
    assert_eq!(f.name_range.end, Pos { line: 10, col: 25 });
    assert_eq!((f.range.start.line, f.range.end.line), (10, 16));
    assert!(!ix.function("mpy_init").unwrap().is_static);
    assert_eq!(ix.function_at_line(13).unwrap().name, "factorial");
    assert_eq!(ix.function_at_line(21).unwrap().name, "mpy_init");
    assert!(ix.function_at_line(17).is_none());
}

#[test]
fn variables_with_storage_const_and_initializer() {
    let ix = FileIndex::parse(SAMPLE);
    let hidden = var(&ix, "hidden");
    assert!(hidden.is_static && !hidden.is_const && !hidden.has_initializer);
    assert_eq!(
        hidden.static_range,
        Some(Range {
            start: Pos { line: 1, col: 0 },
            end: Pos { line: 1, col: 6 }
        })
    );
    assert!(var(&ix, "k").is_const && var(&ix, "k").has_initializer);
    assert!(!var(&ix, "p").is_const, "pointer to const is writable");
    let x = var(&ix, "x");
    assert!(x.has_initializer && !x.is_const && !x.is_static && !x.zero_initializer);
    assert_eq!(x.name_range.start, Pos { line: 3, col: 4 });
    assert_eq!(
        (x.range.start, x.range.end.col),
        (Pos { line: 3, col: 0 }, 10)
    );
    assert!(var(&ix, "ext").is_extern);
    assert!(var(&ix, "names").is_const, "const pointer array");
    assert!(
        !var(&ix, "greetings").is_const,
        "array of pointers to const"
    );
    assert!(var(&ix, "zero").zero_initializer);
    assert!(!var(&ix, "hexed").zero_initializer);
    assert!(var(&ix, "hexzero").zero_initializer);
    assert!(
        !var(&ix, "fp").is_const,
        "pointer to function is a variable"
    );
    assert!(ix.variables.iter().all(|v| v.name != "proto"));
    let cnt = var(&ix, "cnt");
    assert_eq!(cnt.function.as_deref(), Some("factorial"));
    assert!(cnt.is_static && cnt.has_initializer);
    assert!(ix.variables.iter().all(|v| v.name != "local"));
    let fo = var(&ix, "factorial_obj");
    assert!(fo.is_static && fo.is_const && fo.has_initializer);
    assert!(var(&ix, "pub_obj").is_const);
    assert!(matches!(ix.definition("x"), Some(Definition::Variable(_))));
    assert!(ix.definition("ext").is_none());
    assert!(ix.definition("proto").is_none());
}

#[test]
fn references_with_kind_and_function() {
    let ix = FileIndex::parse(SAMPLE);
    let r: Vec<_> = ix.references_to("proto").collect();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].kind, RefKind::Call);
    assert_eq!(r[0].function.as_deref(), Some("factorial"));
    assert_eq!(r[0].range.start, Pos { line: 12, col: 16 });
    assert_eq!(r[0].literal_arg, None);
    let s: Vec<_> = FileIndex::parse("void f(void) { printf(\"hi\\n\", 1); }")
        .references
        .into_iter()
        .map(|r| r.literal_arg)
        .collect();
    assert_eq!(s, [Some("\"hi\\n\"".to_string())]);
    assert_eq!(
        ix.references_to("hidden").next().unwrap().kind,
        RefKind::Write
    );
    assert_eq!(
        ix.references_to("names2").next().unwrap().kind,
        RefKind::Write
    );
    assert_eq!(
        ix.references_to("k").next().unwrap().kind,
        RefKind::AddressOf
    );
    assert_eq!(ix.references_to("x").next().unwrap().kind, RefKind::Read);
    // Declarations, parameters and fields are not references.
    for name in ["n_in", "cnt", "self", "field", "a", "pub_obj"] {
        assert!(
            ix.references_to(name).next().is_none(),
            "{name}: {:?}",
            ix.references_to(name).collect::<Vec<_>>()
        );
    }
    // Inside MP_DEFINE_...(): the function is referenced.
    let f: Vec<_> = ix
        .references_to("factorial")
        .map(|r| r.range.start.line)
        .collect();
    assert_eq!(f, [17, 18]);
    // After MP_DYNRUNTIME_INIT_ENTRY the next statement is still a call.
    let s: Vec<_> = ix.references_to("mp_store_global").collect();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].kind, RefKind::Call);
    assert_eq!(s[0].function.as_deref(), Some("mpy_init"));
    assert_eq!(ix.references_to("factorial_obj").count(), 1);
    let q: Vec<_> = ix.qstrs.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(q, ["foo", "factorial"]);
    assert_eq!(ix.divisions.len(), 1);
    assert_eq!(ix.divisions[0].range.start, Pos { line: 12, col: 27 });
    assert!(!ix.has_errors || ix.functions.len() == 2);
}

#[test]
fn object_defines_in_any_form_but_not_in_comments_or_macros() {
    let ix = FileIndex::parse(concat!(
        "// MP_DEFINE_CONST_FUN_OBJ_1(in_comment_obj, f);\n",
        "/* MP_DEFINE_CONST_FUN_OBJ_1(in_block_obj, f); */\n",
        "#define DEF(n) MP_DEFINE_CONST_FUN_OBJ_1(n, f)\n",
        "static const MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(\n",
        "    multi_obj, 1, 2,\n",
        "    multi);\n",
        "MP_DEFINE_CONST_FUN_OBJ_KW(kw_obj, 1, kw_fun);\n",
        "int after = 1;\n",
        "const char *s = \"MP_DEFINE_CONST_FUN_OBJ_1(in_string, f);\";\n",
    ));
    let names: Vec<_> = ix.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["multi_obj", "kw_obj", "after", "s"]);
    let m = var(&ix, "multi_obj");
    assert!(m.is_static && m.is_const && m.has_initializer);
    assert_eq!(m.name_range.start, Pos { line: 4, col: 4 });
    assert_eq!(
        (m.range.start, m.range.end),
        (Pos { line: 3, col: 0 }, Pos { line: 5, col: 11 })
    );
    assert_eq!(m.static_range.map(|r| r.end.col), Some(6));
    assert!(!var(&ix, "kw_obj").is_static);
    let multi: Vec<_> = ix.references_to("multi").map(|r| r.range.start).collect();
    assert_eq!(multi, [Pos { line: 5, col: 4 }]);
    assert_eq!(ix.references_to("kw_fun").count(), 1);
    assert_eq!(ix.references_to("f").count(), 0);
    assert!(!ix.has_errors);
}

#[test]
fn preprocessor_names_are_not_references() {
    let ix = FileIndex::parse(
            "#define LOG(x) printf(x)\n#ifdef FOO\nint a;\n#endif\n#if defined(BAR) && BAZ\nint b = QUX;\n#endif\n",
        );
    let names: Vec<_> = ix.references.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["QUX"]);
    assert_eq!(ix.variables.len(), 2);
}

#[test]
fn macros_and_locals() {
    let ix = FileIndex::parse(
            "#define TWICE(x) ((x) * 2)\n#define LIMIT 4\nint f(int (*cb)(int), int n) {\n    int k = cb(n);\n    return TWICE(k) + LIMIT;\n}\n",
        );
    let m: Vec<(&str, bool)> = ix
        .macros
        .iter()
        .map(|m| (m.name.as_str(), m.function_like))
        .collect();
    assert_eq!(m, vec![("TWICE", true), ("LIMIT", false)]);
    assert_eq!(ix.macros[0].name_range.start, Pos { line: 0, col: 8 });
    assert_eq!(ix.locals, vec!["cb", "k", "n"]);
}

#[test]
fn broken_input_never_panics() {
    let inputs = [
        "",
        "}}}{{{",
        "int f( {",
        "static int x = ;\nint g(void) { return y; }",
        "\u{0}\u{feff}héllo wörld ( [ {",
        "#if\n#endif\n#define",
        "int a[",
        "static",
        "MP_DEFINE_CONST_FUN_OBJ_1(",
        "static MP_DEFINE_CONST_FUN_OBJ_1(",
    ];
    for s in inputs {
        let _ = FileIndex::parse(s);
    }
    let deep = format!(
        "int f(void) {{ return {}1{}; }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let ix = FileIndex::parse(&deep);
    assert_eq!(ix.functions.len(), 1);
    let ix = FileIndex::parse("static int x = ;\nint g(void) { return y; }");
    assert!(ix.has_errors);
    assert_eq!(ix.function("g").map(|f| f.name_range.start.line), Some(1));
    assert_eq!(ix.references_to("y").count(), 1);
}

#[test]
fn columns_are_utf8_bytes() {
    let ix = FileIndex::parse("/* é */ int x = 1;\n");
    assert_eq!(var(&ix, "x").name_range.start, Pos { line: 0, col: 13 });
}

#[test]
fn project_lookups() {
    let mut p = ProjectIndex::new();
    p.update(
        "a.c",
        "static int helper(void) { return 1; }\nint use(void) { return helper() + shared(); }\n",
    );
    p.update(
        "b.c",
        "int shared(void) { return 2; }\nstatic int helper(void) { return 3; }\n",
    );
    let defs = p.definitions("helper");
    assert_eq!(defs.len(), 2);
    let (path, d) = p.definition("shared").unwrap();
    assert_eq!(path, Path::new("b.c"));
    assert_eq!(d.name_range().start.line, 0);
    let refs = p.references("shared");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].0, Path::new("a.c"));
    assert_eq!(p.function_at(Path::new("b.c"), 1).unwrap().name, "helper");
    p.update("b.c", "");
    assert!(p.definition("shared").is_none());
    assert!(p.remove(Path::new("b.c")));
    assert!(!p.remove(Path::new("b.c")));
}
