//! What the C index knows of one file: its functions, variables, references, divisions,
//! `MP_QSTR_` names and macros, and the queries on them. Positions are 0-based lines and UTF-8
//! byte columns, as tree-sitter reports them.

use crate::diag::Range;
use serde::Serialize;

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

impl FileIndex {
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
