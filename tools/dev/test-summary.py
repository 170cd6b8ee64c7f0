#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Count test results from meson test logs (STYLE.md 26).

Each TAP subtest counts once ("ok", "not ok", "# SKIP"); a test that is not
TAP, or a TAP test that died before reporting anything, counts as one.
Usage: test-summary.py LABEL=BUILDDIR/meson-logs/testlog.json ...
Prints one line per log and, last, "N passed, N failed, N skipped".
"""
import json
import re
import sys

TAP_LINE = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path):
    passed = failed = skipped = 0
    broken = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            test = json.loads(line)
            result = test.get("result", "FAIL")
            p = f = s = 0
            for out in (test.get("stdout") or "").splitlines():
                m = TAP_LINE.match(out.strip())
                if not m:
                    continue
                directive = m.group(2)
                if "# SKIP" in directive.upper():
                    s += 1
                elif m.group(1) == "ok" or "# TODO" in directive.upper():
                    p += 1
                else:
                    f += 1
            if p + f + s == 0:
                if result in ("OK", "EXPECTEDFAIL"):
                    p = 1
                elif result == "SKIP":
                    s = 1
                else:
                    f = 1
            elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and f == 0:
                # Subtests passed but the program failed (crash at exit, leak, timeout).
                f = 1
            if f:
                broken.append(test.get("name", "?"))
            passed, failed, skipped = passed + p, failed + f, skipped + s
    return passed, failed, skipped, broken


def main(argv):
    total = [0, 0, 0]
    for arg in argv[1:]:
        label, _, path = arg.partition("=")
        try:
            p, f, s, broken = count(path)
        except OSError as e:
            print(f"{label}: no test log ({e.strerror})")
            total[1] += 1
            continue
        print(f"{label}: {p} passed, {f} failed, {s} skipped")
        for name in broken:
            print(f"  failed: {name}")
        total = [total[0] + p, total[1] + f, total[2] + s]
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] > 0 or total[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
