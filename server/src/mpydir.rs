//! What the MicroPython tree at MPY_DIR offers a natmod: the dynamic-runtime API parsed from
//! `py/dynruntime.h` (macros and static inline functions, with the `mp_fun_table` slot each
//! one goes through), the `mp_fun_table_t` fields from `py/nativeglue.h`, and the version.
//!
//! Everything is read from the user's tree with tree-sitter-c, so it follows their version.

use crate::c::{c_parser, declarator};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tree_sitter::Node;

/// One entry of the natmod API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiItem {
    /// The name used in C.
    pub name: String,
    /// `name(params)` for function-like macros and functions, else the name.
    pub signature: String,
    /// What it expands to (macros) or its return type (functions).
    pub detail: String,
    /// The `mp_fun_table` fields it uses.
    pub slots: Vec<String>,
    /// Its doc comment: the comment block or section heading just above it, if any.
    pub doc: Option<String>,
    /// The header section it is in (the `// Title` under a `/****/` rule), if any.
    pub section: Option<String>,
    /// Other API items its expansion or body uses (whose slots it goes through too).
    pub uses: Vec<String>,
    /// The header defining it.
    pub file: PathBuf,
    /// 0-based line of the definition.
    pub line: u32,
    /// Macro or function.
    pub kind: ApiKind,
}

/// Whether an API item is a macro or a static inline function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// `#define NAME value`.
    Macro,
    /// `#define NAME(args) value`.
    FunctionMacro,
    /// `static inline T name(args) { ... }`.
    Function,
}

/// One field of `mp_fun_table_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunTableField {
    /// Field name.
    pub name: String,
    /// Its declaration as written, e.g. `mp_obj_t (*load_name)(qstr qst)`.
    pub declaration: String,
    /// Index in the table (word offset).
    pub index: usize,
    /// 0-based line in nativeglue.h.
    pub line: u32,
}

/// The natmod-facing knowledge of one MicroPython tree.
#[derive(Debug, Clone, Default)]
pub struct MpyDir {
    /// The tree's root.
    pub root: PathBuf,
    /// `major.minor.micro`, if readable.
    pub version: Option<String>,
    /// API items by name.
    pub api: HashMap<String, ApiItem>,
    /// `mp_fun_table_t` fields in order.
    pub fun_table: Vec<FunTableField>,
    /// The `mp_fun_table_t` definition: nativeglue.h and the 0-based line of its `struct`.
    pub fun_table_at: Option<(PathBuf, u32)>,
    /// Names the headers dynruntime.h includes (transitively, inside the tree) declare.
    pub decls: HashMap<String, HeaderDecl>,
}

/// What a header declares a name as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    /// `#define NAME value`.
    Macro,
    /// `#define NAME(args) value`.
    FunctionMacro,
    /// A `static inline` function (compiled into the module, needs no link).
    InlineFunction,
    /// A function prototype: a symbol of the firmware, not exported to natmods by itself.
    Prototype,
    /// A variable declaration (`extern const mp_obj_type_t mp_type_list;`).
    Variable,
}

/// One name declared by a header of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderDecl {
    /// How it is declared.
    pub kind: DeclKind,
    /// The declaration, on one line (macros: `#define NAME(args)`).
    pub text: String,
    /// The header.
    pub file: PathBuf,
    /// 0-based line.
    pub line: u32,
}

fn text<'a>(n: Node, src: &'a str) -> &'a str {
    src.get(n.byte_range()).unwrap_or("")
}

/// Every `mp_fun_table.NAME` (or `mp_fun_table->NAME`) in `s`, in order, without repeats.
pub fn slots_in(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("mp_fun_table") {
        let after = &rest[i + "mp_fun_table".len()..];
        let after = after.strip_prefix('.').or_else(|| after.strip_prefix("->"));
        if let Some(a) = after {
            let n: String = a
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !n.is_empty() && !out.contains(&n) {
                out.push(n);
            }
        }
        rest = &rest[i + 1..];
    }
    out
}

/// The comment just above `node` (its previous sibling, if that is a comment ending on the
/// line before), cleaned of `//` and `/* */` markers.
fn doc_above(node: Node, src: &str) -> Option<String> {
    let prev = node.prev_sibling()?;
    if prev.kind() != "comment" || prev.end_position().row + 1 < node.start_position().row {
        return None;
    }
    let raw = text(prev, src);
    let cleaned: Vec<&str> = raw
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("//")
                .trim_start_matches("/*")
                .trim_end_matches("*/")
                .trim()
        })
        .map(|l| l.trim_start_matches('*').trim())
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '*' || c == '/'))
        .collect();
    (!cleaned.is_empty()).then(|| cleaned.join(" "))
}

fn collect_api(node: Node, src: &str, file: &Path, out: &mut HashMap<String, ApiItem>) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "preproc_def" | "preproc_function_def" => {
                let Some(name) = child
                    .child_by_field_name("name")
                    .map(|n| text(n, src).to_string())
                else {
                    continue;
                };
                let value = child
                    .child_by_field_name("value")
                    .map(|v| text(v, src).trim().to_string())
                    .unwrap_or_default();
                let (signature, kind) = match child.child_by_field_name("parameters") {
                    Some(p) => (format!("{name}{}", text(p, src)), ApiKind::FunctionMacro),
                    None => (name.clone(), ApiKind::Macro),
                };
                out.insert(
                    name.clone(),
                    ApiItem {
                        uses: identifiers(&value),
                        slots: slots_in(&value),
                        name,
                        signature,
                        detail: value,
                        doc: doc_above(child, src),
                        section: None,
                        file: file.to_path_buf(),
                        line: child.start_position().row as u32,
                        kind,
                    },
                );
            }
            "function_definition" => {
                let header = text(child, src);
                if !(header.starts_with("static") && header.contains("inline")) {
                    continue;
                }
                let Some(decl) = child.child_by_field_name("declarator") else {
                    continue;
                };
                let mut d = decl;
                while d.kind() != "function_declarator" {
                    match d.child_by_field_name("declarator") {
                        Some(inner) => d = inner,
                        None => break,
                    }
                }
                let Some(name) = d
                    .child_by_field_name("declarator")
                    .map(|n| text(n, src).to_string())
                else {
                    continue;
                };
                let params = d
                    .child_by_field_name("parameters")
                    .map(|p| text(p, src))
                    .unwrap_or("()");
                let ret = child
                    .child_by_field_name("type")
                    .map(|t| text(t, src))
                    .unwrap_or("");
                let stars = text(decl, src)
                    .chars()
                    .take_while(|c| *c == '*')
                    .collect::<String>();
                let body = child
                    .child_by_field_name("body")
                    .map(|b| text(b, src))
                    .unwrap_or("");
                out.insert(
                    name.clone(),
                    ApiItem {
                        uses: identifiers(body),
                        signature: format!("{name}{params}"),
                        detail: format!("{ret}{}{stars}", if stars.is_empty() { "" } else { " " }),
                        slots: slots_in(body),
                        name,
                        doc: doc_above(child, src),
                        section: None,
                        file: file.to_path_buf(),
                        line: child.start_position().row as u32,
                        kind: ApiKind::Function,
                    },
                );
            }
            "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif"
            | "translation_unit" => collect_api(child, src, file, out),
            _ => {}
        }
    }
}

/// Parses the natmod API out of dynruntime.h text.
pub fn parse_dynruntime(src: &str, file: &Path) -> HashMap<String, ApiItem> {
    let mut out = HashMap::new();
    let Some(mut parser) = c_parser() else {
        return out;
    };
    if let Some(tree) = parser.parse(src, None) {
        collect_api(tree.root_node(), src, file, &mut out);
    }
    let sections = sections(src);
    let names: std::collections::HashSet<String> = out.keys().cloned().collect();
    for item in out.values_mut() {
        item.uses.retain(|u| *u != item.name && names.contains(u));
        let i = sections.partition_point(|(l, _)| *l <= item.line);
        item.section = i.checked_sub(1).map(|i| sections[i].1.clone());
    }
    out
}

/// The identifiers in `s`, in order, without repeats.
fn identifiers(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && !out.iter().any(|o| o == w)
        {
            out.push(w.to_string());
        }
    }
    out
}

/// Section headings: `// Title` lines right under a `/*****/` rule, with their 0-based line.
fn sections(src: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut rule = false;
    for (i, l) in src.lines().enumerate() {
        let t = l.trim();
        if rule {
            if let Some(title) = t
                .strip_prefix("//")
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                out.push((i as u32, title.to_string()));
            }
        }
        rule = t.len() > 10 && t.starts_with("/*") && t.ends_with("*/") && t.contains("****");
    }
    out
}

/// The `"py/x.h"` headers `src` includes, resolved inside `root` (or beside `file`).
fn quoted_includes(src: &str, root: &Path, file: &Path) -> Vec<PathBuf> {
    src.lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix('#')?.trim_start();
            let rest = l.strip_prefix("include")?.trim();
            let name = rest.strip_prefix('"')?.split('"').next()?;
            [root.join(name), file.parent()?.join(name)]
                .into_iter()
                .find(|p| p.is_file())
        })
        .collect()
}

/// The line of `node`'s text up to its first newline (continuations dropped), trimmed.
fn first_line(node: Node, src: &str) -> String {
    let t = text(node, src);
    let line = t.lines().next().unwrap_or("").trim_end_matches('\\').trim();
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn collect_decls(node: Node, src: &str, file: &Path, out: &mut HashMap<String, HeaderDecl>) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        let mut add = |name: String, kind: DeclKind, text: String| {
            if !name.is_empty() {
                out.entry(name).or_insert_with(|| HeaderDecl {
                    kind,
                    text,
                    file: file.to_path_buf(),
                    line: child.start_position().row as u32,
                });
            }
        };
        match child.kind() {
            "preproc_def" | "preproc_function_def" => {
                let Some(name) = child.child_by_field_name("name") else {
                    continue;
                };
                let name = text(name, src).to_string();
                let (kind, t) = match child.child_by_field_name("parameters") {
                    Some(p) => (
                        DeclKind::FunctionMacro,
                        format!("#define {name}{}", text(p, src)),
                    ),
                    None => (DeclKind::Macro, format!("#define {name}")),
                };
                add(name, kind, t);
            }
            "function_definition" => {
                let Some(name) = child
                    .child_by_field_name("declarator")
                    .and_then(|d| declared_name(d, src))
                else {
                    continue;
                };
                add(name, DeclKind::InlineFunction, first_line(child, src));
            }
            "declaration" => {
                let mut c = child.walk();
                let decls: Vec<Node> = child.children_by_field_name("declarator", &mut c).collect();
                for d in decls {
                    let Some(name) = declared_name(d, src) else {
                        continue;
                    };
                    let kind = if declarator::declares_function(d) {
                        DeclKind::Prototype
                    } else {
                        DeclKind::Variable
                    };
                    add(name, kind, first_line(child, src));
                }
            }
            "preproc_if"
            | "preproc_ifdef"
            | "preproc_else"
            | "preproc_elif"
            | "linkage_specification"
            | "declaration_list" => collect_decls(child, src, file, out),
            _ => {}
        }
    }
}

/// The name a declarator declares, as text.
fn declared_name(decl: Node, src: &str) -> Option<String> {
    declarator::declared_name(decl).map(|n| text(n, src).to_string())
}

/// Every name the headers reachable from `start` by `#include "..."` (inside `root`) declare.
pub fn parse_header_decls(root: &Path, start: &Path) -> HashMap<String, HeaderDecl> {
    let mut out = HashMap::new();
    let Some(mut parser) = c_parser() else {
        return out;
    };
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut queue = vec![start.to_path_buf()];
    while let Some(f) = queue.pop() {
        let f = f.canonicalize().unwrap_or(f);
        if seen.contains(&f) || seen.len() >= 128 {
            continue;
        }
        seen.push(f.clone());
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let src = String::from_utf8_lossy(&bytes);
        if let Some(tree) = parser.parse(src.as_bytes(), None) {
            collect_decls(tree.root_node(), &src, &f, &mut out);
        }
        let mut inc = quoted_includes(&src, root, &f);
        inc.reverse();
        queue.extend(inc);
    }
    out
}

/// Parses the fields of `struct _mp_fun_table_t` out of nativeglue.h text, in order.
pub fn parse_fun_table(src: &str) -> Vec<FunTableField> {
    let Some(mut parser) = c_parser() else {
        return Vec::new();
    };
    let Some(tree) = parser.parse(src, None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == "struct_specifier"
            && n.child_by_field_name("name").map(|x| text(x, src)) == Some("_mp_fun_table_t")
        {
            if let Some(body) = n.child_by_field_name("body") {
                let mut c = body.walk();
                for f in body
                    .named_children(&mut c)
                    .filter(|f| f.kind() == "field_declaration")
                {
                    let Some(decl) = f.child_by_field_name("declarator") else {
                        continue;
                    };
                    let Some(name) = declared_name(decl, src) else {
                        continue;
                    };
                    out.push(FunTableField {
                        index: out.len(),
                        name,
                        declaration: text(f, src).trim_end_matches(';').to_string(),
                        line: f.start_position().row as u32,
                    });
                }
            }
            return out;
        }
        let mut c = n.walk();
        let children: Vec<Node> = n.named_children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
    out
}

impl MpyDir {
    /// Reads the tree at `root`; missing files give empty tables, never an error.
    pub fn load(root: &Path) -> MpyDir {
        let dyn_h = root.join("py/dynruntime.h");
        let glue_h = root.join("py/nativeglue.h");
        let api = std::fs::read(&dyn_h)
            .map(|b| parse_dynruntime(&String::from_utf8_lossy(&b), &dyn_h))
            .unwrap_or_default();
        let fun_table = std::fs::read(&glue_h)
            .map(|b| parse_fun_table(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        let fun_table_at = std::fs::read(&glue_h).ok().and_then(|b| {
            let line = String::from_utf8_lossy(&b)
                .lines()
                .position(|l| l.contains("struct _mp_fun_table_t"))?;
            Some((glue_h.clone(), line as u32))
        });
        MpyDir {
            root: root.to_path_buf(),
            version: natmod_linker::dialect::read_version(root).map(|v| v.to_string()),
            decls: parse_header_decls(root, &dyn_h),
            api,
            fun_table,
            fun_table_at,
        }
    }

    /// Whether this looks like a MicroPython tree with the dynamic runtime.
    pub fn is_valid(&self) -> bool {
        !self.api.is_empty() && !self.fun_table.is_empty()
    }

    /// The `mp_fun_table` field called `name`.
    pub fn field(&self, name: &str) -> Option<&FunTableField> {
        self.fun_table.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v123() -> PathBuf {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mpy-dir/micropython");
        assert!(
            d.join("py/dynruntime.h").is_file(),
            "missing {} (run scripts/provision-mpy-dir.sh)",
            d.display()
        );
        d
    }

    #[test]
    fn reads_the_v1_23_api_with_slots() {
        let m = MpyDir::load(&v123());
        assert_eq!(m.version.as_deref(), Some("1.23.0"));
        let new_int = &m.api["mp_obj_new_int"];
        assert_eq!(new_int.kind, ApiKind::FunctionMacro);
        assert!(
            new_int.signature.starts_with("mp_obj_new_int("),
            "{new_int:?}"
        );
        assert_eq!(new_int.slots, vec!["native_to_obj"]);
        let printf = &m.api["mp_printf"];
        assert_eq!(printf.slots, vec!["printf_"]);
        let malloc = m
            .api
            .get("m_malloc_dyn")
            .expect("static inline m_malloc_dyn");
        assert_eq!(malloc.kind, ApiKind::Function);
        assert_eq!(malloc.slots, vec!["realloc_"]);
        let src = std::fs::read_to_string(v123().join("py/dynruntime.h")).unwrap();
        assert!(src
            .lines()
            .nth(new_int.line as usize)
            .unwrap()
            .contains("mp_obj_new_int"));
    }

    #[test]
    fn reads_sections_and_what_the_included_headers_declare() {
        let m = MpyDir::load(&v123());
        assert_eq!(m.api["mp_printf"].section.as_deref(), Some("Printing"));
        assert_eq!(
            m.api["m_malloc"].section.as_deref(),
            Some("Memory allocation")
        );
        let from_ptr = &m.decls["MP_OBJ_FROM_PTR"];
        assert_eq!(from_ptr.kind, DeclKind::FunctionMacro);
        assert!(from_ptr.file.ends_with("py/obj.h"), "{from_ptr:?}");
        assert_eq!(m.decls["mp_obj_new_int"].kind, DeclKind::FunctionMacro);
        let proto = &m.decls["mp_obj_print_helper"];
        assert_eq!(proto.kind, DeclKind::Prototype, "{proto:?}");
        assert_eq!(m.decls["mp_type_list"].kind, DeclKind::Macro);
        let (glue, line) = m.fun_table_at.clone().unwrap();
        let src = std::fs::read_to_string(glue).unwrap();
        assert!(src
            .lines()
            .nth(line as usize)
            .unwrap()
            .contains("_mp_fun_table_t"));
    }

    #[test]
    fn reads_the_fun_table_fields_in_order() {
        let m = MpyDir::load(&v123());
        assert_eq!(m.fun_table[0].name, "const_none");
        let ntoo = m.field("native_to_obj").unwrap();
        assert_eq!(ntoo.index, 4);
        assert!(ntoo.declaration.contains("(*native_to_obj)"), "{ntoo:?}");
        // memset/memmove slots are the ones natmod-ld provides (50 and 51).
        assert_eq!(m.fun_table[50].name, "memset_");
        assert_eq!(m.fun_table[51].name, "memmove_");
        // and the type objects start at 73, as the linker's table says.
        assert_eq!(m.fun_table[73].name, "type_type");
    }

    #[test]
    fn garbage_headers_give_empty_tables() {
        let d = std::env::temp_dir().join(format!("mpydir-bad-{}", std::process::id()));
        std::fs::create_dir_all(d.join("py")).unwrap();
        std::fs::write(
            d.join("py/dynruntime.h"),
            "#define (((( \x00\x01 struct {{{{",
        )
        .unwrap();
        std::fs::write(
            d.join("py/nativeglue.h"),
            [0xffu8, 0xfe, 0x00, 0x7b].as_slice(),
        )
        .unwrap();
        let m = MpyDir::load(&d);
        assert!(m.fun_table.is_empty());
        assert!(!m.is_valid());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
