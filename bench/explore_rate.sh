#!/usr/bin/env bash
# explore's throughput: failure points per second on a trivial target, beside the bare
# fork+exec+wait rate of the same target, with --jobs 1 and 2. A benchmark, not a test:
# it prints figures and judges nothing.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/explore_rate.sh [BUILD_DIR] [SOCKETS] [REPEAT]

  BUILD_DIR  a configured and built tree (default: build); needs bin/sockfault and
             tests/targets/trivial
  SOCKETS    sockets the trivial target opens and closes (default 8): the points are
             SOCKETS x (socket's 8 errnos + close's 3)
  REPEAT     rounds (default 3): each round runs every measure once (100 bare runs each,
             one exploration per --jobs value), so load changes fall on all alike

Prints, per line: what was measured, runs, seconds, and the rate. The bare rates run the
target directly, without the shim: a shell loop (bash forks itself, a large process: on some
machines that is the slowest way to spawn), a C fork+exec+wait loop, a C vfork+exec+wait loop
(how explore spawns; the fastest), and two C fork loops at once (what a second CPU gives a
spawning loop: the ceiling for --jobs 2). explore's rate counts failure points only (its
baselines are extra runs it also pays for). The last lines are the ratios. The C loops need
a C compiler (cc, or $CC); without one they are left out.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

build=${1:-build}
sockets=${2:-8}
repeat=${3:-3}
cli=$build/bin/sockfault
target=$build/tests/targets/trivial
for f in "$cli" "$target"; do
  [[ -x $f ]] || { echo "explore_rate.sh: $f not found (build first)" >&2; exit 2; }
done

now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%8.1f", (s > 0 ? n / s : 0) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
row() { printf '%-38s %7d %8s %10s\n' "$1" "$2" "$3" "$(rate "$2" "$3")"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.3f", (s > 0 ? n / s : 0) }'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the C loops: MODE (fork|vfork) N PROG ARGS..., each run must exit 0
loop=""
if ${CC:-cc} -O2 -x c -o "$tmp/loop" - 2>/dev/null <<'C'
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(int argc, char **argv)
{
  int vf = argc > 3 && strcmp(argv[1], "vfork") == 0, n = argc > 3 ? atoi(argv[2]) : 0;
  for (int i = 0; i < n; i++) {
    pid_t p = vf ? vfork() : fork();
    if (p == 0) {
      execve(argv[3], argv + 3, environ);
      _exit(127);
    }
    int st;
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      return 1;
  }
  return 0;
}
C
then
  loop=$tmp/loop
fi

# Every measure runs once per round, rounds one after the other, so a change in the machine's
# load falls on all of them alike (as scripts/bench.sh rotates its modes); times are summed.
n=100 # bare runs per measure and round
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
timed() { # VAR CMD...: add CMD's wall time to VAR
  local var=$1 t0 t1; shift
  t0=$(now); "$@"; t1=$(now)
  printf -v "$var" '%s' "$(add "${!var}" "$(secs "$t0" "$t1")")"
}
shell_loop() { for ((i = 0; i < n; i++)); do "$target" "$sockets"; done; }
two_loops() {
  "$loop" fork $((n / 2)) "$target" "$sockets" & local half=$!
  "$loop" fork $((n / 2)) "$target" "$sockets"
  wait "$half"
}
points=(0 0 0)
explore() { # JOBS
  "$cli" explore -q --jobs "$1" --max-per-call "$sockets" --json "$tmp/r.json" \
    -- "$target" "$sockets" || { echo "explore failed (status $?)" >&2; exit 1; }
  points[$1]=$((points[$1] + $(grep -o '"runs":[0-9]*' "$tmp/r.json" | cut -d: -f2)))
}
shell=0 cfork=0 cvfork=0 cpar=0 xs1=0 xs2=0
for ((r = 0; r < repeat; r++)); do
  timed shell shell_loop
  if [[ -n $loop ]]; then
    timed cfork "$loop" fork "$n" "$target" "$sockets"
    timed cvfork "$loop" vfork "$n" "$target" "$sockets"
    timed cpar two_loops
  fi
  timed xs1 explore 1
  timed xs2 explore 2
done
runs=$((n * repeat))
printf '%-38s %7s %8s %10s\n' "measure" "runs" "seconds" "per second"
row "fork+exec+wait, shell loop (no shim)" "$runs" "$shell"
if [[ -n $loop ]]; then
  row "fork+exec+wait, C loop (no shim)" "$runs" "$cfork"
  row "vfork+exec+wait, C loop (no shim)" "$runs" "$cvfork"
  row "2 C fork loops at once (no shim)" $((n / 2 * 2 * repeat)) "$cpar"
fi
xr=()
for jobs in 1 2; do
  xs=xs$jobs
  xr[$jobs]=$(rate "${points[$jobs]}" "${!xs}")
  row "explore --jobs $jobs (failure points)" "${points[$jobs]}" "${!xs}"
done
n=$runs
line="explore --jobs 1 / bare: $(ratio "${xr[1]}" "$(per_s "$n" "$shell")") (shell loop)"
if [[ -n $loop ]]; then
  line+=", $(ratio "${xr[1]}" "$(per_s "$n" "$cfork")") (C fork)"
  line+=", $(ratio "${xr[1]}" "$(per_s "$n" "$cvfork")") (C vfork)"
fi
echo "$line"
line="explore --jobs 2 / --jobs 1: $(ratio "${xr[2]}" "${xr[1]}")"
if [[ -n $loop ]]; then
  par=$(ratio "$(per_s $((n / 2 * 2)) "$cpar")" "$(per_s "$n" "$cfork")")
  line+="; 2 C fork loops at once / 1: $par"
fi
echo "$line"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs)"
