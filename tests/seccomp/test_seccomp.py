#!/usr/bin/env python3
"""The seccomp backend, end to end: run and explore on programs LD_PRELOAD cannot reach.

Static C programs (gcc -static, musl-gcc -static), a raw syscall(SYS_socket), busybox's nc
and a Go server and client are faulted through `sockfault run`; each must get the faults
the rules name (and the log the shim writes), and none it does not. A missing toolchain or
program (musl-gcc, go, busybox-static: scripts/deps.sh installs them) fails its part; all of
it is skipped only when the kernel refuses seccomp user notification (exit 77).

Environment: SF_CLI, SF_SECCOMP_BIN (this directory's build), SF_TARGETS (tests/targets).
"""
import json
import os
import select
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

CLI = os.environ.get("SF_CLI", "")
BIN = os.environ.get("SF_SECCOMP_BIN", "")
TARGETS = os.environ.get("SF_TARGETS", "")


# scripts/deps.sh installs every tool these tests build with: one missing is a failure (a
# skip would let the suite pass with the static and Go programs never faulted)
MISSING = "%s not installed: scripts/deps.sh installs it"


def prog(name):
    return os.path.join(BIN, name)


def have(path):
    return os.path.exists(path) and os.access(path, os.X_OK)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout=60):
    p = subprocess.run([CLI, "run"] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def busybox_static():
    bb = shutil.which("busybox")
    if not bb:
        return None
    with open(bb, "rb") as f:
        head = f.read(4096)
    return bb if b"ld-linux" not in head else None


def wait_listening(port, proc, seconds=10):
    """True once 127.0.0.1:port accepts a connection; False if proc ended or time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A server on a free loopback port, killed by pid at the end."""

    def __init__(self, argv):
        self.port = free_port()
        self.p = subprocess.Popen([a.replace("{port}", str(self.port)) for a in argv],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_listening(self.port, self.p):
            self.close()
            raise AssertionError("server did not start: %r" % argv)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=10)


class Run(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sf-seccomp-test.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_preload_refuses_static(self):
        rc, _, err = run(["--backend", "preload", "-e", "socket:error=EMFILE", "--",
                          prog("raw_socket_static")])
        self.assertEqual(rc, 5, err)
        self.assertIn("statically linked", err)

    def test_bad_backend(self):
        rc, _, err = run(["--backend", "ptrace", "--", prog("raw_socket_static")])
        self.assertEqual(rc, 2)
        self.assertIn("'ptrace'", err)

    def test_static_counted(self):
        """when=3..4 under auto: the 3rd socket and the raw 4th, and the log."""
        log = os.path.join(self.tmp, "log")
        rc, out, err = run(["--log", log, "-e", "socket:error=EMFILE:when=3..4", "--",
                            prog("raw_socket_static")])
        self.assertEqual(rc, 0, err)
        self.assertIn("statically linked: --backend auto chose seccomp", err)
        self.assertEqual(out.split("\n")[:4], ["socket 1: ok", "socket 2: ok",
                                               "socket 3: EMFILE", "socket 4: EMFILE"])
        recs = records(log)
        calls = [r for r in recs if r.get("call") == "socket"]
        self.assertEqual([(r["n"], r["injected"]) for r in calls],
                         [(1, False), (2, False), (3, True), (4, True)])
        self.assertEqual(calls[3]["type"], "dgram")
        self.assertEqual(calls[2]["errno"], "EMFILE")
        self.assertTrue(all(r["site"].startswith("raw_socket_static+0x") for r in calls))
        events = [r["event"] for r in recs if "event" in r]
        self.assertEqual(events, ["start", "exit"])
        self.assertEqual(recs[-1]["sockets"], 0)  # the 4th failed: nothing left open
        self.assertEqual(recs[-1]["injected"], 2)

    def test_compiled_rule(self):
        """A rule with no count or filter, no log: SECCOMP_RET_ERRNO in the filter."""
        rc, out, err = run(["-e", "socket:error=EACCES", "--", prog("raw_socket_static")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split("\n")[:4], ["socket %d: EACCES" % i for i in range(1, 5)])

    def test_only_the_rules_calls_trapped(self):
        """Without --log only the calls the rules name are trapped: with the supervisor
        stopped, the program's setsockopt, read and write still run (every call of the table
        was trapped when no log was asked for, each a round trip)."""
        code = ("import socket, sys\n"
                "s = socket.socket()\n"
                "print('ready', flush=True)\n"
                "sys.stdin.readline()\n"
                "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                "print('done', flush=True)\n")
        p = subprocess.Popen([CLI, "run", "--backend", "seccomp", "-e",
                              "socket:error=EMFILE:when=99", "--", sys.executable, "-c", code],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "ready\n")
            os.kill(p.pid, signal.SIGSTOP)  # the supervisor answers nothing now
            p.stdin.write("go\n")
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 5)
            line = p.stdout.readline() if ready else ""
        finally:
            os.kill(p.pid, signal.SIGCONT)
            p.stdin.close()
            p.wait(timeout=30)
            p.stdout.close()
        self.assertEqual(line, "done\n", "a call no rule names waited for the supervisor")
        self.assertEqual(p.returncode, 0)

    def test_io_uring_is_reported(self):
        """io_uring is out of reach: its set-up is let through and said on stderr."""
        rc, out, err = run(["-e", "socket:error=EMFILE:when=5", "--", prog("uring_probe_static")])
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("uring: "), out)
        self.assertIn("sets up io_uring: socket operations submitted through it are out of "
                      "reach", err)

    def test_raw_syscall_in_dynamic_program(self):
        """preload reaches the libc calls only; seccomp reaches the raw one too."""
        rule = ["-e", "socket:error=ENOBUFS:when=4"]
        rc, out, err = run(rule + ["--backend", "preload", "--", prog("raw_socket_dyn")])
        self.assertEqual(rc, 0, err)
        self.assertIn("socket 4: ok", out)
        rc, out, err = run(rule + ["--backend", "seccomp", "--", prog("raw_socket_dyn")])
        self.assertEqual(rc, 0, err)
        self.assertIn("socket 4: ENOBUFS", out)
        self.assertNotIn("chose", err)  # asked for, not chosen

    def test_port_filter_reads_the_address(self):
        """connect's sockaddr is read from the target: only the named port is refused."""
        srv = Server([os.path.join(TARGETS, "second_accept_ok"), "{port}"])
        try:
            other = srv.port + 1 if srv.port < 65535 else srv.port - 1
            for port, want in ((other, 0), (srv.port, 1)):
                rc, _, err = run(["-e", "connect:error=ECONNREFUSED:port=%d" % port, "--",
                                  prog("ping_client_static"), str(srv.port)])
                self.assertEqual(rc, want, (port, err))
        finally:
            srv.close()

    def test_musl(self):
        client = prog("ping_client_musl")
        if not have(client):
            self.fail(MISSING % "musl-gcc (Debian: musl-tools)")
        srv = Server([os.path.join(TARGETS, "second_accept_ok"), "{port}"])
        try:
            rc, _, err = run(["--", client, str(srv.port)])
            self.assertEqual(rc, 0, err)
            # musl's send() is sendto with no address: the rule on send reaches it, and the
            # injected EPIPE brings SIGPIPE with it, as the kernel's does (no MSG_NOSIGNAL)
            rc, _, err = run(["-e", "send:error=EPIPE", "--", client, str(srv.port)])
            self.assertEqual(rc, 128 + signal.SIGPIPE, err)
            self.assertIn("chose seccomp", err)
        finally:
            srv.close()

    def test_busybox_nc(self):
        bb = busybox_static()
        if not bb:
            self.fail(MISSING % "busybox-static")
        srv = Server([os.path.join(TARGETS, "second_accept_ok"), "{port}"])
        try:
            rc, out, err = run(["-e", "connect:error=ENETUNREACH", "--", bb, "nc", "127.0.0.1",
                                str(srv.port)])
            self.assertNotEqual(rc, 0)
            self.assertIn("unreachable", err.lower())
            self.assertIn("chose seccomp", err)
        finally:
            srv.close()

    def test_go_client_and_server(self):
        go = prog("go_ping")
        if not have(go):
            self.fail(MISSING % "go (Debian: golang-go)")
        rc, _, err = run(["-e", "connect:error=ECONNREFUSED", "--", go, "ping", "1"])
        self.assertEqual(rc, 1)
        self.assertIn("a Go program: --backend auto chose seccomp", err)
        self.assertIn("connection refused", err)
        # the Go server under seccomp, its 1st real accept refused: it reports and exits 1
        port = free_port()
        log = os.path.join(self.tmp, "golog")
        p = subprocess.Popen([CLI, "run", "--log", log, "-e", "accept4:error=EMFILE:when=1..100",
                              "--", go, "serve", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            wait_listening(port, p)  # its first client: the accept that is refused
            _, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("accept4: too many open files", err)
        recs = records(log)
        listen = [r for r in recs if r.get("call") == "listen"]
        self.assertEqual(listen[0]["ret"], 0)
        self.assertTrue(any(r.get("injected") and r["call"] == "accept4" for r in recs))
        exits = [r for r in recs if r.get("event") == "exit"]
        self.assertEqual(len(exits), 1)


def explore(args, prog_argv, timeout=240):
    """explore with a JSON report: (exit status, stderr, {rules: class})."""
    tmp = tempfile.mkdtemp(prefix="sf-seccomp-explore.")
    try:
        path = os.path.join(tmp, "r.json")
        p = subprocess.run([CLI, "explore", "-q", "--jobs", "2", "--json", path] + args +
                           ["--"] + prog_argv, capture_output=True, text=True,
                           timeout=timeout, env=dict(os.environ, TMPDIR=tmp))
        classes = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                classes = {pt["rules"]: pt["class"] for pt in json.load(f)["points"]}
        leftover = [n for n in os.listdir(tmp) if n != "r.json"]
        return p.returncode, p.stderr, classes, leftover
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Explore(unittest.TestCase):
    """The same C server, dynamic under preload and static under seccomp: point by point,
    the same classes (tests/targets/second_accept.c: only a failing 2nd accept crashes it)."""

    # single faults: a burst or a sustained fault is judged on timing (how busy a spinning
    # server is), which the supervisor's round trips change when every call is trapped
    ARGS = ["--kinds", "once", "--max-per-call", "2",
            "--errnos", "EBADF,EINTR,ENOMEM,EINVAL,EPROTONOSUPPORT",
            "--check", os.path.join(TARGETS, "ping_client") + " {port}"]
    dynamic = None

    @classmethod
    def preload(cls):
        if cls.dynamic is None:
            rc, err, classes, _ = explore(cls.ARGS + ["--backend", "preload"],
                                          [os.path.join(TARGETS, "second_accept_bug"), "{port}"])
            assert rc == 1 and classes, err
            cls.dynamic = classes
        return cls.dynamic

    def compare(self, static_prog, allowed=()):
        rc, err, classes, leftover = explore(self.ARGS, [static_prog, "{port}"])
        self.assertEqual(rc, 1, err)  # the crash is found
        self.assertIn("--backend auto chose seccomp", err)
        self.assertEqual(leftover, [])
        dyn = self.preload()
        self.assertEqual(sorted(classes), sorted(dyn))
        self.assertEqual(classes["accept:error=EBADF:when=2"], "crash")
        diff = {k: (dyn[k], classes[k]) for k in dyn
                if dyn[k] != classes[k] and not self.racy(k, dyn[k], classes[k])}
        self.assertEqual(diff, {k: v for k, v in dict(allowed).items() if k in dyn})
        return classes

    @staticmethod
    def racy(rule, a, b):
        """EINTR on a recv is faithful only while the recv would sleep (docs/faithful.md):
        whether the check's PING is already queued when the server's recv starts is a race,
        under either backend (the supervisor's round trip makes it likelier), so such a
        point is injected (ok) or left alone (not-reached)."""
        return rule.startswith("recv:error=EINTR:") and {a, b} == {"ok", "not-reached"}

    def test_gcc_static(self):
        self.compare(prog("second_accept_bug_static"))

    def test_musl_static(self):
        p = prog("second_accept_bug_musl")
        if not have(p):
            self.fail(MISSING % "musl-gcc (Debian: musl-tools)")
        # musl's socket() retries without SOCK_CLOEXEC after EINVAL or EPROTONOSUPPORT
        # (src/network/socket.c): its second try is not faulted, so the server starts
        self.compare(p, {"socket:error=EINVAL:when=1": ("error-exit", "ok"),
                         "socket:error=EPROTONOSUPPORT:when=1": ("error-exit", "ok")})

    def test_replay_static(self):
        """replay runs a static program's point through seccomp, as explore did."""
        tmp = tempfile.mkdtemp(prefix="sf-seccomp-replay.")
        try:
            path = os.path.join(tmp, "r.json")
            p = subprocess.run([CLI, "explore", "-q", "--jobs", "2", "--json", path, "--kinds",
                                "once", "--calls",
                                "accept", "--errnos", "EBADF", "--max-per-call", "2", "--check",
                                os.path.join(TARGETS, "ping_client") + " {port}", "--",
                                prog("second_accept_bug_static"), "{port}"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 1, p.stderr)
            p = subprocess.run([CLI, "replay", path], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("accept:error=EBADF:when=2", p.stderr)
            self.assertIn("crash", p.stdout + p.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_preload_refuses_static(self):
        rc, err, _, _ = explore(["--backend", "preload"], [prog("second_accept_bug_static"),
                                                           "{port}"])
        self.assertEqual(rc, 5, err)
        self.assertIn("statically linked", err)

    def test_go_server(self):
        go = prog("go_ping")
        if not have(go):
            self.fail(MISSING % "go (Debian: golang-go)")
        rc, err, classes, leftover = explore(
            ["--kinds", "once", "--calls", "accept4,listen", "--errnos", "EMFILE,EADDRINUSE", "--max-per-call", "2",
             "--check", go + " ping {port}"], [go, "serve", "{port}"])
        self.assertIn(rc, (0, 1), err)
        self.assertIn("a Go program: --backend auto chose seccomp", err)
        self.assertEqual(leftover, [])
        # listen refused: Go reports it and exits before serving. A refused accept4 ends
        # go_ping's loop: before serving (error-exit) or after (stopped-serving), as the
        # poller's first try (EAGAIN) and the check's connection race
        self.assertEqual(classes["listen:error=EADDRINUSE:when=1"], "error-exit")
        accepts = {k: v for k, v in classes.items() if k.startswith("accept4:")}
        self.assertTrue(accepts)
        self.assertLessEqual(set(accepts.values()), {"error-exit", "stopped-serving"}, accepts)
        self.assertEqual(rc, 1 if "stopped-serving" in accepts.values() else 0)


def main():
    for name, path in (("SF_CLI", CLI), ("SF_SECCOMP_BIN", BIN), ("SF_TARGETS", TARGETS)):
        if not path or not os.path.isdir(path if name != "SF_CLI" else os.path.dirname(path)):
            print("%s not set" % name, file=sys.stderr)
            return 2
    rc, _, err = run(["--backend", "seccomp", "--", "/bin/true"])
    if rc != 0 and "seccomp" in err:
        print("seccomp user notification refused here: " + err, file=sys.stderr)
        return 77
    prog_ = unittest.main(exit=False, verbosity=2)
    return 0 if prog_.result.wasSuccessful() else 1


class Faithful(unittest.TestCase):
    """What seccomp fakes is what the kernel could do, as under the shim (docs/faithful.md):
    the same probe, dynamic under preload and static under seccomp, sees the same thing."""

    CASES = [
        # a non-blocking connect: the fake starts the real one, so the peer accepts it
        ("connect:error=EINPROGRESS", "connect_nb", "EINPROGRESS connected"),
        # a blocking connect never says EINPROGRESS: left alone ...
        ("connect:error=EINPROGRESS", "connect_bl", "0 connected"),
        # ... unless forced, and then nothing was started
        ("connect:error=EINPROGRESS:force", "connect_bl", "EINPROGRESS not accepted"),
        # a recv that cannot sleep cannot be interrupted: the real EAGAIN
        ("recv:error=EINTR", "recv_nb", "EAGAIN"),
        # when= per thread, as strace counts: each thread's 2nd socket fails
        ("socket:error=EMFILE:when=2:per=thread", "threads", "2"),
        ("socket:error=EMFILE:when=2", "threads", "1"),
    ]

    def test_killed_processes_dropped(self):
        """300 forked children killed by SIGKILL (no exit_group for the supervisor to see):
        each one's 2nd socket still fails. Their entries were never dropped, and after 256 the
        others' calls went through unfaulted."""
        code = ("import os, signal, socket\n"
                "r, w = os.pipe()\n"
                "for i in range(300):\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        socket.socket()\n"
                "        try:\n"
                "            socket.socket(); os.write(w, b'0')\n"
                "        except OSError:\n"
                "            os.write(w, b'1')\n"
                "        os.kill(os.getpid(), signal.SIGKILL)\n"
                "    os.waitpid(pid, 0)\n"
                "os.close(w)\n"
                "data = b''\n"
                "while True:\n"
                "    b = os.read(r, 4096)\n"
                "    if not b:\n"
                "        break\n"
                "    data += b\n"
                "print(data.count(b'1'), len(data))\n")
        # family=inet: without HOME (as in CI) Python's start-up looks the user up through
        # NSS, whose AF_UNIX socket() to nscd would be the parent's 1st and 2nd
        rc, out, err = run(["--backend", "seccomp", "-e", "socket:error=EMFILE:when=2:family=inet",
                            "--", sys.executable, "-c", code], timeout=120)
        self.assertEqual((rc, out.split()), (0, ["300", "300"]), err)

    def test_per_tree(self):
        """A fork-per-connection server: per=tree fails the tree's 1st recv once (the
        readiness probe's child or one ping's), per process every child's 1st recv."""
        for rule, most, least in (("recv:error=ECONNRESET:when=1:per=tree", 1, 0),
                                  ("recv:error=ECONNRESET:when=1", 3, 3)):
            srv = Server([CLI, "run", "-e", rule, "--", prog("fork_server_static"), "{port}"])
            try:
                failed = sum(subprocess.run([prog("ping_client_static"), str(srv.port)],
                                            timeout=10).returncode != 0 for _ in range(3))
                self.assertTrue(least <= failed <= most, (rule, failed))
            finally:
                srv.close()

    def test_same_as_preload(self):
        static, dyn = prog("faithful_probe_static"), prog("faithful_probe_dyn")
        for rule, part, want in self.CASES:
            for backend, p in (("preload", dyn), ("seccomp", static)):
                with self.subTest(rule=rule, part=part, backend=backend):
                    rc, out, err = run(["--backend", backend, "-e", rule, "--", p, part])
                    self.assertEqual(out.strip(), want, err)


# A number reused (pid reuse forced in a new pid namespace through ns_last_pid): the earlier
# owner of the number makes two inet sockets and ends, a thread by exit(2) (mode thread) or a
# process by SIGKILL (mode killed), neither through exit_group; then B, forked by C (which
# made no inet socket) is given that number and makes one. B's is its own 1st inet socket.
# Mode killed-fd: closes of inet sockets instead, B's first trapped call a close of its own
# socket (the supervisor checks the entry by its pidfd_getfd, not by a poll), three of them.
REUSE = r"""
import errno, os, signal, socket, sys, threading, time
mode = sys.argv[1]
r, w = os.pipe()
r2, w2 = os.pipe()
r3, w3 = os.pipe()
c = os.fork()
if c == 0:
    # a trapped call first (no inet socket): under seccomp C's entry is made now, with A's
    # counts as they are before A's sockets, as the shim's copy at the fork has them
    socket.socket(socket.AF_UNIX).close()
    os.write(w3, b"1")
    os.close(w)
    num = int(os.read(r, 64))
    for attempt in range(50):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(num - 1))
        b = os.fork()
        if b == 0:
            if os.getpid() != num:
                os._exit(3)
            res = []
            for i in range(3 if mode == "killed-fd" else 1):
                try:
                    if mode == "killed-fd":
                        socket.socket().close()
                    else:
                        socket.socket()
                    res.append("ok")
                except OSError as e:
                    res.append(errno.errorcode[e.errno])
            os.write(w2, " ".join(res + ["reused"]).encode())
            os._exit(0)
        if os.waitstatus_to_exitcode(os.waitpid(b, 0)[1]) == 0:
            os._exit(0)
        time.sleep(0.02)
    os.write(w2, b"not reused")
    os._exit(1)
os.read(r3, 1)
nums = []
if mode == "thread":
    def thread():
        nums.append(threading.get_native_id())
        socket.socket(), socket.socket()
    t = threading.Thread(target=thread)
    t.start()
    t.join()
else:
    k = os.fork()
    if k == 0:
        if mode == "killed-fd":
            socket.socket().close(), socket.socket().close()
        else:
            socket.socket(), socket.socket()
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(k, 0)
    nums.append(k)
os.write(w, str(nums[0]).encode())
os.close(w)
os.waitpid(c, 0)
os.close(w2)
print(os.read(r2, 64).decode())
"""

# A daemon: the parent's socket is the 1st; it forks D1, which forks D2 and exits at once;
# D2 waits until it is reparented, then makes the 2nd.
DAEMON = r"""
import errno, os, socket, sys, time
r, w = os.pipe()
socket.socket()
d1 = os.fork()
if d1 == 0:
    if os.fork() == 0:
        if sys.argv[1:] == ["early"]:  # a trapped call while D1, with no entry, still lives
            socket.socket(socket.AF_UNIX).close()
            os.write(w, b"")
        while os.getppid() == d1:
            time.sleep(0.01)
        try:
            socket.socket()
            res = b"ok"
        except OSError as e:
            res = errno.errorcode[e.errno].encode()
        os.write(w, res)
        os._exit(0)
    os._exit(0)
os.close(w)
os.waitpid(d1, 0)
print(os.read(r, 64).decode())
"""

# A single-threaded parent's socket is its thread's 1st; its forked child's is the 2nd of
# the same thread's counts (the child's main thread goes on from the forking thread's).
FORK_THREAD = r"""
import errno, os, socket
socket.socket()
pid = os.fork()
if pid == 0:
    try:
        socket.socket()
        res = b"ok"
    except OSError as e:
        res = errno.errorcode[e.errno].encode()
    os.write(1, res + b"\n")
    os._exit(0)
os.waitpid(pid, 0)
"""


class Counts(unittest.TestCase):
    """What a process and a thread count under seccomp is what they count under the shim,
    across pid reuse, a daemon's double fork and a fork's per=thread counts (a Python
    program: both backends reach it). family=inet: without HOME (as in CI) Python's start-up
    makes AF_UNIX sockets for NSS."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sf-seccomp-counts.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def both(self, rule, code, args=(), prefix=(), opts=()):
        outs = {}
        for backend in ("preload", "seccomp"):
            p = subprocess.run(list(prefix) + [CLI, "run", "--backend", backend, "-e", rule] +
                               list(opts) + ["--", sys.executable, "-c", code] + list(args),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, (backend, p.stderr))
            outs[backend] = p.stdout.strip()
        return outs

    def test_reused_number(self):
        """Before: the thread's tid stayed cached (exit(2) was not trapped), the killed
        process's entry stayed (no exit_group): B was counted as the dead owner, its socket
        the 3rd (EMFILE), or its setsockopt calls let through."""
        unshare = shutil.which("unshare")
        if os.geteuid() != 0 or not unshare:
            self.skipTest("needs root and unshare(1): a pid namespace to reuse numbers in")
        ns = [unshare, "--pid", "--fork", "--mount-proc"]
        if subprocess.run(ns + ["true"], capture_output=True).returncode != 0:
            self.skipTest("unshare --pid refused here")
        for mode in ("thread", "killed"):
            with self.subTest(mode=mode):
                outs = self.both("socket:error=EMFILE:when=3:family=inet", REUSE, [mode], ns)
                self.assertEqual(outs, {"preload": "ok reused", "seccomp": "ok reused"})
        # only close trapped (a log of the faults: no call is trapped for the log), so B's
        # first trapped call is one; the dead owner's pidfd gives no fd, and a close that
        # cannot be looked at is let through uncounted
        log = os.path.join(self.tmp, "log")
        outs = self.both("close:error=EIO:when=3:family=inet:force", REUSE, ["killed-fd"], ns,
                         ["--log", log, "--log-level", "faults"])
        want = "ok ok EIO reused"
        self.assertEqual(outs, {"preload": want, "seccomp": want})

    def test_daemon_goes_on_from_parent(self):
        """Before: D2's first call came after D1 had exited, its PPid the subreaper: it
        started from zero under seccomp (ok). Without a log D1, which made no trapped call,
        gets an entry only because it leaves D2; with one, every process has an entry.
        'early': D2's first trapped call comes while D1, with no entry, still lives: D2
        copies the nearest ancestor with one (it started from zero, a flaky 'ok' with the
        log, where D2's first calls race D1's exit)."""
        for opts in ((), ("--log", os.path.join(self.tmp, "log"))):
            for args in ((), ("early",)):
                with self.subTest(opts=opts, args=args):
                    outs = self.both("socket:error=EMFILE:when=2:family=inet", DAEMON, args,
                                     opts=opts)
                    self.assertEqual(outs, {"preload": "EMFILE", "seccomp": "EMFILE"})

    def test_per_thread_across_fork(self):
        """Before: the child's per=thread counts started from zero under seccomp (ok)."""
        outs = self.both("socket:error=EMFILE:when=2:per=thread:family=inet", FORK_THREAD)
        self.assertEqual(outs, {"preload": "EMFILE", "seccomp": "EMFILE"})


if __name__ == "__main__":
    sys.exit(main())
