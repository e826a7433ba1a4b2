//! Linking in process: one [`Session`] per project (objects set as they change), the `.mpy`
//! written atomically where make writes it, and link errors turned into diagnostics.

use super::place::SourceIndex;
use crate::diag::Diag;
use crate::workspace::Project;
use natmod_linker::session::default_source_name;
use natmod_linker::SessionConfig;
use natmod_linker::{hints, Dialect, LinkError, LinkFacts, QstrSource, Session};
use std::path::PathBuf;

/// What a link gave.
#[derive(Debug, Default)]
pub struct LinkResult {
    /// Placed link errors (and warnings).
    pub diags: Vec<Diag>,
    /// The `.mpy` written, if any.
    pub written: Option<PathBuf>,
    /// Whether the link succeeded.
    pub ok: bool,
    /// What the link learned (a failed link's too), for editor features.
    pub facts: Option<LinkFacts>,
}

/// A project's link session and the index of its sources.
#[derive(Default)]
pub struct Linker {
    session: Option<(String, Session)>,
    index: SourceIndex,
}

fn session_config(p: &Project, dialect: Dialect) -> SessionConfig {
    let mut c = SessionConfig::new(&p.arch, p.output_mpy());
    c.dialect = dialect;
    let config_h = p.abs(&p.config_h);
    c.qstrs = match config_h.to_str() {
        Some(path) => QstrSource::ConfigH(path.into()),
        // The linker names its inputs with `String`s; a path that is not UTF-8 is read here.
        None => QstrSource::List(natmod_linker::qstr::read_config_h(
            &std::fs::read(&config_h).unwrap_or_default(),
        )),
    };
    c.libs = p
        .libs
        .iter()
        .map(|l| p.abs(l).to_string_lossy().into_owned())
        .collect();
    c.externs = p
        .externs
        .as_ref()
        .map(|e| p.abs(e).to_string_lossy().into_owned());
    c.source_name = default_source_name(std::path::Path::new(&p.native_mpy()), dialect);
    c.arch_flags = p.arch_flags;
    c.gc_sections = p.gc_sections;
    c
}

impl Linker {
    /// Links the project's objects (as make names them, in SRC order) and, when the link
    /// succeeded, writes `$(BUILD)/$(MOD).native.mpy` and, when `write_final`, `$(MOD).mpy`
    /// (a project with `.py` sources gets it from the merge instead).
    pub fn link(&mut self, p: &Project, dialect: Dialect, write_final: bool) -> LinkResult {
        let config = session_config(p, dialect);
        let key = format!("{config:?}");
        if self.session.as_ref().map(|s| &s.0) != Some(&key) {
            self.session = Some((key.clone(), Session::new(config)));
        }
        let Some((_, session)) = self.session.as_mut() else {
            return LinkResult::default();
        };
        let objects = p.link_inputs();
        let stale: Vec<String> = session
            .objects()
            .filter(|o| !objects.contains(&o.to_string()))
            .map(String::from)
            .collect();
        for o in stale {
            session.remove_object(&o);
        }
        for o in &objects {
            // A missing object becomes an I/O error of the link, like natmod-ld's.
            let bytes = std::fs::read(p.abs(o)).unwrap_or_default();
            session.set_object(o, &bytes);
        }
        match session.link() {
            Ok(out) => {
                let mut result = LinkResult {
                    ok: true,
                    ..LinkResult::default()
                };
                let native = p.abs(&p.native_mpy());
                let written = natmod_linker::output::write_atomic(&native, &out.mpy)
                    .map_err(|e| LinkError::io(&native.to_string_lossy(), &e))
                    .and_then(|_| {
                        if write_final {
                            session.write_atomic()
                        } else {
                            Ok(())
                        }
                    });
                match written {
                    Ok(()) if write_final => result.written = Some(p.output_mpy()),
                    Ok(()) => {}
                    Err(e) => {
                        result.ok = false;
                        result.diags = self.index.place(p, &[e], &out.facts);
                    }
                }
                result.facts = Some(out.facts);
                result
            }
            Err(mut failure) => {
                if !p.link_runtime && p.libs.is_empty() {
                    let runtime = super::runtime::runtime(&p.arch);
                    hints::annotate_undefined(&mut failure.errors, &runtime.archives);
                }
                LinkResult {
                    diags: self.index.place(p, &failure.errors, &failure.facts),
                    written: None,
                    ok: false,
                    facts: Some(failure.facts),
                }
            }
        }
    }
}
