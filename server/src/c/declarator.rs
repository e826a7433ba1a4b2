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
