#!/usr/bin/env bash
# Prove the README's set-up on a brand-new machine: build a fresh Debian bookworm root with
# `debootstrap --variant=minbase`, give it only the machine's own toolchains (Rust: bind-mounted
# ~/.cargo and ~/.rustup; Node.js 20, which Debian bookworm lacks), /proc, /dev and /sys, copy `git archive HEAD` of this repo into it with ../shared
# beside it (read-only), and run the README's set-up commands inside with chroot.
#
#   bash scripts/fresh-machine.sh --demo    # the README's first command (the bundled example)
#   bash scripts/fresh-machine.sh --all     # both: the example, then the tests
#   bash scripts/fresh-machine.sh --demo --keep   # keep the root afterwards (for a look inside)
#
# The commands are read from README.md (the lines after `<!-- fresh-machine: demo -->` and
# `<!-- fresh-machine: tests -->`), so the README and this proof cannot drift apart.
# Needs root, debootstrap (installed here from Debian if missing) and the package registries.
# Everything lives in target/fresh-machine/ of this clone; mounts are removed even when a step
# fails. Prints the time of every step; exits non-zero naming the step that failed.
set -Eeuo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$repo/target/fresh-machine"
root="$work/root"
suite=bookworm
mirror="${FRESH_MACHINE_MIRROR:-http://deb.debian.org/debian}"
mode="" keep=0
for a in "$@"; do
    case "$a" in
        --demo) mode=demo ;;
        --all) mode=all ;;
        --keep) keep=1 ;;
        *) echo "usage: $0 --demo|--all [--keep]" >&2; exit 2 ;;
    esac
done
[ -n "$mode" ] || { echo "usage: $0 --demo|--all [--keep]" >&2; exit 2; }

say() { echo "fresh-machine: $*"; }
die() { echo "fresh-machine: error: $*" >&2; exit 1; }
trap 'rc=$?; echo "fresh-machine: error: \`$BASH_COMMAND\` failed (exit $rc) at scripts/fresh-machine.sh:$LINENO" >&2' ERR
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mount and chroot need it)"
if [ -n "${NATMOD_FRESH_MACHINE:-}" ]; then
    die "already inside a fresh machine (NATMOD_FRESH_MACHINE is set): nested roots are not supported"
fi

# The README's commands: the first indented line after each marker.
readme_command() {
    local tag="$1" cmd
    cmd="$(awk -v tag="<!-- fresh-machine: $tag -->" '
        found && /^    [^ ]/ { sub(/^    /, ""); print; exit }
        index($0, tag) { found = 1 }' "$repo/README.md")"
    [ -n "$cmd" ] || die "README.md has no command after '<!-- fresh-machine: $tag -->'"
    printf '%s\n' "$cmd"
}
demo_cmd="$(readme_command demo)"
tests_cmd="$(readme_command tests)"

step_start=0
step() { step_name="$1"; step_start=$SECONDS; say "== $step_name"; }
step_done() { say "== $step_name: ok in $((SECONDS - step_start)) s"; timings+=("$step_name: $((SECONDS - step_start)) s"); }
timings=()

mounts=()
cleanup() {
    local rc=$? i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" 2>/dev/null \
            || echo "fresh-machine: warning: could not unmount ${mounts[$i]}" >&2
    done
    if [ "$keep" = 0 ] && [ -d "$root" ]; then
        # Only after every mount is gone: never delete through a bind mount.
        if ! grep -q " $root" /proc/self/mounts; then rm -rf "$root"; fi
    fi
    for t in "${timings[@]}"; do say "time: $t"; done
    exit "$rc"
}
trap cleanup EXIT
bind() { # bind SRC DST [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mounts+=("$2")
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

step "host tools"
if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
cargo_home="${CARGO_HOME:-$HOME/.cargo}" rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
[ -x "$cargo_home/bin/cargo" ] || die "no Rust toolchain at $cargo_home (install rustup first)"
[ -d "$rustup_home" ] || die "no rustup home at $rustup_home"
shared="$(cd "$repo/.." && pwd)/shared"
[ -d "$shared" ] || die "../shared is missing beside the repo ($shared)"
step_done

step "debootstrap --variant=minbase $suite"
if grep -q " $root" /proc/self/mounts; then die "$root still has mounts from an earlier run; unmount them first"; fi
rm -rf "$root"
mkdir -p "$work"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The network's trust, which every machine of this workplace has (not an install step of ours):
# local CA certificates (a TLS-inspecting proxy's), picked up by update-ca-certificates when
# provisioning installs ca-certificates.
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
step_done

step "repo (git archive HEAD), ../shared, toolchain and mounts"
mkdir -p "$root/work/repo"
git -C "$repo" archive HEAD | tar -x -C "$root/work/repo"
bind "$shared" "$root/work/shared" ro
bind "$cargo_home" "$root/root/.cargo"
bind "$rustup_home" "$root/root/.rustup"
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
if mountpoint -q /dev/shm; then bind /dev/shm "$root/dev/shm"; fi
# The machine's Node.js 20, carried in like the Rust toolchain: the editor tests' code-server
# needs node 20, which every machine of this kind has and Debian bookworm does not (it has 18).
if [ -x /usr/bin/node ] && [ -d /usr/lib/node_modules/npm ]; then
    cp /usr/bin/node "$root/usr/bin/node"
    bind /usr/lib/node_modules "$root/usr/lib/node_modules" ro
    if [ -d /usr/include/node ]; then bind /usr/include/node "$root/usr/include/node" ro; fi
    ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
    ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
    say "carried the machine's node $(/usr/bin/node --version) into the root"
fi
step_done

# A clean environment, plus the machine's network settings (proxies, CA bundle paths) that a new
# machine of this workplace has too.
net_env=()
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY SSL_CERT_FILE SSL_CERT_DIR \
    REQUESTS_CA_BUNDLE PIP_CERT CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO CARGO_HTTP_CAINFO \
    PIP_DEFAULT_TIMEOUT; do
    if [ -n "${!v:-}" ]; then net_env+=("$v=${!v}"); fi
done
in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" "${net_env[@]}" \
        NATMOD_FRESH_MACHINE=1 PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /work/repo && $1"
}

step "README command 1: $demo_cmd"
in_root "$demo_cmd" || die "'$demo_cmd' failed in the fresh root (see its output above)"
step_done

if [ "$mode" = all ]; then
    step "README command 2: $tests_cmd"
    in_root "$tests_cmd" || die "'$tests_cmd' failed in the fresh root (see its output above)"
    step_done
fi
say "ok: the README's set-up works on a fresh Debian $suite root"
