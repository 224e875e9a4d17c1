#!/usr/bin/env python3
"""Compare two explore reports (JSON) for what an exploration found, ignoring what differs
from run to run: ports, durations, CPU times, temp paths, stderr tails that name a port.

  scripts/same-exploration.py BEFORE.json AFTER.json [--help]

Exit 0 when the two found the same: the same points (id, faults, rules) with the same class,
finding flag, fired flag, exit status and signal; the same baseline exit status; the same
summary. Else exit 1, listing the differences. Used to show that a change that should not
change behaviour (a move, a refactor) did not: run the main job's exploration with --json
before and after, and compare.
"""
import json
import sys

POINT_KEYS = ("id", "faults", "rules", "class", "finding", "fired", "exit_status", "signal")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def summary(rep):
    return {k: v for k, v in rep.get("summary", {}).items() if not k.endswith("_ms")}


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    a, b = load(argv[1]), load(argv[2])
    diffs = []
    if a["baseline"].get("exit_status") != b["baseline"].get("exit_status"):
        diffs.append(f"baseline exit status {a['baseline'].get('exit_status')} != "
                     f"{b['baseline'].get('exit_status')}")
    pa = {p["id"]: p for p in a["points"]}
    pb = {p["id"]: p for p in b["points"]}
    for pid in sorted(set(pa) | set(pb), key=lambda s: [int(x) for x in s.split(".")]):
        if pid not in pa or pid not in pb:
            diffs.append(f"point {pid} only in {'after' if pid in pb else 'before'}")
            continue
        for k in POINT_KEYS:
            if pa[pid].get(k) != pb[pid].get(k):
                diffs.append(f"point {pid} {pa[pid].get('rules')}: {k} "
                             f"{pa[pid].get(k)!r} != {pb[pid].get(k)!r}")
    if summary(a) != summary(b):
        diffs.append(f"summary {summary(a)} != {summary(b)}")
    for d in diffs:
        print(d)
    print(f"{len(pa)} and {len(pb)} points: {'the same' if not diffs else f'{len(diffs)} differences'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
