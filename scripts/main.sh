#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs `sockfault explore` against the
# reference server — every socket call it makes while serving a client that uses every
# command, every occurrence up to 8, every documented errno — and prints the matrix.
#   scripts/main.sh [--help] [extra explore options, e.g. --jobs 1 --json report.json]
# Exit status is explore's: 0 no findings, 1 findings, >= 2 could not judge.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--help" ]]; then sed -n '2,6p' "$0"; exit 0; fi
scripts/deps.sh main
scripts/build.sh release >/dev/null
exec build/bin/sockfault explore --max-per-call 8 \
  --fail-on crash,sanitizer,hang,spin,no-recovery,silent,stopped-serving,mute-exit,request-lost,request-stalled,fd-leak \
  --check "build/bin/rs_check {port}" "$@" \
  -- build/bin/sockfault-refserver --listen 127.0.0.1:{port}
