#!/usr/bin/env bash
# Executions per second of every fuzz target under each engine: a short scripts/fuzz.sh
# campaign each (one job, seeds from corpus/), its summary's execs/s in a table.
#   bench/fuzz_rate.sh [--time SECONDS] [--engines "libfuzzer afl"] [--out DIR]
# Builds build-asan/ and build-afl/ as scripts/fuzz.sh does; campaigns go under campaigns/.
set -euo pipefail
cd "$(dirname "$0")/.."
time=15 engines="libfuzzer afl" out=campaigns/bench-$(date +%Y%m%d-%H%M%S)
while (($#)); do
  case "$1" in
    --time) time=${2:?}; shift ;;
    --engines) engines=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --help|-h) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "fuzz_rate: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
rows=()
for e in $engines; do
  targets="rules request faults"
  [[ $e == afl ]] && targets+=" refserver"
  for t in $targets; do
    c=$out/$t-$e
    rc=0
    scripts/fuzz.sh "$t" --engine "$e" --time "$time" --out "$c" --regress-dir "$c/regressions" \
      >"$c.log" 2>&1 || rc=$?
    rate=$(sed -n 's/^execs\/s: *\([0-9]*\).*/\1/p' "$c/summary.txt" 2>/dev/null || true)
    execs=$(sed -n 's/^execs: *\([0-9]*\).*/\1/p' "$c/summary.txt" 2>/dev/null || true)
    note=""
    ((rc == 0)) || note="(fuzz.sh exit $rc: see $c.log)"
    rows+=("$(printf '%-10s %-10s %10s %12s  %s' "$t" "$e" "${rate:-?}" "${execs:-?}" "$note")")
  done
done
{
  echo "fuzz execs/s, ${time}s per target, 1 job, $(nproc) cores, $(uname -r)"
  printf '%-10s %-10s %10s %12s\n' target engine execs/s execs
  printf '%s\n' "${rows[@]}"
} | tee "$out/rates.txt"
