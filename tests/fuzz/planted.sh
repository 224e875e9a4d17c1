#!/usr/bin/env bash
# The fuzz pipeline proven end to end: fuzz_faults_planted is the server with one planted
# error-path bug (server.c, RS_PLANTED_BUG: a recv failure mid-request leaks the fd),
# reachable only through an injected fault. Starting from the seeds that do NOT expose it,
# scripts/fuzz.sh must find it within the bound and save it as a regression input; the real
# server must pass that input.
#   tests/fuzz/planted.sh BUILD_DIR OUT_DIR [SECONDS]
set -euo pipefail
if [[ ${1:-} == --help || $# -lt 2 ]]; then sed -n '2,8p' "$0"; exit $(($# < 2 ? 2 : 0)); fi
build=$(cd "$1" && pwd) out=$2 seconds=${3:-120}
root=$(cd "$(dirname "$0")/../.." && pwd)
shim=$build/lib/libsockfault.so planted=$build/bin/fuzz_faults_planted real=$build/bin/fuzz_faults
rm -rf "$out" && mkdir -p "$out/seeds"
for f in "$root"/corpus/faults/*; do
  LD_PRELOAD=$shim "$planted" "$f" >/dev/null 2>&1 && cp "$f" "$out/seeds/"
done
n=$(ls "$out/seeds" | wc -l)
echo "planted: $n of $(ls "$root"/corpus/faults | wc -l) seeds do not expose the bug; fuzzing from those"
((n >= 3)) || { echo "planted: too few harmless seeds" >&2; exit 1; }
t0=$(date +%s)
rc=0
"$root/scripts/fuzz.sh" faults_planted --time "$seconds" --build "$build" --no-build --out "$out/campaign" \
  --regress-dir "$out/regressions" --seed-dir "$out/seeds" || rc=$?
t1=$(date +%s)
((rc == 3)) || { echo "planted: fuzz.sh exited $rc, not 3: the planted bug was not found in ${seconds}s" >&2; exit 1; }
found=$(find "$out/regressions" -type f ! -name '*.note' | head -1)
[[ -n $found && -f $found.note ]] || { echo "planted: no regression input saved" >&2; exit 1; }
cat "$found.note"
grep -q 'fds_after == fds_before' "$found.note" || { echo "planted: found something else" >&2; exit 1; }
LD_PRELOAD=$shim "$planted" "$found" >/dev/null 2>&1 && { echo "planted: the saved input does not reproduce" >&2; exit 1; }
# the note's `sockfault run -e RULES` line (<sockfault/fuzz.h>'s reproducer) reproduces too
sfrun=$(sed -n 's/^with rules: sockfault run //p' "$found.note")
[[ $sfrun == "-e '"*"' -- "* ]] || { echo "planted: no 'with rules: sockfault run -e' line in the note" >&2; exit 1; }
rules=${sfrun#-e \'} rules=${rules%%\' -- *}
"$build/bin/sockfault" run -e "$rules" -- "$planted" "$found" >/dev/null 2>&1 &&
  { echo "planted: sockfault run -e '$rules' does not reproduce" >&2; exit 1; }
LD_PRELOAD=$shim "$real" "$found" >/dev/null 2>&1 || { echo "planted: the real server fails the saved input" >&2; exit 1; }
echo "planted: found, saved and reproduced; campaign (fuzzing, minimising, saving) took $((t1 - t0))s"
