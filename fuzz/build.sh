#!/bin/bash -eu
# The OSS-Fuzz / ClusterFuzzLite build script: builds every fuzz target into $OUT with the
# engine's compiler and flags, plus their seed corpora and dictionaries.
#   CC=… CXX=… CFLAGS=… CXXFLAGS=… LIB_FUZZING_ENGINE=… OUT=… fuzz/build.sh
# Outputs in $OUT: fuzz_rules, fuzz_request, fuzz_faults (each with _seed_corpus.zip and
# .dict) and libsockfault.so, which fuzz_faults preloads into itself (re-executing once),
# since the engines' runners cannot set LD_PRELOAD. tests/fuzz/ossfuzz.sh runs this here.
if [[ ${1:-} == --help ]]; then sed -n '2,7p' "$0"; exit 0; fi
src=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:=clang}" "${CXX:=clang++}" "${CFLAGS:=}" "${CXXFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}" "${OUT:?OUT must name the output directory}"
work=${WORK:-$(mktemp -d)}/sockfault
mkdir -p "$work" "$OUT"

# Source lists come from the CMake targets, so they never drift from the real build.
sources() { # dir target: the files of add_library(TARGET KIND files...), which may span lines
  awk -v t="$2" '$0 ~ "^add_library\\(" t " " { on = 1 }
    on { line = line " " $0 } on && /\)/ { on = 0 }
    END { sub(/.*add_library\(/, "", line); sub(/\).*/, "", line); print line }' \
    "$src/$1/CMakeLists.txt" | tr -s ' ' '\n' | sed -n '3,$p' | grep . | sed "s|^|$src/$1/|"
}
rules=$(sources shim sf_rules)
refserver=$(sources harness/refserver sf_refserver_core)
shim=$(sources shim sockfault)
[[ -n $rules && -n $refserver && -n $shim ]] || { echo "build.sh: source lists not found" >&2; exit 1; }

inc=(-I"$src/shim" -I"$src/include" -I"$src/harness/refserver" -I"$src/fuzz")
objs() { # name sources...: compiles with the engine's flags, prints the objects
  local name=$1 f o
  shift
  mkdir -p "$work/$name"
  for f in "$@"; do
    o=$work/$name/$(basename "$f" .c).o
    # shellcheck disable=SC2086 # CFLAGS is a list of flags
    $CC $CFLAGS -std=c11 "${inc[@]}" -c "$f" -o "$o"
    echo "$o"
  done
}
link() { # name objects... [-- extra link flags]
  local name=$1
  shift
  # shellcheck disable=SC2086
  $CXX $CXXFLAGS "$@" $LIB_FUZZING_ENGINE -o "$OUT/$name"
}

# shellcheck disable=SC2086 # word splitting of the source lists is intended
{
  rules_o=$(objs rules $rules)
  server_o=$(objs refserver $refserver)
  model_o=$(objs model "$src/fuzz/oracle.c")
  helper_o=$(objs helper "$src/fuzz/sockfault_fuzz.c") # <sockfault/fuzz.h>; its table: rules_o
  link fuzz_rules $(objs t_rules "$src/fuzz/fuzz_rules.c") $rules_o
  link fuzz_request $(objs t_request "$src/fuzz/fuzz_request.c") $model_o $server_o $rules_o
  link fuzz_faults $(objs t_faults "$src/fuzz/fuzz_faults.c") $model_o $server_o $helper_o \
    $rules_o -Wl,--wrap=malloc,--wrap=free
}

# The shim is preloaded into programs built without sanitizers, so it gets none: not the
# engine's CFLAGS, only optimisation.
# shellcheck disable=SC2086
$CC -std=c11 -O2 -g -fPIC -shared -fvisibility=hidden -I"$src/shim" -I"$src/include" $shim \
  -o "$OUT/libsockfault.so" -ldl -lpthread -Wl,-z,now

zipdir() { # zip inputs (no notes) of the given directories into $1
  local zip=$1
  shift
  rm -f "$zip"
  local files=()
  local d f
  for d in "$@"; do
    for f in "$d"/*; do [[ -f $f && $f != *.note ]] && files+=("$f"); done
  done
  if command -v zip >/dev/null; then
    zip -q -j "$zip" "${files[@]}"
  else
    python3 -c 'import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w") as z:
    [z.write(f, os.path.basename(f)) for f in sys.argv[2:]]' "$zip" "${files[@]}"
  fi
}
for t in rules request faults; do
  zipdir "$OUT/fuzz_${t}_seed_corpus.zip" "$src/corpus/$t" "$src/corpus/regressions/$t"
done
cp "$src/fuzz/rules.dict" "$OUT/fuzz_rules.dict"
cp "$src/fuzz/request.dict" "$OUT/fuzz_request.dict"
cp "$src/fuzz/request.dict" "$OUT/fuzz_faults.dict"
echo "build.sh: fuzz_rules fuzz_request fuzz_faults and libsockfault.so in $OUT"
