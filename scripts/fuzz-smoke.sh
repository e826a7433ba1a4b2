#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz crate (fuzz/) and runs every target for a bounded time
# on its committed seed corpus, one after another. Fails on any crash, panic, hang (>10 s per
# input) or out-of-memory (>2 GB RSS); the failing input is saved under fuzz/artifacts/TARGET/.
#
#   bash scripts/fuzz-smoke.sh              # 30 s per target
#   FUZZ_SMOKE_SECONDS=5 bash scripts/fuzz-smoke.sh
#
# Needs cargo-fuzz (installed here if missing) and a C++ compiler (libFuzzer); works on the
# stable toolchain (no sanitizer: -s none). The committed seeds are only read: new corpus
# entries go to a scratch directory that is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SMOKE_SECONDS:-30}
start=$SECONDS

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd fuzz
cargo fuzz build -s none

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# target:max_len (bytes), as in fuzz/README.md
for spec in elf_link:20000 archive:8192 externs:2048 qstr:2048 lsp:2048; do
    t=${spec%%:*}
    max_len=${spec#*:}
    mkdir -p "$scratch/$t"
    log="$scratch/$t.log"
    # A target's libFuzzer dictionary, if it has one (fuzz/TARGET.dict).
    dict=()
    if [ -f "$t.dict" ]; then
        dict=(-dict="$t.dict")
    fi
    if ! cargo fuzz run -s none "$t" "$scratch/$t" "corpus/$t" -- \
        ${dict[@]+"${dict[@]}"} -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz-smoke: $t FAILED (input saved under fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz-smoke: $t ok: $execs executions in ${secs}s"
done
echo "fuzz-smoke: all targets ok in $((SECONDS - start))s"
