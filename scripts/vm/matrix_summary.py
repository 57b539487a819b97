#!/usr/bin/env python3
"""Judges the host matrix (scripts/vm/matrix.sh) and prints one line per check and a table.

    matrix_summary.py RESULTS_DIR BOOT [RESULTS_DIR BOOT ...]

Each RESULTS_DIR holds matrix/verdicts.txt from one boot of the VM. Exit status 0 only if every
cell the boot must run is there, every check in it passed, and every cell that runs a job ran
the containment tests (the hostile inputs) and passed them. A missing file is a failure.
"""
import os
import sys

# What each boot must show: cell -> what it asserts ("verdict"), and whether it runs the
# containment tests (a cell that only refuses has nothing to contain).
CELLS = {
    "default": {
        "root-pure-v2": ("runs fully enforced", True),
        "root-delegated": ("runs fully enforced, nested in the service's subtree", True),
        "rootless-delegated": ("runs fully enforced, rootless", True),
        "rootless-plain": ("workload policy refuses with the exact fix; default runs and says what is missing", True),
        "userns-0": ("namespaces refuse with the fix; auto runs in Landlock mode and says what is missing", True),
        "userns-0-rootless": ("runs in Landlock mode (ABI 2, no cgroup) and says what is missing", True),
        "docker-like-cgroup": ("namespaces refuse with the fix; auto runs in Landlock mode in its cgroup", True),
        "docker-like-no-cgroup": ("auto runs in Landlock mode without a cgroup and says what is missing", True),
    },
    "no-landlock": {
        "no-landlock-best-effort": ("runs, saying the Landlock layer is skipped", True),
        "no-landlock-required": ("refuses with the exact fix (required, and Landlock mode)", False),
    },
}


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        print(__doc__)
        return 2
    problems = []
    table = []
    for results, boot in zip(args[0::2], args[1::2]):
        path = os.path.join(results, "matrix", "verdicts.txt")
        checks = {}
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) != 4:
                        continue
                    cell, check, verdict, detail = parts
                    checks.setdefault(cell, []).append((check, verdict, detail))
        except OSError as e:
            problems.append(f"{boot}: {path} unreadable ({e}): the matrix did not run")
        print(f"== host matrix, boot '{boot}'")
        for cell, entries in checks.items():
            for check, verdict, detail in entries:
                print(f"  {verdict:4} {cell} {check}: {detail}")
        for cell, (claim, contains) in CELLS.get(boot, {}).items():
            entries = checks.get(cell)
            if not entries:
                problems.append(f"{boot}: cell {cell} did not run")
                table.append((boot, cell, "MISSING", claim))
                continue
            failed = [c for c, v, _ in entries if v != "PASS"]
            if contains and not any(c == "containment" and v == "PASS" for c, v, _ in entries):
                failed.append("containment (not run)")
            if failed:
                problems.append(f"{boot}: cell {cell}: {', '.join(failed)} failed")
            table.append((boot, cell, "FAIL" if failed else "PASS", claim))
        for cell in checks:
            if cell not in CELLS.get(boot, {}):
                problems.append(f"{boot}: unexpected cell {cell}")
    print("== host matrix: cells")
    for boot, cell, verdict, claim in table:
        print(f"  {verdict:7} {boot:11} {cell:24} {claim}")
    for problem in problems:
        print(f"FAIL: {problem}")
    if not problems:
        print("PASS: every cell of the host matrix asserted what it must, and its hostile inputs stayed contained")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
