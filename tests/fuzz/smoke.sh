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
exit $rc
