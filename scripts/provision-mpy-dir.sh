#!/usr/bin/env bash
# Provision the two MicroPython source trees natmods are built against:
# - <repo>/target/mpy-dir/micropython: v1.23.0, from the PyPI sdist of mpy-cross-v6-3 1.1.1,
#   which vendors it (py/dynruntime.mk, py/dynruntime.h, tools/mpy_ld.py, ...);
# - <repo>/target/mpy-dir/newest: MicroPython main at 1c3c201149 (v1.29-preview, .mpy 6.3),
#   unpacked from the snapshot in ../shared/data/micropython (never copied into the repo).
# Idempotent: does nothing for a tree that is already there. Works from any cwd.
set -Eeuo pipefail
trap 'rc=$?; echo "provision-mpy-dir: error: \`$BASH_COMMAND\` failed (exit $rc) at line $LINENO" >&2' ERR

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

provision_v123() {
if check_tree; then
    say "already provisioned: $tree (MicroPython $WANT_VERSION)"
    return 0
fi
[ ! -e "$tree" ] || die "$tree exists but has no py/dynruntime.mk; remove it and re-run"

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
mkdir -p "$dest"
work="$(mktemp -d "$dest/.provision.XXXXXX")"

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
rm -rf "$work"
say "provisioned $tree (MicroPython $WANT_VERSION)"
}

# ---------------------------------------------------------------- the newest tree
NEWEST_COMMIT=1c3c201149
NEWEST_VERSION=1.29
newest="$dest/newest"
snapshot="${NATMOD_MPY_SNAPSHOT:-$repo_root/../shared/data/micropython/micropython-$NEWEST_COMMIT.tar.xz}"

provision_newest() {
    local stamp="$newest/.natmod-snapshot"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$NEWEST_COMMIT" ] && [ -f "$newest/py/dynruntime.mk" ]; then
        say "already provisioned: $newest (MicroPython main $NEWEST_COMMIT)"
        return 0
    fi
    [ -f "$snapshot" ] || die "MicroPython snapshot not found: $snapshot (the repo expects ../shared beside it; or set NATMOD_MPY_SNAPSHOT)"
    command -v xz >/dev/null || die "xz not found: install xz-utils (apt-get install xz-utils)"
    rm -rf "$newest"
    mkdir -p "$dest"
    local work
    work="$(mktemp -d "$dest/.provision-newest.XXXXXX")"
    say "unpacking $(basename "$snapshot") into $newest"
    tar -xJf "$snapshot" -C "$work"
    [ -f "$work/micropython/py/dynruntime.mk" ] || die "unexpected snapshot layout: no micropython/py/dynruntime.mk in $snapshot"
    local minor
    minor=$(sed -n 's/^#define MICROPY_VERSION_MINOR \([0-9]*\).*/\1/p' "$work/micropython/py/mpconfig.h")
    [ "1.$minor" = "$NEWEST_VERSION" ] || die "snapshot says MicroPython 1.$minor, expected $NEWEST_VERSION"
    mv "$work/micropython" "$newest"
    rm -rf "$work"
    echo "$NEWEST_COMMIT" > "$stamp"
    say "provisioned $newest (MicroPython main $NEWEST_COMMIT, $NEWEST_VERSION-preview)"
}

provision_v123
provision_newest
