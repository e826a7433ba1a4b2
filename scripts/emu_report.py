#!/usr/bin/env python3
"""Results of scripts/emulated-tests.sh: parse run-natmodtests.py output, print the table, gate.

    emu_report.py parse LOG ARCH LINKER VARIANT FILE...   append one TSV line per FILE to stdout
    emu_report.py table TSV                               print arch x passed/failed/skipped; exit 1
                                                          when natmod-ld failed anything, or did not
                                                          pass a file mpy_ld.py passed
    emu_report.py modules MODTSV                          print the example/difference modules table
                                                          (emu_modules.py rows); exit 1 when a
                                                          natmod-ld module is not right
    emu_report.py summary TSV MODTSV                      the last line: `emulated: N passed, M failed`

TSV columns: arch, linker (natmod-ld | mpy_ld.py), variant, test file, result (pass | fail |
skip | notbuilt), note. run-natmodtests.py's exit status reflects only its last group and a
target that hangs leaves no line at all, so every expected FILE gets a row: a file without a
result line is a failure ("no result: timeout or crash").
"""

import re
import sys
from collections import OrderedDict

RESULT_LINE = re.compile(r"^(pass|SKIP|skip|FAIL|LRGE|TRUTH FAIL)\s+(\S+)(?:\s+-\s+(.*))?$")


def parse(log_path, arch, linker, variant, files):
    """One TSV row per expected test file, from a run-natmodtests.py log."""
    seen = {}
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    for line in text.splitlines():
        m = RESULT_LINE.match(line.strip())
        if not m:
            continue
        word, path, note = m.group(1), m.group(2), (m.group(3) or "")
        if word == "pass":
            result = "pass"
        elif word in ("SKIP", "LRGE"):
            result, note = "skip", note or ("too large" if word == "LRGE" else "target says SKIP")
        elif word == "skip" and "mpy file not compiled" in note:
            # run-natmodtests.py calls a missing .mpy a skip; here it means the link failed.
            result = "notbuilt"
        elif word == "skip":
            result = "skip"
        else:
            result = "fail"
        seen[path] = (result, note)
    timed_out = "TIMEOUT" in text.splitlines()  # emulated-tests.sh writes it when `timeout` fired
    for path in files:
        result, note = seen.get(
            path, ("fail", "no result: " + ("timeout" if timed_out else "runner stopped (crash?)"))
        )
        note = note.replace("\t", " ").replace("\n", " ")[:200]
        print("\t".join((arch, linker, variant, path, result, note)))


def table(tsv_path):
    """Print the arch x result table for every (linker, variant) run; return the exit status."""
    rows = read_rows(tsv_path, 6)
    runs = OrderedDict()
    for arch, linker, variant, path, result, note in rows:
        runs.setdefault((linker, variant), OrderedDict()).setdefault(arch, {})[path] = (result, note)

    status = 0
    failed_total = passed_total = 0
    for (linker, variant), by_arch in runs.items():
        print(f"\nMicroPython natmod tests, modules linked by {linker} ({variant} build):")
        print(f"  {'arch':<10} {'passed':>6} {'failed':>6} {'skipped':>7} {'not built':>9}")
        for arch, files in by_arch.items():
            counts = {k: sum(1 for r, _ in files.values() if r == k) for k in ("pass", "fail", "skip", "notbuilt")}
            print(f"  {arch:<10} {counts['pass']:>6} {counts['fail']:>6} {counts['skip']:>7} {counts['notbuilt']:>9}")
            for path, (result, note) in files.items():
                if result in ("fail", "notbuilt"):
                    print(f"      {result}: {path} {note}")
            if linker == "natmod-ld":
                passed_total += counts["pass"]
                failed_total += counts["fail"] + counts["notbuilt"]
                if counts["fail"] or counts["notbuilt"]:
                    status = 1
    # natmod-ld's pass set must contain the reference's, arch by arch, for the same variant.
    for (linker, variant), by_arch in runs.items():
        if linker != "mpy_ld.py" or variant != "plain" or (("natmod-ld", variant) not in runs):
            continue
        ours = runs[("natmod-ld", variant)]
        for arch, files in by_arch.items():
            ref_pass = {p for p, (r, _) in files.items() if r == "pass"}
            our_pass = {p for p, (r, _) in ours.get(arch, {}).items() if r == "pass"}
            missing = sorted(ref_pass - our_pass)
            if missing:
                status = 1
                print(f"\nREGRESSION {arch} ({variant}): mpy_ld.py passes, natmod-ld does not: {' '.join(missing)}")
            else:
                print(f"  {arch} ({variant}): natmod-ld passes all {len(ref_pass)} files mpy_ld.py passes (+{len(our_pass - ref_pass)})")
    print(f"natmod tests: {passed_total} passed, {failed_total} failed (natmod-ld)")
    return status


def read_rows(path, width):
    """The TSV rows of `width` columns (a missing file has none)."""
    try:
        with open(path) as f:
            return [p for p in (l.rstrip("\n").split("\t") for l in f) if len(p) == width]
    except FileNotFoundError:
        return []


def modules(path):
    """Print case x arch: natmod-ld's verdict and the reference's outcome; return the status."""
    rows = read_rows(path, 5)
    status = 0
    print("\nBundled examples and deliberate differences (natmod-ld must be right; mpy_ld.py recorded):")
    print(f"  {'arch':<10} {'case':<22} {'natmod-ld':<10} mpy_ld.py")
    by = OrderedDict()
    for arch, case, linker, verdict, note in rows:
        by.setdefault((arch, case), {})[linker] = (verdict, note)
    for (arch, case), r in by.items():
        ours = r.get("natmod-ld", ("missing", ""))
        ref = r.get("mpy_ld.py", ("missing", ""))
        if ours[0] != "right":
            status = 1
        ref_text = ref[0] + (": " + ref[1] if ref[1] else "")
        ours_text = ours[0] if ours[0] == "right" else ours[0] + " (" + ours[1] + ")"
        print(f"  {arch:<10} {case:<22} {ours_text:<10} {ref_text}")
    return status


def summary(tsv, modtsv):
    """natmod-ld's totals over both tables."""
    passed = failed = 0
    for arch, linker, variant, path, result, note in read_rows(tsv, 6):
        if linker == "natmod-ld":
            passed += result == "pass"
            failed += result in ("fail", "notbuilt")
    for arch, case, linker, verdict, note in read_rows(modtsv, 5):
        if linker == "natmod-ld":
            passed += verdict == "right"
            failed += verdict != "right"
    print(f"emulated: {passed} passed, {failed} failed")
    return 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "parse":
        parse(argv[2], argv[3], argv[4], argv[5], argv[6:])
        return 0
    if len(argv) == 3 and argv[1] == "table":
        return table(argv[2])
    if len(argv) == 3 and argv[1] == "modules":
        return modules(argv[2])
    if len(argv) == 4 and argv[1] == "summary":
        return summary(argv[2], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
