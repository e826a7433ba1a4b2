//! natmod-lsp: the language server for MicroPython native modules, as a library (the binary
//! in main.rs is a thin wrapper). Modules are plain analysis code; the LSP layer delegates.

pub mod backend;
pub mod board;
pub mod c;
pub mod check;
pub mod config;
pub mod diag;
pub mod dist;
pub mod doctor;
pub mod features;
pub mod file_uri;
pub mod lsp_convert;
pub mod matrix;
pub mod matrix_cli;
pub mod mpydir;
pub mod portability;
pub mod process;
pub mod publish;
pub mod rebuild;
pub mod scheduler;
pub mod state;
pub mod substitutes;
pub mod sync;
pub mod text;
pub mod transport;
pub mod workspace;

/// Serves LSP on stdin/stdout until the client exits, then exits the process.
pub fn serve_stdio() -> ! {
    transport::serve_stdio()
}
