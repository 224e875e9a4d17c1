#!/usr/bin/env bash
# sockfault explore, unmodified and without a wrapper, on Debian's packaged daemons that
# broke it before issue 19 (opt-in: needs the packages, takes a minute or two):
#   redis-server  /usr/bin/redis-server is a symlink to redis-check-rdb, which picks its
#                 personality from argv[0] (explore used to run the checker: realpath)
#   dnsmasq       closes every inherited fd at start-up (the shim's log used to fall silent:
#                 "never listened")
# Busybox is statically linked on Debian: explore refuses it (nothing could be injected).
#   scripts/real-daemons.sh [--build DIR] [--help]
# Install: apt-get install redis-server redis-tools dnsmasq-base netcat-openbsd
# Exit status: 0 every exploration ran with no findings, 1 otherwise, 2 usage, 77 a package
# is missing (skipped).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --help|-h) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "real-daemons.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
cli=$build/bin/sockfault
[[ -x $cli ]] || { echo "real-daemons.sh: $cli not built (scripts/build.sh)" >&2; exit 2; }
for p in /usr/bin/redis-server /usr/bin/redis-cli /usr/sbin/dnsmasq /usr/bin/nc; do
  [[ -x $p ]] || { echo "real-daemons.sh: $p missing: skipped" >&2; exit 77; }
done
status=0
explore() { # NAME ARGS...: one exploration, its summary, exit 0 wanted
  local name=$1; shift
  echo "== $name"
  if "$cli" explore --jobs 1 --max-per-call 2 --timeout 15 "$@" >"$tmp/$name.out" 2>&1; then
    grep -E '^(findings|summary):' "$tmp/$name.out"
  else
    echo "real-daemons.sh: $name: explore exited $?"; tail -20 "$tmp/$name.out"; status=1
  fi
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/real-daemons.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
explore redis-server --calls socket,bind,listen,accept,accept4,setsockopt \
  --check "redis-cli -p {port} ping | grep -q PONG" \
  -- /usr/bin/redis-server --port {port} --bind 127.0.0.1 --save "" --appendonly no --dir {tmp}
explore dnsmasq --calls socket,bind,listen,setsockopt \
  --check "nc -z -w 2 127.0.0.1 {port}" \
  -- /usr/sbin/dnsmasq -k --port {port} --listen-address 127.0.0.1 --bind-interfaces \
  -C /dev/null --pid-file= --user=root
exit "$status"
