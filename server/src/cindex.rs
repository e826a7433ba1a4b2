//! A tree-sitter-c index of C sources: function definitions, variable declarations, identifier
//! references (with the function they are in), division operators and `MP_QSTR_` names.
//!
//! [`FileIndex::parse`] parses one text once; rebuilding it on every save is cheap. Broken input
//! is indexed as far as tree-sitter's error recovery goes; nothing here panics. Positions are
//! 0-based lines and UTF-8 byte columns, as tree-sitter reports them.

use crate::diag::{Pos, Range};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tree_sitter::{Node, Parser};

/// The range of a tree-sitter node.
fn range_of(node: Node) -> Range {
    let p = |p: tree_sitter::Point| Pos {
        line: u32::try_from(p.row).unwrap_or(u32::MAX),
        col: u32::try_from(p.column).unwrap_or(u32::MAX),
    };
    Range {
        start: p(node.start_position()),
        end: p(node.end_position()),
    }
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// The name in the declarator.
    pub name_range: Range,
    /// The whole definition, from its first specifier to the closing brace.
    pub range: Range,
    /// Declared `static`.
    pub is_static: bool,
    /// The `static` keyword, if any.
    pub static_range: Option<Range>,
}

/// A variable declaration: at file scope, or a `static` one inside a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// The name in the declarator.
    pub name_range: Range,
    /// Declared `static`.
    pub is_static: bool,
    /// Declared `extern` (a declaration, not a definition).
    pub is_extern: bool,
    /// The object itself is `const` (`const int x`, `char *const p`; not `const char *p`).
    pub is_const: bool,
    /// The object is a pointer, or an array of pointers (its `const` goes after the `*`).
    pub is_pointer: bool,
    /// Has `= initializer`.
    pub has_initializer: bool,
    /// The initializer is a plain zero (`0`, `0.0`, `NULL`, `{0}`, `{}`): the compiler puts
    /// the variable in BSS, not `.data`.
    pub zero_initializer: bool,
    /// The `static` keyword, if any.
    pub static_range: Option<Range>,
    /// The whole declaration statement.
    pub range: Range,
    /// The function it is declared in (`static` locals); `None` at file scope.
    pub function: Option<String>,
}

/// How an identifier is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// Called: `name(...)`.
    Call,
    /// Read (or any use not listed below).
    Read,
    /// Assigned or incremented (also through `[i]` or `.field`).
    Write,
    /// Its address is taken: `&name`.
    AddressOf,
}

/// A use of an identifier outside its declarations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The identifier.
    pub name: String,
    /// Where.
    pub range: Range,
    /// How it is used.
    pub kind: RefKind,
    /// The function definition it is in; `None` at file scope.
    pub function: Option<String>,
    /// For a call whose first argument is a string literal: that literal, quotes included
    /// (gcc rewrites `printf("hi\n")` into `puts("hi")`, and this tells which calls).
    pub literal_arg: Option<String>,
}

/// A `/` or `%` operator (or `/=`, `%=`): what the compiler may turn into a runtime helper call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    /// The whole expression.
    pub range: Range,
    /// The function it is in.
    pub function: Option<String>,
}

/// A `MP_QSTR_name` identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Qstr {
    /// The qstr's text (the part after `MP_QSTR_`).
    pub name: String,
    /// The whole identifier.
    pub range: Range,
}

/// A `#define`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Macro {
    /// The name defined.
    pub name: String,
    /// The name in the `#define` line.
    pub name_range: Range,
    /// `#define NAME(args)`.
    pub function_like: bool,
}

/// A definition of a symbol in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definition<'a> {
    /// A function definition.
    Function(&'a Function),
    /// A file-scope variable definition (not `extern`).
    Variable(&'a Variable),
}

impl Definition<'_> {
    /// The defining name's range.
    pub fn name_range(&self) -> Range {
        match self {
            Definition::Function(f) => f.name_range,
            Definition::Variable(v) => v.name_range,
        }
    }

    /// Whether it is `static` (file-local).
    pub fn is_static(&self) -> bool {
        match self {
            Definition::Function(f) => f.is_static,
            Definition::Variable(v) => v.is_static,
        }
    }
}

/// The index of one C file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileIndex {
    /// Function definitions, in source order.
    pub functions: Vec<Function>,
    /// File-scope variable declarations and `static` locals, in source order.
    pub variables: Vec<Variable>,
    /// Identifier uses, in source order.
    pub references: Vec<Reference>,
    /// `/` and `%` operators, in source order.
    pub divisions: Vec<Division>,
    /// `MP_QSTR_` identifiers, in source order.
    pub qstrs: Vec<Qstr>,
    /// `#define`d names, in source order.
    pub macros: Vec<Macro>,
    /// Names declared inside functions (parameters and locals), sorted, without repeats.
    pub locals: Vec<String>,
    /// The parse had errors (the index covers what error recovery kept).
    pub has_errors: bool,
}

/// Statement-like macros of `py/dynruntime.h` written without a trailing `;`. They are blanked
/// to `;` before parsing (same length, so positions stay), or tree-sitter would read the macro
/// and the next statement as one declaration.
const STATEMENT_MACROS: &[&str] = &["MP_DYNRUNTIME_INIT_ENTRY", "MP_DYNRUNTIME_INIT_EXIT"];

/// Declarator node kinds that wrap a declared name.
const DECLARATORS: &[&str] = &[
    "pointer_declarator",
    "array_declarator",
    "function_declarator",
    "parenthesized_declarator",
    "attributed_declarator",
    "init_declarator",
];

impl FileIndex {
    /// Parses `text` and indexes it.
    pub fn parse(text: &str) -> FileIndex {
        Self::parse_counting(text).0
    }

    /// [`FileIndex::parse`], also returning the work done: (tree nodes, steps taken up the tree).
    /// Steps grow linearly with the nodes on any input, garbage included; the tests hold it so.
    pub fn parse_counting(text: &str) -> (FileIndex, usize, u64) {
        let (src, defines) = prepare(text);
        let mut parser = Parser::new();
        if parser
            .set_language(&tree_sitter_c::LANGUAGE.into())
            .is_err()
        {
            let index = FileIndex {
                has_errors: true,
                ..FileIndex::default()
            };
            return (index, 0, 0);
        }
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

    /// The function definition called `name`.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The innermost function definition whose range holds `line`.
    pub fn function_at_line(&self, line: u32) -> Option<&Function> {
        self.functions
            .iter()
            .filter(|f| f.range.contains_line(line))
            .min_by_key(|f| f.range.end.line - f.range.start.line)
    }

    /// The definition of `name` in this file: a function, or a file-scope variable that is not
    /// `extern` (the one with an initializer first, as C allows tentative definitions).
    pub fn definition(&self, name: &str) -> Option<Definition<'_>> {
        if let Some(f) = self.function(name) {
            return Some(Definition::Function(f));
        }
        let mut vars = self
            .variables
            .iter()
            .filter(|v| v.name == name && v.function.is_none() && !v.is_extern);
        let first = vars.next()?;
        let best = std::iter::once(first)
            .chain(vars)
            .find(|v| v.has_initializer)
            .unwrap_or(first);
        Some(Definition::Variable(best))
    }

    /// Every reference to `name`, in source order.
    pub fn references_to<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Reference> {
        self.references.iter().filter(move |r| r.name == name)
    }
}

/// An `MP_DEFINE_...(name, args...);` invocation at file scope: it defines the object `name`.
struct ObjectDefine {
    name: String,
    name_range: Range,
    static_range: Option<Range>,
    is_const: bool,
    range: Range,
    /// The identifiers among the other arguments (the functions it wraps).
    args: Vec<(String, Range)>,
}

/// Byte offset to line/column.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.0.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.0.get(line).copied().unwrap_or(0);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(offset - start).unwrap_or(u32::MAX),
        }
    }

    fn range(&self, start: usize, end: usize) -> Range {
        Range {
            start: self.pos(start),
            end: self.pos(end),
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Rewrites macro invocations tree-sitter cannot read as C, keeping every byte offset:
/// [`STATEMENT_MACROS`] become `;` and spaces, and file-scope `[static] MP_DEFINE_...(...);`
/// become spaces (returned as [`ObjectDefine`]s). Comments, strings and preprocessor lines are
/// left alone.
fn prepare(text: &str) -> (String, Vec<ObjectDefine>) {
    let mut out = text.as_bytes().to_vec();
    let b = text.as_bytes();
    let lines = Lines::new(text);
    let mut defines = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at_line_start = std::mem::replace(&mut line_start, false);
        match c {
            b'#' if at_line_start => i = skip_preprocessor_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = b[i..]
                    .iter()
                    .position(|&x| x == b'\n')
                    .map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |n| n + 2);
            }
            b'"' | b'\'' => i = skip_quoted(b, i),
            b'{' => {
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ if is_word_byte(c) && (i == 0 || !is_word_byte(b[i - 1])) => {
                let end = i + b[i..].iter().take_while(|&&x| is_word_byte(x)).count();
                let word = &text[i..end];
                if STATEMENT_MACROS.contains(&word) {
                    out[i] = b';';
                    out[i + 1..end].fill(b' ');
                } else if depth == 0 && word.starts_with("MP_DEFINE_") {
                    if let Some(d) = object_define(text, &lines, i, end) {
                        let (start, stop) = d.1;
                        out[start..stop]
                            .iter_mut()
                            .filter(|x| **x != b'\n')
                            .for_each(|x| *x = b' ');
                        defines.push(d.0);
                        i = stop;
                        continue;
                    }
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, and only whole ASCII tokens, so this stays UTF-8.
    let out = String::from_utf8(out).unwrap_or_else(|_| text.to_string());
    (out, defines)
}

fn find(b: &[u8], from: usize, what: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(what.len())
        .position(|w| w == what)
        .map(|n| from + n)
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            x if x == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_preprocessor_line(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'\n') => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b'\n' => return i,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |n| n + 2);
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// Reads `[static] [const] MP_DEFINE_X(name, args...);` whose macro name spans `m..m_end`;
/// returns it and the byte span to blank.
fn object_define(
    text: &str,
    lines: &Lines,
    m: usize,
    m_end: usize,
) -> Option<(ObjectDefine, (usize, usize))> {
    let b = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let open = skip_ws(m_end);
    if b.get(open) != Some(&b'(') {
        return None;
    }
    // The arguments, split at top-level commas.
    let mut depth = 0usize;
    let mut args: Vec<(usize, usize)> = Vec::new();
    let mut arg_start = open + 1;
    let mut i = open;
    let close = loop {
        match *b.get(i)? {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    args.push((arg_start, i));
                    break i;
                }
            }
            b',' if depth == 1 => {
                args.push((arg_start, i));
                arg_start = i + 1;
            }
            b';' => return None,
            b'"' | b'\'' => {
                i = skip_quoted(b, i);
                continue;
            }
            _ => {}
        }
        i += 1;
    };
    let semi = skip_ws(close + 1);
    if b.get(semi) != Some(&b';') {
        return None;
    }
    let trimmed = |(s, e): (usize, usize)| {
        let t = &text[s..e];
        let lead = t.len() - t.trim_start().len();
        (s + lead, s + lead + t.trim().len())
    };
    let (ns, ne) = trimmed(*args.first()?);
    let name = &text[ns..ne];
    if !is_c_identifier(name) {
        return None;
    }
    // `static` / `const` just before the macro, on the same statement.
    let mut start = m;
    let mut static_range = None;
    let mut is_const = text[m..m_end].contains("CONST");
    loop {
        let mut e = start;
        while e > 0 && b[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
        let s = e - b[..e]
            .iter()
            .rev()
            .take_while(|&&x| is_word_byte(x))
            .count();
        match &text[s..e] {
            "static" => static_range = Some(lines.range(s, e)),
            "const" => is_const = true,
            _ => break,
        }
        start = s;
    }
    let mut refs = Vec::new();
    for &a in &args[1..] {
        let (s, e) = trimmed(a);
        if is_c_identifier(&text[s..e]) {
            refs.push((text[s..e].to_string(), lines.range(s, e)));
        }
    }
    Some((
        ObjectDefine {
            name: name.to_string(),
            name_range: lines.range(ns, ne),
            static_range,
            is_const,
            range: lines.range(start, semi + 1),
            args: refs,
        },
        (start, semi),
    ))
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
                .filter_map(declared_name)
                .filter(|n| !declares_function(*n, &self.parents))
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
            if text.is_empty() || name.is_missing() || declares_function(name, &self.parents) {
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

fn is_c_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The identifier a declarator declares (following `declarator` fields through pointer, array,
/// function, parenthesized and init declarators).
fn declared_name(declarator: Node) -> Option<Node> {
    let mut n = declarator;
    for _ in 0..256 {
        match n.kind() {
            "identifier" => return Some(n),
            "parenthesized_declarator" => n = n.named_children(&mut n.walk()).next()?,
            k if DECLARATORS.contains(&k) => n = n.child_by_field_name("declarator")?,
            _ => return None,
        }
    }
    None
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

/// Whether the declarator nearest `name` (skipping parentheses) is a function declarator: a
/// prototype rather than a variable (`int f(void)` but not `int (*f)(void)`).
fn declares_function(name: Node, parents: &Parents) -> bool {
    let mut n = name;
    while let Some(&p) = parents.get(&n.id()) {
        match p.kind() {
            "parenthesized_declarator" | "attributed_declarator" => n = p,
            "function_declarator" => return true,
            _ => return false,
        }
    }
    false
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

/// The indexes of a project's C sources, keyed by path.
#[derive(Debug, Clone, Default)]
pub struct ProjectIndex {
    files: BTreeMap<PathBuf, FileIndex>,
}

impl ProjectIndex {
    /// An empty index.
    pub fn new() -> ProjectIndex {
        ProjectIndex::default()
    }

    /// (Re)indexes the file at `path` from `text`.
    pub fn update(&mut self, path: impl Into<PathBuf>, text: &str) {
        self.files.insert(path.into(), FileIndex::parse(text));
    }

    /// Stores an already built file index.
    pub fn insert(&mut self, path: impl Into<PathBuf>, index: FileIndex) {
        self.files.insert(path.into(), index);
    }

    /// Forgets `path`; returns whether it was indexed.
    pub fn remove(&mut self, path: &Path) -> bool {
        self.files.remove(path).is_some()
    }

    /// The index of `path`.
    pub fn file(&self, path: &Path) -> Option<&FileIndex> {
        self.files.get(path)
    }

    /// Every indexed file, by path.
    pub fn files(&self) -> impl Iterator<Item = (&Path, &FileIndex)> {
        self.files.iter().map(|(p, f)| (p.as_path(), f))
    }

    /// Every definition of `name`, by file (one per file at most).
    pub fn definitions(&self, name: &str) -> Vec<(&Path, Definition<'_>)> {
        self.files()
            .filter_map(|(p, f)| f.definition(name).map(|d| (p, d)))
            .collect()
    }

    /// Where `name` is defined: the non-`static` definition if there is one, else the first.
    pub fn definition(&self, name: &str) -> Option<(&Path, Definition<'_>)> {
        let defs = self.definitions(name);
        let global = defs.iter().find(|(_, d)| !d.is_static()).copied();
        global.or_else(|| defs.first().copied())
    }

    /// Every reference to `name` in every file.
    pub fn references<'a>(&'a self, name: &'a str) -> Vec<(&'a Path, &'a Reference)> {
        self.files()
            .flat_map(|(p, f)| f.references_to(name).map(move |r| (p, r)))
            .collect()
    }

    /// The function definition in `path` that contains `line`.
    pub fn function_at(&self, path: &Path, line: u32) -> Option<&Function> {
        self.file(path)?.function_at_line(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        p.update("a.c", "static int helper(void) { return 1; }\nint use(void) { return helper() + shared(); }\n");
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
}
