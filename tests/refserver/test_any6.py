#!/usr/bin/env python3
"""The reference server on [::]:PORT, in a network namespace of its own.

usage: test_any6.py PATH/TO/sockfault-refserver PATH/TO/libsockfault.so

[::] means every address, so this test never runs in the host's network: it re-executes
itself under `unshare -n` (a fresh namespace holding only its own loopback, brought up here)
and is skipped (status 77) where namespaces are not allowed. Checked there:
- dual-stack: one listening socket serves 127.0.0.1 and ::1;
- a kernel without IPv6, played by the shim (socket(AF_INET6) failing with EAFNOSUPPORT):
  the server warns, falls back to IPv4's every-address and serves 127.0.0.1, not ::1.
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import unittest

import test_e2e
from test_e2e import Client, Server

SHIM = None
NS_MARK = "SF_ANY6_IN_NETNS"


def loopback_up():
    """ip link set lo up, without iproute2: SIOCGIFFLAGS/SIOCSIFFLAGS on 'lo'."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def serves(port, host, family):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(test_e2e.TIMEOUT)
        try:
            sock.connect((host, port))
        except OSError:
            return False
        c = Client.__new__(Client)  # the e2e client's line reader on this socket
        c.sock, c.buf = sock, b""
        return c.rpc("PING") == "+PONG"


class Any6(unittest.TestCase):
    def setUp(self):
        self.env = dict(os.environ)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.env)

    def test_dual_stack(self):
        s = Server("--listen", "[::]:0")
        try:
            self.assertTrue(serves(s.port, "127.0.0.1", socket.AF_INET))
            self.assertTrue(serves(s.port, "::1", socket.AF_INET6))
            self.assertEqual(s.terminate(), 0)
            self.assertEqual(s.stderr(), "")
        finally:
            s.kill()

    def test_no_ipv6_falls_back_to_ipv4(self):
        os.environ.update(LD_PRELOAD=SHIM, SOCKFAULT="socket:error=EAFNOSUPPORT:family=inet6")
        s = Server("--listen", "[::]:0")
        os.environ.clear()
        os.environ.update(self.env)
        try:
            self.assertTrue(serves(s.port, "127.0.0.1", socket.AF_INET))
            self.assertFalse(serves(s.port, "::1", socket.AF_INET6))
            self.assertEqual(s.terminate(), 0)
            err = s.stderr()
            self.assertIn("EAFNOSUPPORT", err)
            self.assertIn("listening on IPv4 only", err)
        finally:
            s.kill()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if os.environ.get(NS_MARK) != "1":
        # the namespace: a fresh network with only a loopback; skip where it is refused
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30)
        if probe.returncode != 0:
            print("test_any6: skipped: unshare -n refused here:",
                  probe.stderr.decode(errors="replace").strip())
            return 77  # ctest's SKIP_RETURN_CODE
        env = dict(os.environ, **{NS_MARK: "1"})
        return subprocess.run(["unshare", "-n", sys.executable, *sys.argv], env=env,
                              timeout=120).returncode
    loopback_up()
    test_e2e.BIN = sys.argv[1]
    global SHIM
    SHIM = sys.argv[2]
    r = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
    return 0 if r.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
