# Sourced by scripts/editor-tests.sh after set-up (root, tools, harness, fixture_src, what,
# NATMOD_LSP, lap, die are set). Runs the checks, prints one PASS/FAIL line per check and closes
# with "editor-tests: N passed, N failed"; the exit status is non-zero if any check failed.
# shellcheck shell=bash

runs="$root/target/editor-tests"
mkdir -p "$runs"
export MPY_DIR="$root/target/mpy-dir/micropython"
export NATMOD_NODE_TOOLS="$tools/node"
export NATMOD_TEST_TIMEOUT="${EDITOR_TESTS_TIMEOUT:-60}"
CS="$tools/code-server/node_modules/.bin/code-server"
NVIM="$tools/venv-nvim/bin/nvim"
SILENT="$harness/silent_lsp.py"
checks_passed=0 checks_failed=0 summary=()

record() { # name rc(0=pass) detail
    if [ "$2" = 0 ]; then checks_passed=$((checks_passed + 1)); summary+=("PASS $1 $3")
    else checks_failed=$((checks_failed + 1)); summary+=("FAIL $1 $3"); fi
    echo "== editor-tests: $([ "$2" = 0 ] && echo PASS || echo FAIL) $1 $3"
}

# An executable for a server given as a path; .py scripts get a wrapper (natmod.serverPath and
# the nvim `cmd` take one executable).
server_exe() { # server rundir
    case "$1" in
        *.py) printf '#!/bin/sh\nexec python3 %q "$@"\n' "$1" > "$2/server.sh"; chmod +x "$2/server.sh"; echo "$2/server.sh" ;;
        *) echo "$1" ;;
    esac
}

new_run() { # name -> fresh run dir with a copy of the fixture in ws/
    local d; d="$(mktemp -d "$runs/$1.XXXXXX")"
    cp -r "$fixture_src" "$d/ws"
    rm -rf "$d/ws/build" "$d/ws/"*.mpy
    echo "$d"
}

finish_run() { # dir rc -- a negative control (expect_fail=1) is expected to fail
    local good=$([ "$2" = 0 ] && echo 1 || echo 0)
    [ -n "${expect_fail:-}" ] && good=$((1 - good))
    if [ "$good" = 1 ] && [ -z "${KEEP_ARTIFACTS:-}" ]; then rm -rf "$1"; else echo "   artifacts: $1"; fi
}

# ---------------------------------------------------------------------------------- a board
# The board checks use an emulated MicroPython board (QEMU MPS2_AN385, firmware from
# `scripts/emulated-tests.sh --build-only`) on a pty, and a copy of examples/factorial built for
# armv7m against the newest MicroPython tree (the firmware's). A missing qemu or firmware fails
# the check with emu-board.sh's message: it is never skipped.
new_board_run() { # name -> fresh run dir with a copy of examples/factorial in ws/
    local d; d="$(mktemp -d "$runs/$1.XXXXXX")"
    cp -r "$root/examples/factorial" "$d/ws"
    rm -rf "$d/ws/"build* "$d/ws/"*.mpy
    echo "$d"
}

board_start() { # -> board_pty, board_pid; on failure board_error and rc 1
    local said
    board_pty="" board_pid="" board_error=""
    if ! said="$(bash "$root/scripts/emu-board.sh" MPS2_AN385 2>&1)"; then
        board_error="cannot start the emulated board: $said"
        echo "   | $board_error"
        return 1
    fi
    board_pty="$(sed -n 's/^pty //p' <<<"$said")"
    board_pid="$(sed -n 's/^pid //p' <<<"$said")"
    echo "   | emulated board MPS2_AN385 on $board_pty (qemu pid $board_pid)"
}
board_stop() { if [ -n "${board_pid:-}" ]; then kill "$board_pid" 2>/dev/null || true; fi; board_pid="" board_pty=""; }

# ---------------------------------------------------------------------------------- VS Code
# code-server in its own process group, with its state under the run dir.
cs_start() { # rundir port [extra args...]
    local run="$1" port="$2"; shift 2
    mkdir -p "$run"/{ext,data/User,xdg-config,xdg-data}
    # code-server's IPC sockets go to TMPDIR: keep the path short (unix sockets: 107 chars)
    cs_tmp="$(mktemp -d /tmp/natmod-cs.XXXXXX)"
    # CS_TRUST=1: workspace trust on (the startup prompt asks); else off (everything trusted)
    local trust=false trust_flag=--disable-workspace-trust
    [ -n "${CS_TRUST:-}" ] && { trust=true; trust_flag=; }
    cat > "$run/data/User/settings.json" <<JSON
{ "security.workspace.trust.enabled": $trust, "security.workspace.trust.startupPrompt": "always",
  "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false, "extensions.autoUpdate": false, "editor.wordBasedSuggestions": "off",
  "workbench.tips.enabled": false, "git.enabled": false }
JSON
    XDG_CONFIG_HOME="$run/xdg-config" XDG_DATA_HOME="$run/xdg-data" TMPDIR="$cs_tmp" \
        EXTENSIONS_GALLERY='{"serviceUrl":"http://127.0.0.1:9/gallery"}' setsid "$CS" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check \
        $trust_flag --disable-getting-started-override \
        --extensions-dir "$run/ext" --user-data-dir "$run/data" "$@" >"$run/code-server.log" 2>&1 &
    cs_pid=$!
    local i
    for i in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.2; done
    echo "code-server did not come up on port $port (see $run/code-server.log)" >&2
    return 1
}
cs_stop() { kill -- -"$cs_pid" 2>/dev/null || true; wait "$cs_pid" 2>/dev/null || true; rm -rf "$cs_tmp"; }

# A negative control passes only if the run failed in the server-dependent tests: the client
# started ("ok - <started>"), the printf diagnostic test failed, and a count was printed.
negative_ok() { # rc log started-test-prefix
    [ "$1" != 0 ] && [ -f "$2" ] \
        && grep -q "^ok - $3" "$2" \
        && grep -q '^not ok - undefined symbol printf' "$2" \
        && grep -Eq '^[0-9]+ passed, [1-9][0-9]* failed$' "$2"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

workspace_settings() { # ws serverPath-or-empty [arch [MPY_DIR]]
    mkdir -p "$1/.vscode"
    python3 - "$1/.vscode/settings.json" "$2" "${4:-$MPY_DIR}" "${3:-x64}" <<'PY'
import json, sys
path, server, mpy, arch = sys.argv[1:]
s = {"natmod.arch": arch, "natmod.makeArgs": ["MPY_DIR=" + mpy], "editor.wordBasedSuggestions": "off",
     "files.autoSave": "off"}
if server:
    s["natmod.serverPath"] = server
json.dump(s, open(path, "w"), indent=2)
PY
}

# The extension's own tests in the extension host; $1 = server, $2 = label, $3 = tests entry
# (default index: the printf_nm tests; board: the board tests, with the board started here).
# Returns the test rc.
vscode_exttests() {
    local server="$1" name="$2" entry="${3:-index}" run port rc=0
    if [ "$entry" = board ]; then
        run="$(new_board_run "$name")"
        workspace_settings "$run/ws" "$(server_exe "$server" "$run")" armv7m "$root/target/mpy-dir/newest"
        board_start || { echo "$board_error" > "$runs/$name.log"; last_log="$runs/$name.log"; last_counts="$board_error"; finish_run "$run" 1; return 1; }
    else
        run="$(new_run "$name")"
        workspace_settings "$run/ws" "$(server_exe "$server" "$run")"
    fi
    port="$(free_port)"
    # (the extension host inherits code-server's environment)
    export NATMOD_TEST_BOARD_PORT="${board_pty:-}"
    cs_start "$run" "$port" || { board_stop; finish_run "$run" 1; return 1; }
    unset NATMOD_TEST_BOARD_PORT
    timeout 400 node "$harness/vscode/drive-tests.js" "http://127.0.0.1:$port" "$run/ws" \
        "$root/editors/vscode" "$root/editors/vscode/out/test/$entry.js" > "$run/tests.log" 2>&1 || true
    board_stop
    grep -E '^(ok - |not ok - |    |[0-9]+ passed, |extension tests exit|FAIL|workspace |server: )' "$run/tests.log" | grep -v '^    at ' | sed 's/^/   | /' || true
    cs_stop
    grep -q '^extension tests exit code: 0$' "$run/tests.log" || rc=1
    last_counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$run/tests.log" | tail -1 || true)"
    cp "$run/tests.log" "$runs/$name.log"; last_log="$runs/$name.log"
    finish_run "$run" "$rc"
    return $rc
}

check_vscode() {
    lap "vscode: extension tests in code-server's extension host, server $NATMOD_LSP"
    local rc=0; vscode_exttests "$NATMOD_LSP" vscode-exttests || rc=$?
    record vscode-exttests "$rc" "(${last_counts:-no test count printed})"

    lap "vscode: board tests in the extension host: an emulated board (QEMU MPS2_AN385) on a pty"
    rc=0; vscode_exttests "$NATMOD_LSP" vscode-board board || rc=$?
    record vscode-board "$rc" "(${last_counts:-no test count printed})"

    lap "vscode: negative control (silent_lsp.py must make the tests fail)"
    # (a short wait: every server step times out against it)
    rc=0; expect_fail=1 NATMOD_TEST_TIMEOUT=4 vscode_exttests "$SILENT" vscode-negative || rc=$?
    # It must fail, and fail in the tests (a count printed with failures), not by crashing.
    if negative_ok "$rc" "$last_log" "the extension starts"; then
        record vscode-negative 0 "(failed as it must: $last_counts)"
    else
        record vscode-negative 1 "(rc=$rc, counts='${last_counts:-none}': the harness cannot tell a silent server from a working one)"
    fi

    lap "vscode: UI run with the packed .vsix (server bundled in bin/)"
    local run port stage shot="$runs/vscode-problems-panel.png"
    run="$(new_run vscode-ui)"
    stage="$run/vsix-stage"
    mkdir -p "$stage"
    ( cd "$root/editors/vscode" && cp -r package.json package-lock.json .vscodeignore out node_modules "$stage/" )
    [ -f "$root/editors/vscode/README.md" ] && cp "$root/editors/vscode/README.md" "$stage/"
    mkdir -p "$stage/bin"
    case "$NATMOD_LSP" in
        *.py) printf '#!/bin/sh\nexec python3 %q "$@"\n' "$NATMOD_LSP" > "$stage/bin/natmod-lsp" ;;
        *) strip -o "$stage/bin/natmod-lsp" "$NATMOD_LSP" 2>/dev/null || cp "$NATMOD_LSP" "$stage/bin/natmod-lsp" ;;
    esac
    chmod +x "$stage/bin/natmod-lsp"
    rc=0
    ( cd "$stage" && "$tools/node/node_modules/.bin/vsce" package --target linux-x64 --allow-missing-repository --skip-license \
        --out "$run/natmod-lsp.vsix" ) > "$run/vsce.log" 2>&1 || { rc=1; cat "$run/vsce.log"; }
    workspace_settings "$run/ws" ""
    if [ $rc = 0 ]; then
        XDG_CONFIG_HOME="$run/xdg-config" XDG_DATA_HOME="$run/xdg-data" \
            "$CS" --extensions-dir "$run/ext" --user-data-dir "$run/data" --install-extension "$run/natmod-lsp.vsix" \
            > "$run/install.log" 2>&1 || { rc=1; cat "$run/install.log"; }
    fi
    if [ $rc = 0 ]; then
        port="$(free_port)"
        if cs_start "$run" "$port" "$run/ws"; then
            timeout 200 node "$harness/vscode/drive-ui.js" "http://127.0.0.1:$port/?folder=$run/ws" "$shot" \
                "$(grep -n '^[[:space:]]*printf(' "$run/ws/printf_nm.c" | head -1 | cut -d: -f1)" 2>&1 \
                | tee "$run/ui.log" | grep -v '^    at ' | sed 's/^/   | /' || true
            cs_stop
            grep -q '^PASS$' "$run/ui.log" || rc=1
        else rc=1; fi
    fi
    record vscode-ui "$rc" "(vsix $(du -h "$run/natmod-lsp.vsix" 2>/dev/null | cut -f1); screenshot: $shot)"

    lap "vscode: workspace trust (Restricted Mode builds nothing; granting trust restarts the server)"
    local trc=$rc trun="$run/trust"
    if [ $rc = 0 ]; then
        mkdir -p "$trun"; cp -r "$fixture_src" "$trun/ws"; rm -rf "$trun/ws/build" "$trun/ws/"*.mpy
        workspace_settings "$trun/ws" ""
        mkdir -p "$trun/data"; ln -s "$run/ext" "$trun/ext"
        port="$(free_port)"
        if CS_TRUST=1 cs_start "$trun" "$port" "$trun/ws"; then
            timeout 200 node "$harness/vscode/drive-trust.js" "http://127.0.0.1:$port/?folder=$trun/ws" "$trun/ws" \
                "$runs/vscode-trust" "$(grep -n '^[[:space:]]*printf(' "$trun/ws/printf_nm.c" | head -1 | cut -d: -f1)" 2>&1 \
                | tee "$trun/trust.log" | sed 's/^/   | /' || true
            cs_stop
            grep -q '^PASS$' "$trun/trust.log" || trc=1
        else trc=1; fi
    fi
    record vscode-trust "$trc" "(screenshots: $runs/vscode-trust-untrusted.png, $runs/vscode-trust-trusted.png)"

    lap "vscode: board UI (same .vsix): pick the emulated board's pty from the Command Palette, status bar, run a .py"
    local brc=$rc brun="$run/board-ui"
    if [ $rc = 0 ]; then
        mkdir -p "$brun"; cp -r "$root/examples/factorial" "$brun/ws"; rm -rf "$brun/ws/"build* "$brun/ws/"*.mpy
        printf 'import factorial_nm\nprint(factorial_nm.factorial(20))\n' > "$brun/ws/try_board.py"
        workspace_settings "$brun/ws" "" armv7m "$root/target/mpy-dir/newest"
        mkdir -p "$brun/data"; ln -s "$run/ext" "$brun/ext"
        port="$(free_port)"
        if ! board_start; then brc=1
        elif cs_start "$brun" "$port" "$brun/ws"; then
            timeout 300 node "$harness/vscode/drive-board-ui.js" "http://127.0.0.1:$port/?folder=$brun/ws" "$brun/ws" \
                "$board_pty" "$runs/vscode-board" 2>&1 | tee "$brun/board-ui.log" | sed 's/^/   | /' || true
            cs_stop
            grep -q '^PASS$' "$brun/board-ui.log" || brc=1
        else brc=1; fi
        board_stop
    fi
    record vscode-board-ui "$brc" "(${board_error:-screenshots: $runs/vscode-board-status.png, $runs/vscode-board-run.png})"
    finish_run "$run" "$((rc + trc + brc))"
}

# ---------------------------------------------------------------------------------- Neovim
nvim_run() { # server mode name -> rc (mode board: the board test, with the board started here)
    local server="$1" mode="$2" name="$3" run rc=0 script="$harness/nvim_test.lua" mpy_dir="$MPY_DIR"
    if [ "$mode" = board ]; then
        run="$(new_board_run "$name")"
        script="$harness/nvim_board_test.lua" mpy_dir="$root/target/mpy-dir/newest"
        board_start || { echo "$board_error" > "$runs/$name.log"; last_log="$runs/$name.log"; last_counts="$board_error"; finish_run "$run" 1; return 1; }
    else
        run="$(new_run "$name")"
    fi
    mkdir -p "$run"/{state,data,config,cache,tmp}
    ( cd "$run/ws"
      XDG_STATE_HOME="$run/state" XDG_DATA_HOME="$run/data" XDG_CONFIG_HOME="$run/config" XDG_CACHE_HOME="$run/cache" \
      TMPDIR="$run/tmp" NATMOD_PLUGIN_DIR="$root/editors/nvim" NATMOD_LSP_CMD="$(server_exe "$server" "$run")" \
      NATMOD_WS="$run/ws" NATMOD_TEST_MODE="$mode" MPY_DIR="$mpy_dir" NATMOD_TEST_BOARD_PORT="${board_pty:-}" \
          timeout 400 "$NVIM" --headless -i NONE -n -u "$script" ) > "$run/nvim.log" 2>&1 || rc=$?
    board_stop
    sed 's/^/   | /' "$run/nvim.log"
    last_counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$run/nvim.log" | tail -1 || true)"
    cp "$run/nvim.log" "$runs/$name.log"; last_log="$runs/$name.log"
    finish_run "$run" "$rc"
    return $rc
}

check_nvim() {
    lap "nvim: headless Neovim + editors/nvim, server $NATMOD_LSP"
    local rc=0; nvim_run "$NATMOD_LSP" trusted nvim || rc=$?
    record nvim "$rc" "(${last_counts:-no test count printed})"

    lap "nvim: board test: an emulated board (QEMU MPS2_AN385) on a pty"
    rc=0; nvim_run "$NATMOD_LSP" board nvim-board || rc=$?
    record nvim-board "$rc" "(${last_counts:-no test count printed})"

    lap "nvim: untrusted (setup without trusted = true): a save must build nothing"
    rc=0; nvim_run "$NATMOD_LSP" untrusted nvim-untrusted || rc=$?
    record nvim-untrusted "$rc" "(${last_counts:-no test count printed})"

    lap "nvim: negative control (silent_lsp.py must make the test fail)"
    rc=0; expect_fail=1 NATMOD_TEST_TIMEOUT=4 nvim_run "$SILENT" trusted nvim-negative || rc=$?
    if negative_ok "$rc" "$last_log" "the plugin starts"; then
        record nvim-negative 0 "(failed as it must: $last_counts)"
    else
        record nvim-negative 1 "(rc=$rc, counts='${last_counts:-none}': the harness cannot tell a silent server from a working one)"
    fi
}

t_tests=$SECONDS
case "$what" in all|vscode) check_vscode ;; esac
case "$what" in all|nvim) check_nvim ;; esac
echo
echo "== editor-tests summary (server: $NATMOD_LSP; tests took $((SECONDS - t_tests))s, total $((SECONDS - t_start))s)"
for s in "${summary[@]}"; do echo "   $s"; done
echo "editor-tests: $checks_passed passed, $checks_failed failed"
[ "$checks_failed" = 0 ]
