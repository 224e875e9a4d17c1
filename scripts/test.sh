#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds the release tree
# (gcc, -Werror) and the sanitizer tree (clang, ASan+UBSan, fuzz targets), runs ctest in both,
# then the thread test alone under ThreadSanitizer (build-tsan, only the targets it needs).
#   scripts/test.sh [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" ]]; then sed -n '2,5p' "$0"; exit 0; fi
scripts/deps.sh
scripts/build.sh release
scripts/build.sh asan
status=0
echo "== ctest: release (gcc) =="
ctest --test-dir build --output-on-failure -j2 || status=1
echo "== ctest: asan+ubsan (clang) =="
ctest --test-dir build-asan --output-on-failure -j2 || status=1
echo "== ctest: threadsanitizer (clang; the shim's atomics, label tsan) =="
# A full TSan tree is slow to build and ctest there would run tests TSan cannot host;
# configure it as build.sh does and build only the thread test and the TSan shim copy.
if CC=clang cmake -S . -B build-tsan -DSOCKFAULT_WERROR=ON -DSOCKFAULT_SANITIZE=thread >/dev/null &&
   cmake --build build-tsan -j2 --target rel_threads sockfault_tsan; then
  ctest --test-dir build-tsan --output-on-failure -L tsan || status=1
else
  status=1
fi
exit $status
