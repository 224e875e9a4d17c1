#!/usr/bin/env bash
# A time-bounded fuzz campaign for one target; crashes are minimised and saved as regression
# inputs with a note of how they were found; a summary (execs/s, coverage, crashes) ends it.
#   scripts/fuzz.sh TARGET [--engine libfuzzer|afl] [--time SECONDS] [--jobs N]
#                          [--out DIR] [--regress-dir DIR] [--seed-dir DIR] [--build DIR] [--no-build]
#   scripts/fuzz.sh --exe PATH [--shim PATH] [--dict FILE] [the options above]
#   TARGET       rules | request | faults | faults_planted | refserver (afl only: the real
#                sockfault-refserver binary fed from stdin through fuzz/afl_desock.c)
#   --exe        your own target, built with sockfault_add_fuzz_target (<sockfault/fuzz.h>)
#                for the engine: run with the shim preloaded, no build; crashes go to
#                OUT/regressions unless --regress-dir, seeds from --seed-dir
#   --shim       libsockfault.so for --exe (default: $SOCKFAULT_SHIM, else build/lib's)
#   --dict       a libFuzzer/AFL++ dictionary for --exe
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

usage() { sed -n '2,22p' "$0"; exit "${1:-0}"; }
abs() { [[ -z $1 || $1 == /* ]] && echo "$1" || echo "$caller/$1"; }
die() { echo "fuzz.sh: $*" >&2; exit 1; }

target="" engine=libfuzzer time=60 jobs=1 out="" regress="" seeddir="" build="" nobuild=0
userexe="" usershim=${SOCKFAULT_SHIM:-} userdict=""
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
    --exe) userexe=$(abs "${2:?}"); shift ;;
    --shim) usershim=$(abs "${2:?}"); shift ;;
    --dict) userdict=$(abs "${2:?}"); shift ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage 2 ;;
    *) [[ -z $target ]] || usage 2; target=${1#fuzz_} ;;
  esac
  shift
done
if [[ -n $userexe ]]; then
  [[ -z $target ]] || { echo "fuzz.sh: a TARGET or --exe, not both" >&2; exit 2; }
  [[ -x $userexe && -f $userexe ]] || die "--exe $userexe: not an executable"
  target=$(basename "$userexe")
fi
[[ -n $target ]] || usage 2
[[ $time =~ ^[0-9]+$ && $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --time and --jobs take numbers" >&2; exit 2; }
case "$engine" in libfuzzer|afl) ;; *) echo "fuzz.sh: --engine libfuzzer or afl" >&2; exit 2 ;; esac

# target -> binary, seeds, dictionary, whether the shim is preloaded
preload="" args=()
[[ -n $userexe ]] && target_kind=exe || target_kind=$target
case "$target_kind" in
  exe) bin=$target seeds="" dict="" preload=shim nobuild=1 ;;
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
if [[ -n $userexe ]]; then # built by its own project: nothing to build here
  build=${build:-$root/build}
  [[ $engine == libfuzzer ]] || command -v afl-fuzz >/dev/null || die "afl-fuzz not found"
elif [[ $engine == libfuzzer ]]; then
  build=${build:-build-asan}
  cfg=(-DCMAKE_C_COMPILER=clang -DSOCKFAULT_SANITIZE=address,undefined -DSOCKFAULT_FUZZERS=ON)
else
  build=${build:-build-afl}
  command -v afl-clang-fast >/dev/null || die "afl-clang-fast not found (scripts/deps.sh installs afl++)"
  cfg=(-DCMAKE_C_COMPILER=afl-clang-fast -DSOCKFAULT_SANITIZE=address,undefined
       -DSOCKFAULT_FUZZERS=ON -DSOCKFAULT_TESTS=OFF)
fi
[[ -n $userexe ]] || build=$(cd "$root" && mkdir -p "$build" && cd "$build" && pwd)
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
[[ -z $userexe ]] || exe=$(realpath "$userexe")
[[ -x $exe ]] || die "$exe not built"
case "$preload" in
  shim) lib=${usershim:-$build/lib/libsockfault.so} ;;
  desock) lib=$build/lib/libsf_afl_desock.so ;;
  *) lib="" ;;
esac
if [[ -n $lib ]]; then
  [[ -f $lib ]] || die "$lib not found${userexe:+ (name the shim with --shim)}"
  lib=$(realpath "$lib")
fi

# ---- campaign directory ---------------------------------------------------------------------
start=$(date +%s)
out=${out:-campaigns/$target-$engine-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -z $regress ]]; then
  [[ $target == faults_planted || -n $userexe ]] && regress=$out/regressions || regress=$root/corpus/regressions/$target
fi
mkdir -p "$regress" "$out/seeds" "$out/crashes" "$out/minimized"
regress=$(cd "$regress" && pwd)
# Seeds: the corpus and every regression input so far (notes are not inputs).
seedfiles=("$root/corpus/$seeds"/* "$root/corpus/regressions/${target%_planted}"/*)
[[ -z $userexe ]] || seedfiles=()
[[ -z $seeddir ]] || seedfiles=("$seeddir"/*)
for f in "${seedfiles[@]}"; do
  [[ -f $f && $f != *.note ]] || continue
  # A seed past 4 KB (libFuzzer's default -max_len) raises the length of every mutant and
  # slows each execution for little gain (the store is searched linearly): campaigns start
  # without those; the replay test still runs them.
  (($(stat -c %s "$f") > 4096)) && continue
  cp "$f" "$out/seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
done
# An empty start: one input with no fault and nothing else (AFL++ needs one).
[[ -n $(ls -A "$out/seeds") ]] || printf '\0' >"$out/seeds/empty"
dictf=$root/fuzz/$dict.dict
[[ -z $userexe ]] || dictf=$userdict
echo "fuzz.sh: $target with $engine, ${time}s, $jobs job(s): $out"

# ---- fuzz -----------------------------------------------------------------------------------
if [[ $engine == libfuzzer ]]; then
  mkdir -p "$out/corpus"
  lf=(-max_total_time="$time" -print_final_stats=1 -artifact_prefix="$out/crashes/"
      ${dictf:+-dict="$dictf"} -timeout=10 -rss_limit_mb=2048)
  ((jobs > 1)) && lf+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  env ${lib:+LD_PRELOAD=$lib} ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}" \
    timeout -k 10 $((time + 120)) "$exe" "${lf[@]}" "$out/corpus" "$out/seeds" >"$out/fuzz.log" 2>&1 || true
else
  export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1
  export AFL_TRY_AFFINITY=1 AFL_NO_WARN_INSTABILITY=1
  [[ -n $lib ]] && export AFL_PRELOAD=$lib
  afl=(-i "$out/seeds" -o "$out/afl" ${dictf:+-x "$dictf"} -V "$time" -t 2000)
  pids=()
  for ((j = 2; j <= jobs; j++)); do
    timeout -k 10 $((time + 120)) afl-fuzz -S "s$j" "${afl[@]}" -- "$exe" "${args[@]}" >"$out/afl-s$j.log" 2>&1 &
    pids+=($!)
  done
  timeout -k 10 $((time + 120)) afl-fuzz -M main "${afl[@]}" -- "$exe" "${args[@]}" >"$out/afl-main.log" 2>&1 || true
  for p in "${pids[@]}"; do wait "$p" || true; done
  [[ -f $out/afl/main/fuzzer_stats ]] || { tail -20 "$out/afl-main.log" >&2; die "afl-fuzz did not run"; }
  for d in "$out"/afl/*/crashes; do
    for f in "$d"/id:*; do [[ -f $f ]] && cp "$f" "$out/crashes/$(basename "$(dirname "$d")")-${f##*/id:}"; done
  done
  # ':' and ',' in AFL names trouble some tools
  for f in "$out"/crashes/*; do [[ -f $f ]] && mv "$f" "$(dirname "$f")/crash-$(basename "$f" | tr ':,' '__')"; done
fi

# ---- crashes: minimise, reproduce, save -----------------------------------------------------
run() { env ${lib:+LD_PRELOAD=$lib} ASAN_OPTIONS=detect_leaks=1 timeout -k 5 60 "$exe" "${args[@]}" "$@"; }
signature() { # the line that says what broke, without addresses
  grep -m1 -E 'INVARIANT FAILED|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|BUG:|deadly signal|timeout' "$1" |
    sed -E 's/0x[0-9a-f]+/0x_/g; s/==[0-9]+==//; s/ in [0-9]+ ms//' || echo "(no message)"
}
saved=0 found=0 sigs=""
for f in "$out"/crashes/*; do
  [[ -f $f ]] || continue
  found=$((found + 1))
  name=$(basename "$f") min=$out/minimized/$name
  if [[ $engine == libfuzzer && $name == crash-* || $name == leak-* ]]; then
    env ${lib:+LD_PRELOAD=$lib} timeout -k 5 90 "$exe" -minimize_crash=1 -runs=20000 -max_total_time=30 \
      -exact_artifact_path="$min" "$f" >"$out/minimized/$name.log" 2>&1 || true
  elif [[ $engine == afl ]]; then
    env ${lib:+AFL_PRELOAD=$lib} timeout -k 5 90 afl-tmin -i "$f" -o "$min" -- "$exe" "${args[@]}" \
      >"$out/minimized/$name.log" 2>&1 || true
  fi
  [[ -s $min ]] || cp "$f" "$min"
  if [[ $target == refserver ]]; then
    env LD_PRELOAD="$lib" timeout -k 5 60 "$exe" "${args[@]}" <"$min" >"$min.out" 2>&1 || true
  else
    run "$min" >"$min.out" 2>&1 || true
  fi
  sig=$(signature "$min.out")
  grep -qxF "$sig" <<<"$sigs" && continue # the same failure again
  sigs+="$sig"$'\n'
  id=$(sha1sum "$min" | cut -c1-12)
  dest=$regress/$target-$id
  [[ -e $dest ]] && continue
  cp "$min" "$dest"
  after=$(($(stat -c %Y "$f") - start))
  if [[ $target == refserver ]]; then
    repro="LD_PRELOAD=${lib#$root/} ${exe#$root/} ${args[*]} < ${dest#$root/}"
  else
    repro="${lib:+LD_PRELOAD=${lib#$root/} }${exe#$root/} ${dest#$root/}"
  fi
  # <sockfault/fuzz.h> targets print their schedule as a `sockfault run -e RULES` line.
  rules=$(grep -m1 '^sockfault-fuzz: fault schedule of the input: ' "$min.out" | cut -d' ' -f7- || true)
  sfrun=$(grep -m1 '^sockfault-fuzz: reproduce: ' "$min.out" | sed 's/^sockfault-fuzz: reproduce: //' || true)
  sfrun=${sfrun/% CRASH-FILE/ $dest}
  cat >"$dest.note" <<EOF
target:     $target ($bin)
found:      $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/fuzz.sh $target --engine $engine --time $time --jobs $jobs, about ${after}s into the campaign
campaign:   $out (artifact $name, $(stat -c %s "$f") bytes, minimised to $(stat -c %s "$min"))
failure:    $sig
reproduce:  $repro
EOF
  [[ -z $rules ]] || echo "rules:      $rules" >>"$dest.note"
  [[ -z $sfrun ]] || echo "with rules: $sfrun" >>"$dest.note"
  saved=$((saved + 1))
  echo "fuzz.sh: new crash saved as $dest"
done

# ---- summary --------------------------------------------------------------------------------
{
  echo "== $target / $engine: ${time}s, $jobs job(s), campaign $out"
  if [[ $engine == libfuzzer ]]; then
    log=$out/fuzz.log
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
    [[ -n $rate ]] || rate=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    [[ -n $rate ]] || rate=$(grep -oE 'exec/s [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
    echo "execs:      ${execs:-?}"
    echo "execs/s:    ${rate:-?}"
    echo "coverage:   ${cov:-?} (edges, features)"
    echo "corpus:     $(find "$out/corpus" -type f | wc -l) inputs"
  else
    tot=0 rate=0 cvg="" edges=""
    for s in "$out"/afl/*/fuzzer_stats; do
      tot=$((tot + $(awk -F' *: *' '$1=="execs_done"{print $2}' "$s")))
      rate=$(awk -v r="$rate" -F' *: *' '$1=="execs_per_sec"{printf "%.0f", r + $2}' "$s")
    done
    s=$out/afl/main/fuzzer_stats
    cvg=$(awk -F' *: *' '$1=="bitmap_cvg"{print $2}' "$s")
    edges=$(awk -F' *: *' '$1=="edges_found"{print $2}' "$s")
    echo "execs:      $tot"
    echo "execs/s:    $rate (all instances, last measured)"
    echo "coverage:   ${edges:-?} edges, bitmap ${cvg:-?}"
    echo "corpus:     $(find "$out"/afl/*/queue -type f | wc -l) inputs"
  fi
  echo "crashes:    $found found, $saved new saved in $regress"
} | tee "$out/summary.txt"
((found == 0)) || exit 3
exit 0
