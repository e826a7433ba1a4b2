//! Load: the linker's inputs parsed into plain data, once per input.

pub mod archive;
pub mod elf;
pub mod externs;
