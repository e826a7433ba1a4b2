//! Qstrs: `--preprocess` (collecting `MP_QSTR_` names into a config.h), reading the qstr list
//! back from a config.h, and the static qstr table.

use crate::dialect::Dialect;
use crate::static_qstrs::STATIC_QSTRS;
use std::collections::BTreeSet;

/// The static index (1-based) of `s`, if it is a static qstr.
pub fn static_index(s: &str) -> Option<usize> {
    STATIC_QSTRS
        .iter()
        .position(|(q, _)| *q == s)
        .map(|i| i + 1)
}

/// The static qstrs in index order as (text, escaped `MP_QSTR_` suffix); index = position + 1.
pub fn static_qstrs() -> &'static [(&'static str, &'static str)] {
    STATIC_QSTRS
}

/// Whether `MP_QSTR_<escaped>` names a static qstr.
pub fn is_static_escaped(escaped: &str) -> bool {
    STATIC_QSTRS.iter().any(|(_, e)| *e == escaped)
}

/// Every `MP_QSTR_[A-Za-z0-9_]*` name (without the prefix) in `text`, in order of appearance.
pub fn scan_qstr_names(text: &[u8]) -> Vec<String> {
    const PREFIX: &[u8] = b"MP_QSTR_";
    let mut out = Vec::new();
    let mut i = 0;
    while i + PREFIX.len() <= text.len() {
        if &text[i..i + PREFIX.len()] == PREFIX {
            let start = i + PREFIX.len();
            let mut end = start;
            while end < text.len() && (text[end].is_ascii_alphanumeric() || text[end] == b'_') {
                end += 1;
            }
            out.push(String::from_utf8_lossy(&text[start..end]).into_owned());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The module-local (non-static) qstr names used by `sources`, sorted as mpy_ld.py sorts them.
pub fn module_qstrs<'a>(sources: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    let mut set = BTreeSet::new();
    for s in sources {
        for name in scan_qstr_names(s) {
            if !is_static_escaped(&name) {
                set.insert(name);
            }
        }
    }
    set.into_iter().collect()
}

/// The config.h text `--preprocess` writes for the given module qstrs.
pub fn config_h(module_qstrs: &[String], dialect: Dialect) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("#include <stdint.h>\n");
    if dialect == Dialect::V1_23 {
        out.push_str("typedef uintptr_t mp_uint_t;\ntypedef intptr_t mp_int_t;\n");
    }
    out.push_str("typedef uintptr_t mp_off_t;\n");
    for (i, (_, esc)) in STATIC_QSTRS.iter().enumerate() {
        out.push_str(&format!("#define MP_QSTR_{esc} ({})\n", i + 1));
    }
    for (i, q) in module_qstrs.iter().enumerate() {
        out.push_str(&format!(
            "#define MP_QSTR_{q} (mp_native_qstr_table[{}])\n",
            i + 1
        ));
    }
    out.push_str("extern const uint16_t mp_native_qstr_table[];\n");
    match dialect {
        Dialect::V1_23 => out.push_str("extern const mp_uint_t mp_native_obj_table[];\n"),
        Dialect::Newest => out.push_str("extern const uintptr_t mp_native_obj_table[];\n"),
    }
    out
}

/// Reads the module qstr names from a config.h, in file order: every line that starts with
/// `#define MP_QSTR_<name> (mp_native_`.
pub fn read_config_h(text: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.split(|&c| c == b'\n') {
        let Some(rest) = line.strip_prefix(b"#define MP_QSTR_") else {
            continue;
        };
        let n = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        if rest[n..].starts_with(b" (mp_native_") {
            out.push(String::from_utf8_lossy(&rest[..n]).into_owned());
        }
    }
    out
}

/// Checks that the module's qstr table covers what the linked code indexes.
///
/// Code reads module qstrs as `mp_native_qstr_table[N]` (N from 1, entry 0 is the source
/// name), with N fixed at compile time by config.h. Linked with no module qstrs (no `--qstrs`,
/// or a file that defines none), every such read is past the table's one entry (mpy_ld.py
/// writes the module in silence and it reads garbage at import). The caller reports this as
/// a warning, so the bytes stay mpy_ld.py's. Where N is visible to the linker (an Xtensa literal `mp_native_qstr_table+2N`),
/// an N beyond the config.h's count is reported the same way. Elsewhere N is an instruction
/// displacement the linker does not decode, so a config.h with too few qstrs is not seen.
pub fn check_table_use(
    res: &crate::model::Resolution,
    qstrs: &[String],
) -> Option<crate::LinkError> {
    use crate::error::{ErrorKind, LinkError, Site};
    use crate::model::Target;
    let mut worst: Option<(i64, Site)> = None;
    for &id in res.sections.order.iter().chain(&res.sections.literals) {
        let Some((obj, relocs)) = res.relocs_of(id) else {
            continue;
        };
        let file = &res.objects.files[obj];
        for r in relocs {
            if res.objects.targets[obj].get(r.sym as usize) != Some(&Target::QstrTable) {
                continue;
            }
            let is_literal = res.sections.all[id].name.starts_with(".literal");
            let index = if is_literal { r.addend / 2 } else { 0 };
            if worst.as_ref().is_none_or(|(w, _)| index > *w) {
                let site = Site {
                    object: file.name.clone(),
                    section: res.sections.all[id].name.clone(),
                    offset: r.offset,
                };
                worst = Some((index, site));
            }
        }
    }
    let (index, site) = worst?;
    let have = qstrs.len() as i64;
    let message = if have == 0 {
        format!(
            "{}: reads mp_native_qstr_table, but the module has no qstr table entries",
            site.object
        )
    } else if index > have {
        format!(
            "{}: reads qstr {index} of mp_native_qstr_table, but the --qstrs file defines only {have}",
            site.object
        )
    } else {
        return None;
    };
    Some(
        LinkError::new(ErrorKind::Unsupported, message)
            .detail(
                "the module would read past its qstr table at import; link with --qstrs and \
                 the config.h the objects were compiled with (dynruntime.mk passes \
                 --qstrs $(CONFIG_H))",
            )
            .symbol("mp_native_qstr_table")
            .object(site.object.clone())
            .site(site),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_and_sorts_module_qstrs() {
        let a: &[u8] = b"MP_QSTR_foo MP_QSTR_append x MP_QSTR_bar\n// MP_QSTR_zed";
        let b: &[u8] = b"MP_QSTR_foo MP_QSTR_ MP_QSTR__star_ MP_QSTR_Abc";
        assert_eq!(module_qstrs([a, b]), vec!["Abc", "bar", "foo", "zed"]);
    }

    #[test]
    fn config_h_round_trips() {
        let q = vec!["alpha".to_string(), "beta".to_string()];
        let text = config_h(&q, Dialect::Newest);
        assert!(text.contains("#define MP_QSTR_append ("));
        assert_eq!(read_config_h(text.as_bytes()), q);
        assert!(config_h(&q, Dialect::V1_23).contains("typedef intptr_t mp_int_t;"));
    }

    #[test]
    fn static_indices_match_the_abi() {
        assert_eq!(static_index(""), Some(1));
        assert_eq!(
            static_index("__main__"),
            STATIC_QSTRS
                .iter()
                .position(|q| q.0 == "__main__")
                .map(|i| i + 1)
        );
        assert!(is_static_escaped("utf_hyphen_8"));
    }
}
