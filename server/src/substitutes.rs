//! The one table of what a native module calls instead of a C library function it cannot
//! reach, used by the link-error placement and the live checks alike.

/// C library functions (grouped) and what to call instead.
const TABLE: &[(&[&str], &str)] = &[
    (
        &[
            "printf", "puts", "putchar", "vprintf", "fprintf", "fputs", "vfprintf",
        ],
        "mp_printf(&mp_plat_print, ...)",
    ),
    (
        &["sprintf", "snprintf", "vsprintf", "vsnprintf"],
        "mp_obj_new_str(...) to build the string (or mp_printf(&mp_plat_print, ...) to print it)",
    ),
    (&["malloc"], "m_malloc(...) (or m_new)"),
    (&["calloc"], "m_malloc(...) and memset"),
    (&["realloc"], "m_realloc(...)"),
    (&["free"], "m_free(...)"),
    (
        &["abort", "exit", "assert"],
        "mp_raise_ValueError(...) or mp_raise_msg(...) (raise an exception)",
    ),
    (
        &["strtol", "atoi", "atol"],
        "mp_obj_get_int(...) on a Python int",
    ),
];

/// What to call instead of the C library function `name`, if the table knows it.
pub fn substitute(name: &str) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_one_substitute() {
        let names: Vec<&str> = TABLE.iter().flat_map(|(n, _)| n.iter().copied()).collect();
        for n in &names {
            assert_eq!(
                names.iter().filter(|m| *m == n).count(),
                1,
                "{n} listed twice"
            );
        }
        assert_eq!(substitute("printf"), Some("mp_printf(&mp_plat_print, ...)"));
        assert_eq!(substitute("calloc"), Some("m_malloc(...) and memset"));
        assert_eq!(substitute("strtol"), substitute("atoi"));
        assert_eq!(substitute("memcpy"), None);
    }
}
