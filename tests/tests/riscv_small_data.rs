//! RISC-V inputs that mpy_ld.py misreports: small-data sections (`.sbss` from `-fno-pic`) and
//! absolute HI20/LO12 pairs get errors that say what is wrong and which flag fixes it (instead
//! of `undefined symbol` and `LO12 relocation … without a HI20 relocation`), and `.srodata`
//! is linked like `.rodata` (MicroPython issue 19364).

use natmod_tests::{describe_output, mpyfile, natmod_ld, require_tool, scratch_dir};
use std::path::Path;
use std::process::{Command, Output};

const C: &str = "int counter;\n\
    static const long long big = 0x123456789abcdefLL;\n\
    long long get(long long x) { counter++; return x * big + 0x1122334455667788LL; }\n\
    void *mpy_init(void *self, int n) { return (void *)(long)get(n); }\n";

/// Compiles with dynruntime.mk's flags for rv32imc, then `flags` (a later `-fno-pic` wins).
fn gcc(dir: &Path, src: &str, out: &str, flags: &[&str]) {
    let cc = require_tool("riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf");
    let tc = natmod_linker::arch::toolchain_for("rv32imc").expect("rv32imc is an arch");
    let o = Command::new(cc)
        .current_dir(dir)
        .args(tc.multilib_flags)
        .arg("-mno-relax")
        .args(natmod_tests::cflags::DYNRUNTIME_CFLAGS)
        .args(flags)
        .args(["-c", src, "-o", out])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe_output(&o));
}

fn link(dir: &Path, obj: &str) -> Output {
    Command::new(natmod_ld())
        .current_dir(dir)
        .args(["--arch", "rv32imc", "-o", "m.mpy", obj])
        .output()
        .unwrap()
}

#[test]
fn small_data_and_non_pic_code_get_errors_naming_the_fix() {
    let dir = scratch_dir("riscv_small_data", "errors");
    std::fs::write(dir.join("a.c"), C).unwrap();

    gcc(&dir, "a.c", "nopic.o", &["-fno-pic"]);
    let out = link(&dir, "nopic.o");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{}", describe_output(&out));
    assert!(
        text.contains("nopic.o: .sbss non-empty: RISC-V small-data sections are not supported")
            && text.contains("symbol: counter, 4 bytes")
            && text.contains("-fpic")
            && !text.contains("undefined symbol"),
        "{text}"
    );

    gcc(&dir, "a.c", "abs.o", &["-fno-pic", "-msmall-data-limit=0"]);
    let out = link(&dir, "abs.o");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{}", describe_output(&out));
    assert!(
        text.contains("abs.o: non-PIC code: absolute address of")
            && text.contains("compile with -fpic")
            && !text.contains("without a HI20"),
        "{text}"
    );

    gcc(&dir, "a.c", "pic.o", &["-fpic"]);
    let out = link(&dir, "pic.o");
    assert!(out.status.success(), "{}", describe_output(&out));
}

#[test]
fn srodata_is_linked_like_rodata() {
    let dir = scratch_dir("riscv_small_data", "srodata");
    std::fs::write(
        dir.join("d.s"),
        "\t.section .srodata.cst8,\"aM\",@progbits,8\n\t.align 3\n.LC0:\n\
         \t.word 0x55667788\n\t.word 0x11223344\n\t.text\n\t.globl mpy_init\nmpy_init:\n\
         .L1:\tauipc a0, %pcrel_hi(.LC0)\n\tlw a0, %pcrel_lo(.L1)(a0)\n\tret\n",
    )
    .unwrap();
    gcc(&dir, "d.s", "d.o", &[]);
    let out = link(&dir, "d.o");
    assert!(out.status.success(), "{}", describe_output(&out));
    let mpy = mpyfile::parse(&std::fs::read(dir.join("m.mpy")).unwrap());
    let t = &mpy.text;
    let word = |at: usize| u32::from_le_bytes(t[at..at + 4].try_into().unwrap());
    // mpy_init is first: auipc at 0, lw at 4; the pair must address the constant.
    let hi = (word(0) & 0xffff_f000) as i32 as i64;
    let lo = (word(4) as i32 >> 20) as i64;
    let at = (hi + lo) as usize;
    assert!(at + 8 <= t.len(), "the lw points outside the text ({at})");
    assert_eq!(
        word(at),
        0x5566_7788,
        "the lw does not load the .srodata constant"
    );
}
