#!/usr/bin/env python3
"""Load and soak of sockfault-refserver under random injected faults (loopback only).

usage: soak.py --server BIN --shim LIB --load RS_LOAD --check RS_CHECK
               (--requests M | --seconds N) [--connections K] [--prob P] [--seed S]
               [--calls SET] [--per-conn R] [--think MS] [--depth D] [--window-rate R]
               [--rss-tolerance-kb KB] [--sanitized] [--keep]

Two modes:
  --requests M   the load test: K connections at once, M requests in all, faults at prob P
                 on --calls (default accept,accept4,recv,send,setsockopt) for the whole run.
  --seconds N    the soak: K connection slots kept busy for N seconds (paced connections of
                 1..R requests), faults at prob P on --calls (default all) inside a window
                 of intercepted calls: from the first call after start-up to call X (about
                 --window-rate calls a second of the soak), then one marker fault at X+1;
                 once the marker is in the log, no fault is injected any more.

What is checked (any failure: exit 1, with the reason):
  * the server never dies; after SIGTERM it exits 0 within 5 s (--check-fds: an fd left open
    at exit aborts it); no sanitizer report on its stderr;
  * no reply is ever wrong (rs_load: mismatch=0) and no connection stalls (stalled=0);
  * every connection that did not end ok (broken early, connect failed) is on a local port
    that an injected fault named as its peer (the shim log's "peer"); a port that several
    connections used is counted as ambiguous, not as explained;
  * the server's fd count returns to its value right after start-up;
  * the RSS after the load is within --rss-tolerance-kb of the RSS after a warm-up round
    with the same number of connections (not with --sanitized: ASan's quarantine and shadow
    memory make RSS meaningless; LeakSanitizer at exit checks leaks instead);
  * soak: after the fault window, a full protocol check (rs_check) and a fresh round of
    connections are all exact; the load test: rs_check passes (up to 20 tries, since faults
    are still on and may cut any one check's connection: with 3 tries the test failed twice
    in about a dozen CI runs, each try cut by a different fault; a server that stopped
    serving fails all 20).

Every wait is bounded; the server is killed by pid in a finally; the temp dir is removed
(--keep leaves it, with the shim log, the server's stderr and rs_load's reports).
"""
import argparse
import collections
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")
# Calls whose injected failure may cost the connection it concerns.
CUTTING = {"recv", "send", "shutdown", "close", "read", "write", "readv", "writev",
           "recvfrom", "recvmsg", "sendto", "sendmsg"}


class Failed(Exception):
    pass


def log(msg):
    print(f"soak: {msg}", flush=True)


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY or hard >= need else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft != resource.RLIM_INFINITY and soft < need:
        raise Failed(f"RLIMIT_NOFILE is {soft} (hard {hard}); {need} needed")
    return soft


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def read_port(proc, timeout=10.0):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("port="):
        raise Failed(f"the server printed no port line (got {line!r}; exit {proc.poll()})")
    return int(line[5:])


def startup_calls(a, tmp, env):
    """The intercepted calls the server makes before it serves (an unfaulted run)."""
    path = os.path.join(tmp, "startup.log")
    e = dict(env, SOCKFAULT_LOG=path, SOCKFAULT_LOG_LEVEL="all")
    e.pop("SOCKFAULT", None)
    p = subprocess.Popen([a.server, "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e)
    try:
        read_port(p)
        p.send_signal(signal.SIGTERM)
        p.wait(5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    with open(path) as f:
        return [json.loads(line)["call"] for line in f if '"call":' in line]


def run_load(a, port, tmp, name, args, timeout):
    report = os.path.join(tmp, f"{name}.report")
    cmd = [a.load, "--port", str(port), "--report", report] + [str(x) for x in args]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failed(f"{name}: rs_load did not finish within {timeout} s")
    out = r.stdout.decode().strip().splitlines()
    if r.returncode not in (0, 1) or not out or not out[-1].startswith("rs_load:"):
        raise Failed(f"{name}: rs_load exit {r.returncode}: {r.stderr.decode()[-500:]!r}")
    summary = dict(kv.split("=", 1) for kv in out[-1].split()[1:])
    bad, reused = [], set()
    with open(report) as f:
        for line in f:
            parts = line.split(None, 4)
            if parts[1] == "reused":
                reused.add(int(parts[0]))
            else:
                bad.append((int(parts[0]), parts[1], line.strip()))
    log(f"{name}: {out[-1]}")
    return summary, bad, reused


def injected(path):
    """The injected calls of the shim log: counts by call, peer ports, the marker seen."""
    by_call = collections.Counter()
    peers = set()
    unattributed = collections.Counter()
    marker = False
    exit_sockets = None
    with open(path, errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a record being written as we read
            if rec.get("event") == "exit":
                exit_sockets = rec.get("sockets")
            if "call" not in rec or rec.get("injected") is not True:
                continue
            by_call[rec["call"]] += 1
            if rec.get("rule") == 1:
                marker = True
            if "peer" in rec:
                peers.add(rec["peer"])
            elif rec["call"] in CUTTING:
                unattributed[rec["call"]] += 1
    return by_call, peers, unattributed, marker, exit_sockets


def judge_connections(name, summary, bad, reused, peers):
    """Every connection not ok must be on a port an injected fault named."""
    if summary["mismatch"] != "0" or summary["stalled"] != "0":
        wrong = [b[2] for b in bad if b[1] in ("mismatch", "stalled")][:5]
        raise Failed(f"{name}: mismatch={summary['mismatch']} stalled={summary['stalled']}: "
                     + "; ".join(wrong))
    explained = ambiguous = 0
    unexplained = []
    for port, _, text in bad:
        if port in peers and port not in reused:
            explained += 1
        elif port in peers:
            ambiguous += 1
        else:
            unexplained.append(text)
    return explained, ambiguous, unexplained


def wait_fds(pid, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    n = fd_count(pid)
    while n != want and time.monotonic() < deadline:
        time.sleep(0.05)
        n = fd_count(pid)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--check", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--requests", type=int)
    mode.add_argument("--seconds", type=float)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--prob", default="0.01")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--calls")
    ap.add_argument("--per-conn", type=int, default=200)
    ap.add_argument("--think", type=int, default=100)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--window-rate", type=int,
                    help="fault window: this many intercepted calls per second of the soak "
                         "(default 12 per connection: the paced load makes about 15)")
    ap.add_argument("--rss-tolerance-kb", type=int, default=1024)
    ap.add_argument("--sanitized", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    soak = a.seconds is not None
    calls = a.calls or ("all" if soak else "accept,accept4,recv,send,setsockopt")
    k = a.connections

    try:
        nofile = raise_nofile(k + 256)  # per process: the server and rs_load each hold K
    except (Failed, ValueError, OSError) as e:
        log(f"FAIL: {e}")
        return 1
    tmp = tempfile.mkdtemp(prefix="sockfault-soak.")
    env = dict(os.environ, LD_PRELOAD=a.shim)
    for v in ("SOCKFAULT_FILE", "SOCKFAULT_INHERIT"):
        env.pop(v, None)
    if a.sanitized:
        env["ASAN_OPTIONS"] = ("detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:"
                               + env.get("ASAN_OPTIONS", ""))
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:" + env.get("UBSAN_OPTIONS", "")
    proc = None
    errf = None
    t_start = time.monotonic()
    try:
        # Counting is per rule over the calls it matches: skip the start-up ones, so that
        # the server starts (a start-up fault is an exit 1 that explore already proves).
        names = set(calls.split(","))
        first = 1 + sum(1 for c in startup_calls(a, tmp, env) if "all" in names or c in names)
        rule = f"{calls}:error=any:prob={a.prob}:seed={a.seed}"
        if soak:
            last = first + int((a.window_rate or 12 * k) * a.seconds)
            rules = f"{rule}:when={first}..{last};{calls}:error=any:when={last + 1}"
        else:
            rules = f"{rule}:when={first}+"
        shimlog = os.path.join(tmp, "shim.log")
        env.update(SOCKFAULT=rules, SOCKFAULT_LOG=shimlog, SOCKFAULT_LOG_LEVEL="faults")
        log(f"RLIMIT_NOFILE {nofile}; rules '{rules}'")
        errf = open(os.path.join(tmp, "server.stderr"), "w+b")
        proc = subprocess.Popen([a.server, "--port", "0", "--check-fds", "--max-conns",
                                 str(k + 100)], stdout=subprocess.PIPE, stderr=errf,
                                stdin=subprocess.DEVNULL, env=env)
        port = read_port(proc)
        fds0 = fd_count(proc.pid)
        rss_start = rss_kb(proc.pid)

        def alive(when):
            if proc.poll() is not None:
                raise Failed(f"the server died {when}: status {proc.returncode}")

        # Warm-up: the same number of connections at once, so the heap has had its peak.
        common = ["--conns", k, "--depth", a.depth, "--seed", a.seed]
        s, bad, reused = run_load(a, port, tmp, "warm-up", common + ["--requests", k * 10], 120)
        alive("during the warm-up")
        results = [("warm-up", s, bad, reused)]
        if wait_fds(proc.pid, fds0) != fds0:
            raise Failed(f"after the warm-up: {fd_count(proc.pid)} fds, {fds0} at start")
        rss_warm = rss_kb(proc.pid)
        if soak:
            s, bad, reused = run_load(a, port, tmp, "soak", common + [
                "--seconds", a.seconds, "--per-conn", a.per_conn, "--think", a.think,
                "--timeout", 15], a.seconds + 120)
        else:
            s, bad, reused = run_load(a, port, tmp, "load",
                                      common + ["--requests", a.requests], 300)
        results.append(("soak" if soak else "load", s, bad, reused))
        alive("under load")

        if soak:  # drive calls until the window has closed (the marker fault logged)
            deadline = time.monotonic() + 60
            rounds = 0
            while not injected(shimlog)[3]:
                if time.monotonic() > deadline:
                    raise Failed("the fault window did not close within 60 s of extra load")
                rounds += 1
                s, bad, reused = run_load(a, port, tmp, f"drain-{rounds}", common + [
                    "--seconds", 1, "--per-conn", 50], 60)
                results.append((f"drain-{rounds}", s, bad, reused))
                alive("while draining the fault window")
            log(f"fault window closed after {rounds} drain round(s)")

        # After the load: still serving, exactly (faults over in the soak).
        tries = 1 if soak else 20
        for t in range(tries):
            r = subprocess.run([a.check, str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            if r.returncode == 0:
                break
            log(f"rs_check try {t + 1}: {r.stdout.decode().strip()}")
        else:
            raise Failed("rs_check failed after the load: the server stopped serving")
        if soak:
            s, bad, reused = run_load(a, port, tmp, "after", common + ["--requests", k * 10], 120)
            if s["ok"] != s["connections"]:
                raise Failed(f"after the fault window: {s}: {[b[2] for b in bad[:5]]}")
        log("after the load: rs_check exact" + (", a fresh round all ok" if soak else ""))
        alive("after the load")

        fds1 = wait_fds(proc.pid, fds0)
        rss_end = rss_kb(proc.pid)
        if fds1 != fds0:
            raise Failed(f"fds: {fds1} after the load, {fds0} at start")
        log(f"fds: {fds0} at start, {fds1} after the load")
        rss_line = (f"RSS: {rss_start} kB at start, {rss_warm} kB after the warm-up, "
                    f"{rss_end} kB after the load")
        if a.sanitized:
            log(rss_line + " (not judged in a sanitizer build; LeakSanitizer judges at exit)")
        elif rss_end - rss_warm > a.rss_tolerance_kb:
            raise Failed(rss_line + f": grew by more than {a.rss_tolerance_kb} kB")
        else:
            log(rss_line + f" (tolerance {a.rss_tolerance_kb} kB)")

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10 if a.sanitized else 5)
        except subprocess.TimeoutExpired:
            raise Failed("no exit within the limit after SIGTERM")
        errf.seek(0)
        stderr = errf.read().decode(errors="replace")
        marks = [m for m in SANITIZER_MARKS if m in stderr]
        if marks:
            at = stderr.find(marks[0])
            raise Failed(f"sanitizer report: {stderr[max(0, at - 200):at + 1500]}")
        if rc != 0:
            raise Failed(f"exit status {rc} after SIGTERM; stderr tail: {stderr[-800:]!r}")
        log(f"SIGTERM: exit 0 in {time.monotonic() - t0:.2f} s; stderr {len(stderr)} bytes, "
            f"{stderr.count(chr(10))} lines, no sanitizer report")

        by_call, peers, unattributed, marker, exit_sockets = injected(shimlog)
        total = sum(by_call.values())
        log(f"injected faults: {total} (" + ", ".join(f"{c} {n}" for c, n in
                                                       sorted(by_call.items())) + ")")
        if exit_sockets not in (0, None):
            raise Failed(f"the shim's exit record: {exit_sockets} socket(s) open at exit")
        if total == 0:
            raise Failed("no fault was injected: the rules never fired")
        conns = broken = 0
        for name, s, bad, reused in results:
            explained, ambiguous, unexplained = judge_connections(name, s, bad, reused, peers)
            conns += int(s["connections"])
            broken += len(bad)
            log(f"{name}: {s['connections']} connections, {s['ok']} ok, {len(bad)} cut short: "
                f"{explained} on a faulted port, {ambiguous} on a reused faulted port, "
                f"{len(unexplained)} unexplained")
            if unexplained:
                raise Failed(f"{name}: connections cut short without a fault on their port "
                             f"(faults without a peer: {dict(unattributed)}): "
                             + "; ".join(unexplained[:5]))
        log(f"PASS: {conns} connections, {broken} cut short by {total} injected faults, "
            f"none unexplained; {time.monotonic() - t_start:.1f} s")
        return 0
    except Failed as e:
        log(f"FAIL: {e}")
        if errf:
            errf.seek(0)
            tail = errf.read().decode(errors="replace")[-1500:]
            print(f"--- server stderr (tail) ---\n{tail}\n---", flush=True)
        return 1
    finally:
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if errf:
            errf.close()
        if a.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
