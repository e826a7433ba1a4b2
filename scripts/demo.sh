#!/usr/bin/env bash
# The main job on the bundled example: provision, build natmod-ld, build examples/factorial
# with `make MPY_LD=natmod-ld`, and run it in the real `micropython` interpreter.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/provision.sh
cargo build --release -p natmod-linker --bin natmod-ld
ld="$root/target/release/natmod-ld"
make -C examples/factorial clean >/dev/null
make -C examples/factorial MPY_LD="$ld"
echo "--- importing factorial_nm.mpy in micropython"
cd examples/factorial
MICROPYPATH=. micropython -c '
import factorial_nm
print("factorial(20) =", factorial_nm.factorial(20))
print("factorial(30) =", factorial_nm.factorial(30))
print("fib(90) =", factorial_nm.fib(90))
'
