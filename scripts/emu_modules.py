#!/usr/bin/env python3
"""Run the bundled examples and the deliberate-difference modules on one emulated target.

    emu_modules.py --arch ARCH --root REPO --tree MPY_TREE --natmod-ld PATH --work DIR
                   [--timeout S] [--tsv FILE]

For each case that applies to ARCH, the module is linked twice from the same objects: by
natmod-ld and by the tree's own tools/mpy_ld.py (the reference). Each .mpy is imported on the
target (a QEMU board started by scripts/emu-board.sh, or the 32-bit unix port for x86) and the
case's script (tests/fixtures/run/NAME.py) must print NAME.exp. natmod-ld's module must be
right; the reference's outcome (right, wrong answer, exception, hang, crash, link error) is
recorded, not gated. One TSV row per (case, linker); exit status 1 if natmod-ld is not right.

Cases: the bundled examples (factorial, multifile, floatrt with LINK_RUNTIME on armv6m and
rv32imc) and the fixtures for the places natmod-ld's bytes differ on purpose:
tests/fixtures/entry_second (mpy_init at offset 0 of the second object), entry_offset
(mpy_init at a non-zero offset of the second object), riscv_store (RISC-V only: a store
through %pcrel_lo, R_RISCV_PCREL_LO12_S). The golden corpus's objects cannot run on firmware
(its natmod.h is an ABI stand-in for linking, not for loading), so they are not used here.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

QEMU_BOARDS = {
    "armv6m": "MPS2_AN385",
    "armv7m": "MPS2_AN385",
    "armv7emsp": "MPS2_AN500",
    "armv7emdp": "MPS2_AN500",
    "rv32imc": "VIRT_RV32",
    "rv64imc": "VIRT_RV64",
}
ALL = ("armv6m", "armv7m", "armv7emsp", "armv7emdp", "rv32imc", "rv64imc", "x86")
RISCV = ("rv32imc", "rv64imc")


def make_case(name, rel, module, script, arches=ALL, extra=(), why=""):
    return dict(name=name, rel=rel, module=module, script=script, arches=arches, extra=list(extra), why=why)


CASES = [
    make_case("factorial", "examples/factorial", "factorial_nm", "factorial"),
    make_case("multifile", "examples/multifile", "multifile_nm", "multifile"),
    make_case("floatrt LINK_RUNTIME", "examples/floatrt", "floatrt_nm", "floatrt", ("armv6m", "rv32imc"),
              ("LINK_RUNTIME=1", "MICROPY_FLOAT_IMPL=float")),
    make_case("entry_second", "tests/fixtures/entry_second", "entry_second_nm", "entry_second",
              why="mpy_init first in a later file: natmod-ld writes an entry jump to it"),
    make_case("entry_offset", "tests/fixtures/entry_offset", "entry_offset_nm", "entry_offset",
              why="mpy_init at a non-zero offset of a later object: natmod-ld jumps to it"),
    make_case("riscv_store", "tests/fixtures/riscv_store", "riscv_store_nm", "riscv_store", RISCV,
              why="a store through %pcrel_lo (R_RISCV_PCREL_LO12_S): natmod-ld keeps its opcode"),
]


class Failure(Exception):
    """The module could not be built or run; the message says how."""


class Hang(BaseException):
    """The target gave no answer in time (a BaseException: pyserial wraps OSErrors)."""


def read(path):
    with open(path) as f:
        return f.read()


def run_make(cwd, args, log):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MPY_DIR")}
    p = subprocess.run(["make"] + args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(log, "wb") as f:
        f.write(p.stdout)
    if p.returncode != 0:
        lines = [l for l in p.stdout.decode("utf-8", "replace").splitlines() if "Error" in l or "error" in l]
        raise Failure("link error: " + (lines[0] if lines else "make failed, see " + log))


def build_make_case(case, arch, a, work):
    """Compile once, link with both linkers; return {linker: mpy path or Failure}."""
    src = os.path.join(a.root, case["rel"])
    d = os.path.join(work, case["name"].split()[0])
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("build*", "*.mpy", "compile_commands.json"))
    base = ["MPY_DIR=" + a.tree, "ARCH=" + arch, "BUILD=build"] + case["extra"]
    out = {}
    for linker, ld in (("natmod-ld", a.natmod_ld), ("mpy_ld.py", "python3 " + os.path.join(a.tree, "tools/mpy_ld.py"))):
        for f in os.listdir(d):
            if f.endswith(".mpy"):
                os.remove(os.path.join(d, f))
        nat = os.path.join(d, "build", case["module"] + ".mpy")  # the link's output (dynruntime.mk)
        if os.path.exists(nat):
            os.remove(nat)
        try:
            run_make(d, base + ["MPY_LD=" + ld], os.path.join(d, "make-%s.log" % linker))
            os.makedirs(os.path.join(d, "out"), exist_ok=True)
            mpy = os.path.join(d, "out", "%s.%s.mpy" % (case["module"], linker))
            os.rename(os.path.join(d, case["module"] + ".mpy"), mpy)
            out[linker] = mpy
        except Failure as e:
            out[linker] = e
    return out


def injected(module, mpy_bytes, script):
    """A script that imports `module` from bytes held in RAM (a tiny read-only VFS), then runs."""
    return (
        "import io, sys, vfs\n"
        "class _EmuFS:\n"
        "    def mount(self, readonly, mkfs): pass\n"
        "    def umount(self): pass\n"
        "    def chdir(self, path): pass\n"
        "    def stat(self, path):\n"
        "        if path == '/%s.mpy': return (0x8000, 0, 0, 0, 0, 0, len(_emu_mpy), 0, 0, 0)\n"
        "        raise OSError(2)\n"
        "    def open(self, path, mode): return io.BytesIO(_emu_mpy)\n"
        "_emu_mpy = %r\n"
        "vfs.mount(_EmuFS(), '/_emu')\n"
        "sys.path.insert(0, '/_emu')\n" % (module, mpy_bytes)
    ) + script


def run_qemu(arch, a, module, mpy, script):
    """Boot the board, run the script through the raw REPL; return (output, error text or None)."""
    sys.path.insert(0, os.path.join(a.tree, "tools"))
    import pyboard  # MicroPython's tools/pyboard.py (needs pyserial)

    board = QEMU_BOARDS[arch]
    start = subprocess.run(["bash", os.path.join(a.root, "scripts/emu-board.sh"), board],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    fields = dict(l.split(" ", 1) for l in start.stdout.decode().splitlines() if " " in l)
    if start.returncode != 0 or "pty" not in fields:
        raise Failure("board did not start: " + start.stdout.decode().strip())
    pid = int(fields["pid"])

    def on_alarm(signum, frame):
        raise Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(a.timeout)
    pyb = None
    try:
        pyb = pyboard.Pyboard(fields["pty"])
        pyb.enter_raw_repl()
        with open(mpy, "rb") as f:
            code = injected(module, f.read(), script)
        try:
            out = pyb.exec_(code)
            return out.replace(b"\r\n", b"\n").decode("utf-8", "replace"), None
        except pyboard.PyboardError as e:
            args = e.args
            if len(args) == 3 and args[0] == "exception":
                return (args[1].replace(b"\r\n", b"\n").decode("utf-8", "replace"),
                        args[2].replace(b"\r\n", b"\n").decode("utf-8", "replace").strip())
            return "", "no answer (%s): hang or crash" % (args[0] if args else e)
    except Hang:
        return "", "hang: no answer within %d s" % a.timeout
    except Exception as e:  # the serial link broke: the target died
        return "", "no answer (%s: %s): crash" % (type(e).__name__, e)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        if pyb is not None:
            try:
                pyb.close()
            except Exception:
                pass
        os.kill(pid, signal.SIGKILL)  # the qemu emu-board.sh started for this run
        sys.path.pop(0)


def run_x86(a, module, mpy, script):
    d = mpy + ".dir"
    os.makedirs(d, exist_ok=True)
    shutil.copy(mpy, os.path.join(d, module + ".mpy"))
    try:
        p = subprocess.run([a.unix_x86, "-c", script], env=dict(os.environ, MICROPYPATH=d),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.timeout)
    except subprocess.TimeoutExpired:
        return "", "hang: no answer within %d s" % a.timeout
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode < 0:
        return out, "crash: killed by signal %s" % signal.Signals(-p.returncode).name
    if p.returncode != 0:
        return out, out.strip().splitlines()[-1] if out.strip() else "exit %d" % p.returncode
    return out, None


def judge(output, error, expected):
    if error is None and output == expected:
        return "right", ""
    if error is None:
        first = next((l for l in output.splitlines() if l not in expected.splitlines()), output.strip()[:80])
        return "wrong", "wrong answer: " + first[:120]
    if error.startswith(("hang", "crash", "no answer")):
        return "wrong", error
    return "wrong", "exception: " + error.strip().splitlines()[-1][:120]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", required=True, choices=ALL)
    p.add_argument("--root", required=True)
    p.add_argument("--tree", required=True)
    p.add_argument("--natmod-ld", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--unix-x86", default=None)
    p.add_argument("--timeout", type=int, default=60)
    p.add_argument("--tsv", default=None)
    a = p.parse_args()
    a.root = os.path.abspath(a.root)
    a.tree = os.path.abspath(a.tree)
    a.natmod_ld = os.path.abspath(a.natmod_ld)
    a.unix_x86 = a.unix_x86 or os.path.join(a.root, "target/emu/firmware/unix-x86/micropython")
    work = os.path.join(os.path.abspath(a.work), a.arch)
    os.makedirs(work, exist_ok=True)
    status = 0
    rows = []
    for case in CASES:
        if a.arch not in case["arches"]:
            continue
        script = read(os.path.join(a.root, "tests/fixtures/run", case["script"] + ".py"))
        expected = read(os.path.join(a.root, "tests/fixtures/run", case["script"] + ".exp"))
        try:
            mpys = build_make_case(case, a.arch, a, work)
        except Failure as e:
            mpys = {"natmod-ld": e, "mpy_ld.py": e}
        same = all(isinstance(m, str) for m in mpys.values()) and read_bytes(mpys["natmod-ld"]) == read_bytes(mpys["mpy_ld.py"])
        for linker in ("natmod-ld", "mpy_ld.py"):
            t0 = time.time()
            m = mpys[linker]
            if isinstance(m, Failure):
                verdict, note = "wrong", str(m)
            else:
                if a.arch == "x86":
                    out, err = run_x86(a, case["module"], m, script)
                else:
                    out, err = run_qemu(a.arch, a, case["module"], m, script)
                verdict, note = judge(out, err, expected)
            if linker == "natmod-ld" and verdict != "right":
                status = 1
            bytes_note = "same bytes as natmod-ld" if same and linker == "mpy_ld.py" else ""
            rows.append((a.arch, case["name"], linker, verdict, "; ".join(x for x in (note, bytes_note) if x)))
            print("%-9s %-28s %-9s %-5s %s (%.1f s)" % (a.arch, case["name"], linker, verdict, rows[-1][4], time.time() - t0), flush=True)
    if a.tsv:
        with open(a.tsv, "a") as f:
            for r in rows:
                f.write("\t".join(r) + "\n")
    return status


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


if __name__ == "__main__":
    sys.exit(main())
