#!/usr/bin/env bash
# Proof on emulated hardware: build MicroPython firmware for four QEMU boards and the 32-bit
# unix port, build MicroPython's examples/natmod with `make MPY_LD=natmod-ld` (and, as the
# baseline, with the snapshot's own tools/mpy_ld.py from the same objects), run MicroPython's
# natmod tests on each emulated target, run the modules whose bytes natmod-ld deliberately makes
# different from mpy_ld.py's, and print a table. Exits non-zero when natmod-ld fails anything.
#
#   bash scripts/emulated-tests.sh                      everything, all 7 arches
#   bash scripts/emulated-tests.sh --arch armv7m         one arch (repeatable, or a,b,c)
#   bash scripts/emulated-tests.sh --build-only          install QEMU, build the firmware, stop
#   bash scripts/emulated-tests.sh --variant function-sections
#        plain: the examples as MicroPython builds them (default; both linkers, the baseline)
#        function-sections: CFLAGS += -ffunction-sections -fdata-sections (natmod-ld only; the
#                           reference's link of the same objects is recorded, not gated)
#        gc: function-sections plus `natmod-ld --gc-sections`
#   --no-reference      skip the mpy_ld.py baseline run (faster; no ⊇ check)
#   --no-differences    skip the deliberate-difference modules
#   --timeout SECONDS   per test run (one run-natmodtests.py group, or one module), default 180
#
# Everything it builds lives under target/emu/ in the clone:
#   target/emu/micropython/              the snapshot, unpacked (../shared/data/micropython)
#   target/emu/firmware/BOARD/firmware.elf   MPS2_AN385, MPS2_AN500, VIRT_RV32, VIRT_RV64
#   target/emu/firmware/unix-x86/micropython the 32-bit unix port (x86 natmods)
#   target/emu/mpy/VARIANT/LINKER/ARCH/  the natmod .mpy files each linker wrote
#   target/emu/results/                  one TSV line per test file and run; logs
# scripts/emu-board.sh BOARD starts a board with its REPL on a pty.
set -Eeuo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
emu="$root/target/emu"
tree="$emu/micropython"
fwdir="$emu/firmware"
results="$emu/results"
SNAPSHOT_COMMIT=1c3c201149
snapshot="${NATMOD_MPY_SNAPSHOT:-$root/../shared/data/micropython/micropython-$SNAPSHOT_COMMIT.tar.xz}"
export DEBIAN_FRONTEND=noninteractive
JOBS="${JOBS:-$(nproc)}"

say() { echo "emulated: $*"; }
die() { echo "emulated: error: $*" >&2; exit 2; }
trap 'rc=$?; echo "emulated: error: \`$BASH_COMMAND\` failed (exit $rc) at scripts/emulated-tests.sh:$LINENO" >&2' ERR

ALL_ARCHES=(armv6m armv7m armv7emsp armv7emdp rv32imc rv64imc x86)
arches=()
variant=plain
build_only=0
reference=1
differences=1
timeout_s=180
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) [ $# -ge 2 ] || die "--arch needs a value"; IFS=, read -r -a a <<<"$2"; arches+=("${a[@]}"); shift 2 ;;
        --arch=*) IFS=, read -r -a a <<<"${1#--arch=}"; arches+=("${a[@]}"); shift ;;
        --variant) [ $# -ge 2 ] || die "--variant needs a value"; variant="$2"; shift 2 ;;
        --variant=*) variant="${1#--variant=}"; shift ;;
        --build-only) build_only=1; shift ;;
        --no-reference) reference=0; shift ;;
        --no-differences) differences=0; shift ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout_s="$2"; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[ ${#arches[@]} -gt 0 ] || arches=("${ALL_ARCHES[@]}")
for a in "${arches[@]}"; do
    case " ${ALL_ARCHES[*]} " in *" $a "*) ;; *)
        if [ "$a" = xtensa ] || [ "$a" = xtensawin ]; then
            die "$a cannot be emulated here (no QEMU board runs MicroPython for it); its proof is by decoding (README: Proof on emulated hardware)"
        fi
        die "unknown arch '$a' (one of: ${ALL_ARCHES[*]})" ;;
    esac
done
case "$variant" in plain|function-sections|gc) ;; *) die "unknown variant '$variant' (plain, function-sections, gc)" ;; esac
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, got '$timeout_s'"

board_of() {
    case "$1" in
        armv6m|armv7m) echo MPS2_AN385 ;;
        armv7emsp|armv7emdp) echo MPS2_AN500 ;;
        rv32imc) echo VIRT_RV32 ;;
        rv64imc) echo VIRT_RV64 ;;
        x86) echo unix-x86 ;;
    esac
}

start_all=$(date +%s)
mkdir -p "$emu" "$fwdir" "$results"

# ------------------------------------------------------------------ QEMU (bookworm-backports)
# VIRT_RV32 needs QEMU >= 8.0 (`-cpu rv32,zcmp=on`); bookworm has 7.2, bookworm-backports 10.0.
qemu_ok() {
    local b v
    for b in qemu-system-arm qemu-system-riscv32 qemu-system-riscv64; do
        command -v "$b" >/dev/null || return 1
        v="$("$b" --version | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p')"
        [ -n "$v" ] && [ "$v" -ge 8 ] || return 1
    done
}
install_qemu() {
    if qemu_ok; then
        say "qemu ok: $(qemu-system-arm --version | head -n1)"
        return 0
    fi
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        say "adding bookworm-backports to apt's sources (/etc/apt/sources.list.d/bookworm-backports.sources)"
        printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
            'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
            | $sudo tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
    fi
    $sudo apt-get update
    # --no-remove: apt must never take packages away to install QEMU (it would stop instead).
    $sudo apt-get install -y --no-install-recommends --no-remove -t bookworm-backports \
        qemu-system-arm qemu-system-misc
    qemu_ok || die "QEMU >= 8.0 (qemu-system-arm, qemu-system-riscv32/64) still missing after installing qemu-system-arm qemu-system-misc from bookworm-backports"
    say "qemu ok: $(qemu-system-arm --version | head -n1)"
}

# ------------------------------------------------------------------ the MicroPython tree
unpack_tree() {
    local stamp="$tree/.natmod-snapshot"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$SNAPSHOT_COMMIT" ]; then
        return 0
    fi
    rm -rf "$tree"
    local work provisioned="$root/target/mpy-dir/newest"
    work="$(mktemp -d "$emu/.unpack.XXXXXX")"
    if [ -f "$provisioned/.natmod-snapshot" ] && [ "$(cat "$provisioned/.natmod-snapshot")" = "$SNAPSHOT_COMMIT" ]; then
        # scripts/provision-mpy-dir.sh unpacked the same snapshot: copy it (builds stay out of it).
        say "copying $provisioned into $tree"
        cp -a "$provisioned" "$work/micropython"
    else
        [ -f "$snapshot" ] || die "MicroPython snapshot not found: $snapshot (the repo expects ../shared beside it; or set NATMOD_MPY_SNAPSHOT, or run scripts/provision-mpy-dir.sh)"
        say "unpacking $(basename "$snapshot") into $tree"
        tar -xJf "$snapshot" -C "$work"
    fi
    [ -f "$work/micropython/ports/qemu/Makefile" ] || die "unexpected snapshot layout: no micropython/ports/qemu/Makefile"
    # The rv64imc stack case: the re natmod's recursion guard is a fixed STACK_LIMIT of 2048
    # bytes, too small for GCC 12.2's rv64 code (3 re tests fail with "maximum recursion depth
    # exceeded" with either linker; 4096 passes, per the snapshot's README). Make the constant
    # overridable here; the rv64imc build passes -DSTACK_LIMIT=4096 (see build_natmods).
    local re_c="$work/micropython/examples/natmod/re/re.c"
    grep -q '^#define STACK_LIMIT (2048)$' "$re_c" || die "$re_c: expected '#define STACK_LIMIT (2048)'"
    sed -i 's/^#define STACK_LIMIT (2048)$/#ifndef STACK_LIMIT\n#define STACK_LIMIT (2048)\n#endif/' "$re_c"
    mv "$work/micropython" "$tree"
    rmdir "$work"
    echo "$SNAPSHOT_COMMIT" >"$stamp"
}

# ------------------------------------------------------------------ firmware
rv_libgcc() { riscv64-unknown-elf-gcc "$@" -print-libgcc-file-name; }
build_firmware() {
    local board="$1" log="$results/build-$1.log" t0 extra=()
    t0=$(date +%s)
    case "$board" in
        # Debian's riscv64-unknown-elf-gcc picks no libgcc multilib for -march=..._zicsr.
        VIRT_RV32) extra=(LIBS="$(rv_libgcc -march=rv32imac -mabi=ilp32)") ;;
        VIRT_RV64) extra=(LIBS="$(rv_libgcc -march=rv64imac -mabi=lp64)") ;;
    esac
    if [ "$board" = unix-x86 ]; then
        command -v i686-linux-gnu-gcc >/dev/null || die "i686-linux-gnu-gcc not found: install gcc-i686-linux-gnu libc6-dev-i386-cross linux-libc-dev-i386-cross (scripts/provision.sh)"
        make -C "$tree/ports/unix" -j"$JOBS" VARIANT=standard BUILD=build-x86 CROSS_COMPILE=i686-linux-gnu- \
            MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 FROZEN_MANIFEST= >"$log" 2>&1 \
            || die "building the 32-bit unix port failed; last lines of $log:$(echo; tail -n 20 "$log")"
        install -D -m 755 "$tree/ports/unix/build-x86/micropython" "$fwdir/unix-x86/micropython"
    else
        make -C "$tree/ports/qemu" -j"$JOBS" BOARD="$board" "${extra[@]}" >"$log" 2>&1 \
            || die "building $board firmware failed; last lines of $log:$(echo; tail -n 20 "$log")"
        install -D -m 644 "$tree/ports/qemu/build-$board/firmware.elf" "$fwdir/$board/firmware.elf"
    fi
    say "firmware $board: $(( $(date +%s) - t0 )) s"
}
build_all_firmware() {
    local boards=() b a
    for a in "${arches[@]}"; do
        b="$(board_of "$a")"
        case " ${boards[*]} " in *" $b "*) ;; *) boards+=("$b") ;; esac
    done
    if [ ! -x "$tree/mpy-cross/build/mpy-cross" ]; then
        # The qemu firmware freezes Python modules (unittest), compiled by the tree's mpy-cross.
        make -C "$tree/mpy-cross" -j"$JOBS" >"$results/build-mpy-cross.log" 2>&1 \
            || die "building mpy-cross failed; see $results/build-mpy-cross.log"
    fi
    for b in "${boards[@]}"; do build_firmware "$b"; done
}

install_qemu
unpack_tree
build_all_firmware
say "firmware in $fwdir ($(( $(date +%s) - start_all )) s so far)"
if [ "$build_only" = 1 ]; then
    exit 0
fi
