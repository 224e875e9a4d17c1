#!/usr/bin/env bash
# Configures and builds one tree.
#   scripts/build.sh [release|asan|tsan]   (default: release)
#     release  build/       gcc, -Werror
#     asan     build-asan/  clang, ASan+UBSan on executables and tests, libFuzzer targets
#     tsan     build-tsan/  clang, ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
jobs=$(nproc 2>/dev/null || echo 2)
case "$kind" in
  release) dir=build; cc=${CC:-gcc}; extra=() ;;
  asan) dir=build-asan; cc=clang; extra=(-DSOCKFAULT_SANITIZE=address,undefined -DSOCKFAULT_FUZZERS=ON) ;;
  tsan) dir=build-tsan; cc=clang; extra=(-DSOCKFAULT_SANITIZE=thread) ;;
  --help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown kind '$kind' (release, asan or tsan)" >&2; exit 2 ;;
esac
CC=$cc cmake -S . -B "$dir" -DSOCKFAULT_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir" -j"$jobs"
