//! Reading make's dry run (`make -n -B -w --trace`) of a natmod's goal: which make process
//! (the top one or a sub-make) printed what, the variables each printed through the
//! evaluation's print rule, and every target it would update with its rule's location and
//! its recipe lines, automatic variables expanded.

use std::collections::BTreeMap;

/// One target make would update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The target, as make names it (relative to the make's directory).
    pub name: String,
    /// The makefile of the rule (`<builtin>` for built-in rules), as make names it.
    pub rule_file: String,
    /// 1-based line of the rule (0 for built-in rules).
    pub rule_line: u32,
    /// The recipe lines make printed (one per shell command; continuations joined).
    pub commands: Vec<String>,
}

/// What one make process (the top one, or a sub-make) printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    /// `MAKELEVEL` (0 for the top make).
    pub level: usize,
    /// The directory it ran in (from `make[N]: Entering directory`).
    pub dir: String,
    /// The variables its print rule printed (marked lines `NAME=value`).
    pub vars: BTreeMap<String, String>,
    /// The targets it would update, in make's order.
    pub targets: Vec<Target>,
}

impl Instance {
    /// Whether this make read `py/dynruntime.mk` (its `MAKEFILE_LIST` names it).
    pub fn reads_dynruntime(&self) -> bool {
        self.vars
            .get("MAKEFILE_LIST")
            .is_some_and(|l| l.split_whitespace().any(is_dynruntime))
    }
}

/// Whether a makefile path names MicroPython's `py/dynruntime.mk`.
pub fn is_dynruntime(path: &str) -> bool {
    path == "py/dynruntime.mk" || path.ends_with("/py/dynruntime.mk")
}

/// `make: Entering directory 'X'` / `make[2]: Leaving directory 'X'`.
fn directory_line(l: &str) -> Option<(bool, String)> {
    let rest = l.strip_prefix("make")?;
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once("]: ")?.1,
        None => rest.strip_prefix(": ")?,
    };
    let (entering, rest) = if let Some(r) = rest.strip_prefix("Entering directory ") {
        (true, r)
    } else {
        (false, rest.strip_prefix("Leaving directory ")?)
    };
    let dir = rest
        .trim_start_matches(['\'', '`'])
        .trim_end_matches('\'')
        .to_string();
    Some((entering, dir))
}

/// `file:line: update target 'T' due to: ...`, `file:line: target 'T' does not exist`,
/// `<builtin>: target 'T' does not exist`.
fn trace_line(l: &str) -> Option<Target> {
    let (loc, rest) = if let Some(r) = l.strip_prefix("<builtin>: ") {
        ("<builtin>:0", r)
    } else {
        let i = l.find(": ")?;
        (&l[..i], &l[i + 2..])
    };
    let rest = rest.strip_prefix("update ").unwrap_or(rest);
    let rest = rest.strip_prefix("target '")?;
    let end = rest.rfind("' ")?;
    let tail = &rest[end + 2..];
    if !(tail.starts_with("due to:") || tail == "does not exist") {
        return None;
    }
    let (file, line) = loc.rsplit_once(':')?;
    let line = line.parse().ok()?;
    Some(Target {
        name: rest[..end].to_string(),
        rule_file: file.to_string(),
        rule_line: line,
        commands: Vec::new(),
    })
}

/// Splits make's stdout into its processes. Lines starting with `mark` are the print rule's
/// `NAME=value` lines; every other line after a trace line is a recipe line of that target.
pub fn parse(stdout: &str, mark: &str) -> Vec<Instance> {
    let mut done: Vec<Instance> = Vec::new();
    let mut stack: Vec<Instance> = Vec::new();
    let mut lines = stdout.lines();
    while let Some(l) = lines.next() {
        if let Some((entering, dir)) = directory_line(l) {
            if entering {
                stack.push(Instance {
                    level: stack.len(),
                    dir,
                    ..Instance::default()
                });
            } else if let Some(i) = stack.pop() {
                done.push(i);
            }
            continue;
        }
        if stack.is_empty() {
            // Output before `make: Entering directory` (there is none with -w; be lenient).
            stack.push(Instance::default());
        }
        let Some(cur) = stack.last_mut() else {
            continue;
        };
        // (What a Makefile printed before may not end with a newline.)
        if let Some(i) = l.find(mark) {
            if let Some((k, v)) = l[i + mark.len()..].split_once('=') {
                cur.vars.insert(k.to_string(), v.trim().to_string());
            }
            continue;
        }
        if let Some(t) = trace_line(l) {
            cur.targets.push(t);
            continue;
        }
        let Some(t) = cur.targets.last_mut() else {
            continue;
        };
        let mut cmd = l.to_string();
        while cmd.ends_with('\\') {
            cmd.pop();
            match lines.next() {
                Some(next) => cmd.push_str(next),
                None => break,
            }
        }
        t.commands.push(cmd);
    }
    done.extend(stack.into_iter().rev());
    done.sort_by_key(|i| i.level);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_processes_targets_and_recipes() {
        let out = "make: Entering directory '/p'\n\
                   @m@ MAKEFILE_LIST=Makefile\n\
                   Makefile:2: target 'mpy' does not exist\n\
                   make _b\n\
                   make[1]: Entering directory '/p'\n\
                   @m@ MAKEFILE_LIST=Makefile /t/py/dynruntime.mk\n\
                   @m@ MOD=x\n\
                   /t/py/dynruntime.mk:134: update target 'build/a.o' due to: src/a.c\n\
                   echo \"CC src/a.c\"\n\
                   gcc -O2 \\\n  -o build/a.o -c src/a.c\n\
                   <builtin>: target 'z' does not exist\n\
                   make[1]: Leaving directory '/p'\n\
                   make: Leaving directory '/p'\n";
        let i = parse(out, "@m@ ");
        assert_eq!(i.len(), 2);
        assert_eq!((i[0].level, i[0].dir.as_str()), (0, "/p"));
        assert!(!i[0].reads_dynruntime());
        assert_eq!(i[0].targets[0].commands, vec!["make _b"]);
        assert!(i[1].reads_dynruntime());
        assert_eq!(i[1].vars["MOD"], "x");
        let a = &i[1].targets[0];
        assert_eq!((a.name.as_str(), a.rule_line), ("build/a.o", 134));
        assert_eq!(a.commands[1], "gcc -O2   -o build/a.o -c src/a.c");
        assert_eq!(i[1].targets[1].rule_file, "<builtin>");
    }
}
