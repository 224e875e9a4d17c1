#!/usr/bin/env python3
"""Faults that last and faults in a row (issue 18, items 1, 2 and 8), end to end.

Each buggy server of tests/targets must be flagged with the right class at the right burst or
sustained point, and its correct twin (and the spare-descriptor server) must not be:
  emfile_persist   spins on a shortage that lasts (listener left armed)  -> spin
                   twin: backs off for 100 ms                             -> ok
  accept_giveup    closes its listener after two failed accepts in a row  -> stopped-serving
                   on the bursts, no-recovery on the sustained points; one failure is fine
                   twin: keeps accepting, with a small back-off          -> ok
  emfile_spin_ok   libuv's spare-descriptor trick                         -> ok
  worker_spin      a worker thread (or forked worker) spins in poll on a
                   back-off deadline, accept tried 10 times a second: the
                   CPU share of the whole tree shows it                    -> spin
                   twin: the listener out of the poll set meanwhile       -> ok
Also: the JSON/JUnit/HTML reports and --fail-on know the kinds and classes, the reproducer is
the exact rule, replay gives the same class, and the shim's for= lifts the fault by itself.

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from strays import strays  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
SHORTAGE = ["ENOBUFS", "ENOMEM", "EMFILE", "ENFILE"]  # accept's, in the table's order


def target(name):
    return os.path.join(TARGETS, name)


class Explore:
    """One explore of a server: exit status, output, the JSON report, JUnit and HTML."""

    def __init__(self, name, *opts):
        self.tmp = tempfile.mkdtemp(prefix="sf-lasting-test.")
        runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(runtmp)
        self.json_path = os.path.join(self.tmp, "r.json")
        junit, html = os.path.join(self.tmp, "r.xml"), os.path.join(self.tmp, "r.html")
        cmd = [CLI, "explore", "--jobs", "2", "--timeout", "3", "--window", "1",
               "--json", self.json_path, "--junit", junit, "--html", html, *opts,
               "--check", f"{target('ping_client')} {{port}}", "--", target(name), "{port}"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TMPDIR=runtmp))
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.leftover = os.listdir(runtmp)
        self.strays = strays(target(name))
        with open(self.json_path, encoding="utf-8") as f:
            self.report = json.load(f)
        self.junit = ET.parse(junit).getroot()
        with open(html, encoding="utf-8") as f:
            self.html = f.read()

    def of_kind(self, kind):
        return [p for p in self.report["points"] if p["kind"] == kind]

    def findings(self):
        return {p["rules"]: p for p in self.report["points"] if p["finding"]}


_cache = {}


def explore(name, *opts):
    key = (name,) + opts
    if key not in _cache:
        _cache[key] = Explore(name, *opts)
    return _cache[key]


def tearDownModule():
    for x in _cache.values():
        shutil.rmtree(x.tmp, ignore_errors=True)


class LastingTest(unittest.TestCase):
    def sane(self, x, rc):
        self.assertEqual(x.rc, rc, f"stdout:\n{x.out}\nstderr:\n{x.err}")
        self.assertEqual(x.leftover, [], "explore left files in TMPDIR")
        self.assertEqual(x.strays, [], "target processes outlived explore")

    def test_spin_on_lasting_shortage(self):
        bug = explore("emfile_persist_bug", "--calls", "accept", "--kinds", "sustained")
        self.sane(bug, 1)
        want = {f"accept:error={e}:when=1+:for=1s" for e in SHORTAGE}
        self.assertEqual(set(bug.findings()), want)
        self.assertEqual(len(bug.report["points"]), 4)
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["kind"]), ("spin", "sustained"), p)
            self.assertEqual(p["faults"][0]["window_ms"], 1000)
            self.assertTrue(p["window_cpu_percent"] > 50 or p["window_failed_per_s"] > 1000, p)
            self.assertRegex(p["detail"], r"\d+% of a core, \d+ failed calls/s")
            self.assertIn(f"sockfault run -e {p['rules']} -- ", p["reproducer"])
        # one failure at a time is harmless to it: only the lasting fault shows the bug
        once = explore("emfile_persist_bug", "--calls", "accept", "--kinds", "once,burst")
        self.sane(once, 0)

    def test_spin_in_a_worker(self):
        """The spin is in a worker thread or a forked worker while the main thread sleeps in
        pthread_join or waitpid, and the failing call runs only 10 times a second: only the
        CPU share of every thread of the run's tree shows it (the main thread's did not)."""
        for variant in ("thread", "fork"):
            opts = ("--calls", "accept", "--errnos", "EMFILE", "--kinds", "sustained")
            bug = explore(f"worker_spin_{variant}_bug", *opts)
            self.sane(bug, 1)
            # the forked worker's calls come from a second process: counted over the tree
            rule = "accept:error=EMFILE:when=1+:for=1s" + (":per=tree" if variant == "fork"
                                                            else "")
            self.assertEqual(set(bug.findings()), {rule})
            p = bug.findings()[rule]
            self.assertEqual(p["class"], "spin", p)
            self.assertGreater(p["window_cpu_percent"], 50, p)
            self.assertLess(p["window_failed_per_s"], 1000, p)
            ok = explore(f"worker_spin_{variant}_ok", *opts)
            self.sane(ok, 0)
            self.assertEqual(len(ok.report["points"]), 1, ok.report["points"])
            for p in ok.report["points"]:
                self.assertEqual(p["class"], "ok", p)
                self.assertLess(p["window_cpu_percent"], 50, p)

    def test_backoff_is_ok(self):
        ok = explore("emfile_persist_ok", "--calls", "accept", "--kinds", "sustained")
        self.sane(ok, 0)
        self.assertEqual(len(ok.report["points"]), 4)
        for p in ok.report["points"]:
            self.assertEqual(p["class"], "ok", p)
            self.assertLess(p["window_cpu_percent"], 50, p)
            self.assertLess(p["window_failed_per_s"], 1000, p)
            self.assertIsNotNone(p["recovered_after_ms"], p)
            self.assertIn("served again", p["detail"])

    def test_spare_descriptor_trick_is_ok(self):
        ok = explore("emfile_spin_ok", "--calls", "accept", "--kinds", "sustained")
        self.sane(ok, 0)
        self.assertEqual({p["class"] for p in ok.report["points"]}, {"ok"})

    def test_gives_up_after_two_in_a_row(self):
        opts = ("--calls", "accept", "--errnos", "EMFILE,ECONNABORTED")
        bug = explore("accept_giveup_bug", *opts)
        self.sane(bug, 1)
        want = {f"accept:error={e}:when=1..{k}" for e in ["ECONNABORTED", "EMFILE"]
                for k in (2, 3)} | {"accept:error=EMFILE:when=1+:for=1s"}
        self.assertEqual(set(bug.findings()), want)
        for p in bug.of_kind("burst"):
            self.assertEqual(p["class"], "stopped-serving", p)
            self.assertEqual(p["faults"][0]["until"], p["faults"][0]["when"] + 1 +
                             p["rules"].endswith("..3"))
        [lasting] = bug.of_kind("sustained")
        self.assertEqual(lasting["class"], "no-recovery", lasting)
        self.assertIsNone(lasting["recovered_after_ms"])
        self.assertIn("did not serve again", lasting["detail"])
        self.assertTrue(bug.of_kind("once"))
        self.assertTrue(all(not p["finding"] for p in bug.of_kind("once")), "one is survived")
        # burst and sustained points come after every single one, ids in order
        kinds = [p["kind"] for p in bug.report["points"]]
        self.assertEqual(kinds, sorted(kinds, key=["once", "burst", "sustained"].index))
        ok = explore("accept_giveup_ok", *opts)
        self.sane(ok, 0)
        self.assertEqual(len(ok.of_kind("burst")), 4)
        self.assertEqual(len(ok.of_kind("sustained")), 1)

    def test_reports_know_the_kinds(self):
        bug = explore("accept_giveup_bug", "--calls", "accept", "--errnos", "EMFILE,ECONNABORTED")
        opts = bug.report["options"]
        self.assertEqual(opts["kinds"], ["once", "burst", "sustained"])
        self.assertEqual(opts["window_ms"], 1000)
        self.assertIn("no-recovery", opts["fail_on"])
        self.assertIn("spin", opts["fail_on"])
        # the matrix: the worst class of a cell, with the new marks in the legend
        row = next(l for l in bug.out.splitlines() if l.split()[:1] == ["EMFILE"])
        self.assertEqual(row.split()[1], "R", row)
        self.assertIn("R no-recovery", bug.out)
        self.assertIn("P spin", bug.out)
        failures = {c.find("failure").get("type") for c in bug.junit.iter("testcase")
                    if c.find("failure") is not None}
        self.assertEqual(failures, {"stopped-serving", "no-recovery"})
        self.assertIn("when=1+:for=1s", bug.html)
        self.assertIn("no-recovery", bug.html)
        # --fail-on without the new classes: they are shown, not findings
        quiet = explore("accept_giveup_bug", "--calls", "accept", "--errnos", "EMFILE",
                        "--kinds", "sustained", "--fail-on", "crash")
        self.sane(quiet, 0)
        self.assertEqual(quiet.report["points"][0]["class"], "no-recovery")

    def test_replay_reproduces(self):
        bug = explore("emfile_persist_bug", "--calls", "accept", "--kinds", "sustained")
        pid = bug.report["points"][0]["id"]
        p = subprocess.run([CLI, "replay", bug.json_path, "--point", pid], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("now spin", p.stderr)

    def test_merge_keeps_kinds(self):
        a = explore("accept_giveup_ok", "--calls", "accept", "--errnos", "EMFILE",
                    "--kinds", "burst,sustained", "--shard", "1/2")
        b = explore("accept_giveup_ok", "--calls", "accept", "--errnos", "EMFILE",
                    "--kinds", "burst,sustained", "--shard", "2/2")
        out = os.path.join(a.tmp, "merged.json")
        m = subprocess.run([CLI, "merge", "-q", "--json", out, a.json_path, b.json_path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(m.returncode, 0, m.stderr)
        merged = json.load(open(out))
        self.assertEqual(sorted(p["kind"] for p in merged["points"]),
                         ["burst", "burst", "sustained"])
        self.assertEqual(merged["options"]["kinds"], ["burst", "sustained"])

    def test_shared_port_one_at_a_time(self):
        """Without {port} the runs share one port: a run waiting out a window must not let
        the next one start beside it (it would find the port taken)."""
        port = str(20000 + os.getpid() % 20000)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.json")
            p = subprocess.run([CLI, "explore", "--window", "1", "--timeout", "3", "--calls",
                                "accept", "--errnos", "EMFILE", "--max-per-call", "2",
                                "--kinds", "once,sustained", "--json", out, "--check",
                                f"{target('ping_client')} {port}", "--",
                                target("emfile_persist_ok"), port],
                               capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, TMPDIR=tmp))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            points = json.load(open(out))["points"]
        self.assertEqual(len(points), 3)
        self.assertEqual({q["class"] for q in points}, {"ok"}, points)

    def test_bad_options(self):
        for args, token in [(["--kinds", "onse"], "onse"), (["--window", "0"], "'0'"),
                            (["--fail-on", "spinn"], "spinn")]:
            p = subprocess.run([CLI, "explore", *args, "--", target("trivial")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(token, p.stderr)


class ForRuleTest(unittest.TestCase):
    """The shim lifts a for= fault by itself: the program serves again, unrestarted."""

    def test_lifted_without_restart(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "log")
            port = 20000 + os.getpid() % 20000
            srv = subprocess.Popen([CLI, "run", "--log", log, "-e",
                                    "accept:error=EMFILE:when=1+:for=700ms", "--",
                                    target("emfile_persist_ok"), str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 30
                while not (os.path.exists(log) and '"call":"listen"' in open(log).read()):
                    self.assertIsNone(srv.poll(), "the server exited before listening")
                    self.assertLess(time.monotonic(), deadline, "the server never listened")
                    time.sleep(0.02)
                # from here: the server accepts only once poll says a client is there, so
                # the 700 ms window opens after t0 whatever the start-up took
                t0 = time.monotonic()
                c = subprocess.run([target("ping_client"), str(port)], capture_output=True,
                                   timeout=30)
                took = time.monotonic() - t0
                self.assertEqual(c.returncode, 0, c.stderr)
                self.assertGreater(took, 0.6, "served before the window ended")
            finally:
                srv.terminate()
                _, err = srv.communicate(timeout=30)
            recs = [json.loads(l) for l in open(log) if '"injected":true' in l]
            self.assertTrue(recs)
            self.assertEqual(recs[-1]["fired"], len(recs), "its count rides on each record")
            self.assertIn(b"accept: Too many open files", err)


if __name__ == "__main__":
    if not CLI or not TARGETS:
        sys.exit("set SF_CLI and SF_TARGETS")
    unittest.main()
