//! Bytes → an `-l` input (an `!<arch>` archive or a GNU ld GROUP script), every member pulled
//! through the symbol index, and a link of the golden `userlib.o` (which needs symbols from
//! the golden archives) against it for the arch of its first parsable member.
//!
//! GROUP scripts name further files; they are served from memory, never from disk: the input
//! itself under its own name `fuzz.a` (so scripts can include themselves), the golden
//! `libextra.a`/`libmore.a`, and an I/O error for anything else.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use natmod_linker::input::archive::{load_lib_bytes, load_lib_with};
use natmod_linker::{link, Dialect, LinkError};

fuzz_target!(|data: &[u8]| {
    let archives = if data.starts_with(b"!<arch>\n") {
        // No file is read for an archive: the library's own entry point.
        load_lib_bytes("fuzz.a", data.to_vec())
    } else {
        let mut read = |p: &str| -> Result<Vec<u8>, LinkError> {
            if p == "fuzz.a" {
                return Ok(data.to_vec());
            }
            match common::ARCHIVES.iter().find(|(n, _)| *n == p) {
                Some((_, bytes)) => Ok(bytes.to_vec()),
                None => Err(LinkError::io(
                    p,
                    &std::io::Error::from(std::io::ErrorKind::NotFound),
                )),
            }
        };
        load_lib_with("fuzz.a", &mut read)
    };
    let Ok(archives) = archives else { return };
    let mut machine = None;
    for a in &archives {
        for (name, &i) in &a.symbols {
            assert!(i < a.members.len(), "{name} indexes member {i}");
            if let Ok(obj) = a.member_shared(i) {
                machine.get_or_insert(obj.machine);
            }
        }
        for i in 0..a.members.len() {
            // Slicing the member out of the archive must not panic, and match its range.
            let (start, end) = a.members[i].range;
            assert_eq!(a.member_data(i).len(), end - start, "member {i} range");
        }
    }
    if let Some(m) = machine {
        let arch = common::arches_for(m)[0];
        let cfg = common::config(arch, Dialect::Newest);
        let g = common::golden(arch);
        if let Ok(out) = link(&cfg, vec![g.userlib.clone()], &archives, None) {
            common::check_output(&out);
        }
    }
});
