//! Text → `Externs::parse`. Accepted files must be self-consistent (every symbol found by
//! `get`/`line_of`, lines increasing) and survive a round trip through the canonical
//! `name = 0xADDR;` form.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natmod_linker::Externs;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(ex) = Externs::parse("fuzz.ld", &text) else {
        return;
    };
    assert_eq!(ex.symbols.len(), ex.lines.len());
    let mut last_line = 0;
    for (i, (name, addr)) in ex.symbols.iter().enumerate() {
        assert_eq!(ex.get(name), Some(*addr), "{name}");
        assert_eq!(ex.line_of(name), Some(ex.lines[i]), "{name}");
        assert!(ex.lines[i] > last_line, "lines increase");
        last_line = ex.lines[i];
    }
    for u in &ex.unparsed {
        assert!(u.line >= 1);
        assert!(ex.unparsed_line(&u.symbol).is_some());
    }
    let canonical: String = ex
        .symbols
        .iter()
        .map(|(n, a)| format!("{n} = 0x{a:x};\n"))
        .collect();
    let again = Externs::parse("canonical.ld", &canonical).expect("canonical form parses");
    assert_eq!(again.symbols, ex.symbols);
    assert!(again.unparsed.is_empty());
    assert!(again.warnings.is_empty());
});
