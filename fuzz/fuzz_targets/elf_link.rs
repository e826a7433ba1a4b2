//! Bytes → `ObjectFile::parse`; when the bytes parse, full links for an arch of the object's
//! `e_machine` (where several share one, the input's length picks): the object alone, after and
//! before that arch's golden `minimal.o`, and with the golden `--externs`. Nothing may panic;
//! every failure must be a `LinkError`.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use natmod_linker::{link, Dialect, ObjectFile};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(obj) = ObjectFile::parse("fuzz.o", data) else {
        return;
    };
    let obj = Arc::new(obj);
    // Input-derived, so each input is deterministic.
    let dialect = if data.len().is_multiple_of(2) {
        Dialect::Newest
    } else {
        Dialect::V1_23
    };
    let arches = common::arches_for(obj.machine);
    let arch = arches[(data.len() / 2) % arches.len()];
    let g = common::golden(arch);
    let cfg = common::config(arch, dialect);
    let ex = &common::externs()[usize::from(arch.starts_with("xtensa"))];
    let runs: [(Vec<Arc<ObjectFile>>, bool); 4] = [
        (vec![obj.clone()], false),
        (vec![g.minimal.clone(), obj.clone()], false),
        (vec![obj.clone(), g.minimal.clone()], false),
        (vec![obj.clone()], true),
    ];
    for (objects, with_externs) in runs {
        if let Ok(out) = link(&cfg, objects, &[], with_externs.then_some(ex)) {
            common::check_output(&out);
        }
    }
});
