#!/usr/bin/env python3
"""Issue 18: the request a fault hit, failing without a word, serving phase judged without
luck, servers that do not listen, clients with a peer, --checks and the SIGTERM grace.

Each buggy program of tests/targets must be flagged with its class at its points, its twin
with nothing; replaying a point gives the class the exploration recorded, run after run.

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from strays import main as strays_main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")


def target(name):
    return os.path.join(TARGETS, name)


class Run:
    """One explore run (2 jobs, 8 s timeout, single faults): exit status, output and the JSON
    report."""

    def __init__(self, *args):
        self.tmp = tempfile.mkdtemp(prefix="sf-requests-test.")
        self.json_path = os.path.join(self.tmp, "report.json")
        # one failure per point: bursts and sustained faults are test_lasting.py's; --force:
        # the targets' EINTR and EAGAIN land where the kernel could not return them (a send
        # with room), to test how a lost request is classified, not the shim's faithfulness
        cmd = [CLI, "explore", "--jobs", "2", "--timeout", "8", "--kinds", "once", "--force",
               "--json", self.json_path]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=240)
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.report = None
        if os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.report = json.load(f)

    def points(self):
        return self.report["points"]

    def findings(self):
        return {p["rules"]: p for p in self.points() if p["finding"]}

    def classes(self):
        return {p["rules"]: p["class"] for p in self.points()}


_cache = {}


def explore(*args):
    if args not in _cache:
        _cache[args] = Run(*args)
    return _cache[args]


def server(name, check, *opts):
    return explore("--check", f"{target(check)} {{port}}", *opts, "--", target(name), "{port}")


def client(name, *opts):
    return explore("--server", f"{target('sink_peer')} {{port}}", *opts, "--", target(name),
                   "{port}")


def rules(call, errnos, whens):
    return {f"{call}:error={e}:when={w}:force" for e in errnos for w in whens}


class Base(unittest.TestCase):
    def assertRan(self, x, rc):
        self.assertIsNotNone(x.report, f"rc={x.rc}\n{x.out}\n{x.err}")
        self.assertEqual(x.rc, rc, f"{x.out}\n{x.err}")
        self.assertTrue(x.points(), "nothing was explored")
        for p in x.points():
            self.assertEqual(p["finding"], p["class"] in x.report["options"]["fail_on"])

    def assertClean(self, x):
        self.assertRan(x, 0)
        self.assertEqual(x.findings(), {})


class RequestTest(Base):
    def test_eintr_reply_lost(self):
        """send EINTR drops the reply: request-lost at each occurrence; the twin resends."""
        opts = ("--calls", "send", "--errnos", "EINTR")
        bug = server("eintr_reply_bug", "ping_client", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()), rules("send", ["EINTR"], [1, 2]))
        for p in bug.findings().values():
            self.assertEqual(p["class"], "request-lost", p)
            hit = [c for c in p["checks"] if c["hit"]]
            self.assertEqual(len(hit), 1, p["checks"])
            self.assertNotEqual(hit[0]["status"], 0)
            self.assertTrue(any(c["after_fault"] and c["status"] == 0 for c in p["checks"]))
            self.assertTrue(all(c["ms"] >= 0 for c in p["checks"]))
        self.assertClean(server("eintr_reply_ok", "ping_client", *opts))

    def test_eintr_reply_stalled(self):
        """send EINTR answered only after a 1.8 s sleep: the hit request is served, late, so
        request-stalled (its check passed, slower than the stall bound); the twin resends at once."""
        opts = ("--calls", "send", "--errnos", "EINTR")
        bug = server("eintr_stall_bug", "ping_client", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()), rules("send", ["EINTR"], [1, 2]))
        for p in bug.findings().values():
            self.assertEqual(p["class"], "request-stalled", p)
            [hit] = [c for c in p["checks"] if c["hit"]]
            self.assertEqual(hit["status"], 0, p["checks"])
            self.assertGreaterEqual(hit["ms"], 1800, p["checks"])
        self.assertClean(server("eintr_reply_ok", "ping_client", *opts))

    def test_stream_eagain_lost(self):
        """EAGAIN in the middle of a streamed reply taken for its end: request-lost."""
        opts = ("--calls", "send", "--errnos", "EAGAIN", "--max-per-call", "2")
        bug = server("stream_server_bug", "stream_check", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()), rules("send", ["EAGAIN"], [1, 2]))
        self.assertTrue(all(p["class"] == "request-lost" for p in bug.findings().values()))
        self.assertTrue(all("reply complete" in p["stderr_tail"] for p in bug.findings().values()))
        self.assertClean(server("stream_server_ok", "stream_check", *opts))

    def test_connection_ending_errno_is_ok(self):
        """Losing the request an EPIPE hit is what EPIPE means: ok, said in the detail."""
        x = server("eintr_reply_ok", "ping_client", "--calls", "send", "--errnos", "EPIPE")
        self.assertClean(x)
        for p in x.points():
            self.assertEqual(p["class"], "ok")
            self.assertIn("ends the connection", p["detail"])


class MessageTest(Base):
    OPTS = ("--calls", "connect", "--errnos", "ECONNREFUSED,EINTR,ETIMEDOUT")

    def test_mute_exit(self):
        bug = client("mute_client", *self.OPTS)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()),
                         rules("connect", ["ECONNREFUSED", "EINTR", "ETIMEDOUT"], [1]))
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["exit_status"]), ("mute-exit", 1))
            self.assertIn("without a word", p["detail"])
        ok = client("ship_client_ok", *self.OPTS)
        self.assertClean(ok)
        self.assertTrue(all(p["class"] == "error-exit" and not p["misleading"]
                            for p in ok.points()))

    def test_misleading(self):
        """'Connection timed out' whatever the error: flagged, not a finding; not when the
        injected errno was ETIMEDOUT itself."""
        bug = client("wrong_error_client", *self.OPTS)
        self.assertClean(bug)
        flagged = {r for r, p in ((p["rules"], p) for p in bug.points()) if p["misleading"]}
        self.assertEqual(flagged, rules("connect", ["ECONNREFUSED", "EINTR"], [1]))
        self.assertIn("misleading", bug.out)
        self.assertIn("connect:error=EINTR:when=1:force", bug.out)
        x = client("wrong_error_client", "--fail-on", "all", *self.OPTS)
        self.assertRan(x, 1)  # every error exit a finding now; and points to check below
        self.assertTrue(all(p["class"] == "error-exit" for p in x.points()))


class PeerTest(Base):
    def test_shipped_without_connect(self):
        """Says 'shipped' although connect failed: only the peer knows: silent."""
        opts = ("--calls", "connect", "--errnos", "ECONNREFUSED,ETIMEDOUT")
        bug = client("shipped_client", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()), rules("connect", ["ECONNREFUSED", "ETIMEDOUT"], [1]))
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["exit_status"]), ("silent", 0))
            self.assertIn("peer", p["detail"])
            self.assertNotEqual(p["peer_status"], 0)
            self.assertIn("# first, from another shell: " + target("sink_peer"), p["reproducer"])
        self.assertEqual(bug.report["server"], f"{target('sink_peer')} {{port}}")
        self.assertClean(client("ship_client_ok", *opts))

    def test_udp_server(self):
        """A datagram server is ready once bound (it never listens)."""
        opts = ("--calls", "recvfrom", "--errnos", "EINTR,ENOMEM")
        bug = server("udp_echo_bug", "udp_check", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()), rules("recvfrom", ["EINTR", "ENOMEM"], [1, 2]))
        self.assertTrue(all(p["class"] == "stopped-serving" for p in bug.findings().values()))
        self.assertClean(server("udp_echo_ok", "udp_check", *opts))


class ServingPhaseTest(Base):
    def replay_classes(self, x, pid, times=3):
        out = []
        for _ in range(times):
            p = subprocess.run([CLI, "replay", x.json_path, "--point", pid], capture_output=True,
                               text=True, timeout=60)
            line = [ln for ln in p.stderr.splitlines() if "sockfault replay: now " in ln]
            self.assertEqual(len(line), 1, p.stderr)
            out.append(line[0].split("now ", 1)[1].split(":", 1)[0])
        return out

    def test_accept_before_any_check(self):
        """Dying of an accept fault after listen is stopped-serving, check or no check yet
        (the first accept blocks before any client came); replays agree."""
        opts = ("--calls", "accept", "--errnos", "EINTR,EMFILE,ECONNABORTED",
                "--max-per-call", "2")
        bug = server("accept_exit_bug", "ping_client", *opts)
        self.assertRan(bug, 1)
        self.assertEqual(set(bug.findings()),
                         rules("accept", ["EINTR", "EMFILE", "ECONNABORTED"], [1, 2]))
        self.assertTrue(all(p["class"] == "stopped-serving" for p in bug.findings().values()))
        first = next(p for p in bug.points() if p["rules"] == "accept:error=EMFILE:when=1:force")
        self.assertEqual(self.replay_classes(bug, first["id"]), ["stopped-serving"] * 3)
        self.assertClean(server("accept_exit_ok", "ping_client", *opts))

    def test_spare_descriptor(self):
        """The spare-descriptor trick loses one connection and serves the next: ok, and the
        same on every replay."""
        x = server("spare_fd", "ping_client", "--calls", "accept", "--errnos", "EMFILE,ENFILE",
                   "--max-per-call", "2")
        self.assertClean(x)
        p = next(p for p in x.points() if p["rules"] == "accept:error=EMFILE:when=1:force")
        self.assertTrue(any(c["status"] != 0 for c in p["checks"]), p["checks"])
        self.assertEqual(self.replay_classes(x, p["id"]), ["ok"] * 3)

    def test_checks_option(self):
        opts = ("--calls", "accept", "--errnos", "EMFILE")
        two = server("accept_exit_ok", "ping_client", *opts)
        four = server("accept_exit_ok", "ping_client", "--checks", "4", *opts)
        self.assertClean(four)
        self.assertEqual(four.report["options"]["checks"], 4)
        # each check is one accept; one more when SIGTERM found the server blocked in accept
        self.assertIn(max(p["faults"][0]["when"] for p in two.points()), (2, 3))
        self.assertIn(max(p["faults"][0]["when"] for p in four.points()), (4, 5))

    def test_late_exit(self):
        """Exiting 1.5 s after SIGTERM with a 1 s grace: exited late, not a hang, not a
        finding unless asked for."""
        opts = ("--calls", "send", "--errnos", "EPIPE", "--term-grace", "1")
        x = server("slow_exit", "ping_client", *opts)
        self.assertClean(x)
        self.assertEqual(x.report["options"]["term_grace_ms"], 1000)
        for p in x.points():
            self.assertEqual(p["class"], "late-exit", p)
            self.assertIn("exited late (after 1.", p["detail"])
        y = server("slow_exit", "ping_client", "--fail-on", "late-exit", *opts)
        self.assertRan(y, 1)

    def test_bad_options(self):
        for args, token in [(["--checks", "0"], "'0'"), (["--term-grace", "x"], "'x'"),
                            (["--term-grace", "20"], "--term-grace"),
                            (["--server", "true", "--check", "true"], "--server"),
                            (["--server", ""], "--server")]:
            p = subprocess.run([CLI, "explore"] + args + ["--", target("trivial")],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(token, p.stderr)


if __name__ == "__main__":
    try:
        strays_main(CLI, TARGETS)
    finally:
        for x in _cache.values():
            shutil.rmtree(x.tmp, ignore_errors=True)
