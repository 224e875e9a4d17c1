#!/usr/bin/env bash
# The seccomp backend's cost per trapped call, beside the other ways of arming the same call:
# bare, the preload backend armed, the seccomp backend armed (trapped, decided in user space),
# seccomp with the rule compiled into the filter (SECCOMP_RET_ERRNO), and strace -f -e inject.
# Plus an untrapped system call (getppid) bare and under the seccomp backend. A benchmark,
# not a test: it prints figures, the ratios and whether the goals are met, and judges nothing
# by its exit status.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/seccomp_rate.sh [BUILD_DIR] [CALLS] [ROUNDS]

  BUILD_DIR  a built tree (default: build): bin/sockfault, lib/libsockfault.so, bin/sfbench_sys
  CALLS      calls per measure (default 20000; at most 60000: strace injects up to when=65535)
  ROUNDS     rounds (default 3): every mode once per round, the median is printed

Modes, all on setsockopt(SO_REUSEADDR) in one loop (bench/sysloop.c):
  bare            no tool
  preload-armed   LD_PRELOAD=libsockfault.so, rule setsockopt:error=EINVAL:when=1000000000
  seccomp-armed   sockfault run --backend seccomp, the same rule: every call trapped and
                  decided by the supervisor, then let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
  seccomp-bpf     sockfault run --backend seccomp -e setsockopt:error=EINVAL: compiled into
                  the filter, every call fails in the kernel (no round trip)
  strace          strace -f --seccomp-bpf -e inject=setsockopt:error=EINVAL:when=65535
  notif-floor     the least a notification round trip costs here: a supervisor that only
                  receives each call and lets it continue (bench/notif_floor.c); no seccomp
                  supervisor can be faster, so strace / notif-floor bounds the ratio
and getppid (a system call no rule names) bare and under seccomp-armed.
Goals (issue 16): strace / seccomp-armed >= 5 per trapped call; getppid under seccomp within
a few percent of bare.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

build=${1:-build}
n=${2:-20000}
rounds=${3:-3}
cli=$build/bin/sockfault shim=$build/lib/libsockfault.so loop=$build/bin/sfbench_sys
floor=$build/bin/sfbench_notif_floor
for f in "$cli" "$shim" "$loop" "$floor"; do
  [[ -e $f ]] || { echo "seccomp_rate.sh: $f not found (build first)" >&2; exit 2; }
done
((n <= 60000)) || { echo "seccomp_rate.sh: CALLS must be at most 60000" >&2; exit 2; }
command -v strace >/dev/null || { echo "seccomp_rate.sh: strace not installed" >&2; exit 2; }

armed='setsockopt:error=EINVAL:when=1000000000'
measure() { # MODE CALL -> ns per call
  local mode=$1 call=$2
  case "$mode" in
    bare) env -u LD_PRELOAD "$loop" "$call" "$n" ;;
    preload-armed) env SOCKFAULT="$armed" LD_PRELOAD="$shim" "$loop" "$call" "$n" ;;
    seccomp-armed) "$cli" run --backend seccomp -e "$armed" -- "$loop" "$call" "$n" ;;
    seccomp-bpf) "$cli" run --backend seccomp -e setsockopt:error=EINVAL -- "$loop" "$call" "$n" ;;
    strace) strace -f -qq -o /dev/null --seccomp-bpf -e trace=setsockopt \
              -e inject=setsockopt:error=EINVAL:when=65535 "$loop" "$call" "$n" ;;
    notif-floor) "$floor" "$n" ;;
  esac | awk '{ print $2 }'
}

modes=(bare preload-armed seccomp-armed seccomp-bpf strace notif-floor)
declare -A got
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < ${#modes[@]}; k++)); do # rotated, so load changes fall on all alike
    m=${modes[$(((r + k) % ${#modes[@]}))]}
    got[$m]+="$(measure "$m" setsockopt) "
  done
  got[getppid-bare]+="$(measure bare getppid) "
  got[getppid-seccomp]+="$(measure seccomp-armed getppid) "
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A m
for k in "${!got[@]}"; do m[$k]=$(echo "${got[$k]}" | med); done

echo "seccomp_rate: $n calls per measure, median of $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%-26s %12s %10s\n' "setsockopt under" "ns/call" "x bare"
for k in "${modes[@]}"; do
  printf '%-26s %12.1f %10.1f\n' "$k" "${m[$k]}" "$(awk -v a="${m[$k]}" -v b="${m[bare]}" 'BEGIN { print a / b }')"
done
printf '%-26s %12.1f %10s\n' "getppid bare" "${m[getppid-bare]}" ""
printf '%-26s %12.1f %10.2f\n' "getppid under seccomp" "${m[getppid-seccomp]}" \
  "$(awk -v a="${m[getppid-seccomp]}" -v b="${m[getppid-bare]}" 'BEGIN { print a / b }')"
awk -v s="${m[strace]}" -v c="${m[seccomp-armed]}" -v g="${m[getppid-seccomp]}" -v b="${m[getppid-bare]}" \
    -v f="${m[notif-floor]}" 'BEGIN {
  r = s / c; u = g / b
  printf "strace / seccomp-armed per trapped call: %.1fx (goal >= 5: %s)\n", r, (r >= 5 ? "met" : "NOT met")
  printf "strace / notif-floor: %.1fx (the most any seccomp supervisor could reach here); seccomp-armed / notif-floor: %.2f\n", s / f, c / f
  printf "untrapped getppid under seccomp / bare: %.2f (goal: bare speed, within 10%%: %s)\n", u, (u <= 1.10 ? "met" : "NOT met")
}'
