//! Declarators: the one answer to "which name does this declarator declare" and "is it a
//! function", shared by the C index and the MPY_DIR header reader.

use tree_sitter::Node;

/// Declarator node kinds that wrap a declared name.
pub(super) const DECLARATORS: &[&str] = &[
    "pointer_declarator",
    "array_declarator",
    "function_declarator",
    "parenthesized_declarator",
    "attributed_declarator",
    "init_declarator",
];

/// Whether `k` is a node kind that is a declared name (`identifier`, or a struct field's).
fn is_name(k: &str) -> bool {
    k == "identifier" || k == "field_identifier"
}

/// The declarator (or name) a parenthesized or attributed declarator wraps.
fn wrapped(n: Node) -> Option<Node> {
    let mut cursor = n.walk();
    let found = n
        .named_children(&mut cursor)
        .find(|c| is_name(c.kind()) || c.kind().ends_with("declarator"));
    found
}

/// The identifier (or struct field name) a declarator declares, following pointer, array,
/// function, parenthesized, attributed and init declarators.
pub fn declared_name(declarator: Node) -> Option<Node> {
    let mut n = declarator;
    for _ in 0..256 {
        n = match n.kind() {
            k if is_name(k) => return Some(n),
            "parenthesized_declarator" | "attributed_declarator" => wrapped(n)?,
            k if DECLARATORS.contains(&k) => n.child_by_field_name("declarator")?,
            _ => return None,
        };
    }
    None
}

/// Whether the declarator nearest the declared name (skipping parentheses and attributes) is a
/// function declarator: a prototype rather than a variable (`int f(void)` and `int *f(void)`,
/// but not `int (*f)(void)` or an initialised declarator).
pub fn declares_function(declarator: Node) -> bool {
    let mut n = declarator;
    let mut nearest = "";
    for _ in 0..256 {
        n = match n.kind() {
            k if is_name(k) => return nearest == "function_declarator",
            "parenthesized_declarator" | "attributed_declarator" => match wrapped(n) {
                Some(inner) => inner,
                None => return false,
            },
            k if DECLARATORS.contains(&k) => {
                nearest = k;
                match n.child_by_field_name("declarator") {
                    Some(inner) => inner,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::c_parser;

    /// (declared name, declares a function) for each declarator of the first declaration (or
    /// struct field) in `src`.
    fn declarators(src: &str) -> Vec<(String, bool)> {
        let tree = c_parser().unwrap().parse(src, None).unwrap();
        let mut out = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            if matches!(n.kind(), "declaration" | "field_declaration") {
                let mut c = n.walk();
                for d in n.children_by_field_name("declarator", &mut c) {
                    let name = declared_name(d).map(|x| src[x.byte_range()].to_string());
                    out.push((name.unwrap_or_default(), declares_function(d)));
                }
                return out;
            }
            let mut c = n.walk();
            let children: Vec<Node> = n.children(&mut c).collect();
            stack.extend(children.into_iter().rev());
        }
        out
    }

    #[test]
    fn names_and_function_declarators() {
        let f = |s: &str| declarators(s);
        assert_eq!(f("int f(void);"), [("f".to_string(), true)]);
        assert_eq!(f("int *f(void);"), [("f".to_string(), true)]);
        assert_eq!(f("int (*f)(void);"), [("f".to_string(), false)]);
        assert_eq!(f("int (*f)(void) = 0;"), [("f".to_string(), false)]);
        assert_eq!(
            f("int x = 1, *p, a[3];"),
            [
                ("x".to_string(), false),
                ("p".to_string(), false),
                ("a".to_string(), false)
            ]
        );
        assert_eq!(
            f("struct s { void *(*realloc_)(void *, size_t); };"),
            [("realloc_".to_string(), false)]
        );
    }
}
