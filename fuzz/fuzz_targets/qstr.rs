//! Bytes → `module_qstrs` (as C sources), `read_config_h` (as a config.h), and the round trip
//! `read_config_h(config_h(q)) == q` (in a dialect the input picks), for the qstrs found either way.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natmod_linker::qstr::{config_h, module_qstrs, read_config_h};
use natmod_linker::Dialect;

fuzz_target!(|data: &[u8]| {
    // Two "source files": the input split at its first NUL (or one file).
    let sources: Vec<&[u8]> = data.splitn(2, |&c| c == 0).collect();
    let found = module_qstrs(sources.iter().copied());
    assert!(found.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    let read = read_config_h(data);
    // The dialect changes only the header lines; the input's length picks one.
    let dialect = if data.len().is_multiple_of(2) {
        Dialect::Newest
    } else {
        Dialect::V1_23
    };
    for q in [&found, &read] {
        let text = config_h(q, dialect);
        assert_eq!(&read_config_h(text.as_bytes()), q, "{dialect:?} round trip");
    }
});
