#!/usr/bin/env bash
# What fault-schedule fuzzing costs a user's target: examples/lineclient's fuzz target, built
# out of tree against an install of BUILD, fuzzed by libFuzzer with a schedule (the shim
# preloaded, <sockfault/fuzz.h> arming it each input) and without (-DSOCKFAULT_FUZZ_OFF, no
# shim), in alternating rounds so that load changes fall on both alike; prints both execs/s
# and their ratio.
#   bench/fuzz_own.sh [--time SECONDS] [--rounds N] [--build DIR] [--flags CFLAGS] [--out DIR]
#   defaults: --time 10 --rounds 3 --build build --flags "-fsanitize=address,undefined -g -O1"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
time=10 rounds=3 build=build flags="-fsanitize=address,undefined -g -O1"
out=campaigns/bench-own-$(date +%Y%m%d-%H%M%S)
while (($#)); do
  case "$1" in
    --time) time=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --build) build=${2:?}; shift ;;
    --flags) flags=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --help|-h) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "fuzz_own: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $time =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz_own: --time and --rounds take numbers" >&2; exit 2; }
[[ -f $build/CMakeCache.txt ]] || { echo "fuzz_own: $build is not a build tree (scripts/build.sh)" >&2; exit 1; }
command -v clang >/dev/null || { echo "fuzz_own: clang not found" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cmake --install "$build" --prefix "$out/prefix" >/dev/null
shim=$(find "$out/prefix" -name libsockfault.so | head -1)
for v in with without; do
  extra=""
  [[ $v == without ]] && extra=-DSOCKFAULT_FUZZ_OFF
  CC=clang cmake -S examples/lineclient -B "$out/$v" -DCMAKE_PREFIX_PATH="$out/prefix" \
    -DCMAKE_C_FLAGS="$flags $extra" >/dev/null
  cmake --build "$out/$v" >/dev/null
done

# One libFuzzer run: prints "execs seconds".
fuzz() { # variant round
  local v=$1 r=$2 dir=$out/runs/$1-$2
  mkdir -p "$dir/corpus"
  env ${3:+LD_PRELOAD=$3} "$out/$v/fuzz_lineclient" -max_total_time="$time" -seed="$r" \
    -timeout=10 -print_final_stats=1 "$dir/corpus" "$root/examples/lineclient/corpus" >"$dir/log" 2>&1 || true
  local execs secs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  secs=$(grep -oE 'in [0-9]+ second' "$dir/log" | tail -1 | grep -oE '[0-9]+' || echo "$time")
  [[ -n $execs ]] || { echo "fuzz_own: no stats in $dir/log" >&2; exit 1; }
  echo "$execs ${secs:-$time}"
}
tw=0 sw=0 tn=0 sn=0
printf '%-6s %16s %16s\n' round "with schedule" "without" | tee "$out/rates.txt"
for ((r = 1; r <= rounds; r++)); do
  read -r ew s1 < <(fuzz with "$r" "$shim")
  read -r en s2 < <(fuzz without "$r" "")
  printf '%-6s %12s/s %12s/s\n' "$r" $((ew / time)) $((en / time)) | tee -a "$out/rates.txt"
  tw=$((tw + ew)) tn=$((tn + en))
done
{
  echo "execs/s over $rounds x ${time}s, examples/lineclient (clang $flags), $(nproc) cores:"
  echo "  with a schedule (shim preloaded): $((tw / (rounds * time)))"
  echo "  without (-DSOCKFAULT_FUZZ_OFF):   $((tn / (rounds * time)))"
  awk -v a="$tw" -v b="$tn" 'BEGIN { printf "  ratio with/without: %.2f\n", a / b }'
} | tee -a "$out/rates.txt"
