#!/usr/bin/env bash
# A time-bounded fuzz campaign for one of sockfault's own targets: builds it, then runs
# scripts/sockfault-fuzz (installed as sockfault-fuzz, the runner for your own targets) with
# its seeds, dictionary and preload; crashes are minimised and saved as regression inputs with
# a note of how they were found; a summary (execs/s, coverage, crashes) ends it.
#   scripts/fuzz.sh TARGET [--engine libfuzzer|afl] [--time SECONDS] [--jobs N]
#                          [--out DIR] [--regress-dir DIR] [--seed-dir DIR] [--build DIR] [--no-build]
#   TARGET       rules | request | faults | faults_planted | refserver (afl only: the real
#                sockfault-refserver binary fed from stdin through fuzz/afl_desock.c)
#   --engine     libfuzzer (default; build-asan/) or afl (AFL++, build-afl/ by afl-clang-fast)
#   --time       seconds of fuzzing (default 60)
#   --jobs       parallel fuzzers (default 1): libFuzzer -fork=N, AFL++ one -M and N-1 -S
#   --out        campaign directory (default campaigns/TARGET-ENGINE-DATE)
#   --regress-dir  where new crashes are saved (default corpus/regressions/TARGET;
#                faults_planted: OUT/regressions)
#   --seed-dir   start from these inputs instead of corpus/TARGET and its regressions
#   --build DIR  build tree to use; --no-build: use it as it is
# Exit status: 0 no crash, 3 crashes found (and saved), 1 error, 2 bad usage.
set -euo pipefail
caller=$PWD # paths given on the command line are the caller's
cd "$(dirname "$0")/.."
root=$PWD

usage() { sed -n '2,20p' "$0"; exit "${1:-0}"; }
abs() { [[ -z $1 || $1 == /* ]] && echo "$1" || echo "$caller/$1"; }
die() { echo "fuzz.sh: $*" >&2; exit 1; }

target="" engine=libfuzzer time=60 jobs=1 out="" regress="" seeddir="" build="" nobuild=0
while (($#)); do
  case "$1" in
    --help|-h) usage 0 ;;
    --engine) engine=${2:?}; shift ;;
    --time) time=${2:?}; shift ;;
    --jobs) jobs=${2:?}; shift ;;
    --out) out=$(abs "${2:?}"); shift ;;
    --regress-dir) regress=$(abs "${2:?}"); shift ;;
    --seed-dir) seeddir=$(abs "${2:?}"); shift ;;
    --build) build=$(abs "${2:?}"); shift ;;
    --no-build) nobuild=1 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage 2 ;;
    *) [[ -z $target ]] || usage 2; target=${1#fuzz_} ;;
  esac
  shift
done
[[ -n $target ]] || usage 2
[[ $time =~ ^[0-9]+$ && $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --time and --jobs take numbers" >&2; exit 2; }
case "$engine" in libfuzzer|afl) ;; *) echo "fuzz.sh: --engine libfuzzer or afl" >&2; exit 2 ;; esac

# target -> binary, seeds, dictionary, whether the shim is preloaded
preload="" args=()
case "$target" in
  rules) bin=fuzz_rules seeds=rules dict=rules ;;
  request) bin=fuzz_request seeds=request dict=request ;;
  faults) bin=fuzz_faults seeds=faults dict=request preload=shim ;;
  faults_planted) bin=fuzz_faults_planted seeds=faults dict=request preload=shim ;;
  refserver)
    [[ $engine == afl ]] || die "refserver is the real binary under AFL++: use --engine afl"
    bin=sockfault-refserver seeds=refserver dict=request preload=desock
    args=(--quiet --check-fds --max-conns 4 --listen 127.0.0.1:0) ;;
  *) echo "fuzz.sh: unknown target '$target'" >&2; usage 2 ;;
esac

# ---- build ----------------------------------------------------------------------------------
if [[ $engine == libfuzzer ]]; then
  build=${build:-build-asan}
  cfg=(-DCMAKE_C_COMPILER=clang -DSOCKFAULT_SANITIZE=address,undefined -DSOCKFAULT_FUZZERS=ON)
else
  build=${build:-build-afl}
  command -v afl-clang-fast >/dev/null || die "afl-clang-fast not found (scripts/deps.sh installs afl++)"
  cfg=(-DCMAKE_C_COMPILER=afl-clang-fast -DSOCKFAULT_SANITIZE=address,undefined
       -DSOCKFAULT_FUZZERS=ON -DSOCKFAULT_TESTS=OFF)
fi
build=$(cd "$root" && mkdir -p "$build" && cd "$build" && pwd)
if ((!nobuild)); then
  if [[ -f $build/CMakeCache.txt ]]; then # an existing tree: turn the options on, keep its compiler
    cmake -S "$root" -B "$build" "${cfg[@]:1}" >/dev/null
  else
    cmake -S "$root" -B "$build" -DSOCKFAULT_WERROR=ON "${cfg[@]}" >/dev/null
  fi
  targets=("$bin" sockfault)
  [[ $preload == desock ]] && targets+=(sf_afl_desock)
  AFL_QUIET=1 cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null ||
    die "building $bin in $build failed"
fi
exe=$build/bin/$bin
[[ -x $exe ]] || die "$exe not built"
case "$preload" in
  shim) lib=$build/lib/libsockfault.so ;;
  desock) lib=$build/lib/libsf_afl_desock.so ;;
  *) lib="" ;;
esac
if [[ -n $lib ]]; then
  [[ -f $lib ]] || die "$lib not found"
  lib=$(realpath "$lib")
fi

# ---- the campaign: scripts/sockfault-fuzz (installed as sockfault-fuzz) -------------------
[[ -n $out ]] || out=campaigns/$target-$engine-$(date +%Y%m%d-%H%M%S)
if [[ -z $regress ]]; then
  [[ $target == faults_planted ]] && regress=$out/regressions || regress=$root/corpus/regressions/$target
fi
camp=(--engine "$engine" --time "$time" --jobs "$jobs" --out "$out" --regress-dir "$regress" --name "$target")
case "$preload" in
  shim) camp+=(--shim "$lib") ;;
  desock) camp+=(--preload "$lib" --stdin) ;;
  *) camp+=(--no-shim) ;;
esac
# Seeds: the corpus and every regression input so far (notes are not inputs).
if [[ -n $seeddir ]]; then
  camp+=(--seed-dir "$seeddir")
else
  for d in "$root/corpus/$seeds" "$root/corpus/regressions/${target%_planted}"; do
    [[ -d $d ]] && camp+=(--seed-dir "$d")
  done
fi
camp+=(--dict "$root/fuzz/$dict.dict")
exec "$root/scripts/sockfault-fuzz" "${camp[@]}" "$exe" -- "${args[@]}"
