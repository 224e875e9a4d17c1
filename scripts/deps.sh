#!/usr/bin/env bash
# Installs the Debian packages sockfault needs that are missing. Idempotent: a machine that
# has them all spends a dpkg-query on it and no network. Waits for the package manager's
# lock (a fresh VM's unattended upgrades hold it at boot) up to DEPS_LOCK_WAIT seconds (900).
#   scripts/deps.sh [main|test] [--help]   main: build and run (scripts/main.sh);
#                                          test (default): that and what the tests need
set -euo pipefail
case "${1:-test}" in
  --help) sed -n '2,6p' "$0"; exit 0 ;;
  main | test) want=${1:-test} ;;
  *) echo "deps: unknown set '$1' (main or test)" >&2; exit 2 ;;
esac

# main: compilers, cmake, python3 (cmake's test set-up needs it), procps.
main_packages=(build-essential cmake python3 procps)
# test: clang and its runtime (the ASan/UBSan/TSan trees, libFuzzer), socat and curl (real
# servers and clients), man-db and groff-base (man pages, rendered with man -l), strace and
# fiu-utils (benchmark comparisons), afl++ (fuzzing), chromium (the HTML report rendered in
# a test), pkg-config (sockfault.pc checked against an installed tree), musl-tools,
# busybox-static and golang-go (static and Go programs for the seccomp backend's tests),
# python3-yaml (docs/ci.md's YAML examples parsed in a test).
test_packages=(clang llvm libclang-rt-14-dev socat curl man-db groff-base strace fiu-utils
               afl++ chromium pkg-config musl-tools busybox-static golang-go python3-yaml)

packages=("${main_packages[@]}")
[[ $want == test ]] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# apt waits for dpkg's lock itself (DPkg::Lock::Timeout); the lists lock of a concurrent
# 'apt-get update' it does not wait for, so that step is retried until the same deadline.
wait_s=${DEPS_LOCK_WAIT:-900} retry_s=${DEPS_RETRY_SECS:-10}
lock=(-o "DPkg::Lock::Timeout=$wait_s")
deadline=$((SECONDS + wait_s))
until $SUDO apt-get "${lock[@]}" update -q; do
  if ((SECONDS >= deadline)); then
    echo "deps: apt-get update still failing after ${wait_s}s" >&2
    exit 1
  fi
  echo "deps: apt-get update failed (another package manager running?); retrying in ${retry_s} s" >&2
  sleep "$retry_s"
done
$SUDO apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" </dev/null
