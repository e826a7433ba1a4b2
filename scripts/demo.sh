#!/usr/bin/env bash
# The main job on the bundled example: provision, build natmod-ld, build examples/factorial with
# `make MPY_LD=natmod-ld` against MicroPython v1.23 and against the newest MicroPython tree, and
# import each in the real `micropython` interpreter.
set -Eeuo pipefail
trap 'rc=$?; echo "demo: error: \`$BASH_COMMAND\` failed (exit $rc) at scripts/demo.sh:$LINENO" >&2' ERR
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/provision.sh
cargo build --release -p natmod-linker --bin natmod-ld
ld="$root/target/release/natmod-ld"
for tree in micropython newest; do
    mpy_dir="$root/target/mpy-dir/$tree"
    echo "--- building examples/factorial against $mpy_dir with natmod-ld"
    make -C examples/factorial MPY_DIR="$mpy_dir" clean >/dev/null
    make -C examples/factorial MPY_DIR="$mpy_dir" MPY_LD="$ld"
    echo "--- importing factorial_nm.mpy ($tree tree) in micropython"
    (cd examples/factorial && MICROPYPATH=. micropython -c '
import factorial_nm
print("factorial(20) =", factorial_nm.factorial(20))
print("factorial(30) =", factorial_nm.factorial(30))
print("fib(90) =", factorial_nm.fib(90))
assert factorial_nm.factorial(20) == 2432902008176640000
')
done
make -C examples/factorial clean >/dev/null
echo "demo: ok"
