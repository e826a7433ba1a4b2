//! A read-only filesystem in the board's RAM holding one `.mpy`, mounted at [`MOUNT`] and put
//! first on `sys.path`, so `import NAME` loads the module without writing flash (the way
//! MicroPython's natmod test runner loads modules). A soft reset frees it.

use super::repl::{RawRepl, ReplError};
use super::transfer;

/// Where the RAM filesystem is mounted on the board.
pub const MOUNT: &str = "/__natmod";

/// The board-side filesystem: a file object over a bytearray and a VFS with `stat`/`open`
/// for the names in `_nm_files` (the tests extend them into a writable one).
pub const FS_CLASSES: &str = "import sys, io
try:
    import vfs
except ImportError:
    import os as vfs
class _NmFile(io.IOBase):
    def __init__(s, b):
        s.b = b
        s.o = 0
    def readinto(s, buf):
        n = min(len(buf), len(s.b) - s.o)
        buf[:n] = memoryview(s.b)[s.o:s.o + n]
        s.o += n
        return n
    def ioctl(s, req, arg):
        return 0 if req == 4 else -1
class _NmFs:
    def mount(s, ro, mkfs):
        pass
    def umount(s):
        pass
    def chdir(s, p):
        pass
    def stat(s, p):
        f = _nm_files.get(p.lstrip('/'))
        if f is None:
            raise OSError(2)
        return (0x8000, 0, 0, 0, 0, 0, len(f), 0, 0, 0)
    def open(s, p, mode):
        f = _nm_files.get(p.lstrip('/'))
        if f is None:
            raise OSError(2)
        return _NmFile(f)
";

/// Whether `name` can be a module name on the board (an identifier).
pub fn valid_module_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Copies `mpy` into the board's RAM as `NAME.mpy` and mounts the filesystem holding it.
pub fn load(
    repl: &mut RawRepl,
    name: &str,
    mpy: &[u8],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), ReplError> {
    transfer::stream(
        repl,
        mpy,
        &format!("_nm_b = bytearray({})", mpy.len()),
        &|off, lit| format!("_c = {lit}\n_nm_b[{off}:{off} + len(_c)] = _c\ndel _c"),
        "",
        progress,
    )?;
    let mount = format!(
        "{FS_CLASSES}_nm_files = {{'{name}.mpy': _nm_b}}\nvfs.mount(_NmFs(), '{MOUNT}')\nsys.path.insert(0, '{MOUNT}')\n"
    );
    repl.eval(&mount, std::time::Duration::from_secs(5))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert!(valid_module_name("factorial") && valid_module_name("_x9"));
        assert!(!valid_module_name("9x") && !valid_module_name("a-b") && !valid_module_name(""));
        assert!(!valid_module_name("a'b"));
    }
}
