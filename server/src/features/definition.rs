//! Go to definition: API items and header declarations into MPY_DIR (dynruntime.h and the
//! headers it includes), `mp_fun_table` fields into nativeglue.h, ROM symbols into the
//! `--externs` file, and project functions, variables and macros.

use super::{words, Ctx};
use crate::lsp_convert;
use std::path::Path;
use tower_lsp_server::ls_types::{Location, Position};

/// The location of `name` on 0-based `line` of `file`: the first whole-word occurrence on the
/// line, else the line's start.
fn location(file: &Path, line: u32, name: &str) -> Option<Location> {
    let text = std::fs::read(file).ok()?;
    let text = String::from_utf8_lossy(&text);
    let l = text.lines().nth(line as usize).unwrap_or("");
    let b = l.as_bytes();
    let found = l.match_indices(name).map(|(i, _)| i).find(|&i| {
        (i == 0 || !words::is_word_byte(b[i - 1]))
            && !matches!(b.get(i + name.len()), Some(&c) if words::is_word_byte(c))
    });
    let (start, end) = found.map(|c| (c, c + name.len())).unwrap_or((0, 0));
    Some(Location {
        uri: lsp_convert::uri(file)?,
        range: words::range(line, l, start, end),
    })
}

/// Where `name` at `pos` of the context's file is defined.
pub fn definition(ctx: &Ctx, pos: Position) -> Option<Location> {
    let line = ctx.line(pos.line);
    let col = words::byte_col(line, pos.character);
    let (start, end) = words::word_at(line, col)?;
    let name = &line[start..end];
    let k = ctx.mpy.as_deref();
    if words::after_fun_table(line, start) {
        let f = k?.field(name)?;
        let (file, _) = k?.dir.fun_table_at.as_ref()?;
        return location(file, f.line, name);
    }
    if let Some(a) = k.and_then(|k| k.api(name)) {
        return location(&a.file, a.line, name);
    }
    if let Some((path, ix)) = ctx.definition(name) {
        let r = ix.definition(name)?.name_range();
        let text = if path == ctx.path {
            ctx.text.clone()
        } else {
            std::fs::read_to_string(path).unwrap_or_default()
        };
        let l = text.lines().nth(r.start.line as usize).unwrap_or("");
        return Some(Location {
            uri: lsp_convert::uri(path)?,
            range: words::range(r.start.line, l, r.start.col as usize, r.end.col as usize),
        });
    }
    if let Some((path, m)) = ctx.macro_def(name) {
        let r = m.name_range;
        return location(path, r.start.line, name);
    }
    if let Some(e) = &ctx.externs {
        if let Some(l) = e.line_of(name) {
            return location(Path::new(&e.path), l.saturating_sub(1) as u32, name);
        }
    }
    if let Some(d) = k.and_then(|k| k.dir.decls.get(name)) {
        return location(&d.file, d.line, name);
    }
    None
}
