#!/usr/bin/env python3
"""sockfault-refserver under the shim: every documented errno of the calls it makes,
injected once at the 1st and the 2nd call, and (for calls made while serving) at every
call from the 1st on. A smoke version of what `sockfault explore`
does; zero findings expected.

usage: test_faults.py PATH/TO/sockfault-refserver PATH/TO/libsockfault.so PATH/TO/sockfault

The documented errnos come from `sockfault errnos --json` (the shim's own table).

A run whose fault never fired tests nothing: each call the server makes must have fired
(the shim's log, level faults) at its 1st occurrence, or the test fails (a shim that
injected nothing would otherwise pass with zero findings).

A finding is: start-up failing without exit status 1 and a "refserver: <call> ..."
message; or, once serving: no service after the fault (two fresh connections may be
tried after a fault of a call on a connection: it may cost that connection; after an accept
fault, the pending connection itself must be served), a hang at SIGTERM, an exit status other
than 0 (--check-fds aborts on a leaked fd), more than 0.5 s of CPU (a spin), or a flood on
stderr. From-then-on faults need not leave service, only no spin, hang, leak or flood.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

STARTUP = ["socket", "setsockopt", "bind", "listen", "getsockname"]
SERVING = ["accept4", "accept", "recv", "send", "setsockopt", "shutdown", "close"]
# calls listed above that the server never makes: accept4 is its accept (accept's rows are
# kept, so that a server that starts calling accept is tested at once)
NOT_MADE = {"accept"}
TIMEOUT = 3.0


def errno_table(cli):
    out = subprocess.run([cli, "errnos", "--json"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    table = {c["call"]: [e["errno"] for e in c["errnos"]] for c in json.loads(out)}
    missing = [c for c in STARTUP + SERVING if not table.get(c)]
    if missing:
        sys.exit(f"sockfault errnos: no errnos for {missing}")
    return table


def serves(port, tries, timeout=TIMEOUT):
    """PING, ECHO, QUIT on a fresh connection. None if served, else why."""
    why = None
    for _ in range(tries):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.sendall(b"PING\nECHO hi\nQUIT\n")
                buf, deadline = b"", time.monotonic() + timeout
                while time.monotonic() < deadline:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
            if buf == b"+PONG\n+hi\n+BYE\n":
                return None
            why = f"replies {buf!r}"
        except OSError as e:
            why = f"client: {e}"
    return why


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fired(log):
    """Whether the shim's log (level faults) holds an injected call."""
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            return any(json.loads(line).get("injected") is True for line in f if line.strip())
    except (OSError, ValueError):
        return False


def run_one(server, shim, call, err, when, log):
    """None if the server coped, else why; and whether the fault fired."""
    why = judge(server, shim, call, err, when, log)
    return why, fired(log)


def judge(server, shim, call, err, when, log):
    rule = f"{call}:error={err}:when={when}"
    env = dict(os.environ, LD_PRELOAD=shim, SOCKFAULT=rule, SOCKFAULT_LOG=log,
               SOCKFAULT_LOG_LEVEL="faults")
    env.pop("SOCKFAULT_FILE", None)
    p = subprocess.Popen([server, "--port", "0", "--check-fds"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        line = p.stdout.readline().decode()
        if not line.startswith("port="):
            rc = p.wait(TIMEOUT)
            msg = p.stderr.read().decode()
            if rc == 1 and re.search(rf"^refserver: {call}\b.*\({err}\)$", msg, re.M):
                return None
            return f"start-up: exit {rc}, stderr {msg.strip()[:200]!r}"
        problems = []
        # An injected accept failure leaves the connection pending: it must be served.
        # Other faults may cost the connection they hit: then the next must be served.
        if when.endswith("+"):
            # Failing from then on: no service is expected, only no spin, hang or leak.
            serves(int(line[5:]), 1, timeout=0.3)
        else:
            why = serves(int(line[5:]), 1 if call.startswith("accept") else 2)
            if why:
                problems.append(why)
        cpu = cpu_seconds(p.pid)
        if cpu > 0.5:
            problems.append(f"{cpu:.2f} s of CPU")
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append("no exit after SIGTERM")
            rc = None
        msg = p.stderr.read().decode()
        if rc is not None and rc != 0:
            problems.append(f"exit {rc}")
        if len(msg) > 4000:
            problems.append(f"{len(msg)} bytes on stderr")
        return "; ".join(problems) + f" (stderr {msg.strip()[:200]!r})" if problems else None
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    server, shim, cli = sys.argv[1:]
    table = errno_table(cli)
    runs = findings = 0
    hit = set()  # calls whose 1st occurrence a fault fired at
    tmp = tempfile.mkdtemp(prefix="sf-faults.")
    try:
        for call in dict.fromkeys(STARTUP + SERVING):
            for err in table[call]:
                for when in ("1", "2") + (("1+",) if call in SERVING else ()):
                    runs += 1
                    log = os.path.join(tmp, f"{runs}.jsonl")
                    why, did_fire = run_one(server, shim, call, err, when, log)
                    if os.path.exists(log):
                        os.unlink(log)
                    if did_fire and when == "1":
                        hit.add(call)
                    if why:
                        findings += 1
                        print(f"FINDING {call}:error={err}:when={when}: {why}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    unfired = [c for c in dict.fromkeys(STARTUP + SERVING) if c not in hit | NOT_MADE]
    print(f"test_faults: {runs} runs, {findings} findings")
    print(f"{runs - findings} passed, {findings} failed")
    if unfired:
        print(f"FAIL: no fault fired at the 1st call of {', '.join(unfired)}: those runs "
              "tested nothing")
    return 1 if findings or unfired else 0


if __name__ == "__main__":
    sys.exit(main())
