#!/usr/bin/env python3
"""sockfault explore against hostile programs, and against bad input.

Hostile programs (tests/targets/hostile_*.c): a fork bomb, closed stdout/stderr, SIGTERM
ignored, 64 MiB on stderr, a daemon escaping the process group. For each, explore must exit
normally (0 or 1; 6 for a baseline that cannot be judged), judge the run sensibly, finish
in bounded time with bounded memory, and leave nothing behind: no process of the target
(searched by its path in every /proc/PID/cmdline), no file in TMPDIR, no cgroup.

The fork bomb is bounded by explore's per-run pids cgroup (RLIMIT_NPROC does not bind root,
and tests run as root). Where no pids cgroup is writable explore says so, and only the
clean-up is asserted; the fallback (no cgroup: process group, subreaper and the orphans'
environment) is also tested on purpose by hiding /sys/fs/cgroup in a private mount namespace.
The targets bound themselves too (800 children at most, 30 s alarms), so a broken explore
cannot take the machine down.

Bad input: every malformed explore/replay/merge option and report gets a message naming the
bad token and its documented status (2 usage, 4 report, 5 target, 6 baseline).

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from strays import strays  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
NOTE_UNBOUNDED = "runs have no bound on their processes"
# explore with /sys/fs/cgroup hidden: a tmpfs over it in a private mount namespace
NO_CGROUPS = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount -t tmpfs none /sys/fs/cgroup && exec "$@"', "sh"]


def target(name):
    return os.path.join(TARGETS, name)


def procs_of(path):
    """Live processes of this test (see strays.py) whose command line holds path."""
    return strays(path)


def pids_cgroup_dirs():
    """Where explore would create its groups: our own group in the pids hierarchy."""
    v1 = v2 = None
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, typ, opts = line.split()[:4]
            if typ == "cgroup2" and not v2:
                v2 = mnt
            elif typ == "cgroup" and "pids" in opts.split(",") and not v1:
                v1 = mnt
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            path = "" if path == "/" else path
            if v1 and "pids" in ctrls.split(","):
                dirs.append(v1 + path)
            elif v2 and hid == "0" and not ctrls:
                dirs.append(v2 + path)
    return dirs


class Run:
    """sockfault VERB ARGS in a fresh TMPDIR: status, output, report, peak RSS, wall time."""

    def __init__(self, verb, args, timeout=60, env=None, wrap=None, stdout=None):
        self.tmp = tempfile.mkdtemp(prefix="sf-robust-test.")
        self.runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(self.runtmp)
        self.json_path = os.path.join(self.tmp, "report.json")
        full_env = dict(os.environ, TMPDIR=self.runtmp, **(env or {}))
        cmd = [CLI, verb] + (["--json", self.json_path] if verb == "explore" else []) + args
        if wrap:
            cmd = wrap + cmd
        out_path, err_path = os.path.join(self.tmp, "out"), os.path.join(self.tmp, "err")
        t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, stdout=out if stdout is None else stdout, stderr=err,
                                 env=full_env)
            self.pid = p.pid
            killer = threading.Timer(timeout, p.kill)
            killer.start()
            # wait4: explore's own peak RSS (and its children's), not this process's
            _, status, ru = os.wait4(p.pid, 0)
            killer.cancel()
            p.returncode = os.waitstatus_to_exitcode(status)
        self.wall = time.monotonic() - t0
        self.maxrss_kib = ru.ru_maxrss
        self.rc = p.returncode
        with open(out_path, encoding="utf-8", errors="replace") as f:
            self.out = f.read()
        with open(err_path, encoding="utf-8", errors="replace") as f:
            self.err = f.read()
        self.leftover = os.listdir(self.runtmp)
        self.report = None
        if os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.report = json.load(f)
        self.bounded = NOTE_UNBOUNDED not in self.err

    def cgroups_left(self):
        left = []
        for d in pids_cgroup_dirs():
            try:
                left += [n for n in os.listdir(d) if n.startswith(f"sockfault-{self.pid}-")]
            except OSError:
                pass
        return left

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def server_args(name, *prog_args, calls="accept", errnos="EMFILE", per_call=1):
    return ["--calls", calls, "--errnos", errnos, "--max-per-call", str(per_call),
            "--check", f"{target('ping_client')} {{port}}", "--", target(name), "{port}",
            *prog_args]


class Hostile(unittest.TestCase):
    def explore(self, args, timeout=60, **kw):
        x = Run("explore", ["--timeout", "3", "--kinds", "once"] + args, timeout=timeout, **kw)
        self.addCleanup(x.cleanup)
        return x

    def assertClean(self, x, prog, rcs=(0, 1)):
        """Exited normally, nothing of the target alive, TMPDIR empty, no cgroup left."""
        msg = f"rc={x.rc}\nstdout:\n{x.out[-3000:]}\nstderr:\n{x.err[-3000:]}"
        self.assertIn(x.rc, rcs, msg)
        self.assertEqual(procs_of(prog), [], "processes of the target outlived explore")
        self.assertEqual(x.leftover, [], "explore left files in TMPDIR")
        self.assertEqual(x.cgroups_left(), [], "explore left cgroups")

    def points(self, x):
        self.assertIsNotNone(x.report, x.err)
        self.assertTrue(x.report["points"], "nothing was explored")
        return x.report["points"]

    def test_fork_bomb(self):
        """Bounded by the run's pids.max (512 tasks), every child (setsid'd) killed."""
        prog = target("hostile_forkbomb")
        x = self.explore(server_args("hostile_forkbomb"))
        self.assertClean(x, prog)
        self.assertLess(x.wall, 30)
        [p] = self.points(x)
        self.assertTrue(p["fired"], p)
        self.assertIn(p["class"], {"error-exit", "stopped-serving", "hang", "crash"}, p)
        self.assertIn("forkbomb: ", p["stderr_tail"])
        n = int(p["stderr_tail"].split("forkbomb: ")[1].split()[0])
        if x.bounded:
            self.assertLess(n, 512, "the run's pids.max did not stop the bomb")
            self.assertIn("Resource temporarily unavailable", p["stderr_tail"])
        else:
            print(f"note: no pids cgroup here, the bomb made {n} children; only clean-up "
                  "checked", file=sys.stderr)

    def test_closed_stdio(self):
        """stdout and stderr closed at start, or on the fault: still judged, ok."""
        prog = target("hostile_closeio")
        for mode in ["start", "fault"]:
            x = self.explore(server_args("hostile_closeio", mode, per_call=2))
            self.assertClean(x, prog, rcs=(0,))
            for p in self.points(x):
                self.assertEqual((p["class"], p["fired"]), ("ok", True), (mode, p))
            self.assertLess(x.wall, 30)

    def test_sigterm_ignored(self):
        """Ignoring SIGTERM after the fault: hang ("never exited"), killed with SIGKILL after
        twice the grace;
        from the start: the baseline cannot be judged (6), and says why."""
        prog = target("hostile_noterm")
        x = self.explore(server_args("hostile_noterm", "fault"))
        self.assertClean(x, prog, rcs=(1,))
        [p] = self.points(x)
        self.assertEqual((p["class"], p["signal"], p["exit_status"]), ("hang", "SIGKILL", None))
        self.assertIn("never exited after SIGTERM", p["detail"])
        self.assertGreaterEqual(p["duration_ms"], 4000)  # twice the grace: min(2 s, --timeout)
        self.assertLess(x.wall, 30)
        x = self.explore(server_args("hostile_noterm", "always"))
        self.assertClean(x, prog, rcs=(6,))
        self.assertIn("did not exit after SIGTERM", x.err)
        self.assertLess(x.wall, 15)

    def test_stderr_flood(self):
        """64 MiB on stderr: explore's peak RSS stays small, the tail is the stream's end."""
        prog = target("hostile_flood")
        # writing 64 MiB through a pipe takes seconds on a loaded machine: not a hang
        x = self.explore(["--timeout", "60", "--calls", "socket", "--errnos", "EMFILE", "--",
                          prog, "64"], timeout=120)
        self.assertClean(x, prog, rcs=(0,))
        [p] = self.points(x)
        self.assertEqual(p["class"], "error-exit", p)
        tail = p["stderr_tail"]
        self.assertEqual(len(tail.encode()), 4096)
        last = tail.rstrip("\n").split("\n")
        self.assertRegex(last[-1], r"^flood: \d+ lines, then socket: Too many open files$")
        lines = int(last[-1].split()[1])
        self.assertGreater(lines, 1000000)
        self.assertEqual(last[-2], f"flood line {lines:010d}: the same words again")
        self.assertIn(last[-1], p["detail"])
        self.assertLess(x.maxrss_kib, 48 << 10, f"explore's peak RSS {x.maxrss_kib} KiB")

    def test_escaped_daemon(self):
        """Each run leaves a setsid'd daemon holding its stdout: all killed, runs judged."""
        prog = target("hostile_escape")
        x = self.explore(["--calls", "socket,close", "--errnos", "all", "--", prog])
        self.assertClean(x, prog, rcs=(0,))
        got = {p["faults"][0]["call"]: set() for p in self.points(x)}
        for p in self.points(x):
            got[p["faults"][0]["call"]].add(p["class"])
        self.assertEqual(got, {"socket": {"error-exit"}, "close": {"ok"}})
        self.assertLess(x.wall, 30)

    def test_litters_tmpdir(self):
        """Each run fills its TMPDIR (files, a read-only one, a fifo, a subtree, a symlink
        out of it) and prints what it found there first: every run finds it empty (a run
        seeing another's leftovers would print more than the baseline: silent), the
        symlink is not followed, nothing is left; with cgroups and without."""
        d = tempfile.mkdtemp(prefix="sf-robust-litter.")
        self.addCleanup(shutil.rmtree, d, True)
        outside = os.path.join(d, "outside")
        os.mkdir(outside)
        open(os.path.join(outside, "keep"), "w").close()
        prog = os.path.join(d, "litter.py")
        with open(prog, "w") as f:
            f.write(f"""#!/usr/bin/python3
import os, socket
tmp = os.environ["TMPDIR"]
print(sorted(n for n in os.listdir(tmp) if n != "log"))  # the log is the shim's
with open(os.path.join(tmp, "file"), "w") as f:
    f.write("x")
ro = os.path.join(tmp, "read-only")
open(ro, "w").close()
os.chmod(ro, 0o400)
os.mkfifo(os.path.join(tmp, "fifo"))
os.makedirs(os.path.join(tmp, "sub", "deeper"))
open(os.path.join(tmp, "sub", "deeper", "f"), "w").close()
os.symlink({outside!r}, os.path.join(tmp, "link-out"))
try:
    socket.socket().close()
except OSError:
    pass
""")
        os.chmod(prog, 0o755)
        wraps = [None] + ([NO_CGROUPS] if os.geteuid() == 0 and shutil.which("unshare") else [])
        for wrap in wraps:
            for jobs in ["1", "2"]:
                x = self.explore(["--jobs", jobs, "--calls", "socket,close", "--", prog],
                                 wrap=wrap)
                self.assertClean(x, prog, rcs=(0,))
                for p in self.points(x):
                    self.assertEqual((p["class"], p["fired"]), ("ok", True), (wrap, p))
                self.assertEqual(os.listdir(outside), ["keep"])

    def test_own_stdout_broken(self):
        """explore's own stdout a pipe nobody reads: no death by SIGPIPE, a write error (7)
        after the clean-up; replay (which echoes the program's output) runs to its end, then
        exits 7 too: the echo was lost."""
        prog = target("hostile_closeio")  # it prints a line on stdout first
        r, w = os.pipe()
        os.close(r)
        try:
            x = self.explore(server_args("hostile_closeio", "fault"), stdout=w)
            self.assertClean(x, prog, rcs=(7,))
            self.assertIn("stdout: Broken pipe", x.err)
            self.assertIsNotNone(x.report)  # the JSON report was still written
            rp = Run("replay", [x.json_path, "--point", "1"], stdout=w)
            self.addCleanup(rp.cleanup)
            self.assertClean(rp, prog, rcs=(7,))  # judged to its end, then the lost echo said
            self.assertIn("now ok", rp.err)
            self.assertIn("stdout: Broken pipe", rp.err)
        finally:
            os.close(w)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                         "needs root and unshare to hide the cgroups")
    def test_without_cgroups(self):
        """/sys/fs/cgroup hidden (a tmpfs over it in a private mount namespace): explore
        says the runs are unbounded, and still kills the escaped daemons and the bomb's
        children (subreaper, their environment) — nothing is left."""
        wrap = NO_CGROUPS
        for name, args in [("hostile_escape", ["--calls", "socket,close", "--",
                                               target("hostile_escape")]),
                           ("hostile_forkbomb", server_args("hostile_forkbomb"))]:
            x = self.explore(args, wrap=wrap)
            self.assertClean(x, target(name))
            self.assertFalse(x.bounded, x.err)
            self.assertLess(x.wall, 30)


class BadInput(unittest.TestCase):
    """Each bad option, value or report: its status, and a message naming the bad token."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sf-robust-bad.")
        cls.good = os.path.join(cls.dir, "good.json")
        x = Run("explore", ["--calls", "socket", "--errnos", "EMFILE", "--timeout", "3", "--",
                            target("hostile_escape")])
        shutil.copy(x.json_path, cls.good)
        x.cleanup()
        with open(cls.good) as f:
            cls.report = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def cli(self, *args):
        env = dict(os.environ, TMPDIR=self.dir)
        return subprocess.run([CLI] + list(args), capture_output=True, text=True,
                              timeout=60, env=env)

    def assertBad(self, args, status, token):
        p = self.cli(*args)
        self.assertEqual(p.returncode, status, (args, p.stderr))
        self.assertIn(token, p.stderr, args)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, (args, p.stderr))
        self.assertEqual(p.stdout, "", args)

    def test_explore_options(self):
        prog = ["--", target("hostile_escape")]
        for args, token in [
                (["--bogus"], "--bogus"), (["--by-site=1"], "--by-site"),
                (["--quiet=yes"], "--quiet"), (["--check", "--"], "--check"), (["-x"], "-x"),
                (["--calls", "acept"], "acept"), (["--calls", ""], "--calls"),
                (["--calls", "accept,"], "accept,"),
                (["--errnos", "EMFLE"], "EMFLE"), (["--errnos", "EMFILE,,EPERM"], "EMFILE,,EPERM"),
                (["--max-per-call", "0"], "'0'"), (["--max-per-call", "100001"], "100001"),
                (["--max-per-call", " 1"], "' 1'"),
                (["--depth", "3"], "'3'"), (["--depth", "1.5"], "1.5"),
                (["--budget", "-1"], "-1"), (["--budget", "1e3"], "1e3"),
                (["--timeout", "-1"], "-1"), (["--timeout", "0"], "'0'"),
                (["--timeout", "abc"], "abc"), (["--timeout", "nan"], "nan"),
                (["--timeout", "inf"], "inf"), (["--timeout", "0x10"], "0x10"),
                (["--timeout", "86401"], "86401"), (["--timeout", " 3"], "' 3'"),
                (["--jobs", "0"], "'0'"), (["--jobs", "257"], "257"), (["--jobs", "-1"], "-1"),
                (["--jobs", "99999999999999999999"], "99999999999999999999"),
                (["--shard", "3/2"], "3/2"), (["--shard", "0/2"], "0/2"),
                (["--shard", "1/0"], "1/0"), (["--shard", "1/+2"], "1/+2"),
                (["--shard", "1/2x"], "1/2x"), (["--shard", "1/ 2"], "1/ 2"),
                (["--shard", "2"], "'2'"),
                (["--fail-on", "bogus"], "bogus"), (["--fail-on", "crash,,hang"], "crash,,hang"),
                (["--fail-on", ""], "--fail-on"),
                (["--expect-status", "256"], "256"), (["--expect-status", "-1"], "-1"),
                (["--expect-status", "+1"], "+1"),
                (["--json", ""], "--json"), (["--junit", ""], "--junit"),
                (["--json", "/nonexistent-dir/r.json"], "/nonexistent-dir/r.json"),
                (["--junit", self.dir], self.dir),
                (["--json", "same.out", "--junit", "same.out"], "same.out"),
                (["--html", ""], "--html"), (["--html", self.dir], self.dir),
                (["--check", ""], "--check")]:
            self.assertBad(["explore"] + args + prog, 2, token)
        for opt in ["--check", "--calls", "--timeout", "--json"]:  # the value missing
            self.assertBad(["explore", opt], 2, opt)
        self.assertBad(["explore"], 2, "no program")
        self.assertBad(["explore", "--"], 2, "no program")

    def test_explore_target_and_baseline(self):
        self.assertBad(["explore", "--", "/nonexistent/prog"], 5, "/nonexistent/prog")
        self.assertBad(["explore", "--", "no-such-command-sf"], 5, "no-such-command-sf")
        self.assertBad(["explore", "--", self.dir], 5, self.dir)
        self.assertBad(["explore", "--", self.good], 5, self.good)  # not executable
        p = self.cli("explore", "--timeout", "2", "--", "false")
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("status 1", p.stderr)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def mutated(self, name, change):
        r = json.loads(json.dumps(self.report))
        change(r)
        return self.write(name, json.dumps(r))

    def bad_reports(self):
        pt = lambda r: r["points"][0]
        opt = lambda r: r["options"]
        return [
            (os.path.join(self.dir, "missing.json"), "No such file"),
            (self.dir, "Is a directory"),
            (self.write("empty.json", ""), "not valid JSON"),
            (self.write("trunc.json", json.dumps(self.report)[:-40]), "not valid JSON"),
            (self.write("array.json", "[1, 2]"), "not a JSON object"),
            (self.write("nul.json", '{"schema": "sockfault-explore/1"\0}'), "not valid JSON"),
            (self.mutated("schema.json", lambda r: r.update(schema="sockfault-explore/2")),
             "sockfault-explore/2"),
            (self.mutated("noschema.json", lambda r: r.pop("schema")), "\"schema\" is missing"),
            (self.mutated("prog.json", lambda r: r.update(prog=5)), "\"prog\""),
            (self.mutated("args.json", lambda r: r.update(args=[1])), "args[0]"),
            (self.mutated("points.json", lambda r: r.pop("points")), "\"points\""),
            (self.mutated("total.json", lambda r: r.update(total_points=-1)), "total_points"),
            (self.mutated("shard.json", lambda r: opt(r).update(shard="3/2")), "3/2"),
            (self.mutated("failon.json", lambda r: opt(r).update(fail_on=["bogus"])),
             "fail_on"),
            (self.mutated("tmo.json", lambda r: opt(r).update(timeout_ms=-1)), "timeout_ms"),
            (self.mutated("tmos.json", lambda r: opt(r).update(timeout_ms="10")), "timeout_ms"),
            (self.mutated("mpc.json", lambda r: opt(r).update(max_per_call=0)), "max_per_call"),
            (self.mutated("depth.json", lambda r: opt(r).update(depth=7)), "depth"),
            (self.mutated("budget.json", lambda r: opt(r).update(budget=-3)), "budget"),
            (self.mutated("status.json", lambda r: opt(r).update(expect_status=300)),
             "expect_status"),
            (self.mutated("id.json", lambda r: pt(r).update(id="x")), "\"id\""),
            (self.mutated("class.json", lambda r: pt(r).update({"class": "bogus"})), "class"),
            (self.mutated("call.json", lambda r: pt(r)["faults"][0].update(call="acept")),
             "acept"),
            (self.mutated("errno.json", lambda r: pt(r)["faults"][0].update(errno="EMFLE")),
             "EMFLE"),
            (self.mutated("when.json", lambda r: pt(r)["faults"][0].update(when=0)), "when"),
            (self.mutated("site.json", lambda r: pt(r)["faults"][0].update(site="a b;c")),
             "site"),
            (self.mutated("dup.json", lambda r: r["points"].append(pt(r))), "appears twice"),
        ]

    def test_bad_reports(self):
        for path, words in self.bad_reports():
            for verb in ["replay", "merge"]:
                p = self.cli(verb, path)
                self.assertEqual(p.returncode, 4, (verb, path, words, p.stderr))
                self.assertIn(path, p.stderr, verb)
                self.assertIn(words, p.stderr, (verb, path))
            p = self.cli("merge", self.good, path)  # a bad one after a good one too
            self.assertEqual(p.returncode, 4, (path, p.stderr))
            self.assertIn(path, p.stderr)

    def test_replay_options(self):
        for args, token in [(["--point", "999"], "999"), (["--point", "x"], "'x'"),
                            (["--point", "1.0"], "1.0"), (["--point", "-1"], "-1"),
                            (["--point", ""], "--point"),
                            (["--timeout", "-1"], "-1"), (["--timeout", "0x10"], "0x10"),
                            (["--timeout", "nan"], "nan"), (["--bogus"], "--bogus"),
                            (["--point"], "--point")]:
            self.assertBad(["replay", self.good] + args, 2, token)
        self.assertBad(["replay"], 2, "no report")
        self.assertBad(["replay", self.good, self.good], 2, self.good)
        gone = self.mutated("gone.json", lambda r: r.update(prog="/nonexistent/prog"))
        p = self.cli("replay", gone, "--point", "1")
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("/nonexistent/prog", p.stderr)

    def test_merge_options(self):
        for args, token in [(["--json", ""], "--json"), (["--junit", ""], "--junit"),
                            (["--json", "/nonexistent-dir/m.json"], "/nonexistent-dir/m.json"),
                            (["--json", "--"], "--json"), (["--bogus"], "--bogus"),
                            (["--json", "same.out", "--junit", "same.out"], "same.out"),
                            (["--html", ""], "--html"), (["--junit", "x", "--html", "x"], "'x'")]:
            self.assertBad(["merge"] + args + [self.good], 2, token)
        self.assertBad(["merge", self.good, "--json"], 2, "--json")
        self.assertBad(["merge"], 2, "no reports")


if __name__ == "__main__":
    if not CLI or not TARGETS:
        sys.exit("set SF_CLI and SF_TARGETS")
    unittest.main()
