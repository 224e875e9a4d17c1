#!/usr/bin/env bash
# sockfault explore on real programs from Debian's packages, with every point kind (once,
# burst, sustained): five servers and four clients, on loopback only, each exploration bounded
# (--max-per-call, --timeout, --window). Debian's busybox is linked statically: no preload
# reaches it, so it serves here only as a peer. Opt-in: not part of ctest (minutes, and it needs the
# packages). docs/real-programs.md holds the results of a run and how each finding was
# confirmed independently.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/real-programs.sh [--build DIR] [--out DIR] [--only NAME,...] [--jobs N]
                                [--max-per-call N] [--window SECS] [--install]

  --build DIR         a built tree with bin/sockfault (default: build)
  --out DIR           where the reports go: NAME.txt (the matrix and findings), NAME.json
                      (default: real-programs-out)
  --only LIST         only these programs (default: all of them):
                      servers nginx lighttpd memcached redis socat busybox-httpd (static:
                      through the seccomp backend),
                      clients curl wget nc redis-cli
  --jobs N            explore --jobs (default 2)
  --max-per-call N    explore --max-per-call (default 2)
  --window SECS       explore --window (default 2)
  --install           apt-get install the Debian packages first (nginx-light lighttpd
                      memcached redis-server socat busybox curl wget netcat-openbsd)

Every server listens on 127.0.0.1 only, on the port explore gives it; each client talks to a
peer this script starts on a free loopback port (busybox httpd, socat, redis-server, outside
the shim) and stops by its pid when done. Exit status 0 when every exploration ran (findings
or not), 1 when one could not run (a program missing: it is named).
USAGE
}

build=build out=real-programs-out only="" jobs=2 max=2 window=2 install=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --max-per-call) max=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --install) install=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "real-programs.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
cli=$(realpath "$build/bin/sockfault" 2>/dev/null) || { echo "real-programs.sh: $build/bin/sockfault not found (build first)" >&2; exit 2; }
if ((install)); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light lighttpd memcached \
    redis-server socat busybox curl wget netcat-openbsd
fi
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d "${TMPDIR:-/tmp}/real-programs.XXXXXX")
peers=()
cleanup() {
  for p in "${peers[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${peers[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wanted() { [[ -z $only || ",$only," == *",$1,"* ]]; }
status=0

# explore NAME [explore options] -- PROG ARGS: the report into $out/NAME.{txt,json}
explore() {
  local name=$1; shift
  local start=$SECONDS rc=0
  echo "== $name"
  "$cli" explore --jobs "$jobs" --max-per-call "$max" --window "$window" --timeout 5 \
    --json "$out/$name.json" "$@" >"$out/$name.txt" 2>"$out/$name.err" || rc=$?
  if ((rc > 1)); then
    echo "   explore exited $rc: $(tail -n 3 "$out/$name.err")"
    status=1
  fi
  echo "   $(grep -m1 '^summary:' "$out/$name.txt" || echo 'no summary') ($((SECONDS - start)) s)"
}

need() {
  command -v "$1" >/dev/null && return 0
  echo "== $2: $1 not installed (try --install)"
  status=1
  return 1
}

# A line-protocol check over bash's /dev/tcp: send a line, the reply's first line must start
# with the expected text.
cat >"$work/linecheck" <<'CHECK'
#!/bin/bash
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
printf '%s\r\n' "$2" >&3
IFS= read -r -t 4 line <&3 || exit 1
[[ $line == "$3"* ]]
CHECK
chmod +x "$work/linecheck"
tcp_check() { printf '%s {port} %s %s' "$work/linecheck" "$1" "$2"; }

# The servers. A program that reads a config file gets it from a template filled in per run
# ({port}, {tmp}) by a shell that then execs it (the shell makes no socket call).
cat >"$work/nginx.conf" <<'CONF'
daemon off;
master_process off;
worker_processes 1;
pid @TMP@/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path @TMP@; proxy_temp_path @TMP@; fastcgi_temp_path @TMP@;
  uwsgi_temp_path @TMP@; scgi_temp_path @TMP@;
  server { listen 127.0.0.1:@PORT@; location / { return 200 "ok\n"; } }
}
CONF
cat >"$work/lighttpd.conf" <<'CONF'
server.document-root = "@TMP@"
server.bind = "127.0.0.1"
server.port = @PORT@
server.max-fds = 64
CONF
templ='sed "s|@PORT@|$1|g; s|@TMP@|$2|g" "$3" >"$2/conf" && echo ok >"$2/index.html" && shift 3 && exec "$@"'
http_check="curl -sf -m 4 -o /dev/null http://127.0.0.1:{port}/index.html"

if wanted nginx && need nginx nginx; then
  explore nginx --check "$http_check" -- /bin/sh -c "$templ" sh {port} {tmp} "$work/nginx.conf" \
    nginx -e stderr -p {tmp} -c {tmp}/conf
fi
if wanted lighttpd && need lighttpd lighttpd; then
  explore lighttpd --check "$http_check" -- /bin/sh -c "$templ" sh {port} {tmp} \
    "$work/lighttpd.conf" lighttpd -D -f {tmp}/conf
fi
if wanted memcached && need memcached memcached; then
  explore memcached --check "$(tcp_check version VERSION)" -- memcached -u root -l 127.0.0.1 \
    -p {port} -U 0 -t 1 -c 64
fi
if wanted redis && need redis-server redis; then
  # redis-server is a symlink to redis-check-rdb, which picks its personality from argv[0]:
  # explore runs PROG by the path given, with that argv[0] (issue 19), so no wrapper
  explore redis --check "$(tcp_check PING +PONG)" -- redis-server \
    --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {tmp} --daemonize no \
    --maxclients 64
fi
if wanted socat && need socat socat; then
  explore socat --check "$(tcp_check hello hello)" -- socat \
    TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat
fi
if wanted busybox-httpd && need busybox busybox-httpd; then
  # Debian's busybox is static: --backend auto explores it through seccomp; httpd forks a
  # child per connection, so explore counts over the process tree (:per=tree)
  mkdir -p "$work/bbwww" && echo ok >"$work/bbwww/index.html"
  explore busybox-httpd --check "$http_check" -- busybox httpd -f -p 127.0.0.1:{port} \
    -h "$work/bbwww"
fi
# The clients, each against a peer of its own started here (not under the shim).
start_peer() { "$@" >/dev/null 2>&1 & peers+=($!); sleep 0.3; }
if wanted curl || wanted wget; then
  mkdir -p "$work/www" && printf 'hello from the peer\n' >"$work/www/index.html"
  hport=$(free_port)
  start_peer busybox httpd -f -p "127.0.0.1:$hport" -h "$work/www"
  if wanted curl && need curl curl; then
    explore curl -- curl -sS -m 4 "http://127.0.0.1:$hport/index.html"
  fi
  if wanted wget && need wget wget; then
    explore wget -- wget -q -T 4 -t 1 -O - "http://127.0.0.1:$hport/index.html"
  fi
fi
if wanted nc && need nc nc; then
  eport=$(free_port)
  start_peer socat "TCP-LISTEN:$eport,bind=127.0.0.1,reuseaddr,fork" 'SYSTEM:echo hello from the peer'
  explore nc -- nc -N -w 4 127.0.0.1 "$eport"
fi
if wanted redis-cli && need redis-cli redis-cli; then
  rport=$(free_port)
  start_peer redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" --daemonize no
  explore redis-cli -- redis-cli -p "$rport" ping
fi
echo "reports in $out"
exit "$status"
