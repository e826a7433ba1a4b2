//! The build plan: the commands make would run for a natmod, read from its dry run
//! ([`super::trace`]). dynruntime.mk's steps (config.h, each compile, the link, each mpy-cross
//! and the merge) become steps the server reproduces; every other target with a recipe is a
//! project rule that make itself runs before the compile.

use super::shell_words;
use super::trace::{is_dynruntime, Instance};

/// A project rule make runs itself (a generated header, a library, a sub-make).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeStep {
    /// The target.
    pub target: String,
    /// Its rule's makefile and 1-based line.
    pub rule_file: String,
    /// 1-based line of the rule.
    pub rule_line: u32,
}

/// One compile: `$(CC) $(CFLAGS) -o OBJ -c SRC` as make expands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileStep {
    /// The source make compiles (after vpath), relative to the project directory.
    pub source: String,
    /// The object.
    pub object: String,
    /// The whole command, split into words.
    pub argv: Vec<String>,
}

/// The link: `$(MPY_LD) --arch ... -o OUT OBJS` as make expands it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStep {
    /// `-o`: the intermediate `.mpy` (`$(BUILD)/$(MOD).native.mpy` on v1.23,
    /// `$(BUILD)/$(MOD).mpy` on the newest tree).
    pub output: String,
    /// The objects, in order.
    pub inputs: Vec<String>,
    /// `--arch`.
    pub arch: Option<String>,
    /// `-l` archives, in order.
    pub libs: Vec<String>,
    /// `--externs`.
    pub externs: Option<String>,
    /// `--arch-flags`.
    pub arch_flags: Option<String>,
}

/// One `.py` compiled by mpy-cross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonStep {
    /// The `.py` (after vpath).
    pub source: String,
    /// The `.mpy` it is compiled to.
    pub output: String,
    /// The whole command, split into words.
    pub argv: Vec<String>,
}

/// The merge: `$(MPY_TOOL) --merge -o $(MOD).mpy INPUTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeStep {
    /// The final `.mpy`.
    pub output: String,
    /// The intermediate `.mpy` files, in order.
    pub inputs: Vec<String>,
    /// The whole command, split into words.
    pub argv: Vec<String>,
}

/// What make would run to build the module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Project rules, in make's order.
    pub make_steps: Vec<MakeStep>,
    /// The sources config.h is generated from (`$^` of `$(CONFIG_H): $(SRC)`, after vpath).
    pub config_inputs: Option<Vec<String>>,
    /// The compiles, in make's order.
    pub compiles: Vec<CompileStep>,
    /// The link.
    pub link: Option<LinkStep>,
    /// The mpy-cross steps.
    pub pythons: Vec<PythonStep>,
    /// The merge.
    pub merge: Option<MergeStep>,
}

/// The word after `flag` (`-o X`), or the value of `flag=X`.
fn option<'a>(argv: &'a [String], flags: &[&str]) -> Option<&'a str> {
    argv.iter().enumerate().find_map(|(i, w)| {
        flags.iter().find_map(|f| {
            if w == f {
                argv.get(i + 1).map(String::as_str)
            } else {
                w.strip_prefix(f)
                    .and_then(|r| r.strip_prefix('='))
                    .filter(|_| f.starts_with("--"))
            }
        })
    })
}

/// The words after `-o TARGET` that are not options (make's `$^`).
fn inputs_after_output(argv: &[String], target: &str) -> Vec<String> {
    let at = argv
        .windows(2)
        .position(|w| (w[0] == "-o" || w[0] == "--output") && w[1] == target);
    match at {
        Some(i) => argv[i + 2..]
            .iter()
            .filter(|w| !w.starts_with('-'))
            .cloned()
            .collect(),
        None => Vec::new(),
    }
}

/// The natmod-ld/mpy_ld.py options of a link command.
fn link_step(argv: &[String], output: &str) -> LinkStep {
    let mut libs = Vec::new();
    let mut externs = None;
    let mut arch_flags = None;
    let mut it = argv.iter().skip(1);
    while let Some(w) = it.next() {
        match w.as_str() {
            "-l" | "--libs" => libs.extend(it.next().cloned()),
            "-e" | "--externs" => externs = it.next().cloned(),
            "--arch-flags" => arch_flags = it.next().cloned(),
            _ => {
                if let Some(l) = w.strip_prefix("--libs=").or_else(|| w.strip_prefix("-l")) {
                    libs.push(l.to_string());
                } else if let Some(e) = w.strip_prefix("--externs=") {
                    externs = Some(e.to_string());
                } else if let Some(f) = w.strip_prefix("--arch-flags=") {
                    arch_flags = Some(f.to_string());
                }
            }
        }
    }
    LinkStep {
        output: output.to_string(),
        inputs: inputs_after_output(argv, output),
        arch: option(argv, &["--arch"]).map(String::from),
        libs,
        externs,
        arch_flags,
    }
}

/// The command among `commands` that writes `target` (`-o TARGET`), split into words.
fn writing_command(commands: &[String], target: &str) -> Option<Vec<String>> {
    commands.iter().rev().find_map(|c| {
        let w = shell_words::split(c).ok()?;
        w.windows(2)
            .any(|p| (p[0] == "-o" || p[0] == "--output") && p[1] == target)
            .then_some(w)
    })
}

/// Reads the plan from the make process that built the module; `print_target` is the
/// evaluation's own rule (left out).
pub fn from_instance(i: &Instance, print_target: &str) -> Plan {
    let mut plan = Plan::default();
    let config_h = i.vars.get("CONFIG_H").cloned().unwrap_or_default();
    for t in &i.targets {
        if t.name == print_target || t.commands.is_empty() {
            continue;
        }
        if !is_dynruntime(&t.rule_file) {
            if t.rule_file != "<builtin>" || !is_dynruntime(&t.name) {
                plan.make_steps.push(MakeStep {
                    target: t.name.clone(),
                    rule_file: t.rule_file.clone(),
                    rule_line: t.rule_line,
                });
            }
            continue;
        }
        let Some(argv) = writing_command(&t.commands, &t.name) else {
            // `mkdir -p $(BUILD)/`: the server makes directories itself.
            continue;
        };
        let has = |f: &str| argv.iter().any(|w| w == f);
        if t.name == config_h && has("--preprocess") {
            plan.config_inputs = Some(inputs_after_output(&argv, &t.name));
        } else if has("--merge") {
            plan.merge = Some(MergeStep {
                output: t.name.clone(),
                inputs: inputs_after_output(&argv, &t.name),
                argv,
            });
        } else if has("--qstrs") {
            plan.link = Some(link_step(&argv, &t.name));
        } else if let Some(src) = option(&argv, &["-c"]).filter(|_| t.name.ends_with(".o")) {
            plan.compiles.push(CompileStep {
                source: src.to_string(),
                object: t.name.clone(),
                argv,
            });
        } else if t.name.ends_with(".mpy") {
            if let Some(src) = argv.last().filter(|s| s.ends_with(".py")) {
                plan.pythons.push(PythonStep {
                    source: src.clone(),
                    output: t.name.clone(),
                    argv,
                });
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::trace::Target;

    fn target(name: &str, file: &str, commands: &[&str]) -> Target {
        Target {
            name: name.into(),
            rule_file: file.into(),
            rule_line: 7,
            commands: commands.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn classifies_make_s_commands() {
        let mk = "/m/py/dynruntime.mk";
        let mut i = Instance::default();
        i.vars.insert("CONFIG_H".into(), "b/m.config.h".into());
        i.targets = vec![
            target("b/", mk, &["/bin/mkdir -p b/"]),
            target("gen/v.h", "Makefile", &["sed s/x/y/ v.h.in > gen/v.h"]),
            target(
                "b/m.config.h",
                mk,
                &["echo GEN", "ld --arch x64 --preprocess -o b/m.config.h src/a.c p.py"],
            ),
            target(
                "b/a.o",
                mk,
                &["echo CC", "gcc -DX='<b c>' -o b/a.o -c src/a.c"],
            ),
            target(
                "b/m.mpy",
                mk,
                &["python3 mpy_ld.py -l /x/libgcc.a --arch armv7m --qstrs b/m.config.h --externs=r.ld -o b/m.mpy b/a.o"],
            ),
            target("b/p.mpy", mk, &["mpy-cross -s p.py -march=x64 -o b/p.mpy p.py"]),
            target("m.mpy", mk, &["python3 t.py --merge -o m.mpy b/m.mpy b/p.mpy"]),
        ];
        let p = from_instance(&i, "print");
        assert_eq!(p.make_steps.len(), 1);
        assert_eq!(p.make_steps[0].target, "gen/v.h");
        assert_eq!(p.config_inputs, Some(vec!["src/a.c".into(), "p.py".into()]));
        assert_eq!(p.compiles[0].source, "src/a.c");
        assert_eq!(p.compiles[0].argv[1], "-DX=<b c>");
        let l = p.link.unwrap();
        assert_eq!(l.output, "b/m.mpy");
        assert_eq!(l.inputs, vec!["b/a.o"]);
        assert_eq!(l.libs, vec!["/x/libgcc.a"]);
        assert_eq!(l.externs.as_deref(), Some("r.ld"));
        assert_eq!(l.arch.as_deref(), Some("armv7m"));
        assert_eq!(p.pythons[0].source, "p.py");
        assert_eq!(p.merge.unwrap().inputs, vec!["b/m.mpy", "b/p.mpy"]);
    }
}
