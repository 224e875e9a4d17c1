#!/usr/bin/env bash
# What the burst and sustained point kinds cost: the reference server explored with one
# failure per point only (--kinds once, explore before issue 18) and with every kind (the
# default), in the same run, alternately, so that load changes fall on both alike. A
# benchmark, not a test: it prints wall times and their ratio and judges nothing (the
# acceptance asks for at most 1.5x).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/explore_kinds.sh [BUILD_DIR] [REPEAT] [JOBS] [WINDOW]

  BUILD_DIR  a built tree (default: build); needs bin/sockfault, bin/sockfault-refserver
             and bin/rs_check
  REPEAT     rounds (default 1), each one exploration per setting
  JOBS       explore --jobs (default 2)
  WINDOW     explore --window, seconds (default 2, explore's default)

Prints one line per exploration (kinds, points, findings, seconds), then the mean wall time
of each setting and the ratio all/once.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
build=${1:-build}
repeat=${2:-1}
jobs=${3:-2}
window=${4:-2}
cli=$build/bin/sockfault
for f in "$cli" "$build/bin/sockfault-refserver" "$build/bin/rs_check"; do
  [[ -x $f ]] || { echo "explore_kinds.sh: $f not found (build first)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A total=([once]=0 [all]=0)
for ((r = 1; r <= repeat; r++)); do
  for kinds in once all; do
    start=$(date +%s.%N)
    rc=0
    "$cli" explore --kinds "$kinds" --window "$window" --jobs "$jobs" --max-per-call 8 \
      --fail-on crash,sanitizer,hang,spin,no-recovery,silent,stopped-serving,fd-leak \
      --json "$tmp/r.json" --check "$build/bin/rs_check {port}" \
      -- "$build/bin/sockfault-refserver" --listen 127.0.0.1:{port} --check-fds \
      >"$tmp/out" 2>&1 || rc=$?
    secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    summary=$(grep -m1 '^summary:' "$tmp/out" || echo "summary: ?")
    printf 'round %d  --kinds %-4s  exit %d  %6s s  %s\n' "$r" "$kinds" "$rc" "$secs" "$summary"
    total[$kinds]=$(awk -v a="${total[$kinds]}" -v b="$secs" 'BEGIN { print a + b }')
  done
done
awk -v o="${total[once]}" -v a="${total[all]}" -v n="$repeat" 'BEGIN {
  printf "mean wall time: once %.1f s, all kinds %.1f s; ratio all/once %.2f\n",
         o / n, a / n, (o > 0 ? a / o : 0) }'
