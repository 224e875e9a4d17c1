#!/usr/bin/env bash
# fuzz/build.sh tested as OSS-Fuzz / ClusterFuzzLite run it: the engine's variables set,
# then each output run the way their runners do (seed corpus unzipped, dictionary, no
# LD_PRELOAD: fuzz_faults must preload the shim into itself).
#   tests/fuzz/ossfuzz.sh WORK_DIR
set -euo pipefail
if [[ ${1:-} == --help || $# -ne 1 ]]; then sed -n '2,5p' "$0"; exit $(($# != 1 ? 2 : 0)); fi
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$1
rm -rf "$work" && mkdir -p "$work/out" "$work/work"
flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,undefined -fsanitize=fuzzer-no-link"
env -u LD_PRELOAD CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$work/out" WORK="$work/work" "$root/fuzz/build.sh"
for t in fuzz_rules fuzz_request fuzz_faults; do
  for f in "$t" "$t.dict" "${t}_seed_corpus.zip"; do
    [[ -f $work/out/$f ]] || { echo "ossfuzz: $f missing from OUT" >&2; exit 1; }
  done
  mkdir -p "$work/corpus/$t"
  python3 -m zipfile -e "$work/out/${t}_seed_corpus.zip" "$work/corpus/$t"
  log=$work/$t.log seeds=$(ls "$work/corpus/$t" | wc -l)
  if ! env -u LD_PRELOAD "$work/out/$t" -dict="$work/out/$t.dict" -runs=1000 \
      -artifact_prefix="$work/" "$work/corpus/$t" >"$log" 2>&1; then
    tail -40 "$log"; echo "ossfuzz: $t failed" >&2; exit 1
  fi
  echo "ossfuzz: $t: $seeds seeds, 1000 runs, $(grep -oE 'cov: [0-9]+' "$log" | tail -1)"
done
grep -q "re-executing with LD_PRELOAD=.*libsockfault.so" "$work/fuzz_faults.log" ||
  { echo "ossfuzz: fuzz_faults did not preload the shim" >&2; exit 1; }
echo "ossfuzz: ok"
