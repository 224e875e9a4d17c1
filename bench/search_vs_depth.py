#!/usr/bin/env python3
"""explore --search against --depth 2: the runs each needs to find the bugs that take two
faults, and the runs --search needs for those that take three. A benchmark, not a test: it
prints figures and judges nothing.

usage: bench/search_vs_depth.py [--build DIR] [--seeds N] [--budget N] [--jobs N] [--quick]

  --build DIR   a built tree (default: build): bin/sockfault and tests/targets
  --seeds N     --search runs with seeds 1..N (default 3); --depth 2 has no seed, it runs once
  --budget N    --search budget and --depth 2 --budget (default 2000)
  --jobs N      explore --jobs (default 2)
  --quick       only the calls each bug's path goes through and the core errnos (what
                tests/explore uses); by default every call and errno, as a user would run it

For each target: the single-fault points (which both run first, the same), then the runs
after them up to the one that found the bug (the search's count includes its minimising
runs before that one). The ratio is search / depth 2; the goal is at most 0.2. A run that
never found the bug within the budget prints "not found". Last, --context 1 against 2 on
fallback_bug (one helper on a normal and a fallback path).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TWO = [  # (name, program, its args, explore options)
    ("conn_retry (connect, retry's socket)", "conn_retry_bug", [], ["--calls", "connect,socket"]),
    ("retry_twice (accept, accept again)", "retry_twice_bug", ["{port}"], ["--calls", "accept"]),
]
THREE = [
    ("degrade (accept, spare socket, busy send)", "degrade_bug", [],
     ["--calls", "accept,socket,send"]),
]
# one helper on two paths: --context 1 against 2
CONTEXT = [
    ("fallback (dial() on the fallback path)", "fallback_bug", [], ["--calls", "connect,socket"]),
]


def explore(cli, targets, prog, args, opts, extra, jobs):
    with tempfile.TemporaryDirectory(prefix="sf-bench-search.") as tmp:
        path = os.path.join(tmp, "r.json")
        cmd = [cli, "explore", "-q", "--progress", "0", "--json", path, "--jobs", str(jobs),
               "--timeout", "5", "--kinds", "once"] + opts + extra
        if args:
            cmd += ["--check", f"{os.path.join(targets, 'ping_client')} {{port}}"]
        cmd += ["--", os.path.join(targets, prog)] + args
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.monotonic() - t0
        if not os.path.exists(path):
            sys.exit(f"search_vs_depth: explore failed ({p.returncode}): {p.stderr[-2000:]}")
        with open(path, encoding="utf-8") as f:
            rep = json.load(f)
    singles = rep["total_points"]
    runs = [q["run"] for q in rep["points"]
            if q["finding"] and len(q["faults"]) > 1 and q.get("run")]
    return singles, (min(runs) - singles if runs else None), secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    cli = os.path.join(a.build, "bin", "sockfault")
    targets = os.path.join(a.build, "tests", "targets")
    if not os.access(cli, os.X_OK):
        sys.exit(f"search_vs_depth: {cli} not found (build first)")
    # --quick: only the calls each bug's path goes through, the core errnos
    quick = ["--errnos", "core", "--max-per-call", "4"] if a.quick else []
    budget = str(a.budget)
    print(f"{'bug':44} {'mode':14} {'singles':>7} {'runs after':>10} {'secs':>6}")
    for name, prog, args, opts in TWO:
        singles, d2, secs = explore(cli, targets, prog, args, (opts + quick if a.quick else []),
                                    ["--depth", "2", "--budget", budget], a.jobs)
        print(f"{name:44} {'--depth 2':14} {singles:7} {d2 if d2 is not None else 'not found':>10}"
              f" {secs:6.1f}")
        found = []
        for seed in range(1, a.seeds + 1):
            singles, s, secs = explore(cli, targets, prog, args, (opts + quick if a.quick else []),
                                       ["--search", budget, "--seed", str(seed)], a.jobs)
            found.append(s)
            print(f"{'':44} {'--search s=' + str(seed):14} {singles:7} "
                  f"{s if s is not None else 'not found':>10} {secs:6.1f}")
        ok = [s for s in found if s is not None]
        if d2 and ok:
            worst = max(ok)
            print(f"{'':44} ratio search/depth 2: worst {worst / d2:.3f}, mean "
                  f"{sum(ok) / len(ok) / d2:.3f} (goal <= 0.2){'' if len(ok) == len(found) else ', some seeds not found'}")
    for name, prog, args, opts in THREE:
        for seed in range(1, a.seeds + 1):
            singles, s, secs = explore(cli, targets, prog, args, (opts + quick if a.quick else []),
                                       ["--search", budget, "--seed", str(seed)], a.jobs)
            print(f"{name if seed == 1 else '':44} {'--search s=' + str(seed):14} {singles:7} "
                  f"{s if s is not None else 'not found':>10} {secs:6.1f}")
        print(f"{'':44} (goal: found within {budget} runs; --depth 2 cannot: 3 faults)")
    for name, prog, args, opts in CONTEXT:
        for seed in range(1, a.seeds + 1):
            for ctx in ("1", "2"):
                singles, s, secs = explore(cli, targets, prog, args,
                                           (opts + quick if a.quick else []),
                                           ["--search", budget, "--seed", str(seed),
                                            "--context", ctx], a.jobs)
                print(f"{name if seed == 1 and ctx == '1' else '':44} "
                      f"{'s=' + str(seed) + ' context ' + ctx:14} {singles:7} "
                      f"{s if s is not None else 'not found':>10} {secs:6.1f}")


if __name__ == "__main__":
    main()
