//! Moving bytes onto a board: Python bytes literals sent in chunks over the raw REPL, each chunk
//! one `exec`, so the board's input buffer and heap never hold more than a chunk of source.

use super::repl::{RawRepl, ReplError};
use std::time::Duration;

/// Bytes of payload per `exec` (its literal is at most four times longer).
pub const CHUNK: usize = 2048;

/// `data` as a Python bytes literal: printable ASCII as is, the rest as `\xNN`.
pub fn bytes_literal(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2 + 3);
    s.push_str("b'");
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    s
}

/// Runs `begin`, then `write(offset, literal)` for every chunk of `data`, then `end` (if any), telling `progress` the bytes sent so far and the total; any
/// traceback on the board stops the transfer with that error.
pub fn stream(
    repl: &mut RawRepl,
    data: &[u8],
    begin: &str,
    write: &dyn Fn(usize, &str) -> String,
    end: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), ReplError> {
    let t = Duration::from_secs(10);
    repl.eval(begin, t)?;
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        repl.eval(&write(i * CHUNK, &bytes_literal(chunk)), t)?;
        progress(i * CHUNK + chunk.len(), data.len());
    }
    if !end.is_empty() {
        // (an empty exec in plain raw mode would be Ctrl-D alone: a soft reset)
        repl.eval(end, t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_escapes_what_python_needs() {
        assert_eq!(bytes_literal(b"M\x06a'\\\n\xff"), r"b'M\x06a\'\\\x0a\xff'");
    }
}
