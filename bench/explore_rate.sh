#!/usr/bin/env bash
# explore's throughput: failure points per second on a trivial target, beside the bare
# fork+exec+wait rate of the same target, with --jobs 1 and 2. A benchmark, not a test:
# it prints figures and judges nothing.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/explore_rate.sh [BUILD_DIR] [SOCKETS] [REPEAT]

  BUILD_DIR  a configured and built tree (default: build); needs bin/sockfault and
             tests/targets/trivial
  SOCKETS    sockets the trivial target opens and closes (default 8): the points are
             SOCKETS x (socket's 8 errnos + close's 3)
  REPEAT     explore runs per --jobs value, summed (default 3)

Prints, per line: what was measured, runs, seconds, and the rate. The bare rate is a shell
loop running the target directly (fork+exec+wait, no shim); explore's rate counts failure
points only (its baselines are extra runs it also pays for).
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

build=${1:-build}
sockets=${2:-8}
repeat=${3:-3}
cli=$build/bin/sockfault
target=$build/tests/targets/trivial
for f in "$cli" "$target"; do
  [[ -x $f ]] || { echo "explore_rate.sh: $f not found (build first)" >&2; exit 2; }
done

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%8.1f", (s > 0 ? n / s : 0) }'; }

printf '%-34s %7s %8s %10s\n' "measure" "runs" "seconds" "per second"
# bare fork+exec+wait of the same target
n=500
t0=$(now)
for ((i = 0; i < n; i++)); do "$target" "$sockets"; done
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
printf '%-34s %7d %8s %10s\n' "fork+exec+wait (no shim)" "$n" "$secs" "$(rate "$n" "$secs")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for jobs in 1 2; do
  points=0
  t0=$(now)
  for ((r = 0; r < repeat; r++)); do
    "$cli" explore -q --jobs "$jobs" --max-per-call "$sockets" --json "$tmp/r.json" \
      -- "$target" "$sockets" || { echo "explore failed (status $?)" >&2; exit 1; }
    p=$(grep -o '"runs":[0-9]*' "$tmp/r.json" | cut -d: -f2)
    points=$((points + p))
  done
  t1=$(now)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  printf '%-34s %7d %8s %10s\n' "explore --jobs $jobs (failure points)" "$points" "$secs" \
    "$(rate "$points" "$secs")"
done
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs)"
