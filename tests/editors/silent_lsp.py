#!/usr/bin/env python3
"""Negative-control language server for the editor tests: it speaks LSP over stdio and answers
initialize (advertising save sync and completion) but publishes no diagnostics, offers no
completion items and builds nothing. The editor tests MUST FAIL against it; if they pass, the
harness is broken. Stdlib only."""
import json
import sys

inp, out = sys.stdin.buffer, sys.stdout.buffer


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


def main():
    while True:
        m = read_msg()
        if m is None:
            return 0
        method, mid = m.get("method"), m.get("id")
        if method == "initialize":
            send({"id": mid, "result": {
                "capabilities": {"textDocumentSync": {"openClose": True, "change": 1, "save": {"includeText": False}},
                                 "completionProvider": {"triggerCharacters": ["_"]}},
                "serverInfo": {"name": "silent-lsp (negative control)", "version": "0"}}})
        elif method == "textDocument/completion":
            send({"id": mid, "result": {"isIncomplete": False, "items": []}})
        elif method == "exit":
            return 0
        elif mid is not None and method is not None:
            send({"id": mid, "result": None})


if __name__ == "__main__":
    sys.exit(main())
