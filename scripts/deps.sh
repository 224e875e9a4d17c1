#!/usr/bin/env bash
# Installs the Debian packages sockfault needs that are missing. Idempotent: a machine that
# has them all spends a dpkg-query on it and no network.
#   scripts/deps.sh [--help]
set -euo pipefail
if [[ "${1:-}" == "--help" ]]; then
  sed -n '2,4p' "$0"; exit 0
fi

# build: compilers, cmake; tests: python3, socat and curl (real servers and clients), man-db
# and groff-base (man pages, rendered with man -l), strace and fiu-utils (benchmark
# comparisons), afl++ and the clang runtime (fuzzing), chromium (the HTML report rendered in
# a test), pkg-config (sockfault.pc checked against an installed tree).
packages=(build-essential cmake clang llvm libclang-rt-14-dev python3 socat curl procps
          man-db groff-base strace fiu-utils afl++ chromium pkg-config)

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
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
