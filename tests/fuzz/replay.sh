#!/usr/bin/env bash
# Runs a fuzz target once over every input of the given directories (seed corpus and
# regression inputs; *.note files are not inputs): no fuzzing, a fixed crash stays fixed.
# The first DIR, the seed corpus, must exist; later ones (regressions) may not yet.
#   tests/fuzz/replay.sh FUZZ_BINARY DIR...
set -euo pipefail
if [[ ${1:-} == --help || $# -lt 2 ]]; then sed -n '2,5p' "$0"; exit $(($# < 2 ? 2 : 0)); fi
bin=$1; shift
# a moved or misspelt seed corpus would otherwise leave the regressions alone replayed
[[ -d $1 ]] || { echo "replay: seed corpus $1 is not a directory" >&2; exit 1; }
inputs=()
for d in "$@"; do
  [[ -d $d ]] || continue
  while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$d" -type f ! -name '*.note' ! -name '.*' -print0 | sort -z)
done
((${#inputs[@]})) || { echo "replay: no inputs in $*" >&2; exit 1; }
echo "replay: $(basename "$bin") over ${#inputs[@]} inputs"
# libFuzzer runs each file argument once; the log is shown only when one fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
"$bin" -runs=1 "${inputs[@]}" >"$log" 2>&1 || rc=$?
((rc == 0)) || { grep -v '^Executed\|^INFO:' "$log" | tail -60; echo "replay: FAILED (exit $rc)"; }
exit $rc
