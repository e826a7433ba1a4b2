#!/usr/bin/env bash
# Start one emulated MicroPython board (firmware built by scripts/emulated-tests.sh --build-only)
# under QEMU, with its serial console (the REPL) on a pseudo-terminal.
#
#   scripts/emu-board.sh BOARD               start it in the background; print two lines:
#                                            `pty /dev/pts/N` and `pid PID` (stop it: kill PID)
#   scripts/emu-board.sh --command BOARD     print the exact qemu command line and exit
#   scripts/emu-board.sh --foreground BOARD  run qemu in the foreground (it prints the pty itself)
#
# BOARD is MPS2_AN385 (armv6m, armv7m natmods), MPS2_AN500 (armv7emsp, armv7emdp),
# VIRT_RV32 (rv32imc) or VIRT_RV64 (rv64imc). The firmware is
# target/emu/firmware/BOARD/firmware.elf; the arguments are those of MicroPython's
# ports/qemu/Makefile (`make run`) for that board.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "emu-board: error: $*" >&2; exit 2; }

mode=background
case "${1:-}" in
    --command) mode=command; shift ;;
    --foreground) mode=foreground; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
esac
[ $# -eq 1 ] || die "usage: emu-board.sh [--command|--foreground] BOARD"
board="$1"

# Board → qemu binary and arguments (ports/qemu: QEMU_ARCH, QEMU_MACHINE, QEMU_ARGS).
case "$board" in
    MPS2_AN385) qemu=(qemu-system-arm -machine mps2-an385 -semihosting) ;;
    MPS2_AN500) qemu=(qemu-system-arm -machine mps2-an500 -semihosting) ;;
    VIRT_RV32) qemu=(qemu-system-riscv32 -machine virt -bios none -cpu rv32,zcd=off,zcmp=on -semihosting) ;;
    VIRT_RV64) qemu=(qemu-system-riscv64 -machine virt -bios none -semihosting) ;;
    *) die "unknown board '$board' (MPS2_AN385, MPS2_AN500, VIRT_RV32, VIRT_RV64)" ;;
esac
firmware="$root/target/emu/firmware/$board/firmware.elf"
qemu+=(-nographic -monitor null -serial pty -kernel "$firmware")

if [ "$mode" = command ]; then
    printf '%s\n' "${qemu[*]}"
    exit 0
fi
[ -f "$firmware" ] || die "$firmware not found: build it with bash scripts/emulated-tests.sh --build-only"
command -v "${qemu[0]}" >/dev/null \
    || die "${qemu[0]} not found: install qemu-system-arm and qemu-system-misc from bookworm-backports (scripts/emulated-tests.sh does)"
if [ "$mode" = foreground ]; then
    exec "${qemu[@]}"
fi

# Background: qemu announces the pty on stderr ("char device redirected to /dev/pts/N").
log="$(mktemp "${TMPDIR:-/tmp}/emu-board.XXXXXX")"
"${qemu[@]}" </dev/null >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    pty="$(sed -n 's#.*char device redirected to \(/dev/pts/[0-9]*\).*#\1#p' "$log" | head -n1)"
    if [ -n "$pty" ]; then
        rm -f "$log"   # qemu keeps its descriptor; nothing else reads the log
        echo "pty $pty"
        echo "pid $pid"
        exit 0
    fi
    kill -0 "$pid" 2>/dev/null || die "qemu exited: $(cat "$log")"
    sleep 0.1
done
kill "$pid" 2>/dev/null || true
die "qemu printed no pty within 10 s: $(cat "$log")"
