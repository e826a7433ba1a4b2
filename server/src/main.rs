//! natmod-lsp: the language server binary (placeholder until the server core lands).

fn main() {}
