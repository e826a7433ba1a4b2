//! Every golden-corpus entry, arch group by arch group.

#[test]
fn golden_x86_x64_any() {
    natmod_tests::golden::run_arches(&["x86", "x64", "any"]);
}

#[test]
fn golden_arm() {
    natmod_tests::golden::run_arches(&["armv6m", "armv7m", "armv7emsp", "armv7emdp"]);
}

#[test]
fn golden_xtensa_riscv() {
    natmod_tests::golden::run_arches(&["xtensa", "xtensawin", "rv32imc", "rv64imc"]);
}
