#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds the release tree
# (gcc, -Werror) and the sanitizer tree (clang, ASan+UBSan, fuzz targets), runs ctest in both.
#   scripts/test.sh [--help]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" ]]; then sed -n '2,4p' "$0"; exit 0; fi
scripts/deps.sh
scripts/build.sh release
scripts/build.sh asan
status=0
echo "== ctest: release (gcc) =="
ctest --test-dir build --output-on-failure -j2 || status=1
echo "== ctest: asan+ubsan (clang) =="
ctest --test-dir build-asan --output-on-failure -j2 || status=1
exit $status
