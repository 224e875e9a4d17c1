#!/usr/bin/env bash
# The shim's cost beside a bare call, a minimal dlsym wrapper, libfiu and strace: builds what it
# needs, installs the comparison tools if missing, runs every loop under every mode (modes
# interleaved within each repetition), and prints one table: loop x mode, ns/op, ratio to bare.
#   scripts/bench.sh [--quick] [--reps N] [--ms N] [--build DIR] [--no-build] [--no-install]
#                    [--pin CPU] [--no-callgrind] [--no-explore] [--raw FILE]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [OPTIONS]

  --quick         a smoke run of a few seconds: 1 repetition, 5 ms per loop, no callgrind,
                  no explore (CI runs this to prove the benchmark still works)
  --reps N        repetitions; every mode runs once per repetition, in rotated order (default 9)
  --ms N          time budget per loop and process, in ms (default 100)
  --build DIR     build tree (default build-bench, Release)
  --no-build      use DIR as it is (ctest passes its own tree)
  --no-install    never apt-get the comparison tools (fiu-utils, strace, valgrind)
  --pin CPU       run every measured process under taskset -c CPU
  --no-callgrind  skip the instruction counts (valgrind --tool=callgrind)
  --no-explore    skip explore's throughput and the reference server's exploration
  --raw FILE      keep the raw per-run lines in FILE
  -h, --help      this text

Modes: bare; minimal (a dlsym(RTLD_NEXT) tail-call wrapper, bench/minimal_wrap.c); shim
(libsockfault.so, no rules); armed (a rule on the loop's calls, when=1000000000); port (a rule
on the loop's calls with a port=1 filter that matches none of them); logall (no rules,
SOCKFAULT_LOG at level all: every call one record); libfiu (fiu-run -x, the loop's failure
points enabled with probability 0); strace (-f --seccomp-bpf, inject on the loop's syscalls,
when=65535: strace's largest); stracelog (strace -f --seccomp-bpf tracing the loop's syscalls
into a file: strace's log of every call, beside logall). An op is one loop iteration.
ratio and "-min" are the medians of per-repetition ratios to bare and differences from minimal.
EOF
}

quick=0 reps=9 ms=100 build=build-bench do_build=1 install=1 pin="" callgrind=1 explore=1 raw=""
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps=$2; shift ;;
    --ms) ms=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --no-install) install=0 ;;
    --pin) pin=$2; shift ;;
    --no-callgrind) callgrind=0 ;;
    --no-explore) explore=0 ;;
    --raw) raw=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then reps=1 ms=5 callgrind=0 explore=0; fi

# --- tools --------------------------------------------------------------------------------
need=()
command -v fiu-run >/dev/null || need+=(fiu-utils)
command -v strace >/dev/null || need+=(strace)
((callgrind)) && ! command -v valgrind >/dev/null && need+=(valgrind)
if ((${#need[@]})); then
  if ((install)); then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
    echo "bench: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null ||
      { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null; }
  else
    echo "bench.sh: missing ${need[*]} (run without --no-install, or scripts/deps.sh)" >&2
    exit 1
  fi
fi

# --- build --------------------------------------------------------------------------------
if ((do_build)); then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  targets=(sockfault sfbench sfbench_null_drv sfbench_min)
  ((explore)) && targets+=(sockfault-cli sockfault-refserver trivial ping_client)
  cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
fi
build=$(cd "$build" && pwd)
bin=$build/bin lib=$build/lib
shim=$lib/libsockfault.so minimal=$lib/libsfbench_min.so
for f in "$bin/sfbench" "$bin/sfbench_null" "$shim" "$minimal"; do
  [[ -e $f ]] || { echo "bench.sh: $f not built" >&2; exit 2; }
done

# --- what each loop calls, per tool -------------------------------------------------------
loops=(setsockopt getsockopt socket_close bind_close connect_accept send_recv null)
modes=(bare minimal shim armed port logall libfiu strace stracelog)
declare -A calls=([setsockopt]=setsockopt [getsockopt]=getsockopt [socket_close]=socket,close
  [bind_close]=bind,close [connect_accept]=connect,accept [send_recv]=send,recv [null]=send)
# x86_64 glibc: send and recv are the sendto and recvfrom syscalls.
declare -A syscalls=([setsockopt]=setsockopt [getsockopt]=getsockopt [socket_close]=socket,close
  [bind_close]=bind,close [connect_accept]=connect,accept [send_recv]=sendto,recvfrom [null]=sendto)
# libfiu has no failure point for setsockopt/getsockopt (it does not wrap them): the nearest
# one is armed, so those loops see libfiu's preload but no wrapper.
declare -A fiupoints=([setsockopt]=posix/io/net/socket [getsockopt]=posix/io/net/socket
  [socket_close]="posix/io/net/socket posix/io/oc/close" [bind_close]="posix/io/net/bind posix/io/oc/close"
  [connect_accept]="posix/io/net/connect posix/io/net/accept" [send_recv]="posix/io/net/send posix/io/net/recv"
  [null]=posix/io/net/send)

taskset=(); [[ -n $pin ]] && taskset=(taskset -c "$pin")
pre=() # a command between the tool's wrapper and sfbench (valgrind, for instruction counts)

# run MODE LOOP ARGS...: the sfbench command for that mode, with ARGS
run() {
  local mode=$1 loop=$2; shift 2
  local prog=$bin/sfbench
  [[ $loop == null ]] && prog=$bin/sfbench_null
  case "$mode" in
    bare) env -u LD_PRELOAD -u SOCKFAULT "${taskset[@]}" "${pre[@]}" "$prog" "$@" ;;
    minimal) env -u SOCKFAULT LD_PRELOAD="$minimal" "${taskset[@]}" "${pre[@]}" "$prog" "$@" ;;
    shim) env -u SOCKFAULT LD_PRELOAD="$shim" "${taskset[@]}" "${pre[@]}" "$prog" "$@" ;;
    armed) env SOCKFAULT="${calls[$loop]}:error=any:when=1000000000" LD_PRELOAD="$shim" \
             "${taskset[@]}" "${pre[@]}" "$prog" "$@" ;;
    port) env SOCKFAULT="${calls[$loop]}:error=any:port=1:when=1000000000" LD_PRELOAD="$shim" \
            "${taskset[@]}" "${pre[@]}" "$prog" "$@" ;;
    logall)
      rm -f "$tmp/log.jsonl"
      env -u SOCKFAULT SOCKFAULT_LOG="$tmp/log.jsonl" SOCKFAULT_LOG_LEVEL=all LD_PRELOAD="$shim" \
        "${taskset[@]}" "${pre[@]}" "$prog" "$@"
      rm -f "$tmp/log.jsonl" ;;
    libfiu)
      local c=() p
      for p in ${fiupoints[$loop]}; do c+=(-c "enable_random name=$p,probability=0"); done
      env -u LD_PRELOAD "${taskset[@]}" fiu-run -x -f "" "${c[@]}" "${pre[@]}" "$prog" "$@" ;;
    strace)
      local s=${syscalls[$loop]}
      env -u LD_PRELOAD "${taskset[@]}" strace -f -qq -o /dev/null --seccomp-bpf -e trace="$s" \
        -e inject="$s:error=EIO:when=65535" "$prog" --max-ops 60000 "$@" ;;
    stracelog)
      env -u LD_PRELOAD "${taskset[@]}" strace -f -qq -o "$tmp/strace.out" --seccomp-bpf \
        -e trace="${syscalls[$loop]}" "$prog" "$@"
      rm -f "$tmp/strace.out" ;;
  esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=${raw:-$tmp/raw}
: >"$out"
echo "bench: $reps repetition(s), ${ms} ms per loop and process; load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs" >&2

# --- timing: per loop, each repetition runs every mode once, starting at a rotating mode ---
nm=${#modes[@]}
for loop in "${loops[@]}"; do
  for ((r = 0; r < reps; r++)); do
    for ((k = 0; k < nm; k++)); do
      mode=${modes[$(((r + k) % nm))]}
      line=$(run "$mode" "$loop" --ms "$ms" "$loop") ||
        { echo "bench.sh: $loop under $mode failed" >&2; exit 1; }
      echo "time $loop $mode $r $line" >>"$out"
    done
  done
done

# --- instructions per op: callgrind counts user-space instructions, free of the noise -------
if ((callgrind)); then
  for loop in "${loops[@]}"; do
    n=20000
    case "$loop" in socket_close|bind_close) n=3000 ;; connect_accept) n=1000 ;; null) n=200000 ;; esac
    for mode in bare minimal shim armed port logall libfiu; do
      # the wrappers' preload reaches valgrind, which hands it to the program
      pre=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null)
      run "$mode" "$loop" --fixed "$n" "$loop" >"$tmp/cg.log" 2>&1 || true
      pre=()
      ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/cg.log" | tail -1)
      [[ -n $ir ]] && echo "ir $loop $mode $ir $n" >>"$out"
    done
  done
fi

# --- memory: VmRSS with and without each tool (after one pass over every loop) -------------
for ((r = 0; r < (quick ? 1 : 5); r++)); do
  for mode in "${modes[@]}"; do
    line=$(run "$mode" socket_close --mem) || { echo "bench.sh: --mem under $mode failed" >&2; exit 1; }
    echo "$line" | sed "s/^mem /mem $mode /" >>"$out"
  done
done

# --- explore's throughput (bench/explore_rate.sh) and the reference server's exploration ----
if ((explore)); then
  bench/explore_rate.sh "$build" 8 3 | sed 's/^/xr /' >>"$out"
  t0=$(date +%s.%N)
  (cd "$tmp" && "$bin/sockfault" explore -q --json "$tmp/ref.json" \
     --check "$build/tests/targets/ping_client {port}" -- "$bin/sockfault-refserver" --port '{port}') ||
    echo "bench.sh: the reference server's exploration exited $?" >&2
  t1=$(date +%s.%N)
  runs=$(grep -o '"runs":[0-9]*' "$tmp/ref.json" | head -1 | cut -d: -f2)
  echo "ref $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') ${runs:-?}" >>"$out"
fi

# --- the table --------------------------------------------------------------------------
python3 - "$out" "${modes[*]}" "${loops[*]}" <<'PY'
import statistics as st, sys
raw, modes, loops = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
t, ir, mem, xr, ref = {}, {}, {}, [], None
for f in (l.split() for l in open(raw)):
    if f[0] == "time":  # time LOOP MODE REP LOOP median min allocs ops
        t[(f[1], f[2], int(f[3]))] = (float(f[5]), float(f[6]), float(f[7]))
    elif f[0] == "ir":
        ir[(f[1], f[2])] = int(f[3]) / int(f[4])
    elif f[0] == "mem":
        mem.setdefault(f[1], []).append((int(f[2]), int(f[3]), int(f[4])))
    elif f[0] == "xr":
        xr.append(" ".join(f[1:]))
    elif f[0] == "ref":
        ref = f[1:]
reps = sorted({k[2] for k in t})
med = lambda xs: st.median(xs) if xs else float("nan")

def cell(loop, mode):
    rs = [r for r in reps if (loop, mode, r) in t]
    m = med([t[loop, mode, r][0] for r in rs])
    lo = min(t[loop, mode, r][1] for r in rs)
    ratio = med([t[loop, mode, r][0] / t[loop, "bare", r][0] for r in rs])
    dmin = med([t[loop, mode, r][0] - t[loop, "minimal", r][0] for r in rs])
    allocs = max(t[loop, mode, r][2] for r in rs)
    return m, lo, ratio, dmin, allocs

print("| loop | mode | ns/op median | ns/op min | ratio to bare | ns -minimal | allocs/op | Ir/op |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
cells = {}
for loop in loops:
    for mode in modes:
        c = cells[loop, mode] = cell(loop, mode)
        i = ir.get((loop, mode))
        print(f"| {loop} | {mode} | {c[0]:.1f} | {c[1]:.1f} | {c[2]:.3f} | {c[3]:+.1f} | "
              f"{c[4]:.2f} | {'%.1f' % i if i is not None else 'n/a'} |")
print()
print(f"{len(reps)} repetition(s); median of per-process medians of 7 batches; ratio and -minimal"
      " are medians of per-repetition ratios/differences (modes run side by side).")
print("Ir/op: user-space instructions per op under callgrind (strace: n/a, its cost is in the"
      " tracer and the kernel; a system call the shim makes for itself counts a few, its cost is"
      " in the kernel: see the ratios).")
if mem:
    bare = med([m[0] for m in mem.get("bare", [])])
    print()
    banon = med([m[1] for m in mem.get("bare", [])])
    print("| mode | VmRSS kB | delta vs bare kB | RssAnon kB | delta vs bare kB | tool mappings Rss kB |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in modes:
        if mode in mem:
            r, a, k = (med([m[i] for m in mem[mode]]) for i in range(3))
            print(f"| {mode} | {r:.0f} | {r - bare:+.0f} | {a:.0f} | {a - banon:+.0f} | {k:.0f} |")
if xr:
    print()
    print("explore throughput (bench/explore_rate.sh BUILD 8 3):")
    for l in xr:
        print("   ", l)
if ref:
    print(f"reference server, full exploration (sockfault explore --check ping_client): {ref[0]} s wall, {ref[1]} runs")

def goal(name, ok, misses=()):
    why = f" (not on: {', '.join(misses)})" if misses else ""
    print(f"goal {'met    ' if ok else 'NOT met'}: {name}{why}")

def every(name, test):
    misses = [l for l in real if not test(l)]
    goal(name, not misses, misses)
print()
real = [l for l in loops if l != "null"]
every("shim pass-through within 5 % of bare on every loop", lambda l: cells[l, "shim"][2] <= 1.05)
goal("shim pass-through within 2 ns of the minimal wrapper (null loop: interposition alone)",
     cells["null", "shim"][3] <= 2)
every("armed within 10 % of bare on every loop", lambda l: cells[l, "armed"][2] <= 1.10)
def some(name, loops_, test):
    misses = [l for l in loops_ if not test(l)]
    goal(name + " (" + ", ".join(loops_) + ")", not misses, misses)
some("a port= filter that does not match within 10 % of bare", ["setsockopt", "socket_close"],
     lambda l: cells[l, "port"][2] <= 1.10)
some("the log at level all within 2x bare", ["setsockopt"],
     lambda l: cells[l, "logall"][2] <= 2.0)
every("the log at level all faster than strace's log of the same calls",
      lambda l: cells[l, "logall"][0] < cells[l, "stracelog"][0])
for tool in ("libfiu", "strace"):
    every(f"armed faster than {tool} on every loop",
          lambda l: cells[l, "armed"][0] < cells[l, tool][0])
goal("no heap allocation per call (shim, armed, port, logall)",
     all(cells[l, m][4] == 0 for l in loops for m in ("shim", "armed", "port", "logall")))
if mem:
    goal("less than 64 KiB private memory (RssAnon) added (shim, armed)",
         all(med([m[1] for m in mem[m]]) - banon < 64 for m in ("shim", "armed")))
    goal("less than 64 KiB resident in the shim's own mappings (shim, armed)",
         all(med([m[2] for m in mem[m]]) < 64 for m in ("shim", "armed")))
PY
