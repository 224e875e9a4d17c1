#!/usr/bin/env python3
"""End-to-end tests of the shim through its environment and the `sockfault run` command.

Paths come from ctest: SF_CLI (sockfault), SF_SHIM (libsockfault.so), SF_PROBE (probe),
SF_STATIC_PROBE (a static program, or empty). Every child is bounded by a timeout.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

CLI = os.environ["SF_CLI"]
SHIM = os.environ["SF_SHIM"]
PROBE = os.environ["SF_PROBE"]
STATIC_PROBE = os.environ.get("SF_STATIC_PROBE", "")
T = 60  # seconds any single child may take


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOCKFAULT") and k != "LD_PRELOAD"}
    env.update(extra)
    return env


def preload(rules=None, *args, env_extra=None, check=True):
    """Run the probe with the shim preloaded and SOCKFAULT=rules; return its stdout tokens."""
    env = clean_env(LD_PRELOAD=SHIM, **(env_extra or {}))
    if rules is not None:
        env["SOCKFAULT"] = rules
    p = subprocess.run([PROBE, *args], env=env, capture_output=True, text=True, timeout=T)
    if check and p.returncode != 0:
        raise AssertionError(f"probe {args} exited {p.returncode}: {p.stderr}")
    return p


def tokens(rules, *args, **kw):
    return preload(rules, *args, **kw).stdout.split()


def run_cli(*args, env=None):
    return subprocess.run([CLI, *args], env=env or clean_env(), capture_output=True,
                          text=True, timeout=T)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class When(unittest.TestCase):
    def test_forms(self):
        cases = {
            "when=3": [3],
            "when=3+": [3, 4, 5, 6, 7, 8, 9, 10],
            "when=2+3": [2, 5, 8],
            "when=2..5": [2, 3, 4, 5],
            "when=1..9+4": [1, 5, 9],
            "": list(range(1, 11)),
        }
        for when, failing in cases.items():
            rule = "socket:error=EMFILE" + (":" + when if when else "")
            got = tokens(rule, "nsocket", "10")
            want = ["EMFILE" if i in failing else "ok" for i in range(1, 11)]
            self.assertEqual(got, want, rule)

    def test_unfaulted_without_rules(self):
        self.assertEqual(tokens(None, "nsocket", "5"), ["ok"] * 5)


class ProbSeed(unittest.TestCase):
    def test_same_seed_same_schedule(self):
        a = tokens("socket:error=ENOBUFS:prob=0.3:seed=7", "nsocket", "300")
        b = tokens("socket:error=ENOBUFS:prob=0.3:seed=7", "nsocket", "300")
        c = tokens("socket:error=ENOBUFS:prob=0.3:seed=8", "nsocket", "300")
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        fails = a.count("ENOBUFS")
        self.assertTrue(50 <= fails <= 130, fails)  # 90 expected
        self.assertEqual(set(a), {"ok", "ENOBUFS"})

    def test_prob_bounds(self):
        self.assertEqual(tokens("socket:error=EMFILE:prob=0", "nsocket", "50"), ["ok"] * 50)
        self.assertEqual(tokens("socket:error=EMFILE:prob=1", "nsocket", "50"), ["EMFILE"] * 50)

    def test_prob_applies_within_when(self):
        got = tokens("socket:error=EMFILE:when=5..8:prob=1:seed=1", "nsocket", "10")
        self.assertEqual([i + 1 for i, t in enumerate(got) if t != "ok"], [5, 6, 7, 8])

    def test_any_draws_documented_and_repeats(self):
        documented = {"EPROTONOSUPPORT", "ENFILE", "EMFILE", "EACCES", "ENOBUFS", "ENOMEM",
                      "EINVAL", "EAFNOSUPPORT"}
        a = tokens("socket:error=any:seed=3", "nsocket", "60")
        self.assertTrue(set(a) <= documented, set(a) - documented)
        self.assertGreater(len(set(a)), 3)
        self.assertEqual(a, tokens("socket:error=any:seed=3", "nsocket", "60"))


class Filters(unittest.TestCase):
    def test_family_and_type(self):
        # order: inet stream, inet dgram, inet6 stream, unix stream
        self.assertEqual(tokens("socket:error=EACCES:family=inet6", "socket-family"),
                         ["ok", "ok", "EACCES", "ok"])
        self.assertEqual(tokens("socket:error=EACCES:family=unix", "socket-family"),
                         ["ok", "ok", "ok", "EACCES"])
        self.assertEqual(tokens("socket:error=EACCES:type=dgram", "socket-family"),
                         ["ok", "EACCES", "ok", "ok"])
        self.assertEqual(tokens("socket:error=EACCES:family=inet:type=stream", "socket-family"),
                         ["EACCES", "ok", "ok", "ok"])

    def test_family_counts_only_matching_calls(self):
        # when counts calls that match the filters: the 2nd inet socket is the 2nd call here
        self.assertEqual(tokens("socket:error=EACCES:family=inet:when=2", "socket-family"),
                         ["ok", "EACCES", "ok", "ok"])

    def test_port(self):
        # port 7 and port 1 on loopback are closed: a real connect says ECONNREFUSED
        self.assertEqual(tokens("connect:error=ENETUNREACH:port=7", "port", "7"),
                         ["ENETUNREACH", "ECONNREFUSED", "ENETUNREACH", "ECONNREFUSED"])

    def test_fd(self):
        # the fixture's client socket is fd 4 (listener 3, accepted 5)
        self.assertEqual(tokens("getsockopt:error=ENOPROTOOPT:fd=4", "getsockopt", "2"),
                         ["ENOPROTOOPT", "ENOPROTOOPT"])
        self.assertEqual(tokens("getsockopt:error=ENOPROTOOPT:fd=5", "getsockopt", "2"),
                         ["ok", "ok"])

    def test_site(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            tokens(None, "sites", env_extra={"SOCKFAULT_LOG": log})
            sites = [r["site"] for r in read_log(log) if r.get("call") == "socket"]
            self.assertEqual(len(sites), 6)
            self.assertEqual(len(set(sites)), 2, sites)
            site_b = sites[1]
            self.assertTrue(site_b.startswith("probe+0x"), site_b)
        self.assertEqual(tokens(f"socket:error=EMFILE:site={site_b}", "sites"),
                         ["ok", "EMFILE"] * 3)
        self.assertEqual(tokens(f"socket:error=EMFILE:site={site_b}:when=2", "sites"),
                         ["ok", "ok", "ok", "EMFILE", "ok", "ok"])

    def test_force(self):
        self.assertEqual(tokens("socket:error=EBADF:force:when=1", "nsocket", "2"),
                         ["EBADF", "ok"])


class BadRules(unittest.TestCase):
    BAD = {
        "acept:error=EMFILE": "'acept' (did you mean 'accept'?)",
        "accept:error=EMFLE": "did you mean 'EMFILE'",
        "accept:error=EMFILE:when=abc": "abc",
        "accept:error=EMFILE:wehn=2": "'wehn'",
        "accept:error=EMFILE:prob=2": "prob=2",
        "socket:error=EBADF": "EBADF is not documented for socket",
        "accept": "no error=",
    }

    def test_env_rules_stop_before_main(self):
        for rule, token in self.BAD.items():
            p = preload(rule, "nsocket", "1", check=False, env_extra={"PROBE_CTOR": "1"})
            self.assertEqual(p.returncode, 3, rule)
            self.assertIn(token, p.stderr, rule)
            self.assertIn("was not run", p.stderr)
            self.assertEqual(p.stdout, "", f"{rule}: the program ran: {p.stdout!r}")

    def test_cli_refuses_before_running(self):
        with tempfile.TemporaryDirectory() as d:
            mark = os.path.join(d, "ran")
            for rule, token in self.BAD.items():
                p = run_cli("run", "-e", rule, "--", "/bin/sh", "-c", f"touch {mark}")
                self.assertEqual(p.returncode, 3, rule)
                self.assertIn(token, p.stderr, rule)
                self.assertFalse(os.path.exists(mark), rule)

    def test_bad_environment_values(self):
        for var, value, token in [("SOCKFAULT_LOG_LEVEL", "verbose", "verbose"),
                                  ("SOCKFAULT_INHERIT", "maybe", "maybe"),
                                  ("SOCKFAULT_FILE", "/nonexistent/rules", "/nonexistent/rules"),
                                  ("SOCKFAULT_LOG", "/nonexistent/dir/log", "/nonexistent/dir/log")]:
            p = preload(None, "nsocket", "1", check=False, env_extra={var: value})
            self.assertEqual(p.returncode, 3, var)
            self.assertIn(token, p.stderr, var)
            self.assertEqual(p.stdout, "", var)

    def test_empty_rule_sets_refused(self):
        for rules in ("", ";", ";;;", " ; \n ;"):
            p = preload(rules, "nsocket", "1", check=False)
            self.assertEqual((p.returncode, p.stdout), (3, ""), repr(rules))
            self.assertIn("no rule in it", p.stderr)
            p = run_cli("run", "-e", rules, "--", PROBE, "nsocket", "1")
            self.assertEqual((p.returncode, p.stdout), (3, ""), repr(rules))
            self.assertIn("no rule in it", p.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".rules") as f:
            f.write("# nothing yet\n\n")
            f.flush()
            p = run_cli("run", "-f", f.name, "--", PROBE, "nsocket", "1")
            self.assertEqual((p.returncode, p.stdout), (3, ""))
            self.assertIn(f"{f.name}: no rule in it", p.stderr)

    def test_misspelt_variable_warns(self):
        p = preload(None, "nsocket", "1", env_extra={"SOCKFAULT_LGO": "/tmp/x"})
        self.assertIn("SOCKFAULT_LGO", p.stderr)
        self.assertIn("did you mean SOCKFAULT_LOG", p.stderr)

    def test_cli_usage_errors(self):
        for args, token, status in [(["frobnicate"], "frobnicate", 2),
                                    (["run", "--bogus", "--", PROBE], "--bogus", 2),
                                    (["run", "--log-level", "loud", "--", PROBE], "loud", 2),
                                    (["run"], "no program", 2),
                                    (["run", "--", "/nonexistent/prog"], "/nonexistent/prog", 5),
                                    (["run", "-f", "/nonexistent/rules", "--", PROBE],
                                     "/nonexistent/rules", 3),
                                    (["errnos", "acept"], "did you mean 'accept'", 2)]:
            p = run_cli(*args)
            self.assertEqual(p.returncode, status, args)
            self.assertIn(token, p.stderr, args)


class RulesFile(unittest.TestCase):
    def test_file_with_comments(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
            f.write("# first two sockets succeed\nsocket:error=EMFILE:when=3  # third\n\n"
                    "socket:error=EACCES:when=5\n")
        try:
            p = run_cli("run", "-f", f.name, "--", PROBE, "nsocket", "6")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.split(), ["ok", "ok", "EMFILE", "ok", "EACCES", "ok"])
        finally:
            os.unlink(f.name)

    def test_file_error_names_line(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
            f.write("socket:error=EMFILE\n# ok so far\nbind:error=EACCESS\n")
        try:
            p = run_cli("run", "-f", f.name, "--", PROBE, "nsocket", "1")
            self.assertEqual(p.returncode, 3)
            self.assertIn(f"{f.name}:3:", p.stderr)
            self.assertIn("did you mean 'EACCES'", p.stderr)
            self.assertEqual(p.stdout, "")
        finally:
            os.unlink(f.name)

    def test_directory_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = run_cli("run", "-f", d, "--", PROBE, "nsocket", "1")
            self.assertEqual(p.returncode, 3)
            self.assertIn(f"{d}: Is a directory", p.stderr)
            self.assertEqual(p.stdout, "")

    def test_cli_and_file_combine(self):
        with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
            f.write("socket:error=EMFILE:when=1\n")
        try:
            p = run_cli("run", "-f", f.name, "-e", "socket:error=EACCES:when=2", "--", PROBE,
                        "nsocket", "3")
            self.assertEqual((p.returncode, p.stdout.split()), (0, ["EMFILE", "EACCES", "ok"]),
                             p.stderr)
        finally:
            os.unlink(f.name)


class Paths(unittest.TestCase):
    """Relative paths made absolute once, at start; a pipe read once; FIFOs refused."""

    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="sf-paths.")
        self.addCleanup(shutil.rmtree, self.d, True)
        os.mkdir(os.path.join(self.d, "elsewhere"))
        with open(os.path.join(self.d, "r.rules"), "w") as f:
            f.write("socket:error=EMFILE:when=1\n")

    def cd_then_probe(self):
        return ["/bin/sh", "-c", f'cd elsewhere && exec "{PROBE}" nsocket 2']

    def test_relative_file_and_log_with_chdir(self):
        p = subprocess.run([CLI, "run", "-f", "r.rules", "--log", "l.jsonl", "--"]
                           + self.cd_then_probe(), cwd=self.d, env=clean_env(),
                           capture_output=True, text=True, timeout=T)
        self.assertEqual((p.returncode, p.stdout.split()), (0, ["EMFILE", "ok"]), p.stderr)
        recs = read_log(os.path.join(self.d, "l.jsonl"))
        self.assertEqual(len([r for r in recs if r.get("call") == "socket"]), 2)
        self.assertFalse(os.path.exists(os.path.join(self.d, "elsewhere", "l.jsonl")))

    def test_relative_env_with_chdir(self):
        """LD_PRELOAD by hand: the shim makes SOCKFAULT_FILE and SOCKFAULT_LOG absolute."""
        env = clean_env(LD_PRELOAD=SHIM, SOCKFAULT_FILE="r.rules", SOCKFAULT_LOG="l.jsonl")
        p = subprocess.run(self.cd_then_probe(), cwd=self.d, env=env, capture_output=True,
                           text=True, timeout=T)
        self.assertEqual((p.returncode, p.stdout.split()), (0, ["EMFILE", "ok"]), p.stderr)
        recs = read_log(os.path.join(self.d, "l.jsonl"))
        self.assertEqual(len([r for r in recs if r.get("call") == "socket"]), 2)

    def test_rules_from_a_pipe(self):
        p = subprocess.run(["bash", "-c", f'"{CLI}" run -f <(echo socket:error=EACCES:when=2) '
                            f'-- "{PROBE}" nsocket 2'], env=clean_env(), capture_output=True,
                           text=True, timeout=T)
        self.assertEqual((p.returncode, p.stdout.split()), (0, ["ok", "EACCES"]), p.stderr)

    def test_fifos_refused(self):
        fifo = os.path.join(self.d, "fifo")
        os.mkfifo(fifo)
        p = run_cli("run", "-f", fifo, "--", PROBE, "nsocket", "1")
        self.assertEqual((p.returncode, p.stdout), (3, ""))
        self.assertIn("FIFO", p.stderr)
        p = run_cli("run", "--log", fifo, "--", PROBE, "nsocket", "1")
        self.assertEqual((p.returncode, p.stdout), (3, ""))
        self.assertIn("not a regular file", p.stderr)
        env = clean_env(LD_PRELOAD=SHIM, SOCKFAULT_FILE=fifo)
        p = subprocess.run([PROBE, "nsocket", "1"], env=env, capture_output=True, text=True,
                           timeout=T)
        self.assertEqual((p.returncode, p.stdout), (3, ""))
        self.assertIn("FIFO", p.stderr)


class Log(unittest.TestCase):
    def test_records(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            p = run_cli("run", "--log", log, "-e", "accept:error=EMFILE:when=2", "--", PROBE,
                        "accept", "2")
            self.assertEqual(p.returncode, 0, p.stderr)
            recs = read_log(log)
            self.assertEqual(recs[0]["event"], "start")
            self.assertEqual(recs[0]["rules"], "accept:error=EMFILE:when=2")
            self.assertEqual(recs[-1]["event"], "exit")
            self.assertEqual(recs[-1]["injected"], 1)
            self.assertEqual(recs[-1]["sockets"], 0)
            calls = [r for r in recs if "call" in r]
            for r in calls:
                for key in ("pid", "tid", "call", "n", "ret", "injected", "site"):
                    self.assertIn(key, r)
                self.assertEqual(r["pid"], recs[0]["pid"])
            accepts = [r for r in calls if r["call"] == "accept"]
            # the fixture's accept is the 1st, the probe's first accept the 2nd; the probe
            # drains its listener between calls, so more follow
            self.assertEqual([r["n"] for r in accepts], list(range(1, len(accepts) + 1)))
            bad = accepts[1]
            self.assertEqual((bad["ret"], bad["errno"], bad["injected"], bad["rule"]),
                             (-1, "EMFILE", True, 0))
            self.assertEqual(bad["family"], "inet")
            self.assertIsInstance(bad["port"], int)
            self.assertGreater(bad["port"], 0)
            self.assertFalse(any(r["injected"] for r in calls if r is not bad))
            binds = [r for r in calls if r["call"] == "bind"]
            self.assertEqual(binds[0]["family"], "inet")
            self.assertEqual(p.stdout.split(), ["EMFILE", "ok"])

    def test_faults_level(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            p = run_cli("run", "--log", log, "--log-level", "faults", "-e",
                        "socket:error=EMFILE:when=2", "--", PROBE, "nsocket", "4")
            self.assertEqual((p.returncode, p.stdout.split()), (0, ["ok", "EMFILE", "ok", "ok"]),
                             p.stderr)
            calls = [r for r in read_log(log) if "call" in r]
            self.assertEqual(len(calls), 1)
            self.assertEqual((calls[0]["call"], calls[0]["n"]), ("socket", 2))

    def refused(self, path, reason):
        """The shim refuses SOCKFAULT_LOG=path before main (exit 3), naming the reason."""
        p = preload(None, "nsocket", "1", check=False, env_extra={"SOCKFAULT_LOG": path})
        self.assertEqual((p.returncode, p.stdout), (3, ""), path)
        self.assertIn(reason, p.stderr)

    def kept(self, path, make):
        """A file holding "keep", made, then checked untouched after the test's body."""
        with open(path, "w") as f:
            f.write("keep\n")
        make()
        yield
        with open(path) as f:
            self.assertEqual(f.read(), "keep\n")

    def test_symlink_refused(self):
        with tempfile.TemporaryDirectory() as d:
            target, link = os.path.join(d, "victim"), os.path.join(d, "log.jsonl")
            for _ in self.kept(target, lambda: os.symlink(target, link)):
                self.refused(link, "symbolic link")

    def test_symlink_in_any_component_refused(self):
        """A link to a directory anywhere in the path: refused, nothing created there."""
        with tempfile.TemporaryDirectory() as d:
            real = os.path.join(d, "real")
            os.makedirs(os.path.join(real, "sub"))
            os.symlink(real, os.path.join(d, "ln"))
            for path in (os.path.join(d, "ln", "log.jsonl"),
                         os.path.join(d, "ln", "sub", "log.jsonl"),
                         os.path.join(d, "ln", "sub", "..", "log.jsonl")):
                self.refused(path, "a symbolic link is in the path")
            self.assertEqual(sorted(os.listdir(real)), ["sub"])
            self.assertEqual(os.listdir(os.path.join(real, "sub")), [])
            # relative paths are walked the same way
            p = subprocess.run([PROBE, "nsocket", "1"], cwd=d, capture_output=True, text=True,
                               env=clean_env(LD_PRELOAD=SHIM, SOCKFAULT_LOG="ln/log"), timeout=T)
            self.assertEqual(p.returncode, 3, p.stderr)
            ok = os.path.join(real, "sub", "log.jsonl")  # no link on the way: logged
            preload(None, "nsocket", "1", env_extra={"SOCKFAULT_LOG": ok})
            self.assertTrue(read_log(ok))

    def test_hard_link_or_other_owner_refused(self):
        with tempfile.TemporaryDirectory() as d:
            victim, link = os.path.join(d, "victim"), os.path.join(d, "log.jsonl")
            for _ in self.kept(victim, lambda: os.link(victim, link)):
                self.refused(link, "has 2 hard links (refused")
            if os.geteuid() == 0:
                other = os.path.join(d, "other.jsonl")
                for _ in self.kept(other, lambda: os.chown(other, 65534, 65534)):
                    self.refused(other, "belongs to uid 65534, not to this process (uid 0)")


class LogRecords(unittest.TestCase):
    """Every line of the log is one whole record and valid JSON (UTF-8), whatever happens."""

    def lines(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        self.assertTrue(raw.endswith(b"\n"), raw[-80:])
        return [json.loads(line.decode("utf-8")) for line in raw.splitlines()]

    def test_disk_full_whole_records_and_dropped_count(self):
        """RLIMIT_FSIZE just past the log's size: each record written then cuts short (as on a
        full disk); none stays half written, and the exit record counts them."""
        script = ("import os, resource, signal, socket\n"
                  "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                  "size = os.path.getsize(os.environ['SOCKFAULT_LOG'])\n"
                  "inf = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
                  "resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, inf[1]))\n"
                  "socks = [socket.socket() for _ in range(5)]\n"
                  "resource.setrlimit(resource.RLIMIT_FSIZE, inf)\n"
                  "print(len(socks))\n")
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=clean_env(LD_PRELOAD=SHIM, SOCKFAULT_LOG=log), timeout=T)
            self.assertEqual((p.returncode, p.stdout), (0, "5\n"), p.stderr)
            recs = self.lines(log)  # every line whole; the sockets' closes come after
            self.assertEqual([r for r in recs if r.get("call") == "socket"], [])
            self.assertEqual((recs[0]["event"], recs[-1]["event"]), ("start", "exit"))
            self.assertEqual(recs[-1]["dropped"], 5)
            p = preload(None, "nsocket", "2", env_extra={"SOCKFAULT_LOG": log})
            self.assertEqual(self.lines(log)[-1]["dropped"], 0)

    def test_bad_utf8_names_escaped_and_given_back(self):
        """A program whose name is not UTF-8: its exe and call sites are escaped (\\udcXX), the
        log and explore's report stay valid JSON, and replay gets the original bytes back."""
        with tempfile.TemporaryDirectory() as d:
            name = b"probe-\xff\xfe\xc3("
            prog = os.path.join(d.encode(), name)
            shutil.copy(PROBE, prog)
            log = os.path.join(d, "log.jsonl")
            p = subprocess.run([prog, "nsocket", "1"], capture_output=True,
                               env=clean_env(LD_PRELOAD=SHIM, SOCKFAULT_LOG=log), timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            recs = self.lines(log)
            back = lambda text: text.encode("utf-8", "surrogateescape")
            self.assertEqual(back(recs[0]["exe"]), prog)
            call = [r for r in recs if r.get("call") == "socket"][0]
            self.assertTrue(back(call["site"]).startswith(name + b"+0x"), call["site"])
            report = os.path.join(d, "r.json")
            p = subprocess.run([CLI, "explore", "-q", "--jobs", "1", "--by-site", "--calls",
                                "socket", "--errnos", "EMFILE", "--fail-on", "none", "--json",
                                report, "--", prog, "nsocket", "1"], capture_output=True,
                               env=clean_env(), timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(report, "rb") as f:
                r = json.loads(f.read().decode("utf-8"))
            point = r["points"][0]
            self.assertEqual(point["id"], "1")
            self.assertEqual(back(r["prog"]), os.path.realpath(prog))
            self.assertTrue(back(point["faults"][0]["site"]).startswith(name + b"+0x"), point)
            self.assertEqual((point["class"], point["fired"]), ("silent", True))  # prints EMFILE
            p = subprocess.run([CLI, "replay", report, "--point", "1"], capture_output=True,
                               env=clean_env(), timeout=T)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"now silent", p.stderr)  # the program found by its own bytes
            self.assertIn(b"the same", p.stderr)


class Contexts(unittest.TestCase):
    def test_constructor_before_main(self):
        out = tokens("socket:error=EACCES:when=1", "nsocket", "1", env_extra={"PROBE_CTOR": "1"})
        self.assertEqual(out, ["ctor:EACCES", "ok"])

    def test_threads_when_n_fires_once(self):
        self.assertEqual(tokens("socket:error=EMFILE:when=777", "threads", "16", "1000"), ["1"])
        # 16000 calls; 100, 200, … 16000 fail
        self.assertEqual(tokens("socket:error=EMFILE:when=100+100", "threads", "16", "1000"),
                         ["160"])

    def test_fork_copies_counters(self):
        out = tokens("socket:error=EMFILE:when=2", "fork")
        self.assertEqual(sorted(out), sorted(["before:ok", "child:EMFILE", "parent:EMFILE"]))

    def test_no_inherit(self):
        out = tokens("socket:error=EMFILE:when=2", "fork", env_extra={"SOCKFAULT_INHERIT": "0"})
        self.assertEqual(sorted(out), sorted(["before:ok", "child:ok", "parent:EMFILE"]))
        p = run_cli("run", "--no-inherit", "-e", "socket:error=EMFILE", "--", "/bin/sh", "-c",
                    f"{PROBE} nsocket 1")
        self.assertEqual((p.returncode, p.stdout.split()), (0, ["ok"]), p.stderr)
        p = run_cli("run", "-e", "socket:error=EMFILE", "--", "/bin/sh", "-c",
                    f"{PROBE} nsocket 1")
        self.assertEqual((p.returncode, p.stdout.split()), (0, ["EMFILE"]), p.stderr)


class Run(unittest.TestCase):
    def test_exit_status(self):
        self.assertEqual(run_cli("run", "--", PROBE, "exit", "7").returncode, 7)
        self.assertEqual(run_cli("run", "--", PROBE, "kill", str(int(signal.SIGABRT))).returncode,
                         128 + signal.SIGABRT)

    def test_keeps_existing_preload(self):
        env = clean_env(LD_PRELOAD="libm.so.6")
        p = run_cli("run", "--", "/bin/sh", "-c", 'echo "$LD_PRELOAD"', env=env)
        self.assertEqual((p.returncode, p.stdout.strip()),
                         (0, f"{os.path.realpath(SHIM)}:libm.so.6"), p.stderr)

    def test_path_lookup_and_help(self):
        p = run_cli("run", "-e", "socket:error=EMFILE", "--", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usage: sockfault run", run_cli("run", "--help").stdout)
        self.assertRegex(run_cli("--version").stdout, r"^sockfault \d+\.\d+")

    @unittest.skipUnless(STATIC_PROBE, "no static libc here")
    def test_static_binary_refused(self):
        """--backend preload refuses it; the default (auto) faults it through seccomp
        (tests/seccomp has the rest)."""
        p = run_cli("run", "--backend", "preload", "-e", "socket:error=EMFILE", "--",
                    STATIC_PROBE)
        self.assertEqual(p.returncode, 5)
        self.assertIn("statically linked", p.stderr)
        self.assertEqual(p.stdout, "")
        p = run_cli("run", "-e", "socket:error=EMFILE", "--", STATIC_PROBE)
        self.assertEqual((p.returncode, p.stdout), (0, "failed\n"), p.stderr)
        self.assertIn("statically linked: --backend auto chose seccomp", p.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a program another owner")
    def test_setid_program_refused(self):
        """The loader ignores LD_PRELOAD in a set-uid/set-gid program that changes our
        credentials: refused like a static binary (exit 5), the program not run."""
        with tempfile.TemporaryDirectory() as d:
            if os.statvfs(d).f_flag & os.ST_NOSUID:
                self.skipTest(f"{d} is mounted nosuid")
            os.chmod(d, 0o755)
            for bits, word in ((0o4755, "set-user-ID (owner uid 65534)"),
                               (0o2755, "set-group-ID (group gid 65534)")):
                prog = os.path.join(d, f"probe-{bits:o}")
                shutil.copy(PROBE, prog)
                os.chown(prog, 65534, 65534)
                os.chmod(prog, bits)
                for verb in (["run", "-e", "socket:error=EMFILE", "--"],
                             ["explore", "--timeout", "5", "--"]):
                    p = run_cli(*verb, prog, "nsocket", "1")
                    self.assertEqual(p.returncode, 5, (verb, p.stderr))
                    self.assertIn(word, p.stderr)
                    self.assertIn("ignores LD_PRELOAD", p.stderr)
                    self.assertEqual(p.stdout, "")
                os.chmod(prog, 0o755)  # without the bit: it runs, faulted
                p = run_cli("run", "-e", "socket:error=EMFILE", "--", prog, "nsocket", "1")
                self.assertEqual((p.returncode, p.stdout.split()), (0, ["EMFILE"]), p.stderr)

    def test_program_dies_with_run(self):
        """sockfault run killed by SIGKILL (no chance to forward anything): its program does
        not live on as an orphan."""
        proc = subprocess.Popen([CLI, "run", "--", "sleep", "60"], env=clean_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        child = None
        try:
            deadline = time.monotonic() + 10
            while child is None and time.monotonic() < deadline:
                try:
                    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                        kids = f.read().split()
                    child = int(kids[0]) if kids else None
                except OSError:
                    pass
                time.sleep(0.02)
            self.assertIsNotNone(child, "run started no program")
            proc.kill()
            proc.wait(timeout=T)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and os.path.exists(f"/proc/{child}"):
                with open(f"/proc/{child}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        break
                time.sleep(0.02)
            alive = os.path.exists(f"/proc/{child}")
            if alive:
                with open(f"/proc/{child}/stat", "rb") as f:
                    alive = f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
            self.assertFalse(alive, f"the program {child} outlived sockfault run")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if child:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def test_errnos_listing_from_table(self):
        p = run_cli("errnos", "--json")
        table = json.loads(p.stdout)
        names = [c["call"] for c in table]
        self.assertIn("accept4", names)
        accept = next(c for c in table if c["call"] == "accept")
        seed = [e["errno"] for e in accept["errnos"] if e["source"] == "seed"]
        self.assertEqual(seed, ["EBADF", "EFAULT", "ENOTSOCK", "EOPNOTSUPP", "EPERM", "ENOBUFS",
                                "ENOMEM"])
        kinds = {c["call"]: set(c["kind"]) for c in table}
        self.assertEqual(kinds["accept"], {"net", "creates_fd", "blocks", "waits_input"})
        self.assertEqual(kinds["close"], {"closes_fd", "peer", "blocks"})
        self.assertNotIn("net", kinds["read"])  # strace's %net has no read
        text = run_cli("errnos", "bind").stdout
        self.assertIn("EACCES", text)
        self.assertIn("seed", text)


def wait_for_listen(log, deadline):
    while time.monotonic() < deadline:
        if os.path.exists(log):
            for r in read_log(log):
                if r.get("call") == "listen" and r.get("ret") == 0:
                    return True
        time.sleep(0.02)
    return False


class Output(unittest.TestCase):
    """One checked output path for every verb: stdout on a full device is exit 7 with the
    reason, never a silent 0; every option error ends with the verb's --help."""

    def full(self, *args):
        with open("/dev/full", "w") as full:
            return subprocess.run([CLI, *args], env=clean_env(), stdout=full,
                                  stderr=subprocess.PIPE, text=True, timeout=T)

    def test_stdout_full(self):
        with tempfile.TemporaryDirectory() as d:
            report = os.path.join(d, "r.json")
            p = run_cli("explore", "-q", "--jobs", "1", "--json", report, "--errnos", "EMFILE",
                        "--fail-on", "none",
                        "--", PROBE, "nsocket", "1")
            self.assertEqual(p.returncode, 0, p.stderr)
            for args in (["--help"], ["--version"], ["errnos"], ["errnos", "--json", "accept"],
                         ["run", "--help"], ["explore", "--help"], ["merge", "--help"],
                         ["replay", "--help"], ["errnos", "--help"], ["merge", report],
                         ["merge", "--json", "-", report], ["replay", report],
                         ["replay", report, "--point", "1"],
                         ["explore", "--jobs", "1", "--errnos", "EMFILE", "--", PROBE,
                          "nsocket", "1"]):
                p = self.full(*args)
                self.assertEqual(p.returncode, 7, (args, p.stderr))
                self.assertIn("stdout: No space left on device", p.stderr, args)
                self.assertEqual(p.stderr.count("stdout:"), 1, (args, p.stderr))

    def test_mistyped_verb(self):
        for verb, near in (("explor", "explore"), ("mrege", "merge"), ("erno", "errnos")):
            p = run_cli(verb)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr, f"sockfault: unknown verb '{verb}' (did you mean "
                             f"'{near}'?) (see 'sockfault --help')\n")
        p = run_cli("frobnicate")
        self.assertNotIn("did you mean", p.stderr)

    def test_option_errors_point_to_help(self):
        for args in (["run", "--bogus"], ["run", "--log-level", "loud", "--", PROBE], ["run"],
                     ["run", "-f", "a", "-f", "b", "--", PROBE],
                     ["errnos", "--bogus"], ["errnos", "acept"], ["errnos", "a", "b"],
                     ["explore", "--jobs", "0", "--", PROBE], ["explore", "--timeout", "x"],
                     ["explore", "--calls", "acept", "--", PROBE], ["explore", "--shard", "3/2"],
                     ["explore", "--errnos", "EMFLE", "--", PROBE], ["explore"],
                     ["explore", "--fail-on", "crsh", "--", PROBE],
                     ["explore", "--json", "", "--", PROBE], ["explore", "--json"],
                     ["merge"], ["merge", "--bogus", "x.json"], ["merge", "--json=", "x.json"],
                     ["replay"], ["replay", "--point", "x", "r.json"], ["replay", "a", "b"]):
            p = run_cli(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 1, (args, p.stderr))
            self.assertTrue(lines[0].endswith(f"(see 'sockfault {args[0]} --help')"), lines)


class RealPrograms(unittest.TestCase):
    """Debian-packaged servers, unmodified, on 127.0.0.1."""

    def serve(self, rule, argv, client, requests, log):
        server = subprocess.Popen([CLI, "run", "-e", rule, "--log", log, "--", *argv],
                                  env=clean_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            self.assertTrue(wait_for_listen(log, time.monotonic() + 20), "server never listened")
            replies = []
            for _ in range(requests):
                replies.append(client())
            return replies
        finally:
            try:
                os.killpg(server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.communicate()

    def test_socat_second_accept_emfile(self):
        # scripts/deps.sh installs socat: its absence is a broken set-up, not a skip
        socat = shutil.which("socat")
        self.assertIsNotNone(socat, "socat is not installed (scripts/deps.sh installs it)")
        port = free_port()

        def client():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
                    c.settimeout(3)
                    return c.recv(64)
            except OSError as e:
                return repr(e)

        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            replies = self.serve("accept:error=EMFILE:when=2",
                                 [socat,
                                  f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                                  "SYSTEM:echo hello"], client, 2, log)
            # the first connection is served; the second meets the injected EMFILE
            self.assertEqual(replies[0], b"hello\n")
            self.assertNotEqual(replies[1], b"hello\n")
            recs = [r for r in read_log(log) if "call" in r]
            accepts = [r for r in recs if r["call"] == "accept"]
            self.assertGreaterEqual(len(accepts), 2)
            self.assertFalse(accepts[0]["injected"])
            self.assertEqual((accepts[1]["n"], accepts[1]["ret"], accepts[1]["errno"],
                              accepts[1]["injected"]), (2, -1, "EMFILE", True))
            injected = [r for r in recs if r["injected"]]
            self.assertEqual(injected, [accepts[1]], "anything else was touched")

    def test_python_http_server_accept4(self):
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        port = free_port()

        def client():
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                c.settimeout(5)
                return c.recv(12)

        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log.jsonl")
            replies = self.serve("accept4:error=EMFILE:when=2",
                                 [py, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                                  "--directory", d], client, 3, log)
            # Python's socketserver drops the failed accept and serves on: all three answered
            self.assertEqual(replies, [b"HTTP/1.0 200"] * 3)
            recs = [r for r in read_log(log) if r.get("call") == "accept4"]
            self.assertEqual([(r["n"], r["injected"]) for r in recs][:3],
                             [(1, False), (2, True), (3, False)])
            self.assertEqual(recs[1]["errno"], "EMFILE")


if __name__ == "__main__":
    unittest.main()
