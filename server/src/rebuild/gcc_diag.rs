//! gcc's diagnostics as [`Diag`]s: its `-fdiagnostics-format=json` output (errors, warnings,
//! notes as related information, fix-its), with a plain-text `file:line:col: error:` fallback.

use crate::diag::{span, Diag, Edit, FixIt};
use crate::diag::{Pos, Severity, Span};
use serde_json::Value;
use std::path::Path;

fn severity(kind: &str) -> Option<Severity> {
    Some(match kind {
        "error" | "fatal error" | "sorry, unimplemented" | "internal compiler error" => {
            Severity::Error
        }
        "warning" => Severity::Warning,
        "note" => Severity::Information,
        _ => return None,
    })
}

/// A gcc JSON location point as a 0-based position, and its file.
fn point(v: &Value) -> Option<(String, Pos)> {
    let file = v.get("file")?.as_str()?.to_string();
    let line = v.get("line")?.as_u64()?.saturating_sub(1) as u32;
    let col = v
        .get("byte-column")
        .or_else(|| v.get("column"))?
        .as_u64()?
        .saturating_sub(1) as u32;
    Some((file, Pos { line, col }))
}

/// The span of a JSON diagnostic's first location (caret to finish, inclusive).
fn location(d: &Value, dir: &Path) -> Option<Span> {
    let loc = d.get("locations")?.as_array()?.first()?;
    let (file, start) = point(loc.get("caret")?)?;
    let end = loc
        .get("finish")
        .and_then(point)
        .map(|(_, p)| Pos {
            line: p.line,
            col: p.col + 1,
        })
        .unwrap_or(Pos {
            line: start.line,
            col: start.col + 1,
        });
    Some(Span {
        path: dir.join(file),
        start,
        end,
    })
}

fn fixits(d: &Value, dir: &Path) -> Vec<FixIt> {
    let edits: Vec<Edit> = d
        .get("fixits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let (file, start) = point(f.get("start")?)?;
            let (_, end) = point(f.get("next")?)?;
            Some(Edit {
                span: Span {
                    path: dir.join(file),
                    start,
                    end,
                },
                text: f.get("string")?.as_str()?.to_string(),
            })
        })
        .collect();
    if edits.is_empty() {
        return Vec::new();
    }
    let title = match &edits[..] {
        [e] if e.text.is_empty() => "Remove the highlighted text".to_string(),
        [e] => format!("Change to `{}`", e.text),
        _ => "Apply gcc's fix".to_string(),
    };
    vec![FixIt { title, edits }]
}

fn from_json(d: &Value, dir: &Path, fallback: &Path) -> Option<Diag> {
    let sev = severity(d.get("kind")?.as_str()?)?;
    let message = d.get("message")?.as_str()?.to_string();
    let span = location(d, dir).unwrap_or_else(|| span(fallback, 0, 0, 0));
    let code = d
        .get("option")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut diag = Diag::new("gcc", span, sev, code, message);
    diag.fixits = fixits(d, dir);
    for c in d
        .get("children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(s), Some(m)) = (location(c, dir), c.get("message").and_then(Value::as_str)) {
            diag.related.push((s, m.to_string()));
        }
        diag.fixits.extend(fixits(c, dir));
    }
    Some(diag)
}

/// Parses gcc's stderr: JSON arrays on their own lines, and `file:line:col: kind: message`
/// lines otherwise (gcc without JSON support, or text printed beside the JSON). Paths are
/// relative to `dir`; diagnostics without a location go on line 1 of `fallback`.
pub fn parse(stderr: &str, dir: &Path, fallback: &Path) -> Vec<Diag> {
    let mut out = Vec::new();
    for line in stderr.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(t) {
                out.extend(items.iter().filter_map(|d| from_json(d, dir, fallback)));
                continue;
            }
        }
        if let Some(d) = parse_text_line(line, dir) {
            match (d.severity, out.last_mut()) {
                (Severity::Information, Some(prev)) => prev.related.push((d.span, d.message)),
                _ => out.push(d),
            }
        }
    }
    out
}

/// One `file:line:col: kind: message` (or `file:line: kind: message`) line.
fn parse_text_line(line: &str, dir: &Path) -> Option<Diag> {
    for kind in ["fatal error", "error", "warning", "note"] {
        let pat = format!(": {kind}: ");
        let Some(i) = line.find(&pat) else {
            continue;
        };
        let loc = &line[..i];
        let message = &line[i + pat.len()..];
        let mut parts = loc.rsplitn(3, ':');
        let (a, b, c) = (parts.next()?, parts.next(), parts.next());
        let (file, ln, col) = match (a.parse::<u32>(), b.and_then(|b| b.parse::<u32>().ok()), c) {
            (Ok(col), Some(ln), Some(f)) => (f, ln, col),
            (Ok(ln), None, _) => (b?, ln, 1),
            (Ok(ln), Some(_), None) => (b?, ln, 1),
            _ => return None,
        };
        let (code, message) = match message.rsplit_once(" [") {
            Some((m, o)) if o.ends_with(']') && o.starts_with("-W") => {
                (o.trim_end_matches(']').to_string(), m.to_string())
            }
            _ => (String::new(), message.to_string()),
        };
        let l = ln.saturating_sub(1);
        let c0 = col.saturating_sub(1);
        return Some(Diag::new(
            "gcc",
            span(dir.join(file), l, c0, c0 + 1),
            severity(kind)?,
            code,
            message,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"[{"kind": "error", "column-origin": 1, "children": [], "fixits": [{"next": {"byte-column": 14, "display-column": 14, "line": 5, "file": "t.c", "column": 14}, "string": "->", "start": {"byte-column": 13, "display-column": 13, "line": 5, "file": "t.c", "column": 13}}], "locations": [{"caret": {"byte-column": 13, "display-column": 13, "line": 5, "file": "t.c", "column": 13}}], "message": "‘p’ is a pointer; did you mean to use ‘->’?", "escape-source": false}, {"kind": "error", "column-origin": 1, "children": [{"kind": "note", "escape-source": false, "locations": [{"finish": {"byte-column": 30, "display-column": 30, "line": 5, "file": "t.c", "column": 30}, "caret": {"byte-column": 18, "display-column": 18, "line": 5, "file": "t.c", "column": 18}}], "message": "each undeclared identifier is reported only once"}], "escape-source": false, "locations": [{"finish": {"byte-column": 30, "display-column": 30, "line": 5, "file": "t.c", "column": 30}, "caret": {"byte-column": 18, "display-column": 18, "line": 5, "file": "t.c", "column": 18}}], "message": "‘undefined_var’ undeclared", "option": "-Werror=x"}]"#;

    #[test]
    fn parses_json_with_fixits_and_notes() {
        let dir = Path::new("/p");
        let d = parse(&format!("cc1: noise\n{JSON}\n"), dir, Path::new("/p/t.c"));
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].span.start, Pos { line: 4, col: 12 });
        assert_eq!(d[0].fixits[0].edits[0].text, "->");
        assert_eq!(d[0].fixits[0].edits[0].span.end, Pos { line: 4, col: 13 });
        assert_eq!(d[1].span.path, Path::new("/p/t.c"));
        assert_eq!((d[1].span.start.col, d[1].span.end.col), (17, 30));
        assert_eq!(d[1].related.len(), 1);
        assert_eq!(d[1].code, "-Werror=x");
    }

    #[test]
    fn parses_text_fallback() {
        let d = parse(
            "t.c: In function ‘f’:\nt.c:5:13: error: bad thing\nt.c:5:18: note: see here\n\
             t.c:4:9: warning: unused variable ‘u’ [-Wunused-variable]\nsrc/x.h:3: error: old style\n",
            Path::new("/p"),
            Path::new("/p/t.c"),
        );
        assert_eq!(d.len(), 3, "{d:#?}");
        assert_eq!(d[0].related.len(), 1);
        assert_eq!(d[1].code, "-Wunused-variable");
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(d[2].span.path, Path::new("/p/src/x.h"));
        assert_eq!(d[2].span.start.line, 2);
    }
}
