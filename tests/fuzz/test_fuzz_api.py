#!/usr/bin/env python3
"""<sockfault/fuzz.h> in a running target (tests/fuzz/fuzz_probe.c): the schedule arms the
preloaded shim and counts from sockfault_fuzz_begin, sockfault_fuzz_end disarms, a target
without the shim refuses to run (or re-executes itself once with it), a crash prints the
schedule as rule text, and that printed `sockfault run -e …` line reproduces the crash.

Paths come from ctest: SF_CLI, SF_SHIM, SF_FUZZ_PROBE; SF_ASAN=1 when the probe has ASan.
"""
import os
import re
import signal
import subprocess
import tempfile
import unittest

CLI = os.environ["SF_CLI"]
SHIM = os.environ["SF_SHIM"]
PROBE = os.environ["SF_FUZZ_PROBE"]
ASAN = os.environ.get("SF_ASAN") == "1"
T = 60


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOCKFAULT") and k not in ("LD_PRELOAD", "SF_FUZZ_REEXEC")}
    env.update(extra)
    return env


def run(*args, preload=True, cmd=None, **extra):
    env = clean_env(**extra)
    if preload:
        env["LD_PRELOAD"] = SHIM
    argv = (cmd or []) + [PROBE, *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=T)


class FuzzApi(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sf-fuzzapi-")
        self.addCleanup(self.tmp.cleanup)

    def input(self, data):
        path = os.path.join(self.tmp.name, f"in-{len(os.listdir(self.tmp.name))}")
        with open(path, "wb") as f:
            f.write(bytes(data))
        return path

    # one fault on "socket": index 0; socket's documented errnos start EPROTONOSUPPORT,
    # ENFILE, EMFILE (shim/calls.def): index 2 is EMFILE
    def emfile(self, when_byte=0, rest=b"hello"):
        return self.input(b"\x01" + bytes([0, when_byte, 2]) + rest)

    def test_schedule_arms_counts_and_ends(self):
        p = run("init", "socket", self.emfile())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["1:EMFILE", "2:ok", "end:ok", "rest:hello"])
        p = run("init", "socket", self.emfile(0x81))  # from the 2nd on
        self.assertEqual(p.stdout.split(), ["1:ok", "2:EMFILE", "end:ok", "rest:hello"])
        p = run("init", "socket", self.input(b"\x00rest"))  # no fault
        self.assertEqual(p.stdout.split(), ["1:ok", "2:ok", "end:ok", "rest:rest"])
        # the default call list is the table: socket is its call 0 too
        p = run("noinit", "-", self.emfile())
        self.assertEqual(p.stdout.split(), ["1:EMFILE", "2:ok", "end:ok", "rest:hello"])

    def test_refuses_without_the_shim(self):
        p = run("noinit", "-", self.emfile(), preload=False)
        self.assertEqual(p.returncode, -signal.SIGABRT, p.stdout + p.stderr)
        self.assertIn("libsockfault.so is not preloaded, so no fault would be injected",
                      p.stderr)
        self.assertEqual(p.stdout, "")  # nothing of the target ran
        # re-executed once at most: a second start without the shim refuses too
        p = run("init", "socket", self.emfile(), preload=False, SF_FUZZ_REEXEC="1")
        self.assertEqual(p.returncode, -signal.SIGABRT)
        self.assertIn("not preloaded", p.stderr)

    def test_reexecutes_with_the_shim_it_finds(self):
        p = run("init", "socket", self.emfile(), preload=False, SOCKFAULT_SHIM=SHIM)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("re-executing with LD_PRELOAD=" + SHIM, p.stderr)
        self.assertEqual(p.stdout.split(), ["1:EMFILE", "2:ok", "end:ok", "rest:hello"])

    def test_bad_call_list_names_the_token(self):
        p = run("init", "socket,sokcet", self.emfile())
        self.assertEqual(p.returncode, -signal.SIGABRT)
        self.assertIn("'sokcet' is not an intercepted call (did you mean 'socket'?)", p.stderr)

    def reproducer(self, stderr):
        self.assertIn("sockfault-fuzz: fault schedule of the input: socket:error=EMFILE:when=1\n",
                      stderr)
        m = re.search(r"sockfault-fuzz: reproduce: sockfault run -e '([^']*)' -- (\S+) CRASH-FILE",
                      stderr)
        self.assertTrue(m, stderr)
        self.assertEqual(m.group(1), "socket:error=EMFILE:when=1")
        self.assertTrue(os.path.samefile(m.group(2), PROBE))
        return m.group(1)

    def test_crash_prints_the_rules_and_they_reproduce(self):
        crash = self.emfile()
        p = run("crash", "socket", crash)
        self.assertEqual(p.returncode, -signal.SIGABRT, p.stderr)
        self.assertEqual(p.stdout.split(), ["1:EMFILE", "2:ok"])
        rules = self.reproducer(p.stderr)
        self.assertEqual(p.stderr.count("sockfault-fuzz: reproduce"), 1)
        # the printed line, run as printed: the same calls fail
        r = run("crash", "socket", crash, preload=False, cmd=[CLI, "run", "-e", rules, "--"])
        self.assertEqual(r.stdout.split(), ["1:EMFILE", "2:ok"], r.stderr)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("(from SOCKFAULT)", r.stderr)
        self.assertIn(f"sockfault run -e '{rules}' -- ", r.stderr)

    def test_outside_rules_win(self):
        # sockfault run's rules replace the input's schedule, and count from begin
        src = self.emfile()
        r = run("init", "socket", src, preload=False,
                cmd=[CLI, "run", "-e", "socket:error=ENFILE:when=2", "--"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["1:ok", "2:ENFILE", "end:ok", "rest:hello"])
        rules = os.path.join(self.tmp.name, "rules")
        with open(rules, "w") as f:
            f.write("# a rules file\nsocket:error=EACCES:when=1+\n")
        r = run("init", "socket", src, SOCKFAULT_FILE=rules)
        self.assertEqual(r.stdout.split(), ["1:EACCES", "2:EACCES", "end:ok", "rest:hello"],
                         r.stderr)

    def test_segv_prints_the_rules(self):
        p = run("segv", "socket", self.emfile())
        self.assertNotEqual(p.returncode, 0)
        self.reproducer(p.stderr)

    @unittest.skipUnless(ASAN, "the probe is not built with AddressSanitizer")
    def test_sanitizer_report_prints_the_rules(self):
        p = run("overflow", "socket", self.emfile())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SUMMARY: AddressSanitizer: heap-buffer-overflow", p.stderr)
        self.reproducer(p.stderr.split("SUMMARY: AddressSanitizer")[1])


if __name__ == "__main__":
    unittest.main()
