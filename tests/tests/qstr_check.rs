//! A link whose code reads `mp_native_qstr_table` with no module qstrs (no `--qstrs`, or a
//! file that defines none) writes a module that reads past its qstr table at import;
//! mpy_ld.py accepts it in silence. natmod-ld keeps the bytes and warns on stderr.

use natmod_tests::{describe_output, natmod_ld, require_tool, scratch_dir};
use std::process::Command;

#[test]
fn reading_the_qstr_table_without_module_qstrs_warns_and_keeps_the_bytes() {
    let gcc = require_tool("gcc", "gcc");
    let dir = scratch_dir("qstr_check", "x64");
    std::fs::write(
        dir.join("q.c"),
        "extern const unsigned short mp_native_qstr_table[];\n\
         void *mpy_init(void *self) { return (void *)(long)mp_native_qstr_table[1]; }\n",
    )
    .unwrap();
    let out = Command::new(gcc)
        .current_dir(&dir)
        .args(natmod_tests::cflags::DYNRUNTIME_CFLAGS)
        .args(["-c", "q.c"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe_output(&out));
    std::fs::write(dir.join("none.h"), "/* no module qstrs */\n").unwrap();
    std::fs::write(
        dir.join("one.h"),
        "#define MP_QSTR_hello (mp_native_qstr_table[1])\n",
    )
    .unwrap();
    let link = |extra: &[&str], out: &str| {
        let o = Command::new(natmod_ld())
            .current_dir(&dir)
            .args(["--arch", "x64", "--source-name", "q.mpy", "-o", out])
            .args(extra)
            .arg("q.o")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", describe_output(&o));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let warning = "reads mp_native_qstr_table, but the module has no qstr table entries";
    let missing = link(&[], "a.mpy");
    assert!(
        missing.contains(warning),
        "no warning without --qstrs:\n{missing}"
    );
    let empty = link(&["--qstrs", "none.h"], "b.mpy");
    assert!(
        empty.contains(warning),
        "no warning for a qstr-less file:\n{empty}"
    );
    let ok = link(&["--qstrs", "one.h"], "c.mpy");
    assert!(
        !ok.contains("qstr"),
        "a warning with a matching config.h:\n{ok}"
    );
    assert_eq!(
        std::fs::read(dir.join("a.mpy")).unwrap(),
        std::fs::read(dir.join("b.mpy")).unwrap(),
        "the warning changed the bytes"
    );
}
