#!/usr/bin/env python3
"""examples/lineclient as a user meets it: sockfault installed into a fresh prefix, the
example built out of tree against it (find_package, sockfault_add_fuzz_target) with
-DLINECLIENT_BUG=ON, its ctest holding a corpus replay and a smoke run for the engine, the
replay passing; then a campaign by the installed sockfault-fuzz (which finds the installed
shim and schedule dictionary itself) must find the planted error-path bug within SECONDS
under libFuzzer and under AFL++, save it with a note giving the rule text and a
`sockfault run -e RULES` line that reproduces it, and the example without the bug must pass
the saved input and its own ctest (replay and smoke) under each engine. Without --seed-dir
the runner starts from the installed seed schedules.

Environment from ctest: SF_BUILD_DIR, SF_SOURCE_DIR, SF_CMAKE, SF_CTEST, SF_SECONDS.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = os.environ["SF_BUILD_DIR"]
SOURCE = os.environ["SF_SOURCE_DIR"]
CMAKE = os.environ.get("SF_CMAKE", "cmake")
CTEST = os.environ.get("SF_CTEST", "ctest")
SECONDS = int(os.environ.get("SF_SECONDS", "120"))
EXAMPLE = os.path.join(SOURCE, "examples", "lineclient")
FLAGS = "-fsanitize=address,undefined -fno-sanitize-recover=all -g -O1"


sys.path.insert(0, os.path.join(SOURCE, "tests", "ecosystem"))
from test_install import InstalledPrefix, clean_env as install_env, run  # noqa: E402


def clean_env(**extra):
    env = {k: v for k, v in install_env(**extra).items()
           if not k.startswith("AFL_") and k not in ("SF_FUZZ_REEXEC", "ASAN_OPTIONS")}
    env.update(extra)
    return env


class Campaign(InstalledPrefix):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = os.path.join(cls.prefix, cls.libdir, "libsockfault.so")
        cls.sockfault = os.path.join(cls.prefix, "bin", "sockfault")

    def build(self, name, cc, *defs):
        out = os.path.join(self.tmp, name)
        run(CMAKE, "-S", EXAMPLE, "-B", out, f"-DCMAKE_PREFIX_PATH={self.prefix}",
            f"-DCMAKE_C_FLAGS={FLAGS}", *defs, env=clean_env(CC=cc, AFL_QUIET="1"))
        run(CMAKE, "--build", out, env=clean_env(AFL_QUIET="1"))
        return out

    def campaign(self, engine, cc):
        # clang and afl-clang-fast (afl++) come from scripts/deps.sh: missing is a failure
        self.assertTrue(shutil.which(cc), f"{cc} is not installed: scripts/deps.sh")
        bug = self.build(f"{engine}-bug", cc, "-DLINECLIENT_BUG=ON")
        exe = os.path.join(bug, "fuzz_lineclient")
        # its own ctest: a replay and a smoke run for either engine; the seeds do not expose
        # the bug (the smoke run is left to the fixed build: it could find the bug)
        p = run(CTEST, "--test-dir", bug, "-N")
        for t in ("fuzz_lineclient_replay", "fuzz_lineclient_smoke"):
            self.assertIn(t, p.stdout)
        p = run(CTEST, "--test-dir", bug, "-R", "replay", "--output-on-failure", check=False)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("fuzz_lineclient_replay", p.stdout)
        out = os.path.join(self.tmp, f"campaign-{engine}")
        t0 = time.monotonic()
        # the installed runner: no --shim, --dict or --engine (found from the prefix and exe)
        p = self.fuzz(exe, "--seed-dir", os.path.join(EXAMPLE, "corpus"),
                      "--time", str(SECONDS), "--out", out)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 3, f"the planted bug was not found in {SECONDS}s:\n"
                         f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        self.assertIn(f"== fuzz_lineclient / {engine}:", p.stdout)
        saved = [f for f in os.listdir(os.path.join(out, "regressions")) if not f.endswith(".note")]
        self.assertEqual(len(saved), 1, saved)
        found = os.path.join(out, "regressions", saved[0])
        with open(found + ".note") as f:
            note = f.read()
        print(f"\n{engine}: campaign of {took:.0f}s (fuzzing, minimising, saving)\n{note}")
        self.assertIn("double-free", note)
        m = re.search(r"^with rules: sockfault run -e '([^']+)' -- (\S+) (\S+)$", note, re.M)
        self.assertTrue(m, note)
        rules = m.group(1)
        self.assertRegex(rules, r"^recv:error=E[A-Z]+:when=\d+")
        self.assertIn(f"\nrules:      {rules}\n", note)
        with open(os.path.join(out, "dict")) as f:
            self.assertIn("format 1", f.read())  # the installed schedule dictionary
        # the printed reproducer, with the installed command
        r = run(self.sockfault, "run", "-e", rules, "--", exe, found, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("double-free", r.stderr)
        # the same input without the fault: no crash (only a scheduled fault reaches the bug)
        r = run(self.sockfault, "run", "-e", "recv:error=EINTR:when=100", "--", exe, found,
                check=False)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        # the example without the bug passes the input, and its own ctest: the corpus replay
        # and the short smoke run of the engine (afl-fuzz -V under AFL++)
        fixed = self.build(f"{engine}-fixed", cc)
        p = run(CTEST, "--test-dir", fixed, "--output-on-failure", "-V", check=False)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:])
        for t in ("fuzz_lineclient_replay", "fuzz_lineclient_smoke"):
            self.assertRegex(p.stdout, rf"{t} \.+ +Passed")
        self.assertRegex(p.stdout, r"smoke: \d+s, [1-9]\d* executions.*, no crash")
        r = run(os.path.join(fixed, "fuzz_lineclient"), found, check=False,
                env=clean_env(LD_PRELOAD=self.shim))
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        if engine == "libfuzzer":
            # no --seed-dir: the installed seed schedules; a short clean run exits 0
            out = os.path.join(self.tmp, "campaign-default-seeds")
            p = self.fuzz(os.path.join(fixed, "fuzz_lineclient"), "--time", "2", "--out", out)
            self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
            self.assertIn("schedules-none", os.listdir(os.path.join(out, "seeds")))

    def fuzz(self, *args):
        return subprocess.run([os.path.join(self.prefix, "bin", "sockfault-fuzz"), *args],
                              capture_output=True, text=True, timeout=SECONDS * 3 + 300,
                              env=clean_env(AFL_BENCH_UNTIL_CRASH="1"))

    def test_libfuzzer_finds_the_planted_bug(self):
        self.campaign("libfuzzer", "clang")

    def test_afl_finds_the_planted_bug(self):
        self.campaign("afl", "afl-clang-fast")


if __name__ == "__main__":
    unittest.main()
