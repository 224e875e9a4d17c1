#!/usr/bin/env python3
"""End-to-end test of sockfault-refserver: the built binary on 127.0.0.1, a scripted client.

usage: test_e2e.py PATH/TO/sockfault-refserver

Every command, 50 concurrent connections, a request sent byte by byte, pipelining, an
overlong line, QUIT; then SIGTERM: exit status 0 and nothing on stderr. Also the command
line (--help, --version, bad options: exit 2), a port in use (exit 1 naming bind and the
errno), --max-requests, --idle-exit and IPv6 loopback. Every wait is bounded; a server
left running by a failure is killed (finally).
"""
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
TIMEOUT = 5.0  # seconds for any single wait


class Server:
    """A running refserver: its port, its process, its stderr (a temp file)."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        self.port = None
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("port="):
            if self.proc.poll() is None:
                self.proc.kill()
            err = self.stderr()
            self.kill()
            raise AssertionError(f"no port line, got {line!r}; stderr: {err!r}")
        self.port = int(line[5:])

    def stderr(self):
        self.proc.wait(TIMEOUT)
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def wait(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not exit in time")

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def kill(self):
        """Kill if still running; release the pipes. Safe to call more than once."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        self.proc.stdout.close()
        self.err.close()


class Client:
    def __init__(self, port, host="127.0.0.1", family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError("reply timed out")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"EOF before a reply line; have {self.buf[:80]!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def rpc(self, request):
        self.send(request.encode() + b"\n")
        return self.line()

    def expect_eof(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            chunk = self.sock.recv(65536)
            if not chunk:
                return self.buf
            self.buf += chunk
        raise AssertionError("no EOF")

    def close(self):
        self.sock.close()


def run(*args, timeout=TIMEOUT):
    return subprocess.run([BIN, *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class CommandLine(unittest.TestCase):
    def test_help_version(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--max-conns", r.stdout)
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"sockfault-refserver "))

    def test_bad_options(self):
        for args, token in [(["--bogus"], "--bogus"), (["--port", "99999"], "99999"),
                            (["--port"], "--port"), (["--max-conns", "0"], "'0'"),
                            (["--listen", "localhost:80"], "localhost"),
                            (["--listen", "::1:80"], "::1:80"), (["extra"], "extra"),
                            (["--idle-exit=x"], "'x'")]:
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(token, r.stderr.decode(), args)

    def test_port_in_use(self):
        s = Server("--port", "0")
        try:
            r = run("--port", str(s.port))
            self.assertEqual(r.returncode, 1)
            self.assertEqual(
                r.stderr.decode(),
                f"refserver: bind 127.0.0.1:{s.port}: Address already in use (EADDRINUSE)\n")
            self.assertEqual(s.terminate(), 0)
        finally:
            s.kill()


class Serving(unittest.TestCase):
    def setUp(self):
        self.server = Server("--port", "0", "--check-fds")
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.server.kill()

    def client(self):
        c = Client(self.server.port)
        self.clients.append(c)
        return c

    def finish(self):
        """SIGTERM: exit 0, stderr empty."""
        for c in self.clients:
            c.close()
        self.clients = []
        self.assertEqual(self.server.terminate(), 0)
        self.assertEqual(self.server.stderr(), "")

    def test_every_command(self):
        c = self.client()
        for request, reply in [
                ("PING", "+PONG"), ("ping", "+PONG"), ("ECHO hello there", "+hello there"),
                ("GET k", "-ERR no such key"), ("SET k v 1", "+OK"), ("GET k", "+v 1"),
                ("DEL k", "+OK"), ("DEL k", "-ERR no such key"), ("SET a 1", "+OK"),
                ("STATS", "+connections=1 accepted=1 requests=10 keys=1"),
                ("NOPE", "-ERR unknown command 'NOPE'"), ("", "-ERR empty request"),
                ("GET", "-ERR wrong number of arguments for 'GET'"),
                ("SET " + "k" * 65 + " v", "-ERR key too long"),
                ("SET k " + "v" * 513, "-ERR value too long"),
                ("ECHO \x01", "-ERR invalid byte in request")]:
            self.assertEqual(c.rpc(request), reply, request)
        c.send(b"PING\r\n")
        self.assertEqual(c.line(), "+PONG")
        self.assertEqual(c.rpc("QUIT"), "+BYE")
        self.assertEqual(c.expect_eof(), b"")
        self.finish()

    def test_overlong_line(self):
        c = self.client()
        c.send(b"x" * 5000)
        c.send(b"y" * 5000 + b"\nPING\n")
        self.assertEqual(c.line(), "-ERR line too long")
        self.assertEqual(c.line(), "+PONG")
        self.assertEqual(c.rpc("ECHO " + "e" * 1019), "+" + "e" * 1019)  # exactly 1024
        self.finish()

    def test_byte_by_byte(self):
        c = self.client()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in b"SET slow value\r\nGET slow\n":
            c.send(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(c.line(), "+OK")
        self.assertEqual(c.line(), "+value")
        self.finish()

    def test_pipelining(self):
        c = self.client()
        n = 2000
        c.send(b"".join(b"ECHO %d\n" % i for i in range(n)))
        for i in range(n):
            self.assertEqual(c.line(), f"+{i}")
        self.finish()

    def test_concurrent(self):
        n = 50
        cs = [self.client() for _ in range(n)]
        for i, c in enumerate(cs):
            c.send(f"SET key{i} value{i}\nGET key{i}\n".encode())
        for i, c in enumerate(cs):
            self.assertEqual(c.line(), "+OK")
            self.assertEqual(c.line(), f"+value{i}")
        stats = cs[0].rpc("STATS")
        self.assertEqual(stats, f"+connections={n} accepted={n} requests={2 * n + 1} keys={n}")
        for c in cs[: n // 2]:
            self.assertEqual(c.rpc("QUIT"), "+BYE")
            self.assertEqual(c.expect_eof(), b"")
        # the rest still served; the server notices the closed ones
        deadline = time.monotonic() + TIMEOUT
        while True:
            stats = cs[-1].rpc("STATS")
            if stats.startswith(f"+connections={n - n // 2} ") or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.assertTrue(stats.startswith(f"+connections={n - n // 2} accepted={n} "), stats)
        self.finish()

    def test_sigterm_with_open_clients(self):
        a, b = self.client(), self.client()
        self.assertEqual(a.rpc("PING"), "+PONG")
        b.send(b"PIN")  # a partial request
        time.sleep(0.05)
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(a.expect_eof(), b"")
        self.assertEqual(self.server.wait(), 0)
        self.assertEqual(self.server.stderr(), "")


class BoundedRuns(unittest.TestCase):
    def test_max_requests(self):
        s = Server("--port", "0", "--max-requests", "3")
        try:
            c = Client(s.port)
            c.send(b"PING\nECHO two\nSTATS\n")
            self.assertEqual(c.line(), "+PONG")
            self.assertEqual(c.line(), "+two")
            self.assertEqual(c.line(), "+connections=1 accepted=1 requests=3 keys=0")
            self.assertEqual(s.wait(), 0)
            c.close()
            self.assertEqual(s.stderr(), "")
        finally:
            s.kill()

    def test_idle_exit(self):
        start = time.monotonic()
        s = Server("--port", "0", "--idle-exit", "1")
        try:
            self.assertEqual(s.wait(), 0)
            self.assertLess(time.monotonic() - start, 4)
            self.assertEqual(s.stderr(), "")
        finally:
            s.kill()

    def test_ipv6_loopback(self):
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        s = Server("--listen", "[::1]:0")
        try:
            c = Client(s.port, "::1", socket.AF_INET6)
            self.assertEqual(c.rpc("PING"), "+PONG")
            c.close()
            self.assertEqual(s.terminate(), 0)
            self.assertEqual(s.stderr(), "")
        finally:
            s.kill()


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit(__doc__)
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
