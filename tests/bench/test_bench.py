"""scripts/bench.sh --quick runs and prints its table: a row for every loop x mode, each
with numeric cells (no timing thresholds), and its memory table.

usage: test_bench.py BENCH_SH BUILD_DIR
"""
import math
import re
import subprocess
import sys

LOOPS = ["setsockopt", "getsockopt", "socket_close", "bind_close", "connect_accept",
         "send_recv", "null"]
MODES = ["bare", "minimal", "shim", "armed", "port", "logall", "libfiu", "strace", "stracelog"]


def main():
    bench, build = sys.argv[1], sys.argv[2]
    p = subprocess.run(["bash", bench, "--quick", "--build", build, "--no-build",
                        "--no-install"], capture_output=True, text=True, timeout=240)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    assert p.returncode == 0, f"bench.sh --quick exited {p.returncode}"
    rows = {}
    for line in p.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0] in LOOPS and cells[1] in MODES:
            assert (cells[0], cells[1]) not in rows, f"row {cells[:2]} twice"
            rows[cells[0], cells[1]] = cells[2:]
    missing = [(l, m) for l in LOOPS for m in MODES if (l, m) not in rows]
    assert not missing, f"rows missing from the table: {missing}"
    for (loop, mode), cells in rows.items():
        median, low, ratio, dmin, allocs = (float(c) for c in cells[:5])
        for v in (median, low, ratio, dmin, allocs):
            assert math.isfinite(v), f"{loop}/{mode}: non-numeric cell in {cells}"
        assert median > 0 and low > 0 and ratio > 0, f"{loop}/{mode}: {cells}"
        assert re.fullmatch(r"n/a|[0-9.]+", cells[5]), f"{loop}/{mode}: Ir cell {cells[5]}"
    assert rows["setsockopt", "bare"][2] == "1.000", "ratio of bare to itself is not 1"
    for mode in MODES:
        assert re.search(rf"^\| {mode} \| [0-9]+ \| [-+][0-9]+ \|", p.stdout, re.M), \
            f"memory row for {mode} missing"
    assert "goal " in p.stdout, "no goal summary"
    for g in ("a port= filter that does not match", "the log at level all within 2x"):
        assert re.search(rf"^goal (met    |NOT met): {g}", p.stdout, re.M), f"no goal: {g}"
    print(f"bench_quick: {len(rows)} rows, all numeric")


if __name__ == "__main__":
    main()
