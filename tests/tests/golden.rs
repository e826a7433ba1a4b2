//! Every golden-corpus entry, arch group by arch group.

#[test]
fn golden_x86_x64_any() {
    natmod_tests::golden::run_arches(&["x86", "x64", "any"]);
}
