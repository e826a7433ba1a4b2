#!/usr/bin/env python3
"""Positive control for the editor-test harness: a small stand-in for natmod-lsp that does, crudely,
what the editor tests ask of the real server, so the harness itself can be shown green while the
real server is being written (scripts/editor-tests.sh with NATMOD_LSP=tests/editors/stand_in_lsp.py).
It is NOT the server and tests nothing about it.

- initializationOptions {trusted, arch, makeArgs}; runs nothing unless trusted is true
- textDocument/didSave of a file in a natmod project (a Makefile including dynruntime.mk): runs
  `make [ARCH=arch] makeArgs` there and turns "LinkError: ...: undefined symbol: NAME" into an
  error on the first C line calling NAME; publishes (possibly empty) diagnostics for every .c file
- textDocument/completion: the `#define mp_...` names of $MPY_DIR/py/dynruntime.h
- workspace/executeCommand natmod.runInMicroPython {script}: runs it with MICROPYPATH=project
Stdlib only."""
import json
import os
import re
import subprocess
import sys
from urllib.parse import unquote, urlparse

inp, out = sys.stdin.buffer, sys.stdout.buffer
opts = {}


def read_msg():
    length = None
    while True:
        line = inp.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        key, _, value = line.decode("ascii").partition(":")
        if key.lower() == "content-length":
            length = int(value.strip())
    return json.loads(inp.read(length))


def send(msg):
    msg["jsonrpc"] = "2.0"
    body = json.dumps(msg).encode("utf-8")
    out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out.flush()


def project_dir(path):
    d = os.path.dirname(path)
    while True:
        mk = os.path.join(d, "Makefile")
        if os.path.isfile(mk) and "dynruntime.mk" in open(mk, errors="replace").read():
            return d
        if os.path.dirname(d) == d:
            return None
        d = os.path.dirname(d)


def build(proj):
    arch = opts.get("arch")
    args = ["make", "-C", proj] + (["ARCH=" + arch, "BUILD=build/" + arch] if arch else []) + list(opts.get("makeArgs") or [])
    send({"method": "natmod/status", "params": {"state": "building", "arch": opts.get("arch")}})
    r = subprocess.run(args, capture_output=True, text=True)
    sys.stderr.write(" ".join(args) + "\n" + r.stdout + r.stderr)
    undefined = re.findall(r"LinkError: .*undefined symbol: (\w+)", r.stdout + r.stderr)
    n = 0
    for name in sorted(f for f in os.listdir(proj) if f.endswith(".c")):
        path = os.path.join(proj, name)
        diags = []
        for i, line in enumerate(open(path, errors="replace").read().split("\n")):
            for sym in undefined:
                m = re.search(r"\b%s\s*\(" % re.escape(sym), line)
                if m and not line.lstrip().startswith("//"):
                    diags.append({"range": {"start": {"line": i, "character": m.start()},
                                            "end": {"line": i, "character": m.start() + len(sym)}},
                                  "severity": 1, "source": "stand-in", "code": "undefined-symbol",
                                  "message": "undefined symbol: %s (not in mp_fun_table)" % sym})
        n += len(diags)
        send({"method": "textDocument/publishDiagnostics", "params": {"uri": "file://" + path, "diagnostics": diags}})
    send({"method": "natmod/status", "params": {"state": "ok" if r.returncode == 0 else "error", "errors": n,
                                                 "arch": opts.get("arch") or "x64", "mpyVersion": "6.3"}})


def api_names():
    mpy = os.environ.get("MPY_DIR") or next((a.split("=", 1)[1] for a in opts.get("makeArgs") or [] if a.startswith("MPY_DIR=")), "")
    try:
        text = open(os.path.join(mpy, "py", "dynruntime.h")).read()
    except OSError:
        return []
    return sorted(set(re.findall(r"#define (mp_\w+)", text)))


def main():
    global opts
    while True:
        m = read_msg()
        if m is None:
            return 0
        method, mid, params = m.get("method"), m.get("id"), m.get("params") or {}
        if method == "initialize":
            opts = params.get("initializationOptions") or {}
            send({"id": mid, "result": {
                "capabilities": {"textDocumentSync": {"openClose": True, "change": 1, "save": {"includeText": False}},
                                 "completionProvider": {"triggerCharacters": ["_"]},
                                 "executeCommandProvider": {"commands": ["natmod.runInMicroPython"]}},
                "serverInfo": {"name": "stand-in-lsp (harness positive control)", "version": "0"}}})
        elif method == "textDocument/didSave" and opts.get("trusted") is True:
            path = unquote(urlparse(params["textDocument"]["uri"]).path)
            proj = project_dir(path)
            if proj:
                build(proj)
        elif method == "workspace/executeCommand" and params.get("command") == "natmod.runInMicroPython":
            script = (params.get("arguments") or [{}])[0].get("script", "")
            proj = project_dir(script) or os.path.dirname(script)
            r = subprocess.run(["micropython", script], cwd=proj, capture_output=True, text=True, timeout=10,
                               env=dict(os.environ, MICROPYPATH=proj))
            send({"id": mid, "result": {"exitCode": r.returncode, "stdout": r.stdout, "stderr": r.stderr, "timedOut": False}})
        elif method == "textDocument/completion":
            send({"id": mid, "result": {"isIncomplete": False, "items": [
                {"label": n, "kind": 3, "detail": "natmod API (dynruntime.h)"} for n in api_names()]}})
        elif method == "exit":
            return 0
        elif mid is not None and method is not None:
            send({"id": mid, "result": None})


if __name__ == "__main__":
    sys.exit(main())
