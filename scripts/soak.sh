#!/usr/bin/env bash
# Soak of sockfault-refserver under random faults on every intercepted call (issue 7).
#   scripts/soak.sh [--connections K] [--seconds N] [--prob P] [--seed S]
#                   [--build DIR] [--keep] [--help]
# K connection slots (default 500) kept busy for N seconds (default 30) against the
# refserver of build tree DIR (default build/; an ASan tree such as build-asan/ is
# detected and its refserver run with LeakSanitizer), the shim injecting a documented errno
# into each intercepted call with probability P (default 0.01, seed S) inside a fault window,
# then none. Checks: no crash, no sanitizer report, no wrong reply, every connection cut
# short on a port a fault hit, fds back to the start-up count, RSS within 1 MiB of the
# warm-up's (plain builds), full service after the window, exit 0 after SIGTERM.
# The ctest `refserver_soak` is the short mode; a long run:
#   scripts/soak.sh --connections 2000 --seconds 3600
# Exit status: 0 passed, 1 a check failed, 2 usage (or the tree is not built).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
conns=500 seconds=30 prob=0.01 seed=$RANDOM build=$root/build keep=()
usage() { sed -n '2,14p' "$0"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) conns=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --prob) prob=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --build) build=$(cd "${2:?}" && pwd); shift 2 ;;
    --keep) keep=(--keep); shift ;;
    --help|-h) usage; exit 0 ;;
    *) echo "soak.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $conns =~ ^[0-9]+$ && $conns -ge 1 && $conns -le 4000 ]] ||
  { echo "soak.sh: --connections '$conns': 1..4000" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 1 ]] ||
  { echo "soak.sh: --seconds '$seconds': a whole number, 1 or more" >&2; exit 2; }
for f in bin/sockfault-refserver lib/libsockfault.so bin/rs_load bin/rs_check; do
  [[ -x $build/$f || -f $build/$f ]] ||
    { echo "soak.sh: $build/$f is missing: build the tree first (scripts/build.sh)" >&2; exit 2; }
done
# Two fds per connection (the server's and the client's, in separate processes) plus slack.
need=$((conns + 256))
if [[ $(ulimit -Sn) != unlimited && $(ulimit -Sn) -lt $need ]]; then
  ulimit -Sn "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
fi
echo "soak.sh: $conns connections, $seconds s, prob $prob, seed $seed, ulimit -n $(ulimit -Sn), tree $build"
sanitized=()
if grep -q '^SOCKFAULT_SANITIZE:.*=.*address' "$build/CMakeCache.txt" 2>/dev/null; then
  sanitized=(--sanitized)
fi
exec python3 "$root/tests/soak/soak.py" --server "$build/bin/sockfault-refserver" \
  --shim "$build/lib/libsockfault.so" --load "$build/bin/rs_load" --check "$build/bin/rs_check" \
  --connections "$conns" --seconds "$seconds" --prob "$prob" --seed "$seed" \
  "${sanitized[@]}" "${keep[@]}"
