//! The tree-sitter walker: parses one (pre-lexed) file and fills its [`FileIndex`], without
//! recursion and with linear work on any input.

use super::declarator::{declared_name, declares_function, DECLARATORS};
use super::macros::{prepare, ObjectDefine};
use super::model::{Division, FileIndex, Function, Macro, Qstr, RefKind, Reference, Variable};
use super::{c_parser, range_of};
use crate::diag::Range;
use std::collections::HashMap;
use tree_sitter::Node;

impl FileIndex {
    /// Parses `text` and indexes it.
    pub fn parse(text: &str) -> FileIndex {
        Self::parse_counting(text).0
    }

    /// [`FileIndex::parse`], also returning the work done: (tree nodes, steps taken up the tree).
    /// Steps grow linearly with the nodes on any input, garbage included; the tests hold it so.
    pub fn parse_counting(text: &str) -> (FileIndex, usize, u64) {
        let (src, defines) = prepare(text);
        let Some(mut parser) = c_parser() else {
            let index = FileIndex {
                has_errors: true,
                ..FileIndex::default()
            };
            return (index, 0, 0);
        };
        let Some(tree) = parser.parse(src.as_bytes(), None) else {
            let index = FileIndex {
                has_errors: true,
                ..FileIndex::default()
            };
            return (index, 0, 0);
        };
        let root = tree.root_node();
        let mut index = FileIndex {
            has_errors: root.has_error(),
            ..FileIndex::default()
        };
        let parents = parents_of(root);
        let nodes = parents.map.len() + 1;
        let mut walker = Walker {
            src: src.as_bytes(),
            index: &mut index,
            parents,
        };
        walker.walk(root);
        let steps = walker.parents.steps.get();
        index.add_object_defines(defines);
        index.locals.sort();
        index.locals.dedup();
        (index, nodes, steps)
    }

    /// Adds what `MP_DEFINE_...(name, args)` invocations define and reference, in source order.
    fn add_object_defines(&mut self, defines: Vec<ObjectDefine>) {
        for d in defines {
            for (name, range) in d.args {
                self.references.push(Reference {
                    name,
                    range,
                    kind: RefKind::Read,
                    function: None,
                    literal_arg: None,
                });
            }
            self.variables.push(Variable {
                name: d.name,
                name_range: d.name_range,
                is_static: d.static_range.is_some(),
                is_extern: false,
                is_const: d.is_const,
                is_pointer: false,
                has_initializer: true,
                zero_initializer: false,
                static_range: d.static_range,
                range: d.range,
                function: None,
            });
        }
        self.references.sort_by_key(|r| r.range.start);
        self.variables.sort_by_key(|v| v.range.start);
    }
}

/// Every node's parent, by node id, counting the steps taken up the tree. `Node::parent`
/// searches down from the root, so walking up with it costs the depth each step: on deeply
/// nested (garbage) input indexing went quadratic.
struct Parents<'t> {
    map: HashMap<usize, Node<'t>>,
    steps: std::cell::Cell<u64>,
}

impl<'t> Parents<'t> {
    /// The parent of the node with this id (one step up).
    fn get(&self, id: &usize) -> Option<&Node<'t>> {
        self.steps.set(self.steps.get() + 1);
        self.map.get(id)
    }
}

/// The parents of every node under `root`.
fn parents_of(root: Node<'_>) -> Parents<'_> {
    let mut map = HashMap::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let mut cursor = n.walk();
        for c in n.children(&mut cursor) {
            map.insert(c.id(), n);
            stack.push(c);
        }
    }
    Parents {
        map,
        steps: std::cell::Cell::new(0),
    }
}

struct Walker<'s, 'i, 't> {
    src: &'s [u8],
    index: &'i mut FileIndex,
    parents: Parents<'t>,
}

impl<'t> Walker<'_, '_, 't> {
    fn text(&self, n: Node) -> String {
        n.utf8_text(self.src).unwrap_or_default().to_string()
    }

    /// Visits every node without recursion (deeply nested input must not overflow the stack).
    fn walk(&mut self, root: Node<'t>) {
        let mut stack: Vec<(Node, Option<String>)> = vec![(root, None)];
        while let Some((node, func)) = stack.pop() {
            let mut func = func;
            match node.kind() {
                "preproc_def" | "preproc_function_def" => {
                    if let Some(n) = node.child_by_field_name("name") {
                        self.index.macros.push(Macro {
                            name: self.text(n),
                            name_range: range_of(n),
                            function_like: node.kind() == "preproc_function_def",
                        });
                    }
                    continue;
                }
                "preproc_call" | "preproc_include" => continue,
                "parameter_declaration" => {
                    if let Some(n) = node
                        .child_by_field_name("declarator")
                        .and_then(declared_name)
                    {
                        self.index.locals.push(self.text(n));
                    }
                }
                "function_definition" => {
                    if let Some(f) = self.function_definition(node) {
                        func = Some(f.name.clone());
                        self.index.functions.push(f);
                    }
                }
                "declaration" => self.declaration(node, func.as_deref()),
                "identifier" => self.identifier(node, func.as_deref()),
                "binary_expression" | "assignment_expression" => {
                    let op = node
                        .child_by_field_name("operator")
                        .map(|o| o.kind())
                        .unwrap_or("");
                    if matches!(op, "/" | "%" | "/=" | "%=") {
                        self.index.divisions.push(Division {
                            range: range_of(node),
                            function: func.clone(),
                        });
                    }
                }
                _ => {}
            }
            let skip = match node.kind() {
                "preproc_if" | "preproc_elif" => node.child_by_field_name("condition"),
                "preproc_ifdef" | "preproc_elifdef" => node.child_by_field_name("name"),
                _ => None,
            };
            let mut cursor = node.walk();
            let children: Vec<Node> = node.children(&mut cursor).collect();
            for c in children.into_iter().rev() {
                if Some(c) != skip {
                    stack.push((c, func.clone()));
                }
            }
        }
    }

    fn function_definition(&self, node: Node) -> Option<Function> {
        let name = declared_name(node.child_by_field_name("declarator")?)?;
        let text = self.text(name);
        if text.is_empty() {
            return None;
        }
        let static_range = self.static_keyword(node);
        Some(Function {
            name: text,
            name_range: range_of(name),
            range: range_of(node),
            is_static: static_range.is_some(),
            static_range,
        })
    }

    fn static_keyword(&self, decl: Node) -> Option<Range> {
        let mut cursor = decl.walk();
        let found = decl
            .children(&mut cursor)
            .filter(|c| c.kind() == "storage_class_specifier")
            .find(|c| self.text(*c) == "static")
            .map(range_of);
        found
    }

    fn has_specifier(&self, decl: Node, kind: &str, word: &str) -> bool {
        let mut cursor = decl.walk();
        let found = decl
            .children(&mut cursor)
            .any(|c| c.kind() == kind && self.text(c) == word);
        found
    }

    /// A `declaration`: file-scope variables (any storage) and `static` locals.
    fn declaration(&mut self, node: Node, func: Option<&str>) {
        if func.is_some() {
            let mut cursor = node.walk();
            let names: Vec<String> = node
                .children_by_field_name("declarator", &mut cursor)
                .filter(|d| !declares_function(*d))
                .filter_map(declared_name)
                .map(|n| self.text(n))
                .collect();
            self.index.locals.extend(names);
        }
        let static_range = self.static_keyword(node);
        if func.is_some() && static_range.is_none() {
            return;
        }
        if self.has_specifier(node, "storage_class_specifier", "typedef") {
            return;
        }
        let is_extern = self.has_specifier(node, "storage_class_specifier", "extern");
        let base_const = self.has_specifier(node, "type_qualifier", "const");
        let mut cursor = node.walk();
        let declarators: Vec<Node> = node
            .children_by_field_name("declarator", &mut cursor)
            .collect();
        for d in declarators {
            let Some(name) = declared_name(d) else {
                continue;
            };
            let text = self.text(name);
            if text.is_empty() || name.is_missing() || declares_function(d) {
                continue;
            }
            let init = (d.kind() == "init_declarator")
                .then(|| d.child_by_field_name("value"))
                .flatten();
            self.index.variables.push(Variable {
                name: text,
                name_range: range_of(name),
                is_static: static_range.is_some(),
                is_extern,
                is_const: self.object_is_const(name, base_const),
                is_pointer: nearest_pointer(name, &self.parents).is_some(),
                has_initializer: init.is_some(),
                zero_initializer: init.is_some_and(|v| self.is_zero(v)),
                static_range,
                range: range_of(node),
                function: func.map(str::to_string),
            });
        }
    }

    /// Whether the declared object is itself const: decided by the pointer declarator nearest
    /// the name (`char *const p`), or, with none, by the declaration's qualifiers.
    fn object_is_const(&self, name: Node, base_const: bool) -> bool {
        let Some(p) = nearest_pointer(name, &self.parents) else {
            return base_const;
        };
        let mut cursor = p.walk();
        let q = p
            .children(&mut cursor)
            .any(|c| c.kind() == "type_qualifier" && self.text(c) == "const");
        q
    }

    fn is_zero(&self, value: Node) -> bool {
        let t: String = self.text(value).split_whitespace().collect();
        let t = t.trim_start_matches('{').trim_end_matches('}');
        let t = t.trim_end_matches(',');
        if t.is_empty() || t == "NULL" || t == "false" {
            return true;
        }
        if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            let h = h.trim_end_matches(['u', 'U', 'l', 'L']);
            return u64::from_str_radix(h, 16).is_ok_and(|v| v == 0);
        }
        let t = t.trim_end_matches(['u', 'U', 'l', 'L', 'f', 'F']);
        t.parse::<f64>().is_ok_and(|v| v == 0.0)
    }

    fn identifier(&mut self, node: Node, func: Option<&str>) {
        if node.is_missing() || is_declared_name(node, &self.parents) {
            return;
        }
        let name = self.text(node);
        if name.is_empty() {
            return;
        }
        if let Some(q) = name.strip_prefix("MP_QSTR_") {
            self.index.qstrs.push(Qstr {
                name: q.to_string(),
                range: range_of(node),
            });
        }
        let kind = ref_kind(node, &self.parents);
        let literal_arg = (kind == RefKind::Call)
            .then(|| {
                self.parents
                    .get(&node.id())?
                    .child_by_field_name("arguments")?
                    .named_child(0)
                    .filter(|a| a.kind() == "string_literal")
                    .map(|a| self.text(a))
            })
            .flatten();
        self.index.references.push(Reference {
            kind,
            name,
            range: range_of(node),
            function: func.map(str::to_string),
            literal_arg,
        });
    }
}

/// The pointer declarator nearest `name` (through arrays and parentheses), if any: the one whose
/// qualifiers are the object's own.
fn nearest_pointer<'t>(name: Node<'t>, parents: &Parents<'t>) -> Option<Node<'t>> {
    let mut n = name;
    while let Some(&p) = parents.get(&n.id()) {
        match p.kind() {
            "pointer_declarator" => return Some(p),
            k if DECLARATORS.contains(&k) && k != "function_declarator" => n = p,
            _ => return None,
        }
    }
    None
}

/// Whether `node` is the name a declaration, parameter, enumerator or definition declares.
fn is_declared_name(node: Node, parents: &Parents) -> bool {
    let mut n = node;
    while let Some(&p) = parents.get(&n.id()) {
        let is_field = |field: &str| {
            let mut cursor = p.walk();
            let found = p.children_by_field_name(field, &mut cursor).any(|c| c == n);
            found
        };
        match p.kind() {
            "parenthesized_declarator" => n = p,
            k if DECLARATORS.contains(&k) => {
                if !is_field("declarator") {
                    return false;
                }
                n = p;
            }
            "declaration"
            | "parameter_declaration"
            | "function_definition"
            | "field_declaration"
            | "type_definition" => return is_field("declarator"),
            "enumerator" => return is_field("name"),
            _ => return false,
        }
    }
    false
}

fn ref_kind(node: Node, parents: &Parents) -> RefKind {
    if let Some(&p) = parents.get(&node.id()) {
        if p.kind() == "call_expression" && p.child_by_field_name("function") == Some(node) {
            return RefKind::Call;
        }
    }
    let mut n = node;
    while let Some(&p) = parents.get(&n.id()) {
        match p.kind() {
            "parenthesized_expression" => n = p,
            "subscript_expression" | "field_expression"
                if p.child_by_field_name("argument") == Some(n) =>
            {
                if p.kind() == "field_expression"
                    && p.child_by_field_name("operator").map(|o| o.kind()) == Some("->")
                {
                    return RefKind::Read;
                }
                n = p;
            }
            "assignment_expression" if p.child_by_field_name("left") == Some(n) => {
                return RefKind::Write
            }
            "update_expression" => return RefKind::Write,
            "pointer_expression"
                if p.child_by_field_name("operator").map(|o| o.kind()) == Some("&") =>
            {
                return RefKind::AddressOf
            }
            _ => return RefKind::Read,
        }
    }
    RefKind::Read
}
