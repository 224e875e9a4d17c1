#!/usr/bin/env python3
"""sockfault explore, replay and merge, end to end, on the programs of tests/targets.

Each buggy program must be flagged with the right class at the right failure point and at
no other; each correct twin must give no finding. The text matrix, the JSON report and the
JUnit XML are parsed and checked. Every run happens in a private TMPDIR that must be empty
afterwards (explore removes its temp dirs), and no target process may outlive explore.

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from strays import strays  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
CLASSES = ["ok", "not-reached", "error-exit", "mute-exit", "fd-leak", "late-exit",
           "request-stalled", "request-lost", "silent", "stopped-serving", "no-recovery",
           "spin", "hang", "crash", "sanitizer"]
DEFAULT_FINDINGS = {"crash", "sanitizer", "hang", "silent", "stopped-serving", "no-recovery",
                    "spin", "mute-exit", "request-lost", "request-stalled"}


def target(name):
    return os.path.join(TARGETS, name)


def errnos_of(call, classes=("env",), inet=False):
    """The call's documented errnos explore tries: by default those of class env (a correct
    call can meet them), with --errnos all those of class bug too; on an inet socket, not
    the AF_UNIX path errnos (ENV_FS)."""
    out = subprocess.run([CLI, "errnos", "--json", call], check=True, capture_output=True,
                         text=True).stdout
    return [e["errno"] for e in json.loads(out)[0]["errnos"]
            if e["class"] in classes and not (inet and e["why"] == "ENV_FS")]


class Explore:
    """One explore run: exit status, stdout, stderr, the JSON report and the JUnit tree."""

    def __init__(self, args, timeout=300):
        self.tmp = tempfile.mkdtemp(prefix="sf-explore-test.")
        self.runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(self.runtmp)
        self.json_path = os.path.join(self.tmp, "report.json")
        self.junit_path = os.path.join(self.tmp, "report.xml")
        env = dict(os.environ, TMPDIR=self.runtmp)
        cmd = [CLI, "explore", "--json", self.json_path, "--junit", self.junit_path] + args
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.leftover = os.listdir(self.runtmp)
        self.report = self.junit = None
        if os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.report = json.load(f)
        if os.path.exists(self.junit_path):
            self.junit = ET.parse(self.junit_path).getroot()

    def points(self, pairs=False):
        return [p for p in self.report["points"] if (len(p["faults"]) > 1) == pairs]

    def findings(self):
        return {p["rules"]: p for p in self.report["points"] if p["finding"]}

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


_cache = {}


def explore(*args):
    """explore once per distinct command line for the whole test run; one failure per point
    unless the test asks for other kinds (test_lasting.py tests bursts and sustained faults)."""
    if args not in _cache:
        kinds = [] if "--kinds" in args else ["--kinds", "once"]
        _cache[args] = Explore(["--timeout", "8"] + kinds + list(args))
    return _cache[args]


def server(name, *opts):
    return explore("--check", f"{target('ping_client')} {{port}}", *opts,
                   "--", target(name), "{port}")


# Errnos the shim injects only in some socket states (docs/faithful.md): the targets' calls
# never meet those states (accept after poll said ready, blocking connects and recvs, no
# signal handler without SA_RESTART), so their points never fire.
STATEFUL = {"EINTR", "EAGAIN", "EINPROGRESS"}


def firing(call):
    """The errnos explore tries on the targets' inet sockets that do fire there."""
    stateful = STATEFUL - {"EAGAIN"} if call == "connect" else STATEFUL  # connect's: a limit
    return [e for e in errnos_of(call, inet=True) if e not in stateful]


def rules_for(call, errnos, whens):
    return {f"{call}:error={e}:when={w}" for e in errnos for w in whens}


class Base(unittest.TestCase):
    def assertSane(self, x, expect_rc):
        """Exit status, clean temp dir, no progress line off a terminal, parsable reports."""
        msg = f"rc={x.rc}\nstdout:\n{x.out}\nstderr:\n{x.err}"
        self.assertEqual(x.rc, expect_rc, msg)
        self.assertEqual(x.leftover, [], "explore left files in TMPDIR")
        self.assertNotIn("\r", x.err, "progress line written to a non-terminal")
        self.assertIsNotNone(x.report, msg)
        self.assertIsNotNone(x.junit, msg)
        for p in x.report["points"]:
            self.assertIn(p["class"], CLASSES)
            self.assertEqual(p["finding"], p["class"] in set(x.report["options"]["fail_on"]))
        self.assertEqual(len(x.findings()) > 0, expect_rc == 1)

    def assertNoFindings(self, x):
        self.assertSane(x, 0)
        self.assertEqual(x.findings(), {})
        self.assertTrue(x.report["points"], "nothing was explored")
        self.assertIn("findings: 0", x.out)


class TargetsTest(Base):
    def test_accept_crash(self):
        bug = server("accept_crash_bug", "--calls", "accept")
        self.assertSane(bug, 1)
        want = rules_for("accept", firing("accept"), [1, 2])
        self.assertEqual(set(bug.findings()), want)
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["signal"], p["exit_status"]), ("crash", "SIGSEGV", None))
            self.assertTrue(p["fired"])
        self.assertIn("sockfault run -e accept:error=EMFILE:when=1 -- ", bug.out)
        self.assertNoFindings(server("accept_crash_ok", "--calls", "accept"))

    def test_errno_classes(self):
        """By default only the errnos a correct call can meet (class env); --errnos all adds
        those only a bug causes, forced past the shim's state checks, reported apart."""
        env, bug = errnos_of("accept"), errnos_of("accept", ("bug",))
        self.assertIn("EMFILE", env)
        self.assertIn("EBADF", bug)
        default = server("accept_crash_bug", "--calls", "accept")
        self.assertEqual({p["faults"][0]["errno"] for p in default.points()}, set(env))
        self.assertNotIn("only a bug causes", default.out)
        x = server("accept_crash_bug", "--calls", "accept", "--errnos", "all")
        self.assertSane(x, 1)
        self.assertEqual(set(x.findings()),
                         {r + ":force" for r in rules_for("accept", env + bug, [1, 2])})
        for p in x.points():
            f = p["faults"][0]
            self.assertTrue(f["force"])
            self.assertEqual(f["errno_class"], "bug" if f["errno"] in bug else "env")
        head, apart = x.out.split("findings on errnos only a bug causes", 1)
        self.assertIn("accept:error=EMFILE:when=1:force", head)
        self.assertNotIn("accept:error=EBADF", head)
        self.assertIn("accept:error=EBADF:when=1:force", apart)

    def test_multicall_symlinks(self):
        """PROG runs by the name given (a symlink to a multi-call binary, as busybox or
        redis-server are), never its realpath; a daemon that closes every inherited fd at
        start-up keeps its log (explore sees it listen): both explored unmodified."""
        for name in ("mc_server", "mc_closefds_server"):
            x = server(name, "--calls", "accept", "--max-per-call", "1")
            self.assertNoFindings(x)
            self.assertEqual(x.report["prog"], target(name))
            self.assertIn(f" -- {target(name)} ", x.points()[0]["reproducer"])
            fire = [p for p in x.points() if p["faults"][0]["errno"] in firing("accept")]
            self.assertTrue(fire, x.points())
            self.assertTrue(all(p["fired"] for p in fire), fire)
        # run: found in PATH, executed by that path, argv[0] as typed (as a shell does)
        env = dict(os.environ, PATH=TARGETS + os.pathsep + os.environ["PATH"])
        r = subprocess.run([CLI, "run", "--", "mc_server"], capture_output=True, text=True,
                           env=env, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (2, "usage: mc_server PORT\n"))

    def test_correct_server_every_call(self):
        ok = server("accept_crash_ok")
        self.assertNoFindings(ok)
        calls = {p["faults"][0]["call"] for p in ok.points()}
        # close documents no errno a socket's environment can cause: explored with --errnos all
        self.assertTrue({"socket", "setsockopt", "bind", "listen", "accept", "recv", "send"}
                        <= calls, calls)
        # a failure before listen ends the server with a message: error-exit, not a finding
        bind = [p for p in ok.points() if p["faults"][0]["call"] == "bind"]
        self.assertTrue(all(p["class"] == "error-exit" and p["exit_status"] == 1 for p in bind))
        self.assertTrue(all("bind" in p["stderr_tail"] for p in bind))

    def test_emfile_spin(self):
        bug = server("emfile_spin_bug", "--calls", "accept")
        self.assertSane(bug, 1)
        self.assertEqual(set(bug.findings()), rules_for("accept", ["EMFILE", "ENFILE"], [1, 2]))
        for p in bug.findings().values():
            self.assertEqual(p["class"], "hang")
            self.assertTrue(p["spinning"], p)
            self.assertIn("spinning", p["detail"])
        self.assertNoFindings(server("emfile_spin_ok", "--calls", "accept"))

    def test_abort_server(self):
        bug = server("abort_server_bug", "--calls", "accept")
        self.assertSane(bug, 1)
        self.assertEqual(set(bug.findings()), rules_for("accept", ["ECONNABORTED"], [1, 2]))
        for p in bug.findings().values():
            self.assertEqual(p["class"], "stopped-serving")
            self.assertEqual(p["exit_status"], 0)
        self.assertNoFindings(server("abort_server_ok", "--calls", "accept"))

    def test_bind_double_free(self):
        bug = server("bind_double_free_bug", "--calls", "bind")
        self.assertSane(bug, 1)
        self.assertEqual(set(bug.findings()), rules_for("bind", firing("bind"), [1]))
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["signal"]), ("crash", "SIGABRT"))
            self.assertIn("double free", p["stderr_tail"])
        ok = server("bind_double_free_ok", "--calls", "bind")
        self.assertNoFindings(ok)
        self.assertTrue(all(p["class"] == "error-exit" for p in ok.points()))

    @unittest.skipUnless(os.path.exists(target("bind_double_free_asan")), "no ASan")
    def test_sanitizer(self):
        x = server("bind_double_free_asan", "--calls", "bind", "--errnos", "EACCES,EADDRINUSE")
        self.assertSane(x, 1)
        self.assertEqual(set(x.findings()), rules_for("bind", ["EACCES", "EADDRINUSE"], [1]))
        for p in x.findings().values():
            self.assertEqual(p["class"], "sanitizer")
            self.assertIn("AddressSanitizer", p["detail"])

    def test_second_accept(self):
        bug = server("second_accept_bug", "--calls", "accept")
        self.assertSane(bug, 1)
        self.assertEqual(set(bug.findings()), rules_for("accept", firing("accept"), [2]))
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["signal"]), ("crash", "SIGABRT"))
        first = [p for p in bug.points()
                 if p["faults"][0]["when"] == 1 and p["faults"][0]["errno"] in firing("accept")]
        self.assertTrue(first and all(p["class"] == "ok" for p in first))
        self.assertNoFindings(server("second_accept_ok", "--calls", "accept"))

    def test_by_site(self):
        """The two accept loops of second_accept are two sites: one point per site."""
        bug = server("second_accept_bug", "--calls", "accept", "--errnos", "EMFILE",
                     "--by-site")
        self.assertSane(bug, 1)
        pts = bug.points()
        self.assertEqual(len(pts), 2, [p["rules"] for p in pts])
        sites = {p["faults"][0]["site"] for p in pts}
        self.assertEqual(len(sites), 2)
        self.assertTrue(all(s and s.startswith("second_accept_bug+0x") for s in sites), sites)
        self.assertEqual(sorted(p["class"] for p in pts), ["crash", "ok"])

    def test_retry_twice_depth2(self):
        args = ("--calls", "accept", "--errnos", "ECONNABORTED,EPROTO", "--depth", "2")
        bug = server("retry_twice_bug", *args)
        self.assertSane(bug, 1)
        self.assertTrue(bug.points())
        self.assertTrue(all(not p["finding"] for p in bug.points()), "a single fault is handled")
        pairs = bug.points(pairs=True)
        self.assertTrue(pairs)
        self.assertTrue(all("." in p["id"] for p in pairs))
        crash = [p for p in pairs if p["finding"]]
        self.assertTrue(crash)
        for p in crash:  # the retry (the next accept) failing too
            f1, f2 = p["faults"]
            self.assertEqual((f1["call"], f2["call"], f2["when"]),
                             ("accept", "accept", f1["when"] + 1), p)
            self.assertEqual((p["class"], p["signal"]), ("crash", "SIGABRT"))
            self.assertEqual(p["reproducer"].count(" -e "), 2)
        self.assertIn("accept:error=ECONNABORTED:when=1;accept:error=ECONNABORTED:when=2",
                      {p["rules"] for p in crash})
        ok = server("retry_twice_ok", *args)
        self.assertNoFindings(ok)
        self.assertTrue(ok.points(pairs=True))
        budget = server("retry_twice_bug", *args, "--budget", "1")
        self.assertEqual(len(budget.points(pairs=True)), 1)

    def test_connect_leak(self):
        fail_on = ("--fail-on", "fd-leak,crash,sanitizer,hang,silent,stopped-serving")
        bug = explore(*fail_on, "--", target("connect_leak_bug"))
        self.assertSane(bug, 1)
        self.assertEqual(bug.report["baseline"]["sockets"], 0)
        self.assertEqual(set(bug.findings()), rules_for("connect", firing("connect"), [1]))
        for p in bug.findings().values():
            self.assertEqual((p["class"], p["sockets"], p["exit_status"]), ("fd-leak", 1, 0))
        # by default, a leak is reported but is not a finding
        default = explore("--", target("connect_leak_bug"))
        self.assertSane(default, 0)
        self.assertIn("fd-leak", {p["class"] for p in default.points()})
        self.assertNoFindings(explore(*fail_on, "--", target("connect_leak_ok")))

    def test_swallow_silent(self):
        bug = explore("--", target("swallow_bug"))
        self.assertSane(bug, 1)
        self.assertTrue(bug.report["baseline"]["stdout_stable"])
        want = rules_for("recv", firing("recv"), [1])
        self.assertEqual(set(bug.findings()), want)
        self.assertTrue(all(p["class"] == "silent" for p in bug.findings().values()))
        self.assertNoFindings(explore("--", target("swallow_ok")))


class NotReachedTest(Base):
    def test_not_reached(self):
        """trivial opens 2 sockets in its first run (the baseline) and 1 afterwards: the
        point on the 2nd socket never fires, and says so rather than passing for ok.
        --jobs 1: the two baseline runs of a program that is not a server go in parallel
        otherwise, and either may be the first to create the state file."""
        state = tempfile.mkdtemp()
        try:
            x = Explore(["--jobs", "1", "--kinds", "once", "--calls", "socket", "--errnos",
                         "EMFILE", "--timeout", "3", "--",
                         target("trivial"), "2", os.path.join(state, "ran")])
            self.assertSane(x, 0)
            got = {p["rules"]: (p["class"], p["fired"]) for p in x.report["points"]}
            self.assertEqual(got, {"socket:error=EMFILE:when=1": ("error-exit", True),
                                   "socket:error=EMFILE:when=2": ("not-reached", False)})
            suite = x.junit.find("testsuite")
            self.assertEqual(suite.get("skipped"), "1")
            self.assertIn("2 runs, 1 not-reached, 1 error-exit", x.out)
            x.cleanup()
        finally:
            shutil.rmtree(state)


class ReportTest(Base):
    def test_matrix(self):
        x = server("accept_crash_bug", "--calls", "accept")
        lines = x.out.splitlines()
        header = next(l for l in lines if l.split() == ["accept"])
        col = header.index("accept") + len("accept") // 2 - (1 - len("accept") % 2)
        for e in firing("accept"):
            row = next(l for l in lines if l.split() and l.split()[0] == e)
            self.assertEqual(row.rstrip()[-1], "C", row)
            self.assertEqual(row[col - 1:col + 2].strip(), "C", (row, col))
        self.assertTrue(any(l.startswith("legend:") for l in lines))
        for c in CLASSES:
            self.assertIn(c, x.out.split("legend:")[1])
        self.assertIn(f"findings: {len(x.findings())} ", x.out)
        finding_lines = [l for l in lines if l.lstrip().startswith("#")]
        self.assertEqual(len(finding_lines), len(x.findings()))

    def test_reproducer_private_tmp(self):
        """{tmp} in a reproducer is a fresh private directory it makes, never /tmp: run
        twice, it behaves the same (trivial's STATEFILE makes a second run in a shared
        directory diverge: one socket instead of two, so when=2 never fires)."""
        name = f"sf-state-{os.getpid()}"
        x = explore("--calls", "socket", "--errnos", "EMFILE", "--", target("trivial"), "2",
                    "{tmp}/" + name)
        [p] = [p for p in x.points() if p["faults"][0]["when"] == 2]
        rep = p["reproducer"]
        self.assertTrue(rep.startswith("SF_TMP=$(mktemp -d) && sockfault run "), rep)
        self.assertIn(f'"${{SF_TMP}}/{name}"', rep)
        # no /tmp of its own (the program's path may lie under /tmp, as a clone there does)
        self.assertNotIn("/tmp", rep.replace(target("trivial"), "PROG"))
        d = tempfile.mkdtemp(prefix="sf-repro.")
        self.addCleanup(shutil.rmtree, d, True)
        env = dict(os.environ, TMPDIR=d,
                   PATH=os.path.dirname(os.path.abspath(CLI)) + os.pathsep + os.environ["PATH"])
        for _ in range(2):
            r = subprocess.run(["sh", "-c", rep], capture_output=True, text=True, env=env,
                               timeout=60)
            self.assertEqual(r.returncode, 1, (rep, r.stderr))
            self.assertIn("socket: Too many open files", r.stderr)

    def test_json_schema(self):
        x = server("abort_server_bug", "--calls", "accept")
        r = x.report
        self.assertEqual(r["schema"], "sockfault-explore/1")
        for k in ["sockfault", "prog", "args", "check", "options", "baseline", "total_points",
                  "points", "summary"]:
            self.assertIn(k, r)
        self.assertEqual(r["args"], ["{port}"])
        self.assertEqual(r["options"]["calls"], "accept")
        self.assertEqual(r["options"]["shard"], "1/1")
        self.assertEqual(r["total_points"], len(r["points"]))
        keys = ["id", "index", "sub", "faults", "kind", "rules", "run", "class", "finding", "fired",
                "exit_status", "signal", "spinning", "duration_ms", "cpu_ms", "sockets", "port",
                "misleading", "peer_status", "checks", "detail", "stderr_tail", "reproducer"]
        ids = [p["id"] for p in r["points"]]
        self.assertEqual(ids, [str(i) for i in range(1, len(ids) + 1)])
        for p in r["points"]:
            self.assertEqual(list(p), keys)
            self.assertIsInstance(p["duration_ms"], int)
            self.assertEqual(p["run"], int(p["id"]))  # single points run in id order
            self.assertGreater(p["port"], 0)
            self.assertIn(str(p["port"]), p["reproducer"])
        s = r["summary"]
        self.assertEqual(s["runs"], len(r["points"]))
        self.assertEqual(sum(s["classes"].values()), s["runs"])
        self.assertEqual(s["findings"], len(x.findings()))

    def test_junit(self):
        x = server("accept_crash_bug", "--calls", "accept")
        suite = x.junit.find("testsuite")
        cases = suite.findall("testcase")
        self.assertEqual(int(suite.get("tests")), len(x.report["points"]))
        self.assertEqual(len(cases), len(x.report["points"]))
        failed = [c for c in cases if c.find("failure") is not None]
        self.assertEqual(int(suite.get("failures")), len(failed))
        self.assertEqual(len(failed), len(x.findings()))
        for c in failed:
            f = c.find("failure")
            self.assertEqual(f.get("type"), "crash")
            self.assertIn("reproduce: sockfault run", f.text)
            self.assertEqual(c.get("classname"), "sockfault.accept")
        ok = server("accept_crash_ok", "--calls", "accept").junit.find("testsuite")
        self.assertEqual(ok.get("failures"), "0")

    def test_deterministic_order(self):
        one = explore("--jobs", "1", "--", target("swallow_bug"))
        two = explore("--jobs", "2", "--", target("swallow_bug"))
        key = lambda x: [(p["id"], p["rules"], p["class"]) for p in x.report["points"]]
        self.assertEqual(key(one), key(two))


class ShardMergeReplayTest(Base):
    def run_cli(self, *args):
        return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=120)

    def test_shards_merge(self):
        full = explore("--", target("swallow_bug"))
        s1 = explore("--shard", "1/2", "--", target("swallow_bug"))
        s2 = explore("--shard", "2/2", "--", target("swallow_bug"))
        self.assertEqual(len(s1.report["points"]) + len(s2.report["points"]),
                         len(full.report["points"]))
        self.assertTrue(all(int(p["id"]) % 2 == 1 for p in s1.report["points"]))
        out = os.path.join(s1.tmp, "merged.json")
        m = self.run_cli("merge", "--json", out, s2.json_path, s1.json_path)
        self.assertEqual(m.returncode, 1, m.stderr)
        merged = json.load(open(out))
        key = lambda r: [(p["id"], p["class"], p["finding"]) for p in r["points"]]
        self.assertEqual(key(merged), key(full.report))
        self.assertEqual(merged["options"]["shard"], "1-2/2")
        self.assertIn("findings: ", m.stdout)
        alone = self.run_cli("merge", s1.json_path)
        self.assertIn("shard 2/2 is missing", alone.stderr)
        self.assertEqual(alone.returncode, 4)
        twice = self.run_cli("merge", s1.json_path, s1.json_path)
        self.assertEqual(twice.returncode, 4)
        self.assertIn("given twice", twice.stderr)
        other = explore("--", target("swallow_ok"))
        mixed = self.run_cli("merge", full.json_path, other.json_path)
        self.assertEqual(mixed.returncode, 4)
        self.assertIn(other.json_path, mixed.stderr)

    def test_bad_reports(self):
        d = tempfile.mkdtemp()
        try:
            bad = os.path.join(d, "bad.json")
            for text, words in [("{not json", "not valid JSON"),
                                ('{"schema":"other"}', "not a sockfault explore report"),
                                ('{"schema":"sockfault-explore/1","prog":"x","args":[],'
                                 '"options":{"fail_on":[]},"baseline":{},"total_points":1,'
                                 '"points":[{"id":"1","class":"crash","faults":'
                                 '[{"call":"acept","errno":"EMFILE","when":1}]}]}',
                                 "unknown \"call\"")]:
                with open(bad, "w") as f:
                    f.write(text)
                for verb in ["merge", "replay"]:
                    p = self.run_cli(verb, bad)
                    self.assertEqual(p.returncode, 4, (verb, text, p.stderr))
                    self.assertIn(bad, p.stderr)
                    self.assertIn(words, p.stderr)
            missing = os.path.join(d, "missing.json")
            p = self.run_cli("replay", missing)
            self.assertEqual(p.returncode, 4)
            self.assertIn(missing, p.stderr)
        finally:
            shutil.rmtree(d)

    def test_replay(self):
        x = server("bind_double_free_bug", "--calls", "bind")
        pid = next(p["id"] for p in x.report["points"] if p["finding"])
        p = self.run_cli("replay", x.json_path, "--point", pid)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("bind 127.0.0.1:", p.stderr)          # the program's own stderr, live
        self.assertIn("double free", p.stderr)
        self.assertIn("now crash", p.stderr)
        p = self.run_cli("replay", x.json_path)              # the first finding by default
        self.assertEqual(p.returncode, 1)
        self.assertIn(f"point #{pid},", p.stderr)
        p = self.run_cli("replay", x.json_path, "--point", "99999")
        self.assertEqual(p.returncode, 2)
        self.assertIn("99999", p.stderr)
        ok = explore("--", target("swallow_ok"))
        p = self.run_cli("replay", ok.json_path, "--point", "1")
        self.assertEqual(p.returncode, 0, p.stderr)


class UsageTest(Base):
    def run_cli(self, *args):
        return subprocess.run([CLI, "explore"] + list(args), capture_output=True, text=True,
                              timeout=60)

    def test_bad_options(self):
        prog = ["--", target("trivial")]
        for args, token in [(["--bogus"], "--bogus"), (["--errnos", "EMFLIE"], "EMFLIE"),
                            (["--calls", "acept"], "acept"), (["--shard", "3/2"], "3/2"),
                            (["--timeout", "abc"], "abc"), (["--jobs", "0"], "'0'"),
                            (["--depth", "3"], "'3'"), (["--max-per-call", "x"], "'x'"),
                            (["--fail-on", "crash,bogus"], "bogus"),
                            (["--expect-status", "-1"], "-1")]:
            p = self.run_cli(*args, *prog)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(token, p.stderr, args)
        self.assertIn("did you mean 'EMFILE'", self.run_cli("--errnos", "EMFLIE", *prog).stderr)
        self.assertIn("did you mean 'accept'", self.run_cli("--calls", "acept", *prog).stderr)
        self.assertEqual(self.run_cli().returncode, 2)
        self.assertEqual(self.run_cli("--help").returncode, 0)

    def test_target_and_baseline_errors(self):
        p = self.run_cli("--", "/nonexistent/prog")
        self.assertEqual(p.returncode, 5)
        self.assertIn("/nonexistent/prog", p.stderr)
        p = self.run_cli("--", "false")
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("baseline", p.stderr)
        self.assertIn("status 1", p.stderr)
        p = self.run_cli("--expect-status", "1", "--", "false")
        self.assertEqual(p.returncode, 9, p.stderr)  # judged, but no socket call: nothing tested
        p = self.run_cli("--expect-status", "1", "--require-points", "0", "--", "false")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_cli("--check", "false", "--timeout", "3", "--", target("accept_crash_ok"),
                         "{port}")
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("check 1 of", p.stderr)
        p = self.run_cli("--check", "true", "--timeout", "1", "--", target("trivial"))
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("without listening", p.stderr)


if __name__ == "__main__":
    if not CLI or not TARGETS:
        sys.exit("set SF_CLI and SF_TARGETS")
    try:
        unittest.main()
    finally:
        for x in _cache.values():
            x.cleanup()
        stray = strays(TARGETS)
        if stray:
            print("target processes outlived explore:", stray, file=sys.stderr)
            sys.exit(1)
