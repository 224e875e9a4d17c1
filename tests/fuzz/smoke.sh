#!/usr/bin/env bash
# A short fuzz run of one target (ctest label fuzz-smoke): fails if it finds a crash, and
# shows the saved reproducer's note.
#   tests/fuzz/smoke.sh TARGET SECONDS BUILD_DIR OUT_DIR
set -euo pipefail
if [[ ${1:-} == --help || $# -ne 4 ]]; then sed -n '2,4p' "$0"; exit $(($# != 4 ? 2 : 0)); fi
target=$1 seconds=$2 build=$3 out=$4
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out"
rc=0
"$root/scripts/fuzz.sh" "$target" --time "$seconds" --build "$build" --no-build --out "$out" \
  --regress-dir "$out/regressions" || rc=$?
if ((rc == 3)); then
  echo "smoke: $target crashed; reproducer(s), to be fixed and then committed under corpus/regressions/$target:"
  cat "$out"/regressions/*.note
fi
((rc == 0)) || exit $rc
# No crash is a pass only if inputs ran: the campaign's summary counts them (a fuzzer that
# stopped at start-up, leaving no crash file, also ends with no crash)
execs=$(sed -n 's/^execs: *\([0-9][0-9]*\).*/\1/p' "$out/summary.txt" 2>/dev/null || true)
if [[ -z $execs || $execs -eq 0 ]]; then
  echo "smoke: $target ran no input in ${seconds}s (summary: $(tr '\n' ' ' <"$out/summary.txt" 2>/dev/null))" >&2
  tail -20 "$out/fuzz.log" >&2 2>/dev/null || true
  exit 1
fi
echo "smoke: $target: $execs executions in ${seconds}s, no crash"
