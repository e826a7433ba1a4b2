//! Variables that look like ones dynruntime.mk reads but are not (`MICROPY_LINK_RUNTIME = 1`
//! where dynruntime.mk reads `LINK_RUNTIME`): a warning on the assignment naming the right
//! variable, with a fix renaming it. And settings this tree's dynruntime.mk does not read
//! (`LINK_RUNTIME = 1` with MicroPython 1.23, whose dynruntime.mk has no LINK_RUNTIME): a
//! warning that the line has no effect there.

use crate::diag::Severity;
use crate::diag::{span, Diag, Edit, FixIt};
use crate::workspace::assignment::{self, Assignment};
use crate::workspace::Project;

/// Variables a project sets for dynruntime.mk (either tree).
const READ: &[&str] = &[
    "MOD",
    "SRC",
    "ARCH",
    "BUILD",
    "CROSS",
    "CFLAGS",
    "CFLAGS_EXTRA",
    "LINK_RUNTIME",
    "MPY_LD_FLAGS",
    "MPY_EXTERN_SYM_FILE",
    "ARCH_FLAGS",
    "MICROPY_FLOAT_IMPL",
    "MPY_DIR",
    "MPY_CROSS",
    "MPY_CROSS_FLAGS",
    "MPY_TOOL",
    "MPY_LD",
    "CLEAN_EXTRA",
    "CONFIG_H",
];

/// Prefixes that make a name look like a MicroPython setting (`MICROPY_LINK_RUNTIME`).
const PREFIXES: &[&str] = &["MICROPY_", "MPY_", "MP_", "NATMOD_"];

/// Edit distance, for names of a few dozen characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The variable dynruntime.mk reads that `name` most likely meant.
fn meant(name: &str) -> Option<&'static str> {
    READ.iter()
        .copied()
        .filter(|k| {
            let prefix = name.strip_suffix(k).unwrap_or("");
            PREFIXES.contains(&prefix) || (k.len() >= 8 && distance(name, k) <= 2)
        })
        .min_by_key(|k| distance(name, k))
}

/// Whether any makefile make read uses `name` (`$(NAME)`, `${NAME}`, `ifdef NAME`...).
fn used(name: &str, texts: &[String]) -> bool {
    let uses = [
        format!("$({name})"),
        format!("${{{name}}}"),
        format!("$({name}:"),
        format!("ifdef {name}"),
        format!("ifndef {name}"),
        format!("origin {name}"),
        format!("value {name}"),
    ];
    texts
        .iter()
        .any(|t| uses.iter().any(|u| t.contains(u.as_str())))
}

/// Warnings for the Makefile's assignments of look-alike variables nothing reads.
pub fn check(p: &Project, makefile_text: &str) -> Vec<Diag> {
    let texts: Vec<String> = p
        .makefiles
        .iter()
        .filter_map(|m| std::fs::read_to_string(m).ok())
        .collect();
    // Only when make's own list of makefiles, with dynruntime.mk, could be read.
    let knows_tree = texts.len() == p.makefiles.len()
        && p.makefiles.iter().any(|m| m.ends_with("py/dynruntime.mk"));
    let mut out = Vec::new();
    for (i, line) in makefile_text.lines().enumerate() {
        // dynruntime.mk's settings are identifiers, and so is anything that looks like one.
        let Some(Assignment { col, name, .. }) =
            assignment::parse(line).filter(|a| !a.name.contains(['.', '-']))
        else {
            continue;
        };
        if READ.contains(&name) {
            if knows_tree && !used(name, &texts) {
                out.push(unread_here(p, i, col, name));
            }
            continue;
        }
        if used(name, &texts) {
            continue;
        }
        let Some(right) = meant(name) else {
            continue;
        };
        let at = span(&p.makefile, i as u32, col as u32, (col + name.len()) as u32);
        let mut d = Diag::new(
            "natmod-lsp",
            at.clone(),
            Severity::Warning,
            "lookalike-variable",
            format!(
                "{name} is not read by dynruntime.mk (nor by any makefile here): did you mean \
                 {right}?"
            ),
        );
        d.fixits.push(FixIt {
            title: format!("Rename {name} to {right}"),
            edits: vec![Edit {
                span: at,
                text: right.to_string(),
            }],
        });
        out.push(d);
    }
    out
}

/// The warning for a dynruntime.mk setting that this tree's makefiles never read.
fn unread_here(p: &Project, line: usize, col: usize, name: &str) -> Diag {
    let tree = natmod_linker::dialect::read_version(&p.mpy_dir)
        .map(|v| format!("MicroPython {v}"))
        .unwrap_or_else(|| "the MicroPython tree".into());
    Diag::new(
        "natmod-lsp",
        span(
            &p.makefile,
            line as u32,
            col as u32,
            (col + name.len()) as u32,
        ),
        Severity::Warning,
        "unread-variable",
        format!(
            "{name} has no effect here: the py/dynruntime.mk of {tree} in MPY_DIR ({}) does not \
             read it, nor does any makefile of this project (newer MicroPython trees read it)",
            p.mpy_dir.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lookalikes_but_not_used_or_known_names() {
        let dir = std::env::temp_dir();
        let p = Project::sample(&dir, &dir, &["a.c"]);
        let text = "MICROPY_LINK_RUNTIME = 1\nLINK_RUNTIME = 1\nMPY_LDFLAGS += -l x\n\
                    export CFLAG_EXTRA := -O2\nOTHER = 3\nHELPER_SRC = b.c\nLDFLAGS = -s\n";
        let d = check(&p, text);
        let got: Vec<(u32, &str)> = d
            .iter()
            .map(|d| (d.span.start.line, d.fixits[0].edits[0].text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "LINK_RUNTIME"),
                (2, "MPY_LD_FLAGS"),
                (3, "CFLAGS_EXTRA")
            ]
        );
        assert_eq!(d[2].span.start.col, 7);
        assert!(d[0].message.contains("did you mean LINK_RUNTIME?"));
    }

    #[test]
    fn settings_the_tree_does_not_read_are_warned() {
        let dir = std::env::temp_dir().join(format!("natmod-unread-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("py")).unwrap();
        let dynruntime = dir.join("py/dynruntime.mk");
        std::fs::write(
            &dynruntime,
            "CFLAGS += $(CFLAGS_EXTRA)\n$(BUILD)/x: $(SRC)\n",
        )
        .unwrap();
        let mut p = Project::sample(&dir, &dir, &["a.c"]);
        p.makefiles = vec![dir.join("Makefile"), dynruntime];
        std::fs::write(&p.makefiles[0], "").unwrap();
        let text = "SRC = a.c\nLINK_RUNTIME = 1\nCFLAGS_EXTRA = -O2\nARCH_FLAGS = x\n";
        let d = check(&p, text);
        let got: Vec<(u32, &str)> = d
            .iter()
            .map(|d| (d.span.start.line, d.code.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "unread-variable"), (3, "unread-variable")]);
        assert!(d[0].message.starts_with("LINK_RUNTIME has no effect here"));
        // Without make's list of makefiles nothing is said.
        p.makefiles.clear();
        assert!(check(&p, text).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
