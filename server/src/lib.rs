//! natmod-lsp: the language server for MicroPython native modules, as a library (the binary
//! in main.rs is a thin wrapper). Modules are plain analysis code; the LSP layer delegates.

pub mod link_diagnostics;
pub mod mpydir;
