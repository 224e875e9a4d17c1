#!/usr/bin/env bash
# Independent confirmation of what scripts/real-programs.sh found, without sockfault: the
# same faults injected by strace (-e inject=...), the effect measured from /proc and by the
# program's own behaviour. strace cannot lift a fault, so a sustained fault is injected for
# good (when=1+) and measured while it lasts; a burst is when=K..K+1. Loopback only; every
# process started here is stopped by its pid. Prints one verdict line per finding.
set -uo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/real-programs-confirm.sh [--only NAME,...]

  --only LIST   only these confirmations: lighttpd-spin nginx-spin memcached-emfile
                memcached-getpeername memcached-spin socat-accept redis-spin nc-silent
                (default: all)

Needs strace, curl and the programs (scripts/real-programs.sh --install installs them).
For a spin: the server's CPU share over 2 s while every accept4 fails, and the failed
accept4 calls strace saw in that time (strace slows each call down: the rate is a lower
bound). For memcached: whether it serves again within 10 s after one EMFILE, after two in a
row. For nc: its exit status and output when its first socket read fails.
USAGE
}
only=""
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --only) only=$2 ;;
  "") ;;
  *) echo "real-programs-confirm.sh: unknown option '$1'" >&2; exit 2 ;;
esac
command -v strace >/dev/null || { echo "real-programs-confirm.sh: strace is needed" >&2; exit 2; }
wanted() { [[ -z $only || ",$only," == *",$1,"* ]]; }
work=$(mktemp -d "${TMPDIR:-/tmp}/confirm.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
listening() { # PORT: wait up to 5 s for a listener
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# the traced program: strace's child
child_of() { for _ in $(seq 20); do c=$(pgrep -P "$1" | head -1); [[ -n $c ]] && { echo "$c"; return; }; sleep 0.1; done; }

# spin NAME ERRNO PORT -- CMD...: CMD under strace with every accept4 failing with ERRNO;
# one client connects; CPU share and accept4 failures over 2 s.
spin() {
  local name=$1 err=$2 port=$3; shift 4
  local trace="$work/$name-$err.trace"
  strace -f -qq -o "$trace" -e trace=accept4 -e "inject=accept4:error=$err:when=1+" "$@" \
    >/dev/null 2>&1 &
  local st=$!; pids+=("$st")
  local pid; pid=$(child_of "$st")
  if ! listening "$port"; then echo "$name $err: did not listen"; return; fi
  # the probe connection above was accepted by no one; one more, as a client would
  curl -s -m 3 -o /dev/null "http://127.0.0.1:$port/" &
  sleep 0.3
  local t0 n0; t0=$(ticks "$pid"); n0=$(grep -c 'accept4(.*= -1' "$trace")
  sleep 2
  local t1 n1; t1=$(ticks "$pid"); n1=$(grep -c 'accept4(.*= -1' "$trace")
  kill "$st" "$pid" 2>/dev/null; wait "$st" 2>/dev/null
  echo "$name accept4 $err for good (strace): $(( (t1 - t0) * 100 / (2 * hz) ))% of a core" \
       "over 2 s, $(( (n1 - n0) / 2 )) failed accept4/s"
}

if wanted lighttpd-spin && command -v lighttpd >/dev/null; then
  p=$(free_port); mkdir -p "$work/lt"; echo ok >"$work/lt/index.html"
  printf 'server.document-root = "%s"\nserver.bind = "127.0.0.1"\nserver.port = %s\n' \
    "$work/lt" "$p" >"$work/lt/conf"
  for e in EMFILE ENOBUFS; do spin lighttpd "$e" "$p" -- lighttpd -D -f "$work/lt/conf"; done
fi
if wanted nginx-spin && command -v nginx >/dev/null; then
  p=$(free_port); mkdir -p "$work/ng"
  cat >"$work/ng/conf" <<CONF
daemon off; master_process off; pid $work/ng/pid; error_log stderr notice;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $work/ng; proxy_temp_path $work/ng;
  fastcgi_temp_path $work/ng; uwsgi_temp_path $work/ng; scgi_temp_path $work/ng;
  server { listen 127.0.0.1:$p; location / { return 200 "ok\n"; } } }
CONF
  for e in ENOBUFS EMFILE; do spin nginx "$e" "$p" -- nginx -e stderr -p "$work/ng" -c "$work/ng/conf"; done
fi
if wanted redis-spin && command -v redis-server >/dev/null; then
  p=$(free_port)
  for e in ENOBUFS EMFILE; do
    spin redis "$e" "$p" -- redis-server --port "$p" --bind 127.0.0.1 --save '' \
      --appendonly no --dir "$work" --daemonize no
  done
fi
if wanted memcached-spin && command -v memcached >/dev/null; then
  p=$(free_port)
  for e in ENOBUFS ENFILE; do
    spin memcached "$e" "$p" -- memcached -u root -l 127.0.0.1 -p "$p" -U 0 -t 1
  done
fi
# memcached under strace's RULE (e.g. accept4:error=EMFILE:when=1..2): served again (or not)
# within 10 s, one check every 0.5 s after the first
memcached_after() {
  local rule=$1 p; p=$(free_port)
  strace -f -qq -o /dev/null -e "inject=$rule" \
    memcached -u root -l 127.0.0.1 -p "$p" -U 0 -t 1 >/dev/null 2>&1 &
  local st=$!; pids+=("$st")
  local pid; pid=$(child_of "$st")
  sleep 1
  local served=no t0 s0=$SECONDS; t0=$(ticks "$pid")
  for i in $(seq 10); do
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p && printf 'version\r\n' >&3 &&
         IFS= read -r -t 1 l <&3 && [[ \$l == VERSION* ]]" 2>/dev/null; then
      served="yes, at check $i"; break
    fi
    sleep 0.5
  done
  local t1; t1=$(ticks "$pid")
  kill "$st" "$pid" 2>/dev/null; wait "$st" 2>/dev/null
  local secs=$(( SECONDS - s0 > 0 ? SECONDS - s0 : 1 ))
  echo "memcached, strace -e inject=$rule: served within 10 s: $served;" \
       "its CPU meanwhile $(( (t1 - t0) * 100 / (hz * secs) ))% of a core"
}
if wanted memcached-emfile && command -v memcached >/dev/null; then
  memcached_after accept4:error=EMFILE:when=1
  memcached_after accept4:error=EMFILE:when=1..2
  memcached_after accept4:error=EMFILE:when=1+
  memcached_after accept4:error=ENOBUFS:when=1..2
fi
if wanted memcached-getpeername && command -v memcached >/dev/null; then
  memcached_after getpeername:error=ENOTCONN:when=1
fi
if wanted socat-accept && command -v socat >/dev/null; then
  p=$(free_port)
  out=$(timeout 10 strace -f -qq -o /dev/null -e inject=accept:error=EMFILE:when=1 \
          socat "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork" EXEC:/bin/cat 2>&1 &
        sleep 1; (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; wait)
  echo "socat TCP-LISTEN,fork, strace -e inject=accept:error=EMFILE:when=1: $(echo "$out" |
    tail -n 1 | cut -c1-160); still listening after: $( (exec 3<>"/dev/tcp/127.0.0.1/$p") \
    2>/dev/null && echo yes || echo no)"
fi
if wanted nc-silent && command -v nc >/dev/null && command -v socat >/dev/null; then
  p=$(free_port)
  socat "TCP-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork" 'SYSTEM:echo hello from the peer' &
  pids+=($!); listening "$p"
  # which read(2) is the first on the socket: the loader and stdin are read too
  strace -qq -o "$work/nc.trace" -e trace=read,connect nc -N -w 4 127.0.0.1 "$p" </dev/null \
    >/dev/null
  n=$(awk '/^connect\(.*AF_INET/ { c = 1 } /^read\(/ { n++; if (c && $0 !~ /^read\(0,/) { print n; exit } }' \
        "$work/nc.trace")
  base=$(nc -N -w 4 127.0.0.1 "$p" </dev/null; echo "exit $?")
  for e in ECONNRESET EIO; do
    out=$(strace -qq -o /dev/null -e "inject=read:error=$e:when=$n" nc -N -w 4 127.0.0.1 "$p" \
            </dev/null 2>&1; echo "exit $?")
    echo "nc, its first socket read (read #$n) failing with $e (strace): $(echo "$out" | tr '\n' ' ');" \
         "unfaulted: $(echo "$base" | tr '\n' ' ')"
  done
fi
